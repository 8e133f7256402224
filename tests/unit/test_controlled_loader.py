"""Loading an implementation again on managed primitives, as the controlled runs do.

The module is run again by its name, with the whole package it belongs to, and with
it the library its Queue returns a class of or holds the locks of (a package, its
`queue` submodule imported relatively and absolutely); everything else is the real
module, a library's Empty keeps its identity, and the real modules are left
untouched.
"""

import sys
import threading
import types
from pathlib import Path

import pytest

from conftest import REPO, ZOO
from prodcon import contract
from prodcon.controlled import primitives
from prodcon.controlled.loader import CannotLoad, Facades, load_again
from prodcon.controlled.queue_exploration import managed_role
from prodcon.controlled.reach import uncontrolled_home


@pytest.fixture
def imported():
    """Import a module as the kit does (contract.load), and forget it afterwards."""
    path, modules = list(sys.path), set(sys.modules)

    def load(target: str) -> types.ModuleType:
        return contract.load(target, REPO).module

    yield load
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def test_the_library_behind_an_adapter_runs_on_managed_primitives(imported):
    adapter = imported(str(ZOO / "adapters" / "persistqueue_adapter.py"))
    library = sys.modules["persistqueue_standin"]
    role = managed_role(adapter, 1)
    queue = role.factory(1)
    assert type(queue) is not library.Queue and type(queue).__name__ == "Queue"
    assert isinstance(queue.mutex, primitives.Lock)
    assert queue.path.endswith("prodcon-persistqueue-standin")
    real = adapter.Queue(1)  # the real modules are untouched
    assert type(real) is library.Queue and not isinstance(real.mutex, primitives.Lock)
    assert library.Empty in role.empty and library.Full in role.full  # shared, not copied
    names = {Path(path).name for path in role.files}  # their lines are switch points
    assert {"persistqueue_adapter.py", "__init__.py", "queue.py"} <= names, role.files


def test_a_package_module_is_loaded_again_with_its_package(imported):
    """The bundled reference is run again whole (its modules import each other); the
    kit around it is not."""
    managed = load_again(imported("reference"))
    facades = managed.__prodcon_facades__
    assert facades.runs_managed(type(managed.Queue(1)))
    assert managed.bounded_queue is facades.loaded["prodcon.reference.bounded_queue"]
    assert managed.workers is facades.loaded["prodcon.reference.workers"]
    assert managed.workers is not sys.modules["prodcon.reference.workers"]
    assert not facades.manages("prodcon.controlled.loader") and facades.manages("prodcon")
    assert uncontrolled_home(managed.Queue(1), facades) is None


def test_a_class_without_python_source_is_a_reason_not_a_crash(monkeypatch):
    native = types.ModuleType("native_queue")
    native.__file__ = "/opt/native_queue.cpython-311-x86_64-linux-gnu.so"
    monkeypatch.setitem(sys.modules, "native_queue", native)
    cls = type("Queue", (), {"put": None, "__module__": "native_queue"})
    with pytest.raises(CannotLoad, match=r"native_queue.Queue, which has no Python source"):
        uncontrolled_home(cls, Facades())
    with pytest.raises(CannotLoad, match=r"threading.Condition, of the standard library"):
        uncontrolled_home(threading.Condition, Facades())
