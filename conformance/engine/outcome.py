"""What one call into the implementation did, and the judgement of a single take.

Shared by the thread suite's calls (`session.kit`) and the async suite's
(`aio.calls`): the same words in both reports, one place to change them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prodcon.items import describe
from prodcon.verdict import Violation


@dataclass
class Outcome:
    """One call: its value or its error, or (an awaited call) that it stayed suspended;
    and how long it took."""

    value: Any = None
    error: BaseException | None = None
    suspended: bool = False
    elapsed: float = 0.0
    why_not_longer: str = ""  # for a suspended call the kit stopped waiting for early

    def text(self) -> str:
        if self.suspended:
            return f"was still suspended after {self.elapsed:.2f} s{self.why_not_longer}"
        if self.error is not None:
            text = str(self.error)
            return f"raised {type(self.error).__name__}({repr(text) if text else ''})"
        return f"returned {describe(self.value) if self.value is not None else 'None'}"


def taken_item(what: str, expected: Any, first: Outcome, again: Outcome | None,
               empty: type) -> Any:
    """The value of a non-blocking get that had to return `expected` (by identity);
    `again` is the same call made once more at once, when `first` raised `empty`.

    An Empty is a lost item only if asking once more does not bring `expected`: if it
    does, the item was inside all along and the Empty was false, a wrong answer rather
    than a lost item (a grade treats the two very differently)."""
    if isinstance(first.error, empty) and again is not None:
        if again.error is None and again.value is expected:
            raise Violation("full-empty", f"{what} raised {type(first.error).__name__} while "
                            f"{describe(expected)} was in the queue; asked again at once, it "
                            "returned it.")
    if first.error is not None:
        raise Violation("conservation", f"{what} {first.text()}; {describe(expected)} "
                        "was in the queue.")
    # An equal copy (a queue that pickles its items, as persist-queue does) reads here
    # as "get_nowait() returned p0#0; p0#0 was due": confusing, and kept until a change
    # of the reports' words is wanted (issue 14 kept them).
    if first.value is not expected:
        raise Violation("order", f"{what} returned {describe(first.value)}; "
                        f"{describe(expected)} was due (first in, first out).")
    return first.value
