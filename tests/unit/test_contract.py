"""The contract loader: names, paths, missing roles, and errors a student can act on."""

import sys

import pytest

from prodcon import contract, reference


@pytest.fixture
def here(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith(("mod_", "_prodcon_impl_"))]:
        del sys.modules[name]


def write(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


def test_dotted_name_with_queue_only(here):
    write(here, "mod_q.py", "from queue import Queue, Full, Empty\n__version__ = '1.2'\n")
    impl = contract.load("mod_q", here)
    assert impl.provides_queue and not impl.provides_workers
    assert impl.producer is reference.producer and impl.sentinel is reference.SENTINEL
    assert impl.version == "1.2"
    assert impl.roles_line() == "Queue from mod_q; producer, consumer from reference"
    assert impl.file == str((here / "mod_q.py").resolve())


def test_path_to_file_with_workers_only(here):
    path = write(here, "mod_w.py", "SENTINEL = object()\n"
                 "def producer(q, items):\n    pass\n"
                 "def consumer(q, handle):\n    pass\n")
    impl = contract.load(str(path), here)
    assert impl.provides_workers and not impl.provides_queue
    assert impl.Queue is reference.Queue
    assert impl.sentinel is impl.module.SENTINEL
    assert impl.origin["producer"] == str(path)


def test_relative_path(here):
    write(here, "mod_rel.py", "from queue import Queue\n")
    assert contract.load("mod_rel.py", here).provides_queue


def test_file_named_queue_does_not_shadow_the_stdlib(here):
    write(here, "queue.py", "from collections import deque\nclass Queue:\n    pass\n")
    impl = contract.load(str(here / "queue.py"), here)
    import queue

    assert impl.Queue is not queue.Queue
    assert hasattr(sys.modules["queue"], "Full")


def test_own_exceptions_are_used(here):
    write(here, "mod_exc.py", "class Full(Exception): pass\nclass Empty(Exception): pass\n"
          "class ShutDown(Exception): pass\nclass Queue: pass\n")
    impl = contract.load("mod_exc", here)
    assert impl.Full is impl.module.Full and impl.Empty is impl.module.Empty
    assert impl.ShutDown is impl.module.ShutDown


def test_only_a_consumer_borrows_the_producer(here):
    write(here, "mod_c.py", "def consumer(q, handle):\n    pass\n")
    impl = contract.load("mod_c", here)
    assert impl.origin == {"Queue": "reference", "producer": "reference", "consumer": "mod_c"}
    assert impl.provides_workers
    assert impl.sentinel is None


@pytest.mark.parametrize("text, message", [
    ("x = 1\n", "provides neither role of the contract"),
    ("Queue = 3\n", "mod_bad.Queue must be a class, found int"),
    ("producer = 'p'\n", "mod_bad.producer must be a function, found str"),
    ("1/0\n", "raised ZeroDivisionError: division by zero (at "),
    ("def f(:\n", "raised SyntaxError"),
    ("import sys\nsys.exit(3)\n", "raised SystemExit: 3"),
    ("import nosuchthing_xyz\n", "raised ModuleNotFoundError"),
])
def test_errors_are_explained(here, text, message):
    write(here, "mod_bad.py", text)
    with pytest.raises(contract.ContractError, match=message.replace("(", r"\(")):
        contract.load("mod_bad", here)


def test_missing_module_and_missing_file(here):
    with pytest.raises(contract.ContractError, match="no module named 'mod_none'"):
        contract.load("mod_none", here)
    with pytest.raises(contract.ContractError, match="no such file"):
        contract.load("nothing/here.py", here)


def test_endless_import_is_bounded(here):
    write(here, "mod_loop.py", "import time\nwhile True:\n    time.sleep(0.01)\n")
    with pytest.raises(contract.ContractError, match="did not finish within"):
        contract.load("mod_loop", here, bound=0.3)


def test_the_reference_itself_provides_both_roles(here):
    impl = contract.load("reference", here)
    assert impl.provides_queue and impl.provides_workers
    assert impl.roles_line() == "Queue, producer, consumer from reference"
