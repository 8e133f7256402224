"""The folder to put on another process's PYTHONPATH so that `import prodcon` finds this kit.

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
import tempfile
from pathlib import Path

#: The prefix of the folders of links made for development checkouts (coverage maps
#: their paths back to the repository's files).
LINKS_PREFIX = "prodcon-import-root-"


def kit_import_root() -> str:
    """A folder from which `import prodcon` imports this very kit, whatever the interpreter."""
    import prodcon
    from prodcon import reference

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
    if (root / "prodcon" / "reference").exists():
        return root
    staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
    try:
        staging.chmod(0o755)
        tree = staging / "prodcon"
        tree.mkdir()
        for name in entries:
            (tree / name).symlink_to(package / name)
        (tree / "reference").symlink_to(bundled)
        staging.rename(root)  # atomic: a process making the same folder at once wins or loses
    except OSError:
        if not (root / "prodcon" / "reference").exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return root
