"""The public zoo is large enough, on both sides of the contract (read, not run)."""

import re

from conftest import ZOO, zoo_modules

BROKEN = sorted((ZOO / "broken").glob("*.py"))


def test_zoo_is_large_enough():
    assert len(BROKEN) >= 25
    roles = {"queue": 0, "workers": 0}
    for module in BROKEN:
        text = module.read_text()
        roles["queue" if "class Queue" in text else "workers"] += 1
    assert min(roles.values()) >= 8, roles


def test_every_module_of_a_documented_folder_is_in_its_table():
    """A folder's README is the zoo's index: a module it does not name is a stray (a
    test once wrote copies of zoo modules beside them, and they were committed)."""
    for readme in sorted(ZOO.glob("*/README.md")):
        text = readme.read_text()
        strays = [path.name for path in zoo_modules(readme.parent)
                  if not re.search(rf"[`/]{path.stem}\b", text)]
        assert not strays, f"{readme.parent.name}/ has modules its README does not name: {strays}"
