"""A history as a picture: one self-contained HTML page with a zoomable timeline.

One lane per thread (or asyncio task), one bar per call from its start to its end,
the calls that prove a violation outlined in red and everything else dimmed, the
explanation on top. The page needs nothing but a browser: CSS and JavaScript are
inline, the calls are embedded as compact JSON and drawn on a <canvas>, so a history
of 100,000 calls stays responsive. The page's HTML, CSS and JavaScript are asset files
(`timeline_page/`, shipped as package data), read each time a page is written.

    from prodcon.history import fileformat, timeline
    ops = fileformat.load("run.jsonl")
    timeline.write("run.html", ops, title="FIFO violation", highlight=(3, 7, 12, 15),
                   explanation="p0#1 was put before p0#2 returned, yet came out after it")

Everything that comes from the history (thread names, labels, errors) and the
title and explanation are escaped: they may come from untrusted code.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Collection, Hashable, Sequence
from importlib import resources
from typing import Any

from prodcon.history.fileformat import Op

__all__ = ["render", "write"]

#: Calls of one thread that overlap (possible in a hand-written history) are
#: stacked on sub-rows of its lane, at most this many.
MAX_ROWS = 4

_DIGITS = re.compile(r"([0-9]+)")


def _lane_key(name: str) -> tuple:
    """Producers (`p*`) first, then consumers (`c*`), then the rest; `p2` before `p10`."""
    first = name[:1].lower()
    group = 0 if first == "p" else 1 if first == "c" else 2
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                  for part in _DIGITS.split(name) if part)
    return group, parts, name


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _value_key(value: Hashable) -> Hashable:
    try:
        hash(value)
    except TypeError:
        return ("unhashable", repr(value))
    return value


def _rows(ops: list[Op], order: list[int]) -> list[int]:
    """The sub-row of each call (by position in `order`): 0 unless a thread overlaps itself."""
    rows = [0] * len(order)
    ends: dict[str, list[float]] = {}  # thread -> end of the last call on each row
    for pos, k in enumerate(order):
        op = ops[k]
        lane = ends.setdefault(str(op.thread), [])
        end = float("inf") if op.end is None else op.end
        free = next((r for r, last in enumerate(lane) if last <= op.start), None)
        if free is None:
            if len(lane) < MAX_ROWS:
                lane.append(end)
                free = len(lane) - 1
            else:
                free = min(range(len(lane)), key=lane.__getitem__)
        lane[free] = max(lane[free], end) if lane[free] > op.start else end
        rows[pos] = free
    return rows


def _data(ops: list[Op], highlight: Collection[int], unit: str) -> dict[str, Any]:
    order = sorted(range(len(ops)), key=lambda k: (ops[k].start, ops[k].index))
    threads = sorted({str(op.thread) for op in ops}, key=_lane_key)
    lane = {name: i for i, name in enumerate(threads)}
    origin = min((op.start for op in ops), default=0)
    exact = all(_is_int(op.start) and (op.end is None or _is_int(op.end)) for op in ops)

    labels: dict[str, int] = {}
    errors: dict[str, int] = {}
    values: dict[Hashable, int] = {}
    col: dict[str, list] = {key: [] for key in
                            ("index", "thread", "op", "start", "dur", "label", "value", "error")}
    previous = 0
    for k in order:
        op = ops[k]
        start = op.start - origin
        col["index"].append(op.index)
        col["thread"].append(lane[str(op.thread)])
        col["op"].append(0 if op.op == "put" else 1)
        col["start"].append(start - previous if exact else start)
        previous = start
        col["dur"].append(None if op.end is None else op.end - op.start)
        # Table references are 1-based, 0 meaning none: one character for most calls.
        meaningful = op.op == "put" or op.returned
        col["label"].append(labels.setdefault(str(op.label), len(labels) + 1) if meaningful else 0)
        col["value"].append(values.setdefault(_value_key(op.value), len(values) + 1)
                            if meaningful else 0)
        col["error"].append(0 if op.error is None else errors.setdefault(op.error, len(errors) + 1))
    if col["index"] == list(range(len(ops))):
        col["index"] = None  # the usual case: calls numbered in the order they started
    if col["value"] == col["label"]:
        col["value"] = None  # the usual case too: one label per value
    rows = _rows(ops, order)
    col["row"] = rows if any(rows) else None
    present = {op.index for op in ops}
    # Columns, one entry per call in order of start: index (Op.index; null: the
    # position), thread (into threads), op (0 put, 1 get), start (since origin,
    # or since the previous call's start when deltas), dur (null: never returned),
    # label / value / error (1-based into labels / value groups / errors, 0: none;
    # value null: same as label), row (sub-row in the lane; null: all 0).
    return {
        "version": 1,
        "unit": unit,
        "origin": origin,
        "deltas": exact,  # starts are differences from the previous call's start
        "threads": threads,
        "labels": list(labels),
        "errors": list(errors),
        "highlight": sorted(i for i in set(highlight) if i in present),
        "calls": col,
    }


def _embed(data: dict[str, Any]) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # `<`, `>` and `&` occur only inside JSON strings, where \u escapes mean the same:
    # no label can close the <script> element or open a comment in it.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(ops: Sequence[Op], *, title: str, explanation: str = "",
           highlight: Collection[int] = (), unit: str = "ns", lane: str = "thread") -> str:
    """The page for `ops`; `highlight` holds `Op.index`es, `unit` the unit of the times,
    `lane` what each lane is: a "thread", or an asyncio "task" (an async run's calls are
    recorded per task, under its name).

    `explanation` fills the box above the timeline: what the highlighted calls prove.
    The live kit passes `Evidence.explanation`, the message of that one finding, which
    is shorter than the reported message once several findings are combined.
    """
    ops = list(ops)
    data = _data(ops, highlight, unit)
    data["lane"] = lane
    threads = len(data["threads"])
    caption = (f"{len(ops):,} call{'s' * (len(ops) != 1)}, "
               f"{threads:,} {lane}{'s' * (threads != 1)}")
    if data["highlight"]:
        shown = len(data["highlight"])
        caption += f", {shown} highlighted"
    box = (f'<div class="explanation" role="alert">{html.escape(explanation)}</div>'
           if explanation else "")
    return (_asset("page.html")
            .replace("@TITLE@", html.escape(title))
            .replace("@CAPTION@", html.escape(caption))
            .replace("@EXPLANATION@", box)
            .replace("@HL_LEGEND@", '<span class="sw hl"></span>highlighted\n'
                     if data["highlight"] else "")
            .replace("@CSS@", "\n" + _asset("page.css"))
            .replace("@JS@", "\n" + _asset("page.js"))
            .replace("@DATA@", _embed(data)))


def _asset(name: str) -> str:
    """The text of one file of the page, `timeline_page/NAME`.

    page.html holds @PLACEHOLDERS@, replaced one after the other (`render`); @CSS@
    and @JS@ take a newline, then the whole text of page.css or page.js, so the
    style sheet and the script each stand on lines of their own. page.js reads the
    data and never writes HTML from it: every text from the history reaches the page
    through textContent or the canvas.
    """
    return (resources.files(__package__) / "timeline_page" / name).read_text(encoding="utf-8")


def write(path: str, ops: Sequence[Op], **kwargs: Any) -> str:
    """Write `render(ops, **kwargs)` to `path` (UTF-8) and return `path`."""
    page = render(ops, **kwargs)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(page)
    return path

