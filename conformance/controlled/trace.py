"""The schedule as a reader sees it: one column per thread, steps in the order they ran.

Lincheck's layout, because a race is read across columns: what T1 did between
two steps of T0 is the whole story. Runs of line steps are folded into one cell
so a long critical section does not push the interesting rows off the screen.
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
        """(thread, cell text, marked), consecutive line steps of one thread folded."""
        rows: list[tuple[int, str, bool]] = []
        for step in self.steps:
            if (rows and step.text.startswith("line ") and rows[-1][0] == step.thread
                    and rows[-1][1].startswith("line ") and not rows[-1][2]):
                number = step.text[5:]
                text = rows[-1][1]
                if text.rsplit(",", 1)[-1].removeprefix("line ") != number:
                    text += "," + number
                rows[-1] = (step.thread, text, step.mark)
            else:
                rows.append((step.thread, step.text, step.mark))
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
