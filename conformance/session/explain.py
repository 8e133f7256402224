"""Failures told as a student reads them: the property, what happened, what was due,
where the threads are, the timeline page and the command that replays it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prodcon.errors import KitError
from prodcon.history import timeline
from prodcon.isolation.protocol import IDLE
from prodcon.session.state import SessionRun
from prodcon.verdict import PROPERTIES, Stuck, Violation


def picture(finding: Violation | Stuck, item: pytest.Item, kit: SessionRun):
    """(path, html) of the failing scenario's timeline, when --prodcon-html asks for one.

    Drawn here, written by the controller (`Tally`): under xdist the page rides
    on the report like the rest of the finding.
    """
    evidence = finding.evidence
    if kit.html_dir is None or evidence is None:
        return None
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name).strip("_") or "test"
    path = str(Path(kit.html_dir) / f"{name}.html")
    title = f"{item.nodeid.split('::')[-1]}: {kit.impl_arg}, seed {kit.settings.seed}"
    page = timeline.render(evidence.ops, title=title, explanation=evidence.explanation,
                           highlight=evidence.culprits, unit="ns",
                           lane="task" if kit.impl.model == "asyncio" else "thread")
    return path, page


def explain_kit_error(fault: KitError, item: pytest.Item, kit: SessionRun) -> str:
    """The kit's own failure, said as such: no property, no verdict on the implementation."""
    return "\n".join([
        f"prodcon internal error: the kit itself failed in {item.name},",
        f"while {fault.doing}.",
        "",
        "This is a bug in prodcon, not in the implementation: this test judged nothing, "
        "and counts neither for nor against it. Please report it to prodcon's maintainers "
        "with this text and the replay command.",
        "",
        fault.trace or "(no traceback)",
        "",
        f"implementation: {kit.impl_arg}",
        f"replay: {kit.replay(item.name)}",
    ])


def explain(finding: Violation | Stuck, item: pytest.Item, kit: SessionRun,
            page_path: str | None = None) -> str:
    """The failure as a student reads it: property, what happened, what was due, replay;
    `page_path` is where its timeline page goes (`picture`), if it has one."""
    lines = []
    for prop in finding.props:
        lines.append(f"prodcon: property violated: {prop}")
        lines.append(f"  correct behaviour: {PROPERTIES[prop]}")
    lines.append("")
    lines.append(finding.message)
    notes = getattr(finding, "__notes__", None)
    if notes:
        lines.append("")
        lines.extend(notes)
    sandbox = getattr(kit.impl, "sandbox", None)
    if sandbox is not None and (isinstance(finding, Stuck) or "got stuck" in finding.message):
        lines.append("")
        lines.append("where the submission's threads are (in its own process; each kit "
                     "thread's twin there has its name):")
        lines.extend(f"  {line}" for line in _busy_threads(sandbox.stacks()))
    lines.append("")
    shown_file = "" if (kit.impl.file or "").endswith(kit.impl_arg) else f" ({kit.impl.file})"
    lines.append(f"implementation: {kit.impl_arg}{shown_file}")
    if page_path:
        lines.append(f"timeline: {page_path}")
    lines.append(f"replay: {getattr(finding, 'replay', None) or kit.replay(item.name)}")
    return "\n".join(lines)


def _busy_threads(stacks: str, limit: int = 60) -> list[str]:
    """The sandbox's stack listing without the threads idly waiting for the kit."""
    blocks: list[list[str]] = []
    for line in stacks.splitlines():
        if line and not line.startswith(" "):
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
        else:
            blocks.append([line])  # 'unavailable: ...'
    busy = [line for block in blocks if not any(IDLE in b
                                                  for b in block) for line in block]
    return busy[:limit] or ["(every thread idle)"]
