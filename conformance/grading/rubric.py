"""Grading rubrics: points per property, judged on a run's per-test records.

A rubric lists criteria, each one property of the contract worth some points and
judged on a group of tests. A criterion's credit is the share of its tests in
which its property held, so a queue that loses one item in one scenario of six
keeps five sixths of `conservation`, and an order bug costs `order`, not every
property its scenarios also check. Points alone would still let a queue that is
no queue (a stack, one that loses items) score high on everything else, so a
criterion may also carry a `cap`: while it falls short, the total is at most that.
The records are the `--prodcon-json` lines of a run (`run.Tally` writes them), read
by the grading process, never by code that ran beside the submission.
"""

from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path

from prodcon.errors import RubricError
from prodcon.verdict import PROPERTIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

DEFAULT = Path(__file__).with_name("default_rubric.toml")
#: The default for asyncio submissions (`prodcon grade --model asyncio`).
DEFAULT_ASYNC = Path(__file__).with_name("default_async_rubric.toml")
#: Record outcomes that judged nothing, so count for no criterion: a part not provided
#: (skipped), a test not run (deselected), a test in which the kit itself failed.
#: "kit-error" is taken on the record's word, so a hostile submission that raises
#: `prodcon.errors.KitError` itself, or whose sandbox child reports a forged kit error,
#: makes the tests it fails count for nothing instead of against it. It stays so here
#: because closing it changes grades (issue 14 keeps every grade as it was): the fix
#: is in the session, which should record as "failed" a KitError that arrives from the
#: sandbox child or whose traceback passes through the implementation's files.
NOT_JUDGED = ("skipped", "deselected", "kit-error")


@dataclass(frozen=True)
class Criterion:
    prop: str
    points: float
    tests: tuple[str, ...]
    hint: str = ""
    hidden: bool = False  # students see that it failed, not how
    cap: float | None = None  # while it falls short, the total is at most this

    def covers(self, test: str) -> bool:
        base = test.split("[", 1)[0]
        return any(fnmatch.fnmatchcase(base, pattern) for pattern in self.tests)


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    required: tuple[str, ...] = ()
    source: str = "default"

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.criteria)


@dataclass
class Credit:
    """What one criterion earned, and the failing tests that cost it."""

    criterion: Criterion
    held: int
    counted: int
    failures: list[dict] = field(default_factory=list)  # the records that violated it
    missing: list[str] = field(default_factory=list)  # tests that never reported

    @property
    def points(self) -> float:
        if self.counted == 0:
            return self.criterion.points  # nothing to judge: every test skipped
        return round(self.criterion.points * self.held / self.counted, 2)

    @property
    def full(self) -> bool:
        return self.held == self.counted


@dataclass
class Score:
    credits: list[Credit]
    required: tuple[str, ...]
    gated: bool  # a required criterion fell short: only the required ones count

    @property
    def subtotal(self) -> float:
        """The points the counted criteria earned, before any cap."""
        counted = [c for c in self.credits
                   if not self.gated or c.criterion.prop in self.required]
        return round(sum(c.points for c in counted), 2)

    @property
    def cap(self) -> float | None:
        """The lowest cap among the criteria that fell short; None if none is in force."""
        caps = [c.criterion.cap for c in self.credits
                if c.criterion.cap is not None and not c.full]
        return min(caps) if caps else None

    @property
    def capped_by(self) -> list[str]:
        """The properties that fell short and hold the total down to `cap`."""
        return [c.criterion.prop for c in self.credits
                if c.criterion.cap is not None and not c.full and c.criterion.cap == self.cap]

    @property
    def total(self) -> float:
        cap = self.cap
        return self.subtotal if cap is None else min(self.subtotal, cap)


def load(path: str | Path | None = None, model: str = "threads") -> Rubric:
    """The rubric in `path` (TOML), or the default one of the model."""
    default = DEFAULT_ASYNC if model == "asyncio" else DEFAULT
    source = Path(path) if path is not None else default
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RubricError(f"{source}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RubricError(f"{source}: not valid TOML: {exc}") from None
    return parse(data, ("default" if model != "asyncio" else "default asyncio")
                 if path is None else str(source))


def parse(data: dict, source: str) -> Rubric:
    criteria = []
    table = data.get("criteria")
    if not isinstance(table, dict) or not table:
        raise RubricError(f"{source}: no [criteria.PROPERTY] tables")
    for prop, spec in table.items():
        where = f"{source}: [criteria.{prop}]"
        if prop not in PROPERTIES:
            raise RubricError(f"{where}: unknown property; known: {', '.join(PROPERTIES)}")
        unknown = set(spec) - {"points", "tests", "hint", "hidden", "cap"}
        if unknown:
            raise RubricError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        points = spec.get("points")
        if not isinstance(points, (int, float)) or isinstance(points, bool) or points < 0:
            raise RubricError(f"{where}: points must be a number >= 0")
        tests = spec.get("tests")
        if not isinstance(tests, list) or not tests or not all(isinstance(t, str) for t in tests):
            raise RubricError(f"{where}: tests must be a non-empty list of test name patterns")
        cap = spec.get("cap")
        if cap is not None and (not isinstance(cap, (int, float)) or isinstance(cap, bool)
                                or cap < 0):
            raise RubricError(f"{where}: cap must be a number >= 0")
        criteria.append(Criterion(prop, float(points), tuple(tests), str(spec.get("hint", "")),
                                  bool(spec.get("hidden", False)),
                                  None if cap is None else float(cap)))
    required = tuple(data.get("grading", {}).get("required", ()))
    for prop in required:
        if prop not in table:
            raise RubricError(f"{source}: [grading] required names {prop!r}, not a criterion")
    return Rubric(tuple(criteria), required, source)


def score(rubric: Rubric, records: list[dict], expected: list[str]) -> Score:
    """Credit per criterion from a run's test records.

    `expected` is every test a complete run reports (the reference's run with the
    same settings): one that is missing from `records` never ran to its end.
    """
    by_test = {r["test"]: r for r in records}
    credits = []
    for criterion in rubric.criteria:
        credit = Credit(criterion, 0, 0)
        for test in expected:
            record = by_test.get(test)
            if not criterion.covers(test) and not _names(record, criterion.prop):
                continue
            if record is None:
                credit.counted += 1
                credit.missing.append(test)
            elif record["outcome"] in NOT_JUDGED:
                continue
            elif _held(record, criterion.prop):
                credit.counted += 1
                credit.held += 1
            else:
                credit.counted += 1
                credit.failures.append(record)
        credits.append(credit)
    gated = any(not c.full for c in credits if c.criterion.prop in rubric.required)
    return Score(credits, rubric.required, gated)


def _names(record: dict | None, prop: str) -> bool:
    """A failure that names a property costs it, whichever tests its criterion lists:
    a rubric that forgot a test must not make a violation free."""
    return (record is not None and record["outcome"] == "failed"
            and prop in (record.get("properties") or []))


def _held(record: dict, prop: str) -> bool:
    """Passed, or failed naming properties that are all others. A failure that names
    none (the kit could not tell) holds against every criterion."""
    if record["outcome"] == "passed":
        return True
    props = record.get("properties") or []
    return bool(props) and prop not in props
