"""Finding a class's submissions: which files and folders on the command line are
submissions, which module or package of each the kit imports, and a name for each that
is unique in the class (the feedback files and the gradebook's rows are keyed by it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from prodcon.contract import is_package
from prodcon.errors import UsageError


@dataclass(frozen=True)
class Submission:
    name: str  # unique in the class: the file's stem or the folder's name
    path: str  # as found
    module: str  # the .py file the kit imports, or its package's folder


def find_submissions(paths: list[str], module: str | None) -> list[Submission]:
    """Each path is a submission (a .py file, a package's folder, or a folder holding the
    module or package and no folder that is a submission of its own), or a folder of
    submissions (each .py file and each such folder in it).

    A folder whose one submission-shaped content is a package is that package's
    submission, named after the folder: alice/ holding myqueue/ is alice's, as alice/
    holding myqueue.py is. A package is never split into its own modules.
    """
    found: list[Submission] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        entry = _as_submission(path, module)
        inner_folders = [child for child in path.iterdir()
                         if child.is_dir() and not child.name.startswith((".", "_"))
                         and _as_submission(child, module) is not None] if path.is_dir() else []
        holds_submissions = bool(inner_folders) and not (
            entry is not None and (entry.module == str(path)  # a package given itself
                                   or [str(f) for f in inner_folders] == [entry.module]))
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
    """`path` as one submission, or None. In a folder, in this order: the module or
    package `--module` names; the folder itself when its `__init__.py` holds code (an
    empty one makes no package worth grading: a student's folder often has one); its
    one module; its one package when it has no module."""
    if path.is_file():
        return Submission(path.stem, str(path), str(path)) if path.suffix == ".py" else None
    if not path.is_dir():
        return None
    if module is not None:
        stem = module.removesuffix(".py")
        for chosen in (path / f"{stem}.py", path / stem):
            if chosen.is_file() or is_package(chosen):
                return Submission(path.name, str(path), str(chosen))
        return None
    if _has_code(path):
        return Submission(path.name, str(path), str(path))
    modules = [p for p in path.glob("*.py") if not p.name.startswith(("_", "."))]
    if len(modules) == 1:
        return Submission(path.name, str(path), str(modules[0]))
    packages = [p for p in path.iterdir() if not p.name.startswith(("_", ".")) and _has_code(p)]
    if not modules and len(packages) == 1:
        return Submission(path.name, str(path), str(packages[0]))
    return None


def _has_code(path: Path) -> bool:
    """A package whose `__init__.py` holds more than comments and blank lines."""
    if not is_package(path):
        return False
    text = (path / "__init__.py").read_text(encoding="utf-8", errors="replace")
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def impl_name(module: str) -> str:
    """What `--prodcon-impl` names `module` by, in the folder that holds it: the file's
    name, or a package's folder in path form (`myqueue/`: by a bare name, a folder
    called `queue` would be the standard library's)."""
    path = Path(module)
    return f"{path.name}/" if is_package(path) else path.name


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
