"""The public zoo: every broken implementation fails for the right reason, every correct
one passes. Each run is a real `pytest --prodcon-impl=FILE` in its own process.
"""

import pytest

from conftest import REPO, ZOO, caught_by

BROKEN = sorted((ZOO / "broken").glob("*.py"))
CORRECT = [REPO / "reference" / "__init__.py", *sorted((ZOO / "correct").glob("*.py"))]


@pytest.mark.parametrize("module", BROKEN, ids=lambda p: p.stem)
def test_broken_implementation_is_caught(run_kit, module):
    expected = caught_by(module)
    result = run_kit(module)
    assert result.ret == 1, result
    assert expected in result.violated, (
        f"{module.stem} should be caught by {expected!r}; the kit reported "
        f"{sorted(result.violated)}\n{result}"
    )


@pytest.mark.parametrize("module", CORRECT, ids=lambda p: p.stem if p.stem != "__init__" else
                         "reference")
def test_correct_implementation_passes(run_kit, module):
    impl = "reference" if module.stem == "__init__" else module
    result = run_kit(impl)
    assert result.ret == 0, result
    assert result.violated == set(), result


def test_zoo_is_large_enough():
    assert len(BROKEN) >= 25
    roles = {"queue": 0, "workers": 0}
    for module in BROKEN:
        text = module.read_text()
        roles["queue" if "class Queue" in text else "workers"] += 1
    assert min(roles.values()) >= 8, roles
