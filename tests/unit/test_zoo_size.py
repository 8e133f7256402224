"""The public zoo is large enough, on both sides of the contract (read, not run)."""

from conftest import ZOO

BROKEN = sorted((ZOO / "broken").glob("*.py"))


def test_zoo_is_large_enough():
    assert len(BROKEN) >= 25
    roles = {"queue": 0, "workers": 0}
    for module in BROKEN:
        text = module.read_text()
        roles["queue" if "class Queue" in text else "workers"] += 1
    assert min(roles.values()) >= 8, roles
