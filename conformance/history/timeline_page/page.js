(function () {
"use strict";
var D = JSON.parse(document.getElementById("tl-data").textContent);
var C = D.calls, N = C.thread.length;
var SCALE = {ns: 1e-9, us: 1e-6, "\u00b5s": 1e-6, ms: 1e-3, s: 1}[D.unit] || 0;

var PUT = ["#9fc3ef", "#2561a8", "#0d2a4e"], GET = ["#a8dcb9", "#2b7d4b", "#0c3520"];
var HL = "#e0161b", FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
var BOLD = "600 " + FONT, GUTTER = 96, PADR = 14;

/* ---- decode ---- */
var start = new Float64Array(N), end = new Float64Array(N);
var acc = 0, maxT = 0, i, k;
for (i = 0; i < N; i++) {
  acc = D.deltas ? acc + C.start[i] : C.start[i];
  start[i] = acc;
  end[i] = C.dur[i] === null ? Infinity : acc + C.dur[i];
  if (acc > maxT) maxT = acc;
  if (end[i] !== Infinity && end[i] > maxT) maxT = end[i];
}
function indexOf(p) { return C.index ? C.index[p] : p; }
var hlSet = {}, hlPos = [];
for (i = 0; i < D.highlight.length; i++) hlSet[D.highlight[i]] = true;
for (i = 0; i < N; i++) if (hlSet[indexOf(i)]) hlPos.push(i);
var hlLane = {};
hlPos.forEach(function (p) { hlLane[C.thread[p]] = true; });
var HAS_HL = hlPos.length > 0;
var VAL = C.value || C.label, byValue = null;
function sameValue(p) {
  if (!VAL[p]) return [];
  if (!byValue) {
    byValue = {};
    for (var q = 0; q < N; q++) {
      var v = VAL[q];
      if (v) (byValue[v] || (byValue[v] = [])).push(q);
    }
  }
  return byValue[VAL[p]];
}

/* ---- lanes ---- */
var lanes = D.threads.map(function (name) { return {name: name, rows: 1, list: []}; });
for (i = 0; i < N; i++) {
  var ln = lanes[C.thread[i]];
  ln.list.push(i);
  if (C.row && C.row[i] + 1 > ln.rows) ln.rows = C.row[i] + 1;
}
var totalRows = 0;
lanes.forEach(function (ln) {
  ln.idx = Int32Array.from(ln.list); ln.list = null;
  ln.pmax = new Float64Array(ln.idx.length);
  var m = -Infinity;
  for (var j = 0; j < ln.idx.length; j++) {
    if (end[ln.idx[j]] > m) m = end[ln.idx[j]];
    ln.pmax[j] = m;
  }
  totalRows += ln.rows;
});
var ROWH = Math.max(6, Math.min(26, Math.floor(2400 / Math.max(1, totalRows))));
var LANEPAD = ROWH >= 18 ? 6 : 2, y = 0;
lanes.forEach(function (ln) {
  ln.y = y; ln.h = ln.rows * ROWH + LANEPAD * 2; y += ln.h;
});
var LANES_H = Math.max(y, 60);

/* ---- text ---- */
function opName(p) { return C.op[p] ? "get" : "put"; }
function label(p) { return C.label[p] ? D.labels[C.label[p] - 1] : ""; }
function errText(p) { return D.errors[C.error[p] - 1]; }
function barText(p) {
  var op = opName(p), lab = op === "put" ? " " + label(p) : "";
  if (end[p] === Infinity) return op + lab + " (never returned)";
  if (C.error[p] > 0) return op + lab + " \u2717 " + errText(p);
  return op === "put" ? "put " + label(p) : "get \u2192 " + label(p);
}
function shortText(p) {  /* for a narrow bar */
  var op = opName(p);
  if (end[p] === Infinity) return (op === "put" ? label(p) + " " : op + " ") + "\u2026";
  if (C.error[p] > 0) return "\u2717 " + errText(p);
  return op === "put" ? label(p) : "\u2192 " + label(p);
}
function callText(p) {
  var op = opName(p), call = op + "(" + (op === "put" ? label(p) : "") + ")";
  if (end[p] === Infinity) return call + " (never returned)";
  if (C.error[p] > 0) return call + " raised " + errText(p);
  return op === "get" ? call + " -> " + label(p) : call;
}
function trimNum(s) { return s.indexOf(".") < 0 ? s : s.replace(/\.?0+$/, ""); }
var UNITS = [["s", 1], ["ms", 1e-3], ["\u00b5s", 1e-6], ["ns", 1e-9]];
function unitFor(sec) {
  for (var j = 0; j < UNITS.length - 1; j++) if (Math.abs(sec) >= UNITS[j][1]) return UNITS[j];
  return UNITS[UNITS.length - 1];
}
function fmtTime(v) {  /* a duration or an instant, for people */
  if (!SCALE) return trimNum(v.toPrecision(7)) + (D.unit ? " " + D.unit : "");
  var sec = v * SCALE, u = unitFor(sec);
  return trimNum((sec / u[1]).toFixed(3)) + " " + u[0];
}
function fmtRaw(v) { return (Math.round(v * 1e6) / 1e6) + (D.unit ? " " + D.unit : ""); }

/* ---- view ---- */
var box = document.getElementById("tl-box");
var cvO = document.getElementById("tl-overview"), cvA = document.getElementById("tl-axis");
var cvL = document.getElementById("tl-lanes"), tip = document.getElementById("tl-tip");
var W = 800, DPR = 1, t0 = 0, t1 = 1, hover = -1, dirty = false;
var SPAN = maxT > 0 ? maxT : 1;

function plotW() { return Math.max(10, W - GUTTER - PADR); }
function xOf(t) { return GUTTER + (t - t0) / (t1 - t0) * plotW(); }
function tOf(x) { return t0 + (x - GUTTER) / plotW() * (t1 - t0); }
function setView(a, b) {
  var minSpan = SPAN * 1e-9 + 1e-12, maxSpan = SPAN * 50;
  var span = Math.min(maxSpan, Math.max(minSpan, b - a)), mid = (a + b) / 2;
  if (b - a !== span) { a = mid - span / 2; b = mid + span / 2; }
  t0 = a; t1 = b; redraw();
}
function fitAll() { var m = SPAN * 0.02; setView(-m, SPAN + m); }
function fitHl() {
  if (!HAS_HL) return fitAll();
  var a = Infinity, b = -Infinity;
  hlPos.forEach(function (p) {
    a = Math.min(a, start[p]);
    b = Math.max(b, end[p] === Infinity ? Math.max(start[p], maxT) : end[p]);
  });
  var m = Math.max((b - a) * 0.25, SPAN * 1e-4);
  setView(a - m, b + m);
}
function zoom(f, x) {
  var t = tOf(x === undefined ? GUTTER + plotW() / 2 : x);
  setView(t - (t - t0) * f, t + (t1 - t) * f);
}
function redraw() {
  if (!dirty) { dirty = true; requestAnimationFrame(function () { dirty = false; draw(); }); }
}

function sizeCanvas(cv, h) {
  cv.style.height = h + "px";
  cv.width = Math.round(W * DPR); cv.height = Math.round(h * DPR);
  var g = cv.getContext("2d");
  g.setTransform(DPR, 0, 0, DPR, 0, 0);
  return g;
}
var gO, gA, gL, hatch = {};
function layout() {
  W = Math.max(300, box.clientWidth); DPR = window.devicePixelRatio || 1;
  gO = sizeCanvas(cvO, 30); gA = sizeCanvas(cvA, 30); gL = sizeCanvas(cvL, LANES_H);
  hatch = {};
  overviewBins = null;
  draw();
}
function hatchFor(g, line) {
  if (hatch[line]) return hatch[line];
  var c = document.createElement("canvas"); c.width = c.height = 8;
  var h = c.getContext("2d");
  h.fillStyle = "#eceef1"; h.fillRect(0, 0, 8, 8);
  h.strokeStyle = line; h.globalAlpha = 0.45; h.lineWidth = 2;
  h.beginPath(); h.moveTo(-2, 10); h.lineTo(10, -2); h.moveTo(-2, 2); h.lineTo(2, -2);
  h.moveTo(6, 10); h.lineTo(10, 6); h.stroke();
  return (hatch[line] = g.createPattern(c, "repeat"));
}

/* ---- ticks ---- */
function ticks() {
  var f = SCALE || 1, perPx = (t1 - t0) * f / plotW(), raw = perPx * 110;
  var p = Math.pow(10, Math.floor(Math.log10(raw))), n = raw / p;
  var step = (n < 1.5 ? 1 : n < 3.5 ? 2 : n < 7.5 ? 5 : 10) * p;
  /* the unit of the largest value shown ("73.8 ms", not "73800 \u00b5s"), unless that
     needs more than 3 decimals */
  var u = ["", 1], dec = 0, j;
  function decimals(unit) { return Math.max(0, -Math.floor(Math.log10(step / unit) + 1e-9)); }
  if (SCALE) {
    var big = Math.max(Math.abs(t0), Math.abs(t1)) * f;
    for (j = UNITS.indexOf(unitFor(big)); j < UNITS.length; j++) {
      u = UNITS[j];
      if (decimals(u[1]) <= 3) break;
    }
  }
  dec = decimals(u[1]);
  var out = [], first = Math.ceil(t0 * f / step);
  for (j = first; j * step <= t1 * f && out.length < 200; j++) {
    var v = j * step;
    out.push([v / f, (v / u[1]).toFixed(dec) + (SCALE ? " " + u[0] : "")]);
  }
  return out;
}

/* ---- drawing ---- */
function barBox(p) {
  var ln = lanes[C.thread[p]], row = C.row ? C.row[p] : 0;
  var x0 = xOf(start[p]), x1 = end[p] === Infinity ? W - PADR + 8 : xOf(end[p]);
  return {x0: x0, x1: x1, y: ln.y + LANEPAD + row * ROWH + 1, h: ROWH - 3};
}
function fillBar(g, p, b, x0, x1) {
  var col = C.op[p] ? GET : PUT, w = Math.max(x1 - x0, 1);
  if (end[p] === Infinity) {
    var grad = g.createLinearGradient(x0, 0, x1, 0);
    grad.addColorStop(0, col[0]);
    grad.addColorStop(Math.max(0, Math.min(1, 1 - 120 / w)), col[0]);
    grad.addColorStop(1, "rgba(255,255,255,0)");
    g.fillStyle = grad; g.fillRect(x0, b.y, w, b.h);
    g.strokeStyle = col[1]; g.lineWidth = 1; g.setLineDash([4, 3]);
    g.beginPath(); g.moveTo(x1, b.y + 0.5); g.lineTo(x0 + 0.5, b.y + 0.5);
    g.lineTo(x0 + 0.5, b.y + b.h - 0.5); g.lineTo(x1, b.y + b.h - 0.5); g.stroke();
    g.setLineDash([]);
  } else if (C.error[p] > 0) {
    g.fillStyle = hatchFor(g, col[1]); g.fillRect(x0, b.y, w, b.h);
    if (w > 2) { g.strokeStyle = "#9096a0"; g.lineWidth = 1;
      g.strokeRect(x0 + 0.5, b.y + 0.5, w - 1, b.h - 1); }
  } else {
    g.fillStyle = col[0]; g.fillRect(x0, b.y, w, b.h);
    if (w > 2) { g.strokeStyle = col[1]; g.lineWidth = 1;
      g.strokeRect(x0 + 0.5, b.y + 0.5, w - 1, b.h - 1); }
  }
}
function barLabel(g, p, b, x0, x1, force) {
  if (b.h < 11) return;
  var text = barText(p), left = Math.max(x0, GUTTER) + 4, room = Math.min(x1, W) - left - 3;
  g.font = force ? BOLD : FONT;
  if (room < 14 && !force) return;
  var err = C.error[p] > 0 && end[p] !== Infinity;
  g.fillStyle = err ? "#3d434d" : (C.op[p] ? GET : PUT)[2];
  g.textBaseline = "middle";
  var tw = g.measureText(text).width;
  if (tw > room && !force) {
    text = shortText(p); tw = g.measureText(text).width;
    if (tw > room && room < 30) return;
  }
  if (force && tw > room) {  /* a tag beside the bar, so a violation is always named */
    var tx = x1 + 5;
    if (tx + tw + 8 > W - 2) tx = x0 - tw - 13 >= GUTTER + 2 ? x0 - tw - 13 : W - tw - 12;
    tx = Math.max(tx, GUTTER + 2);
    g.fillStyle = "#fff"; g.strokeStyle = HL; g.lineWidth = 1.5;
    g.fillRect(tx, b.y, tw + 8, b.h); g.strokeRect(tx, b.y, tw + 8, b.h);
    g.fillStyle = "#8c0d10"; g.fillText(text, tx + 4, b.y + b.h / 2 + 0.5);
    return;
  }
  g.save(); g.beginPath(); g.rect(left - 1, b.y, room + 1, b.h); g.clip();
  g.fillText(text, left, b.y + b.h / 2 + 0.5);
  g.restore();
}
function lowerBound(ln, t) {  /* first slot whose prefix-max end reaches t */
  var lo = 0, hi = ln.idx.length;
  while (lo < hi) { var m = (lo + hi) >> 1; if (ln.pmax[m] < t) lo = m + 1; else hi = m; }
  return lo;
}
function upperBound(ln, t) {  /* first slot starting after t */
  var lo = 0, hi = ln.idx.length;
  while (lo < hi) { var m = (lo + hi) >> 1; if (start[ln.idx[m]] <= t) lo = m + 1; else hi = m; }
  return lo;
}
var DENSE = ["", "#6f9fd8", "#72b98b", "#7aa6b4", "#b3b8c1", "#8fa6c4", "#93b89f", "#9aaab5"];
function drawLanes(g) {
  g.clearRect(0, 0, W, LANES_H);
  var tk = N ? ticks() : [], j;
  lanes.forEach(function (ln, n) {
    if (n % 2) { g.fillStyle = "#f5f7fa"; g.fillRect(0, ln.y, W, ln.h); }
  });
  g.strokeStyle = "#edf0f4"; g.lineWidth = 1;
  for (j = 0; j < tk.length; j++) {
    var tx = Math.round(xOf(tk[j][0])) + 0.5;
    g.beginPath(); g.moveTo(tx, 0); g.lineTo(tx, LANES_H); g.stroke();
  }
  if (!N) {
    g.fillStyle = "#667085"; g.font = FONT; g.textBaseline = "middle";
    g.fillText("No calls in this history.", GUTTER + 10, 30);
  }
  var dense = new Uint8Array(Math.ceil(W) + 2), later = [];
  g.save(); g.beginPath(); g.rect(GUTTER, 0, W - GUTTER, LANES_H); g.clip();
  g.globalAlpha = HAS_HL ? 0.4 : 1;
  lanes.forEach(function (ln) {
    for (var row = 0; row < ln.rows; row++) {
      var a = lowerBound(ln, t0), z = upperBound(ln, t1), any = false;
      dense.fill(0);
      for (var s = a; s < z; s++) {
        var p = ln.idx[s];
        if ((C.row ? C.row[p] : 0) !== row || end[p] < t0) continue;
        if (hlSet[indexOf(p)]) { later.push(p); continue; }
        var b = barBox(p);
        if (b.x1 - b.x0 < 1.5) {
          var px = Math.max(0, Math.floor(b.x0));
          dense[px] |= C.error[p] > 0 ? 4 : C.op[p] ? 2 : 1; any = true;
          continue;
        }
        fillBar(g, p, b, b.x0, b.x1);
        barLabel(g, p, b, b.x0, b.x1, false);
      }
      if (any) {  /* calls thinner than a pixel: one column each, merged into runs */
        var yy = ln.y + LANEPAD + row * ROWH + 1;
        for (var x = 0; x < dense.length;) {
          var f = dense[x], x2 = x + 1;
          if (!f) { x++; continue; }
          while (x2 < dense.length && dense[x2] === f) x2++;
          g.fillStyle = DENSE[f]; g.fillRect(x, yy, x2 - x, ROWH - 3);
          x = x2;
        }
      }
    }
  });
  g.globalAlpha = 1;
  if (HAS_HL) drawHighlights(g, later);
  if (hover >= 0) drawHover(g);
  g.restore();
  /* gutter: thread names */
  g.fillStyle = "#fff"; g.fillRect(0, 0, GUTTER, LANES_H);
  lanes.forEach(function (ln, n) {
    if (n % 2) { g.fillStyle = "#f5f7fa"; g.fillRect(0, ln.y, GUTTER, ln.h); }
    if (hlLane[n]) { g.fillStyle = HL; g.fillRect(0, ln.y + 2, 4, ln.h - 4); }
    g.fillStyle = hlLane[n] ? "#b3080c" : "#1d2430";
    g.font = ROWH >= 14 ? BOLD : "9px sans-serif";
    g.textBaseline = "middle";
    var name = ln.name;
    while (name.length > 1 && g.measureText(name).width > GUTTER - 16) name = name.slice(0, -1);
    if (name !== ln.name) name = name.slice(0, -1) + "\u2026";
    if (ROWH >= 10 || n % Math.ceil(10 / ROWH) === 0) g.fillText(name, 8, ln.y + ln.h / 2);
    g.strokeStyle = "#e3e7ec"; g.beginPath();
    g.moveTo(0, ln.y + ln.h - 0.5); g.lineTo(W, ln.y + ln.h - 0.5); g.stroke();
  });
  g.strokeStyle = "#c9cfd8";
  g.beginPath(); g.moveTo(GUTTER - 0.5, 0); g.lineTo(GUTTER - 0.5, LANES_H); g.stroke();
}
function link(g, p, q) {  /* a put and a get of the same value: from the earlier's end */
  if (start[q] < start[p]) { var r = p; p = q; q = r; }
  var a = barBox(p), b = barBox(q);
  var ax = Math.min(a.x1, W + 20), bx = b.x0;
  if (ax > bx) { ax = (a.x0 + Math.min(a.x1, W)) / 2; bx = (b.x0 + Math.min(b.x1, W)) / 2; }
  var ay = a.y + a.h / 2, by = b.y + b.h / 2, mx = (ax + bx) / 2;
  g.beginPath(); g.moveTo(ax, ay);
  g.bezierCurveTo(mx, ay, mx, by, bx, by); g.stroke();
}
function drawHighlights(g, ps) {
  var seen = {};
  g.save(); g.strokeStyle = "rgba(224,22,27,0.8)"; g.lineWidth = 1.6; g.setLineDash([6, 4]);
  ps.forEach(function (p) {
    if (!VAL[p] || seen[VAL[p]]) return;
    seen[VAL[p]] = true;
    var same = sameValue(p).filter(function (q) { return hlSet[indexOf(q)]; });
    for (var j = 1; j < same.length; j++) link(g, same[j - 1], same[j]);
  });
  g.restore();
  ps.forEach(function (p) {
    var b = barBox(p), x0 = b.x0, x1 = Math.max(b.x1, b.x0 + 4);
    g.save();
    g.shadowColor = "rgba(224,22,27,0.75)"; g.shadowBlur = 12;
    g.fillStyle = "#fff"; g.fillRect(x0 - 2, b.y - 2, x1 - x0 + 4, b.h + 4);
    g.restore();
    fillBar(g, p, b, x0, x1);
    g.strokeStyle = HL; g.lineWidth = 2.5;
    g.strokeRect(x0 - 1, b.y - 1, Math.min(x1, W + 10) - x0 + 2, b.h + 2);
  });
  ps.forEach(function (p) {
    var b = barBox(p);
    barLabel(g, p, b, b.x0, Math.max(b.x1, b.x0 + 4), true);
  });
}
function drawHover(g) {
  var sib = sameValue(hover);
  g.save(); g.lineWidth = 1.5; g.strokeStyle = "#1d2430"; g.setLineDash([3, 2]);
  sib.forEach(function (q) {
    if (q === hover) return;
    var b = barBox(q), x1 = Math.min(Math.max(b.x1, b.x0 + 3), W + 10);
    if (!hlSet[indexOf(q)]) {
      fillBar(g, q, b, b.x0, Math.max(b.x1, b.x0 + 3));
      barLabel(g, q, b, b.x0, b.x1, false);
    }
    g.strokeRect(b.x0 - 1.5, b.y - 1.5, x1 - b.x0 + 3, b.h + 3);
    link(g, hover, q);
  });
  g.setLineDash([]);
  var b = barBox(hover), x1 = Math.min(Math.max(b.x1, b.x0 + 3), W + 10);
  if (!hlSet[indexOf(hover)]) {
    fillBar(g, hover, b, b.x0, Math.max(b.x1, b.x0 + 3));
    barLabel(g, hover, b, b.x0, b.x1, false);
  }
  g.lineWidth = 2; g.strokeStyle = "#1d2430";
  g.strokeRect(b.x0 - 2, b.y - 2, x1 - b.x0 + 4, b.h + 4);
  g.restore();
}
function drawAxis(g) {
  g.clearRect(0, 0, W, 30);
  g.font = FONT; g.textBaseline = "middle"; g.fillStyle = "#667085";
  g.fillText(SCALE || !D.unit ? "time" : "time (" + D.unit + ")", 8, 15);
  g.save(); g.beginPath(); g.rect(GUTTER, 0, W - GUTTER, 30); g.clip();
  g.strokeStyle = "#9aa3af"; g.lineWidth = 1;
  if (N) ticks().forEach(function (t) {
    var x = Math.round(xOf(t[0])) + 0.5, half = g.measureText(t[1]).width / 2;
    g.beginPath(); g.moveTo(x, 22); g.lineTo(x, 30); g.stroke();
    g.fillStyle = "#3d4450"; g.textAlign = "center";
    g.fillText(t[1], Math.max(GUTTER + half + 2, Math.min(W - half - 2, x)), 12);
  });
  if (HAS_HL) {  /* where the violation lies, even when the bars are off screen */
    g.fillStyle = "rgba(224,22,27,0.85)";
    hlPos.forEach(function (p) {
      var a = xOf(start[p]), b = end[p] === Infinity ? W : xOf(end[p]);
      g.fillRect(a, 26, Math.max(b - a, 2), 4);
    });
  }
  g.restore();
  g.textAlign = "left";
}
var overviewBins = null, OVMAX = 0;
function drawOverview(g) {
  g.clearRect(0, 0, W, 30);
  var pw = plotW(), lo = -SPAN * 0.02, hi = SPAN * 1.02;
  function ox(t) { return GUTTER + (t - lo) / (hi - lo) * pw; }
  if (!overviewBins) {
    overviewBins = new Float64Array(Math.ceil(pw) + 1); OVMAX = 0;
    for (var q = 0; q < N; q++) {
      var bin = Math.floor(ox(start[q]) - GUTTER);
      if (bin >= 0 && bin < overviewBins.length) overviewBins[bin]++;
    }
    for (q = 0; q < overviewBins.length; q++) OVMAX = Math.max(OVMAX, overviewBins[q]);
  }
  g.font = FONT; g.textBaseline = "middle"; g.fillStyle = "#667085";
  g.fillText("overview", 8, 15);
  g.fillStyle = "#f1f3f6"; g.fillRect(GUTTER, 3, pw, 24);
  g.fillStyle = "#b3bcc8";
  var logMax = Math.log(1 + OVMAX);
  for (var x = 0; x < overviewBins.length; x++) {
    if (!overviewBins[x]) continue;
    var h = 2 + 20 * Math.log(1 + overviewBins[x]) / logMax;
    g.fillRect(GUTTER + x, 27 - h, 1, h);
  }
  g.fillStyle = HL;
  hlPos.forEach(function (p) { g.fillRect(Math.round(ox(start[p])) - 1, 3, 2, 24); });
  var a = Math.max(GUTTER, ox(t0)), b = Math.min(GUTTER + pw, ox(t1));
  g.fillStyle = "rgba(37,97,168,0.14)"; g.fillRect(a, 2, Math.max(b - a, 2), 26);
  g.strokeStyle = "#2561a8"; g.lineWidth = 1.5; g.strokeRect(a, 2, Math.max(b - a, 2), 26);
  return ox;
}
function draw() {
  drawOverview(gO); drawAxis(gA); drawLanes(gL);
}

/* ---- hit test & tooltip ---- */
function hit(x, yy) {
  if (x < GUTTER) return -1;
  for (var n = 0; n < lanes.length; n++) {
    var ln = lanes[n];
    if (yy < ln.y || yy >= ln.y + ln.h) continue;
    var row = Math.max(0, Math.min(ln.rows - 1, Math.floor((yy - ln.y - LANEPAD) / ROWH)));
    var slop = 3 * (t1 - t0) / plotW(), t = tOf(x);
    var a = lowerBound(ln, t - slop), z = upperBound(ln, t + slop), best = -1, dist = Infinity;
    for (var s = a; s < z; s++) {
      var p = ln.idx[s];
      if ((C.row ? C.row[p] : 0) !== row) continue;
      var e = end[p] === Infinity ? Infinity : end[p];
      var d = t < start[p] ? start[p] - t : t > e ? t - e : 0;
      if (d <= slop && (d < dist || (d === dist && hlSet[indexOf(p)]))) { best = p; dist = d; }
    }
    return best;
  }
  return -1;
}
function line(key, value, cls) {
  var div = document.createElement("div"), k = document.createElement("span");
  k.className = "k"; k.textContent = key; div.appendChild(k);
  var v = document.createElement("span"); v.textContent = value;
  if (cls) v.className = cls;
  div.appendChild(v); return div;
}
function showTip(p, ev) {
  tip.textContent = "";
  var head = document.createElement("b"); head.textContent = callText(p);
  tip.appendChild(head);
  if (hlSet[indexOf(p)]) tip.appendChild(line("", "part of the violation", "hl"));
  tip.appendChild(line(D.lane || "thread", lanes[C.thread[p]].name));
  tip.appendChild(line("call", "#" + indexOf(p)));
  tip.appendChild(line("start", fmtTime(start[p]) + "  (" + fmtRaw(start[p]) + ")"));
  tip.appendChild(line("end", end[p] === Infinity ? "never returned"
    : fmtTime(end[p]) + "  (" + fmtRaw(end[p]) + ")"));
  tip.appendChild(line("duration", end[p] === Infinity ? "\u2265 " + fmtTime(maxT - start[p])
    : fmtTime(end[p] - start[p])));
  var sib = sameValue(p).length - 1;
  if (sib > 0) tip.appendChild(line("value", sib + " other call" + (sib > 1 ? "s" : "")
    + " with " + label(p) + " (outlined)"));
  tip.hidden = false;
  var r = box.getBoundingClientRect(), x = ev.clientX - r.left + 14, yy = ev.clientY - r.top + 16;
  if (x + tip.offsetWidth > r.width - 4) {
    x = Math.max(4, ev.clientX - r.left - tip.offsetWidth - 14);
  }
  tip.style.left = x + "px"; tip.style.top = yy + "px";
}

/* ---- interaction ---- */
var drag = null;
function local(ev, cv) {
  var r = cv.getBoundingClientRect();
  return [ev.clientX - r.left, ev.clientY - r.top];
}
function stopDrag(cv) { drag = null; cv.classList.remove("dragging"); }
[cvL, cvA].forEach(function (cv) {
  cv.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var unit = ev.deltaMode === 1 ? 30 : ev.deltaMode === 2 ? 300 : 1;
    var dx = ev.deltaX * unit, dy = ev.deltaY * unit, x = local(ev, cv)[0];
    if (Math.abs(dx) > Math.abs(dy) || ev.shiftKey) {
      var d = (Math.abs(dx) > Math.abs(dy) ? dx : dy) * (t1 - t0) / plotW();
      setView(t0 + d, t1 + d);
    } else {
      zoom(Math.exp(Math.max(-1, Math.min(1, dy * 0.0018))), Math.max(GUTTER, x));
    }
  }, {passive: false});
  cv.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = {x: ev.clientX, t0: t0, t1: t1, cv: cv};
    cv.setPointerCapture(ev.pointerId); cv.classList.add("dragging");
    tip.hidden = true;
  });
  cv.addEventListener("pointerup", function () { stopDrag(cv); });
  cv.addEventListener("pointercancel", function () { stopDrag(cv); });
  cv.addEventListener("dblclick", function (ev) { zoom(ev.shiftKey ? 2 : 0.5, local(ev, cv)[0]); });
});
function onMove(ev) {
  if (drag) {
    var d = (ev.clientX - drag.x) * (drag.t1 - drag.t0) / plotW();
    setView(drag.t0 - d, drag.t1 - d);
    return;
  }
  var xy = local(ev, cvL), p = hit(xy[0], xy[1]);
  if (p !== hover) { hover = p; redraw(); }
  if (p >= 0) showTip(p, ev); else tip.hidden = true;
}
cvL.addEventListener("pointermove", onMove);
cvA.addEventListener("pointermove", function (ev) {
  if (drag) onMove(ev);
});
cvL.addEventListener("pointerleave", function () {
  tip.hidden = true; if (hover >= 0) { hover = -1; redraw(); }
});
function overviewJump(ev) {
  var lo = -SPAN * 0.02, hi = SPAN * 1.02, x = local(ev, cvO)[0];
  var t = lo + (x - GUTTER) / plotW() * (hi - lo), half = (t1 - t0) / 2;
  setView(t - half, t + half);
}
var ovDrag = false;
cvO.addEventListener("pointerdown", function (ev) {
  ovDrag = true; cvO.setPointerCapture(ev.pointerId); overviewJump(ev);
});
cvO.addEventListener("pointermove", function (ev) { if (ovDrag) overviewJump(ev); });
cvO.addEventListener("pointerup", function () { ovDrag = false; });
document.getElementById("tl-zoom-in").onclick = function () { zoom(0.5); };
document.getElementById("tl-zoom-out").onclick = function () { zoom(2); };
document.getElementById("tl-fit-all").onclick = fitAll;
var fitBtn = document.getElementById("tl-fit-hl");
fitBtn.onclick = fitHl; fitBtn.disabled = !HAS_HL;
document.addEventListener("keydown", function (ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (ev.key === "+" || ev.key === "=") zoom(0.5);
  else if (ev.key === "-" || ev.key === "_") zoom(2);
  else if (ev.key === "0") fitAll();
  else if (ev.key === "v") fitHl();
  else if (ev.key === "ArrowLeft") setView(t0 - (t1 - t0) * 0.2, t1 - (t1 - t0) * 0.2);
  else if (ev.key === "ArrowRight") setView(t0 + (t1 - t0) * 0.2, t1 + (t1 - t0) * 0.2);
});
window.addEventListener("resize", layout);

var cap = document.getElementById("tl-caption");
if (N) cap.textContent += ", spanning " + fmtTime(maxT);
if (HAS_HL) fitHl(); else fitAll();
layout();
})();
