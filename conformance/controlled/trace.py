"""The schedule as a reader sees it: one column per thread, steps in the order they ran.

Lincheck's layout, because a race is read across columns: what T1 did between
two steps of T0 is the whole story. Of the lines a thread ran, only those where
it was switched out are shown, so a long critical section does not push the
interesting rows off the screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Step:
    thread: int
    name: str
    text: str
    clock: float
    mark: bool = False


@dataclass
class Trace:
    names: list = field(default_factory=list)
    steps: list = field(default_factory=list)

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
                text = f"switched out at {text}"
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
