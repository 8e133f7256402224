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


KEEPS_THREE = """\
import queue
from queue import Empty, Full


class Queue(queue.Queue):  # forgets every item after its third: put() returns, it is gone
    def __init__(self, maxsize=0):
        super().__init__(maxsize)
        self._puts = 0

    def _put(self, item):
        self._puts += 1
        if self._puts <= 3:
            super()._put(item)
"""


@pytest.mark.parametrize("module, test, violated", [
    ("false_empty_sometimes", "test_fifo_one_producer", {"linearizability"}),
    ("get_nowait_blocks", "test_any_object_is_an_item", {"blocking"}),
    ("keeps_three", "test_fifo_one_producer", {"conservation"}),
])
def test_a_non_blocking_get_is_blamed_for_what_it_did(run_kit, pytester, module, test,
                                                      violated):
    """A false Empty is a wrong answer, a get_nowait() that hangs a blocking bug; only
    an item that does not come back when asked again is lost. Grading caps a lost
    item, so the difference is worth 40 points to a student."""
    impl = ZOO / "broken" / f"{module}.py"
    if module == "keeps_three":
        impl = pytester.path / "keeps_three.py"
        impl.write_text(KEEPS_THREE)
    result = run_kit(impl, "-k", test)
    assert result.violated == violated, result


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
