"""The schedule as a reader sees it: one column per thread, steps in the order they ran.

Lincheck's layout, because a race is read across columns: what T1 did between
two steps of T0 is the whole story. Of the lines a thread ran, only those where
it was switched out are shown, so a long critical section does not push the
interesting rows off the screen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Step:
    thread: int
    name: str
    text: str
    clock: float
    mark: bool = False


def _line(where) -> str:
    """A line switch point's text: "line 42", or in a package "line core.py:42"."""
    if type(where) is not tuple:
        return f"line {where}"
    return f"line {where[0]}:{where[1]}" if where[1] is not None else "line None"


class Trace:
    """A run's steps. The scheduler records one at every switch point, and most are
    never read (only a failure's trace is shown), so it records four plain values,
    `task, text, clock, mark`, with a line's number for its text (in a package, its
    file's name and number), and `steps` makes the `Step`s on first reading: a switch
    point then costs no object and no string.
    Flat in one list, not a tuple each: a thousand tuples kept per run would set off
    the garbage collector's passes over the whole process."""

    def __init__(self, names: list | None = None, steps: list | None = None):
        self.names = [] if names is None else names
        self._steps = [] if steps is None else steps
        self.pending: list = []  # recorded, not yet made into steps: 4 values a step

    @property
    def steps(self) -> list[Step]:
        if self.pending:
            p = self.pending
            # A text that is not a string is a line: its number (an int, or None), or
            # (file's name, number) where the implementation has several files of its
            # own (lines.LineSwitches decides).
            self._steps.extend(
                Step(task.index, task.name, text if type(text) is str else _line(text),
                     clock, mark)
                for task, text, clock, mark in zip(p[0::4], p[1::4], p[2::4], p[3::4],
                                                   strict=True))
            self.pending.clear()
        return self._steps

    @steps.setter
    def steps(self, steps: list[Step]) -> None:
        self.pending.clear()
        self._steps = steps

    def mark_last(self) -> None:
        """Mark the last step recorded (where a run ended), if there is one."""
        if self.pending:
            self.pending[-1] = True
        elif self._steps:
            self._steps[-1].mark = True

    def rows(self) -> list[tuple[int, str, bool]]:
        """(thread, cell text, marked): the calls and synchronization steps, and a
        line only where its thread was switched out there (or where it failed).

        A line the thread simply went on from tells nothing; the line a thread
        stopped at while another one ran is where the race is.
        """
        steps = [s for s in self.steps if s.mark or s.text != "line None"]
        rows: list[tuple[int, str, bool]] = []
        for index, step in enumerate(steps):
            text = step.text
            if text.startswith("line ") and not step.mark:
                after = steps[index + 1] if index + 1 < len(steps) else None
                if after is not None and after.thread == step.thread:
                    continue
                where = text[5:]  # "42", or "core.py:42": the file says it is a line
                text = f"switched out at {text if where.isdigit() else where}"
            rows.append((step.thread, text, step.mark))
        return rows

    def format(self, width: int = 30, tail: int = 400) -> str:
        names = list(self.names)
        for step in self.steps:
            while step.thread >= len(names):
                names.append(f"T{len(names)}")
            names[step.thread] = step.name
        rows = self.rows()
        skipped = max(0, len(rows) - tail)
        header = "    " + " | ".join(n[:width].ljust(width) for n in names)
        lines = [header, "    " + "-+-".join("-" * width for _ in names)]
        if skipped:
            lines.append(f"    ... {skipped} earlier rows left out ...")
        for thread, text, mark in rows[skipped:]:
            cells = [""] * len(names)
            cell = text if len(text) <= width else text[: width - 3] + "..."
            cells[thread] = cell
            prefix = ">>  " if mark else "    "
            lines.append((prefix + " | ".join(c.ljust(width) for c in cells)).rstrip())
        return "\n".join(lines)
