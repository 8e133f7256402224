"""Finding a class's submissions: which files and folders on the command line are
submissions, which module of each the kit imports, and a name for each that is unique
in the class (the feedback files and the gradebook's rows are keyed by it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prodcon.errors import UsageError


@dataclass(frozen=True)
class Submission:
    name: str  # unique in the class: the file's stem or the folder's name
    path: str  # as found
    module: str  # the .py file the kit imports


def find_submissions(paths: list[str], module: str | None) -> list[Submission]:
    """Each path is a submission (a .py file, or a folder holding the module and no folder
    that does), or a folder of submissions (each .py file and each such folder in it)."""
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        entry = _as_submission(path, module)
        holds_submissions = path.is_dir() and any(
            child.is_dir() and _as_submission(child, module) is not None
            for child in path.iterdir() if not child.name.startswith((".", "_")))
        if entry is not None and not holds_submissions:
            found.append(entry)
            continue
        if not path.is_dir():
            raise UsageError(f"{raw}: not a .py file or a folder")
        inner = [s for child in sorted(path.iterdir()) if not child.name.startswith((".", "_"))
                 for s in [_as_submission(child, module)] if s is not None]
        if not inner:
            raise UsageError(f"{raw}: holds no submission (.py files, or folders with one)")
        found.extend(inner)
    return _unique(found)


def _as_submission(path: Path, module: str | None) -> Submission | None:
    if path.is_file():
        return Submission(path.stem, str(path), str(path)) if path.suffix == ".py" else None
    if not path.is_dir():
        return None
    if module is not None:
        chosen = path / (module if module.endswith(".py") else f"{module}.py")
        return Submission(path.name, str(path), str(chosen)) if chosen.is_file() else None
    modules = [p for p in path.glob("*.py") if not p.name.startswith(("_", "."))]
    return Submission(path.name, str(path), str(modules[0])) if len(modules) == 1 else None


def _unique(found: list[Submission]) -> list[Submission]:
    """The same name twice (alice.py in two folders) gets a suffix, never overwrites."""
    seen: dict[str, int] = {}
    unique = []
    for sub in found:
        count = seen.get(sub.name, 0) + 1
        seen[sub.name] = count
        unique.append(sub if count == 1 else Submission(f"{sub.name}-{count}", sub.path,
                                                        sub.module))
    return unique
