"""The kit's dealings with other processes: the one builder of the PYTHONPATH a child
needs to import this kit (`kit_pythonpath`, on `kit_import_root`), and the one process-group
killer (`signal_group`).

The folder to put on another process's PYTHONPATH so that `import prodcon` finds this kit:

An installed wheel lays the package out as it imports (`prodcon/`, `prodcon/reference/`):
the folder that holds `prodcon/` serves. A checkout installed in development mode keeps
the repository's layout instead (`conformance/` is `prodcon`, `reference/` is
`prodcon.reference`), mapped by an import hook that only this interpreter's
site-packages installs; a process of another interpreter (the free-threaded twin) or one
with another site-packages gets a small folder of links that lays the checkout out the
installed way, made once per checkout and shared by every process that needs it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import stat
import tempfile
from pathlib import Path

import prodcon
from prodcon import reference

#: The prefix of the folders of links made for development checkouts (coverage maps
#: their paths back to the repository's files).
LINKS_PREFIX = "prodcon-import-root-"


def signal_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to every process of the group `pgid`; a group that is gone already, or
    that is no longer ours to signal (its members changed user), is left alone."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def kit_pythonpath(*folders: str, inherit: str | None = None) -> str:
    """The PYTHONPATH of a child process that imports this kit: the kit's import root,
    then `folders` (what else the child needs from here, e.g. pytest's), then the
    PYTHONPATH the child would have inherited; each folder once, the first place kept."""
    inherited = inherit.split(os.pathsep) if inherit else []
    return os.pathsep.join(dict.fromkeys([kit_import_root(), *folders, *inherited]))


def kit_import_root() -> str:
    """A folder from which `import prodcon` imports this very kit, whatever the interpreter."""
    package = Path(prodcon.__file__).resolve().parent
    bundled = Path(reference.__file__).resolve().parent
    if package.name == "prodcon" and bundled == package / "reference":
        return str(package.parent)
    return str(_links(package, bundled))


def _links(package: Path, bundled: Path) -> Path:
    """<tmp>/prodcon-import-root-UID-HASH/prodcon/: a link per entry of `package`, plus
    `reference` -> `bundled`. Readable by all: a sandboxed child runs as another user."""
    entries = sorted(e.name for e in package.iterdir()
                     if e.name not in ("reference", "__pycache__"))
    key = "\0".join([str(package), str(bundled), *entries]).encode()
    root = Path(tempfile.gettempdir()) / (
        f"{LINKS_PREFIX}{os.getuid()}-{hashlib.sha256(key).hexdigest()[:16]}")
    if _ours(root):
        return root
    if root.exists() or root.is_symlink():  # someone else's, or half made: not trusted
        root = Path(tempfile.mkdtemp(prefix=f"{LINKS_PREFIX}{os.getuid()}-"))
        root.chmod(0o755)
        _lay_out(root / "prodcon", package, bundled, entries)
        return root
    staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
    try:
        staging.chmod(0o755)
        _lay_out(staging / "prodcon", package, bundled, entries)
        staging.rename(root)  # atomic: a process making the same folder at once wins or loses
    except OSError:
        if not _ours(root):
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root


def _lay_out(tree: Path, package: Path, bundled: Path, entries: list[str]) -> None:
    tree.mkdir()
    for name in entries:
        (tree / name).symlink_to(package / name)
    (tree / "reference").symlink_to(bundled)


def _ours(root: Path) -> bool:
    """The folder of links is trusted only if this user made it and nobody else may
    change it: its name in the shared temporary folder can be guessed, and whatever
    it holds runs in the kit's processes."""
    try:
        for folder in (root, root / "prodcon"):
            info = folder.lstat()
            if (not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid()
                    or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
                return False
    except OSError:
        return False
    return (root / "prodcon" / "reference").is_symlink()
