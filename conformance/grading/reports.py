"""The files `prodcon grade` leaves behind: a gradebook, feedback, and a class summary.

The grading process decides each submission's `Graded`; this module only writes it
down, for three readers who must not see the same things. The instructor gets
everything (`grades.csv`, `grades.json`, `summary.html`). Each student gets one
Markdown file (and, for Gradescope, one `results.json`) built from their own grade
alone, with hidden criteria reduced to "failed a hidden check", so feedback can be
handed out file by file without leaking another student's data or a hidden test.

Every file is rebuilt from scratch and swapped in with `os.replace`: a file left by
an earlier run, or planted by a submission that could write into the output folder,
never survives under a name this module writes. Output is deterministic (sorted by
submission name, no timestamps) so two runs on the same grades can be diffed.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import json
import os
import re
import statistics
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prodcon.grading import rubric
from prodcon.verdict import PROPERTIES

BINS = 10
TOP_TESTS = 10
HIDDEN_TEXT = "Failed a hidden check."


@dataclass
class Graded:
    """One submission's grade, decided by the grading process."""

    name: str  # submission name, unique in the class (file stem or folder name)
    path: str  # the submission's path as given
    score: rubric.Score | None  # None: nothing could be judged; total is then 0
    max_score: float  # rubric.max_score
    reason: str = ""  # "" if the run completed; else why it ended early, for the student
    replay: str = ""  # the exact command the student runs locally to reproduce
    duration: float = 0.0  # seconds of wall time spent grading it
    kit_failed: list[str] = field(default_factory=list)  # tests the kit itself failed in
    # what each systematic search that passed covered ("complete: every schedule of ...")
    covered: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.score.total if self.score is not None else 0.0

    @property
    def kit_note(self) -> str:
        """For the instructor: the tests prodcon itself failed in, which were not counted."""
        if not self.kit_failed:
            return ""
        return (f"prodcon itself failed in {_plural(len(self.kit_failed), 'test')}, not "
                f"counted against the submission (a bug in prodcon): "
                f"{', '.join(self.kit_failed)}")

    @property
    def remarks(self) -> str:
        """Why the run ended early, and where the kit failed: the instructor's reason."""
        return "; ".join(text for text in (self.reason, self.kit_note) if text)

    @property
    def gated(self) -> bool:
        return self.score is not None and self.score.gated

    def credit(self, prop: str) -> rubric.Credit | None:
        if self.score is None:
            return None
        return next((c for c in self.score.credits if c.criterion.prop == prop), None)

    def earned(self, prop: str) -> float:
        """The points `prop` adds to the total: a gate zeroes the criteria it leaves out,
        so the per-criterion points plus `cap_deduction` always add up to `total`."""
        credit = self.credit(prop)
        if credit is None or self.score is None:
            return 0.0
        if self.score.gated and prop not in self.score.required:
            return 0.0
        return credit.points

    @property
    def cap_deduction(self) -> float:
        """What a cap took off the criteria's points: 0, or a negative number."""
        if self.score is None:
            return 0.0
        return round(self.score.total - self.score.subtotal, 2)


def write_all(outdir: Path, graded: list[Graded], rubric: rubric.Rubric, *,
              gradescope: bool = False) -> list[Path]:
    """Write every report for the class; returns the paths written, in writing order."""
    outdir = Path(outdir)
    names = [g.name for g in graded]
    duplicates = sorted(n for n, k in Counter(names).items() if k > 1)
    if duplicates:
        raise ValueError(f"submission names must be unique; repeated: {', '.join(duplicates)}")
    graded = sorted(graded, key=lambda g: g.name)
    stems = file_stems(names)
    outdir.mkdir(parents=True, exist_ok=True)
    written = [
        _write(outdir / "grades.csv", grades_csv(graded, rubric)),
        _write(outdir / "grades.json", grades_json(graded, rubric)),
    ]
    feedback_dir = _directory(outdir / "feedback")
    for g in graded:
        written.append(_write(feedback_dir / f"{stems[g.name]}.md", feedback(g, rubric)))
    if gradescope:
        if len(graded) == 1:  # Gradescope runs the autograder once per submission
            targets = {graded[0].name: outdir / "results.json"}
        else:
            root = _directory(outdir / "gradescope")
            targets = {g.name: _directory(root / stems[g.name]) / "results.json"
                       for g in graded}
        for g in graded:
            written.append(_write(targets[g.name], _json(gradescope_result(g, rubric))))
    written.append(_write(outdir / "summary.html", summary_html(graded, rubric, stems)))
    return written


# -- file names -------------------------------------------------------------------


def file_stems(names: list[str]) -> dict[str, str]:
    """A safe, distinct file stem per submission name.

    A name keeps its own stem when it is already safe and no other name folds onto
    it; otherwise a hash of the name is appended. Two students whose names sanitize
    alike ("a b", "a_b"), or differ only in case on a case-insensitive disk, must
    never share a feedback file.
    """
    bases = {name: _sanitize(name) for name in names}
    folded = Counter(base.lower() for base in bases.values())
    stems = {}
    for name, base in bases.items():
        if base == name and folded[base.lower()] == 1:
            stems[name] = base
        else:
            digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:8]
            stems[name] = f"{base}-{digest}"
    taken = Counter(stem.lower() for stem in stems.values())
    clashes = sorted(name for name, stem in stems.items() if taken[stem.lower()] > 1)
    if clashes:
        raise ValueError(f"submission names collide as file names: {', '.join(clashes)}")
    return stems


def _sanitize(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:100]
    if not stem or stem.startswith("."):  # never "", ".", ".." or a hidden file
        stem = "_" + stem
    return stem


# -- writing ----------------------------------------------------------------------


def _directory(path: Path) -> Path:
    """`path` as a real directory: a symlink or file planted there is removed first,
    so nothing is written through it to somewhere else."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        path.unlink()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path: Path, text: str) -> Path:
    """Replace `path` whole: readers see the old file or the new one, never a mix,
    and a symlink at `path` is replaced rather than followed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8", "replace"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _num(value: float) -> str:
    """15 not 15.0, 6.67 not 6.666666: points as a person writes them."""
    value = round(float(value), 2)
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _cell(text: str) -> str:
    """A spreadsheet runs a cell that starts like a formula; a submission's name or
    error message must not become one in the instructor's gradebook."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def shorten_output(text: str, lines: int = 40, chars: int = 4000) -> str:
    """The start of a long failure message, saying what was left out: a stress test's
    explanation can run to pages, and the first screen names the problem."""
    all_lines = text.splitlines()
    kept = "\n".join(all_lines[:lines])
    if len(all_lines) <= lines and len(kept) <= chars:
        return kept
    return (f"{kept[:chars]}\n[... clipped: the full message has {len(all_lines)} lines, "
            f"{len(text)} characters; the replay command shows all of it]")


# -- instructor files -------------------------------------------------------------


def grades_csv(graded: list[Graded], rubric: rubric.Rubric) -> str:
    """A row per submission; a rubric with caps adds a `cap` column (0 or what the cap
    took off), so every row's columns add up to its score."""
    props = [c.prop for c in rubric.criteria]
    capped = _has_caps(rubric)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "score", "max_score", *props, *(["cap"] if capped else []),
                     "reason"])
    for g in graded:
        cap = [_num(g.cap_deduction)] if capped else []
        writer.writerow([_cell(g.name), _num(g.total), _num(g.max_score),
                         *(_num(earned) for _, _, earned in _per_criterion(g, rubric)), *cap,
                         _cell(g.remarks)])
    return out.getvalue()


def _has_caps(rubric: rubric.Rubric) -> bool:
    return any(c.cap is not None for c in rubric.criteria)


def grades_json(graded: list[Graded], rubric: rubric.Rubric) -> str:
    submissions = []
    for g in graded:
        criteria = []
        for criterion, credit, earned in _per_criterion(g, rubric):
            criteria.append({
                "property": criterion.prop,
                "points": earned,
                "max_points": criterion.points,
                "held": credit.held if credit else 0,
                "counted": credit.counted if credit else 0,
                "required": criterion.prop in rubric.required,
                "hidden": criterion.hidden,
                "cap": criterion.cap,
                "failed_tests": [r.get("test", "?") for r in credit.failures] if credit else [],
                "missing_tests": list(credit.missing) if credit else [],
            })
        submissions.append({
            "submission": g.name, "path": g.path, "score": g.total, "max_score": g.max_score,
            "reason": g.reason, "replay": g.replay, "duration": round(g.duration, 3),
            "gated": g.gated, "kit_failed": list(g.kit_failed), "covered": list(g.covered),
            "subtotal": g.score.subtotal if g.score else 0.0,
            "cap": g.score.cap if g.score else None,
            "capped_by": g.score.capped_by if g.score else [], "criteria": criteria,
        })
    return _json({"rubric": rubric.source, "max_score": rubric.max_score,
                  "submissions": submissions})


# -- student files ----------------------------------------------------------------


def _fence(text: str) -> str:
    """A code fence longer than any backtick run in `text`, so a message cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _code(text: str) -> str:
    tick = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{tick}{pad}{text}{pad}{tick}"


def _block(text: str) -> str:
    fence = _fence(text)
    return f"{fence}\n{text}\n{fence}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def criterion_text(g: Graded, criterion: rubric.Criterion) -> str:
    """What a student may read about one criterion; feedback and Gradescope share it.

    A hidden criterion says only whether it held: its tests, messages and hint
    would tell the student what the hidden check probes.
    """
    credit = g.credit(criterion.prop)
    if credit is None:
        return "Not judged: " + (g.reason or "the submission could not be run.")
    text = _judged_text(credit, criterion)
    if g.score is not None and g.gated and criterion.prop not in g.score.required:
        text = (f"Not counted while a required property falls short; on its own it earns "
                f"{_num(credit.points)} / {_num(criterion.points)}.\n\n{text}")
    return text


def _judged_text(credit: rubric.Credit, criterion: rubric.Criterion) -> str:
    if credit.full:
        if credit.counted == 0:
            return "Nothing to judge (every test was skipped): full marks."
        return f"Held in all {_plural(credit.counted, 'test')}."
    if criterion.hidden:
        return HIDDEN_TEXT
    parts = [f"The property: {PROPERTIES.get(criterion.prop, criterion.prop)}.",
             f"Held in {credit.held} of {_plural(credit.counted, 'test')}."]
    if credit.failures:
        names = "\n".join(f"- {_code(r.get('test', '?'))}" for r in credit.failures)
        parts.append(f"Failed in {_plural(len(credit.failures), 'test')}:\n\n{names}")
    if credit.missing:
        names = "\n".join(f"- {_code(t)}" for t in credit.missing)
        parts.append(f"Never ran, because the run ended first (each counts as not held):"
                     f"\n\n{names}")
    if credit.failures:
        first = credit.failures[0]
        message = shorten_output(str(first.get("message") or "(the test gave no message)"))
        parts.append(f"Example failure, from {_code(first.get('test', '?'))}:\n\n"
                     f"{_block(message)}")
    if criterion.hint:
        parts.append(f"Hint: {criterion.hint}")
    return "\n\n".join(parts)


def _cap_text(g: Graded) -> str:
    """Why the total is held down, or "" when no cap is in force."""
    if g.score is None or g.score.cap is None:
        return ""
    short = g.score.capped_by
    cap = _num(g.score.cap)
    text = (f"Capped at {cap}: {', '.join(short)} {'falls' if len(short) == 1 else 'fall'} "
            f"short, and while {'it does' if len(short) == 1 else 'they do'} the total is at "
            f"most {cap}, whatever the other criteria earn")
    if g.cap_deduction < 0:
        return f"{text} (they add up to {_num(g.score.subtotal)})."
    return f"{text}."


def _gate_text(g: Graded, rubric: rubric.Rubric) -> str:
    short = [p for p in rubric.required if (c := g.credit(p)) is not None and not c.full]
    return (f"Required {'property' if len(short) == 1 else 'properties'} fell short: "
            f"{', '.join(short)}. Until every required property "
            f"({', '.join(rubric.required)}) earns full marks, only the required properties "
            f"are counted; the others score 0 for now.")


def _kit_text(g: Graded) -> str:
    """What a student reads of the kit's own failures: how many, never which (a hidden
    test's name would tell what it probes)."""
    return (f"prodcon itself failed in {_plural(len(g.kit_failed), 'test')} of your run: a "
            "bug in the grading kit, not in your code, and not counted for or against you.")


def _per_criterion(g: Graded, rubric: rubric.Rubric,
                   ) -> Iterator[tuple[rubric.Criterion, rubric.Credit | None, float]]:
    """Each criterion of the rubric, in its order, with `g`'s credit on it (None: not
    judged) and the points it adds to the total: the one walk every report makes."""
    for criterion in rubric.criteria:
        yield criterion, g.credit(criterion.prop), g.earned(criterion.prop)


def _opening(g: Graded, rubric: rubric.Rubric, *, feedback_file: bool) -> list[str]:
    """What a student reads before the points, one paragraph each: why the run ended
    early, the kit's own failures, a gate or a cap in force. The feedback file sets the
    labels and the cap in bold and says what a test that never ran counts for; the
    Gradescope summary leaves that to its per-criterion tests."""
    def strong(text: str) -> str:
        return f"**{text}**" if feedback_file else text

    paragraphs = []
    if g.reason:
        paragraphs.append(f"{strong('The run ended early:')} {g.reason}")
        if feedback_file and g.score is not None:
            paragraphs.append("Tests that never ran count as not passed.")
    if g.kit_failed:
        paragraphs.append(f"{strong('Not counted:')} {_kit_text(g)}")
    if g.score is None:
        paragraphs.append("Nothing could be judged, so every criterion scores 0.")
    if g.gated:
        paragraphs.append(_gate_text(g, rubric))
    if _cap_text(g):
        paragraphs.append(strong(_cap_text(g)))
    return paragraphs


def _cap_name(g: Graded) -> str:
    """The name of the line that takes off what a cap holds back (feedback, Gradescope)."""
    return f"cap: at most {_num(g.score.cap)}"


def feedback(g: Graded, rubric: rubric.Rubric) -> str:
    """The student's own report, Markdown, built from their grade alone."""
    lines = [f"# {g.name}: {_num(g.total)} / {_num(g.max_score)}", ""]
    for paragraph in _opening(g, rubric, feedback_file=True):
        lines += [paragraph, ""]
    lines += ["## Points", "", "| Property | Points | |", "|---|---:|---|"]
    lost = []
    for criterion, credit, earned in _per_criterion(g, rubric):
        if credit is not None and not credit.full:
            lost.append((criterion, earned))
        note = ""
        if g.gated and criterion.prop not in rubric.required:
            note = "not counted (a required property fell short)"
            if credit is not None and not credit.full:
                note += "; see below"
        elif credit is not None and not credit.full:
            note = "hidden check failed" if criterion.hidden else "see below"
        if criterion.cap is not None and credit is not None and not credit.full:
            note += f"; caps the total at {_num(criterion.cap)}"
        lines.append(f"| {criterion.prop} | {_num(earned)} / "
                     f"{_num(criterion.points)} | {note} |")
    if g.cap_deduction < 0:
        lines.append(f"| {_cap_name(g)} | {_num(g.cap_deduction)} | |")
    lines += [f"| **Total** | **{_num(g.total)} / {_num(g.max_score)}** | |", ""]
    if lost:
        lines += ["## What cost points", ""]
        for criterion, earned in lost:
            lines += [f"### {criterion.prop}: {_num(earned)} / "
                      f"{_num(criterion.points)}", "", criterion_text(g, criterion), ""]
    if g.covered:
        lines += ["## What the systematic search covered", "",
                  *(f"- {text}" for text in g.covered), ""]
    if g.replay:
        lines += ["Reproduce locally:", "", _block(g.replay), ""]
    return "\n".join(lines)


def gradescope_result(g: Graded, rubric: rubric.Rubric) -> dict:
    """Gradescope's results.json for one submission: one test per criterion, whose
    scores add up to the total, each with the same text the feedback file gives."""
    summary = [f"{_num(g.total)} / {_num(g.max_score)}.",
               *_opening(g, rubric, feedback_file=False)]
    if g.replay:
        summary.append(f"Reproduce locally:\n\n{_block(g.replay)}")
    tests = []
    for criterion, credit, earned in _per_criterion(g, rubric):
        tests.append({
            "name": criterion.prop,
            "score": earned,
            "max_score": criterion.points,
            "status": "passed" if credit is not None and credit.full else "failed",
            "output": criterion_text(g, criterion),
            "output_format": "md",
            "visibility": "visible",
        })
    if g.cap_deduction < 0:  # a line of its own, so the tests' scores add up to the total
        tests.append({"name": _cap_name(g), "score": g.cap_deduction,
                      "max_score": 0, "status": "failed", "output": _cap_text(g),
                      "output_format": "md", "visibility": "visible"})
    return {"score": g.total, "execution_time": round(g.duration), "output": "\n\n".join(summary),
            "output_format": "md", "tests": tests}


# -- class summary ----------------------------------------------------------------

def _capped_cell(g: Graded) -> str:
    if g.score is None or g.score.cap is None:
        return ""
    return f"at {_num(g.score.cap)}: {', '.join(g.score.capped_by)}"


CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1, h2 { font-weight: 600; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25em 0.8em; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.stats span { margin-right: 2em; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg rect { fill: #4a7bb7; }
"""


def _histogram(totals: list[float], max_score: float) -> str:
    """Inline SVG, 10 equal bins of [0, max_score]; a perfect score falls in the last."""
    counts = [0] * BINS
    for total in totals:
        share = total / max_score if max_score > 0 else 0.0
        counts[min(max(int(share * BINS), 0), BINS - 1)] += 1
    width, height, bar, top = 520, 170, 44, max(counts + [1])
    parts = [f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" role="img" aria-label="histogram of scores">']
    for i, count in enumerate(counts):
        h = round(120 * count / top)
        x = 10 + i * (bar + 6)
        lo, hi = _num(max_score * i / BINS), _num(max_score * (i + 1) / BINS)
        parts.append(f'<rect x="{x}" y="{135 - h}" width="{bar}" height="{h}">'
                     f'<title>{lo}–{hi}: {count}</title></rect>')
        parts.append(f'<text x="{x + bar / 2:g}" y="{130 - h}" text-anchor="middle">{count}</text>')
        parts.append(f'<text x="{x + bar / 2:g}" y="152" text-anchor="middle">{lo}–{hi}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def summary_html(graded: list[Graded], rubric: rubric.Rubric,
                 stems: dict[str, str] | None = None) -> str:
    """The instructor's page: self-contained, every submission string escaped."""
    esc = html.escape
    stems = stems or file_stems([g.name for g in graded])
    totals = [g.total for g in graded]
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           f"<title>prodcon grades: {esc(rubric.source)}</title>", f"<style>{CSS}</style>",
           "</head>", "<body>", "<h1>prodcon grades</h1>",
           f"<p>Rubric: {esc(rubric.source)}, {_num(rubric.max_score)} points.</p>"]
    if totals:
        out.append(f'<p class="stats"><span>Submissions: {len(totals)}</span>'
                   f"<span>Mean: {_num(statistics.fmean(totals))}</span>"
                   f"<span>Median: {_num(statistics.median(totals))}</span></p>")
    else:
        out.append("<p>No submissions.</p>")
    out += ["<h2>Scores</h2>", _histogram(totals, rubric.max_score)]

    judged = [g for g in graded if g.score is not None]
    lost = Counter()
    failed = Counter()
    for g in judged:
        tests = set()
        for credit in g.score.credits:
            if not credit.full:
                lost[credit.criterion.prop] += 1
            tests.update(str(r.get("test", "?")).split("[", 1)[0] for r in credit.failures)
        failed.update(tests)
    out += ["<h2>Most common failures</h2>",
            f"<p>Among the {_plural(len(judged), 'submission')} that could be judged.</p>",
            "<table><tr><th>Property</th><th class=n>Submissions that lost points</th></tr>"]
    for criterion in sorted(rubric.criteria, key=lambda c: -lost[c.prop]):
        if lost[criterion.prop]:
            hidden = " (hidden)" if criterion.hidden else ""
            out.append(f"<tr><td>{esc(criterion.prop)}{hidden}</td>"
                       f"<td class=n>{lost[criterion.prop]}</td></tr>")
    out += ["</table>",
            "<table><tr><th>Test</th><th class=n>Submissions that failed it</th></tr>"]
    for test, count in sorted(failed.items(), key=lambda item: (-item[1], item[0]))[:TOP_TESTS]:
        out.append(f"<tr><td>{esc(test)}</td><td class=n>{count}</td></tr>")
    out.append("</table>")

    early = [g for g in graded if g.reason]
    out.append("<h2>Ended early</h2>")
    if early:
        out.append("<ul>")
        out += [f"<li>{esc(g.name)}: {esc(g.reason)}</li>" for g in early]
        out.append("</ul>")
    else:
        out.append("<p>None: every run completed.</p>")

    struck = [g for g in graded if g.kit_failed]
    if struck:
        out += ["<h2>prodcon itself failed</h2>",
                "<p>In these tests the kit failed, not the submission: they judged nothing and "
                "were not counted. This is a bug in prodcon: please report it, with the test "
                "and the submission's replay command (in grades.json).</p>", "<ul>"]
        out += [f"<li>{esc(g.name)}: {esc(', '.join(g.kit_failed))}</li>" for g in struck]
        out.append("</ul>")

    out += ["<h2>All submissions</h2>",
            "<table><tr><th>Submission</th><th class=n>Score</th><th>Gated</th>"
            "<th>Capped</th><th class=n>Seconds</th><th>Reason</th></tr>"]
    for g in graded:
        link = esc(f"feedback/{stems[g.name]}.md", quote=True)
        out.append(f'<tr><td><a href="{link}">{esc(g.name)}</a></td>'
                   f"<td class=n>{_num(g.total)} / {_num(g.max_score)}</td>"
                   f"<td>{'yes' if g.gated else ''}</td><td>{esc(_capped_cell(g))}</td>"
                   f"<td class=n>{_num(g.duration)}</td>"
                   f"<td>{esc(g.remarks)}</td></tr>")
    out += ["</table>", "</body>", "</html>", ""]
    return "\n".join(out)
