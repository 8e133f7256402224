"""Loading an implementation again on managed primitives, as the controlled runs do.

The module is run again by its name, with the whole package it belongs to, and with
it the library its Queue returns a class of or holds the locks of (a package, its
`queue` submodule imported relatively and absolutely); everything else is the real
module, a library's Empty keeps its identity, and the real modules are left
untouched.
"""

import py_compile
import queue as queue_module
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

    def load(target: str, search_dir: Path = REPO) -> types.ModuleType:
        return contract.load(target, search_dir).module

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


def test_a_package_runs_whole_on_managed_primitives_and_keeps_its_exceptions(imported):
    """The zoo's package, given as its folder: both modules run again (the relative
    import, the other module's module-level lock), its Empty is the imported class."""
    package = imported(str(ZOO / "correct" / "split_package"))
    real_store = sys.modules[f"{package.__name__}.store"]
    role = managed_role(package, 1)
    queue = role.factory(1)
    assert type(queue._store) is not real_store.Store  # the store module's, run again
    facades = load_again(package).__prodcon_facades__
    managed = facades.loaded[f"{package.__name__}.store"]
    assert managed is not real_store and isinstance(managed._ITEMS_LOCK, primitives.Lock)
    assert not isinstance(real_store._ITEMS_LOCK, primitives.Lock)
    assert managed.Empty is real_store.Empty and managed.Full is real_store.Full
    assert package.Empty in role.empty and package.Full in role.full
    assert {Path(path).name for path in facades.files} == {"__init__.py", "core.py",
                                                            "store.py"}
    assert uncontrolled_home(facades.loaded[package.__name__].Queue(1), facades) is None


def test_a_package_folder_and_its_init_are_the_same_package(imported):
    folder = imported(str(ZOO / "correct" / "split_package"))
    init = imported(str(ZOO / "correct" / "split_package" / "__init__.py"))
    assert folder.__name__ == init.__name__ and folder.__path__ == init.__path__


def _package(root: Path, name: str, files: dict) -> None:
    (root / name).mkdir()
    for file, text in {"__init__.py": "", **files}.items():
        (root / name / file).write_text(text)


def test_what_the_queue_waits_in_is_found_in_another_package(imported, tmp_path):
    """A queue that holds a lock-making library's object, and one that never waits:
    the first library is to be loaded again, the second is left as it is."""
    _package(tmp_path, "waitlib", {"gate.py": "import threading\n"
                                   "class Gate:\n"
                                   "    def __init__(self):\n"
                                   "        self.lock = threading.Lock()\n"})
    _package(tmp_path, "plainlib", {"tally.py": "class Tally:\n    count = 0\n"})
    _package(tmp_path, "shop", {"adapter.py": "from plainlib.tally import Tally\n"
                                "from waitlib.gate import Gate\n"
                                "import queue\n"
                                "class Queue(queue.Queue):\n"
                                "    def __init__(self, maxsize=0):\n"
                                "        super().__init__(maxsize)\n"
                                "        self.tally = Tally()\n"
                                "        self.gate = Gate()\n"})
    adapter = imported("shop.adapter", tmp_path)
    managed = load_again(adapter)
    facades = managed.__prodcon_facades__
    assert uncontrolled_home(managed.Queue(1), facades) == "waitlib.gate"
    managed = load_again(adapter, {"waitlib.gate"})
    facades = managed.__prodcon_facades__
    queue = managed.Queue(1)
    assert isinstance(queue.gate.lock, primitives.Lock)
    assert type(queue.tally) is sys.modules["plainlib.tally"].Tally  # never waits: real
    assert uncontrolled_home(queue, facades) is None


def test_managed_code_that_looks_its_modules_up_by_name_gets_the_facades(imported, tmp_path):
    """importlib.import_module (aiologic's import_original), _thread and _queue."""
    _package(tmp_path, "lookup", {"names.py": "import importlib\n"
                                  "from importlib import import_module\n"
                                  "LOCK = import_module('_thread').allocate_lock()\n"
                                  "SIMPLE = importlib.import_module('_queue').SimpleQueue\n"
                                  "SIBLING = import_module('.other', __package__)\n"
                                  "from importlib import util\n"
                                  "class Queue:\n    pass\n",
                                  "other.py": "import time\nNOW = time.monotonic\n"})
    module = imported("lookup.names", tmp_path)
    managed = load_again(module)
    facades = managed.__prodcon_facades__
    assert isinstance(managed.LOCK, primitives.Lock)
    assert managed.SIMPLE is facades.get("queue")._PySimpleQueue
    assert managed.SIBLING is facades.loaded["lookup.other"]
    assert managed.SIBLING.NOW is primitives.monotonic
    assert managed.util is sys.modules["importlib.util"]


def test_a_module_without_python_source_is_the_real_one_or_a_reason_to_skip(
        imported, tmp_path):
    """Sourceless code in a package (a compiled module with no .py, as a C extension
    is) cannot be run again: the real module is used, and a queue class of it is skipped
    with the reason."""
    _package(tmp_path, "compiled", {"fast.py": "import queue\n"
                                    "class Queue(queue.Queue):\n    pass\n",
                                    "face.py": "from .fast import Queue\n"})
    source = tmp_path / "compiled" / "fast.py"
    py_compile.compile(str(source), cfile=str(source.with_suffix(".pyc")))
    source.unlink()
    face = imported("compiled.face", tmp_path)
    managed = load_again(face)
    facades = managed.__prodcon_facades__
    assert managed.Queue is sys.modules["compiled.fast"].Queue
    assert "compiled.fast" not in facades.loaded
    with pytest.raises(CannotLoad, match=r"compiled.fast.Queue, which has no Python source"):
        uncontrolled_home(managed.Queue(1), facades)


def test_culsans_waits_in_aiologic_and_both_are_loaded_again(imported):
    pytest.importorskip("culsans")
    adapter = imported(str(REPO / "examples" / "culsans_adapter.py"))
    role = managed_role(adapter, 1)
    tops = {Path(path).relative_to(Path(path).parents[1]).parts[0] for path in role.files
            if "site-packages" in path}
    assert {"culsans", "aiologic"} <= tops, role.files
    wrapped = role.factory(1).wrapped
    assert isinstance(wrapped.mutex, primitives.RLock)
    assert role.empty == (queue_module.Empty,)  # culsans raises subclasses of it
