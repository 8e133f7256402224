"""`prodcon grade`: submissions found, hostile ones contained, every grade explained.

One class is graded once per session (module fixture) and every test reads its
outputs: the grading is the slow part, the assertions are cheap.
"""

import csv
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from conftest import ZOO, once_per_session
from prodcon.cli import main
from prodcon.grading.plan import GradingPlan
from prodcon.grading.suite_run import STOP_GRACE, run_suite

CORRECT = {"split_package": ZOO / "correct" / "split_package"}
BROKEN = {"lifo": ZOO / "broken" / "lifo.py"}
HOSTILE = {path.stem: path for path in sorted((ZOO / "hostile").glob("*.py"))}
TIME_LIMIT = 150.0
JOBS = 2


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, worker_id):
    """A class: the reference, a package in a student's folder, a broken queue, every
    hostile submission. Graded once per session, by whichever pytest-xdist worker asks
    first, in the folder the session's workers share: this module's tests land on
    several workers, and each graded the class again (seen 4 times in one CI run, about
    70 s of CPU each)."""
    code, out, took, count = once_per_session(tmp_path_factory, worker_id, "graded-class",
                                              _grade_the_class)
    return code, Path(out), took, count


def _grade_the_class(root: Path):
    shutil.rmtree(root, ignore_errors=True)  # what a worker whose grading failed left
    root.mkdir()
    cls = root / "class"
    cls.mkdir()
    (cls / "reference_reexport.py").write_text(
        "from prodcon.reference import SENTINEL, Empty, Full, Queue, consumer, producer  # noqa\n")
    # a student's folder holding a package (relative imports, two modules) and notes
    folder = cls / "folder_submission"
    folder.mkdir()
    shutil.copytree(CORRECT["split_package"], folder / "my_queue",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "notes.txt").write_text("not a module\n")
    for name, path in {**BROKEN, **HOSTILE}.items():
        shutil.copy(path, cls / f"{name}.py")
    out = root / "out"
    out.mkdir()
    (out / "grades.csv").write_text("submission,score,max_score\nforged_before,100,100\n")
    # This class's sandboxes in a folder of their own, to tell its processes from those
    # of any other grading on the machine (same file names, same labels).
    sandboxes = root / "sandboxes"
    sandboxes.mkdir()
    before = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(sandboxes)
    start = time.monotonic()
    try:
        code = main(["grade", str(cls), "-o", str(out), "-j", str(JOBS), "--seed", "11",
                     "--time-limit", str(TIME_LIMIT), "--gradescope"])
    finally:
        if before is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = before
    took = time.monotonic() - start
    time.sleep(1.0)  # anything left behind to forge files has had its chance
    return code, str(out), took, len(list(cls.iterdir()))  # as JSON keeps it


def _rows(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["submission"]: row for row in csv.DictReader(handle)}


def test_the_command_grades_every_submission(graded_class):
    code, out, _, count = graded_class
    assert code == 0
    rows = _rows(out)
    assert len(rows) == count
    assert "forged_before" not in rows


def test_correct_submissions_get_full_marks(graded_class):
    rows = _rows(graded_class[1])
    for name in ("reference_reexport", "folder_submission"):
        feedback = graded_class[1] / "feedback" / f"{name}.md"
        assert float(rows[name]["score"]) == float(rows[name]["max_score"]) == 100, (
            f"{rows[name]}\n{feedback.read_text()}")  # its failed tests, and their reports
        assert rows[name]["reason"] == ""
    report = json.loads((graded_class[1] / "grades.json").read_text())
    package = next(s for s in report["submissions"] if s["submission"] == "folder_submission")
    assert package["replay"].startswith("pytest --prodcon-impl=my_queue/ "), package


def test_broken_and_hostile_ones_get_less_each_with_a_reason(graded_class):
    out = graded_class[1]
    rows = _rows(out)
    for name in (*BROKEN, *HOSTILE):
        assert float(rows[name]["score"]) < 100, (name, rows[name])
    report = json.loads((out / "grades.json").read_text())
    by_name = {s["submission"]: s for s in report["submissions"]}
    for name in HOSTILE:  # each one either failed tests, named, or never started, said why
        entry = by_name[name]
        failed = [t for c in entry["criteria"] for t in c["failed_tests"] + c["missing_tests"]]
        assert entry["reason"] or failed, name


def test_a_stack_is_capped_as_unusable(graded_class):
    """lifo.py is no queue, however well it does the rest of the API: at most 60, and the
    student reads which property holds it there."""
    out = graded_class[1]
    row = _rows(out)["lifo"]
    assert float(row["score"]) <= 60 and float(row["cap"]) < 0, row
    report = json.loads((out / "grades.json").read_text())
    (lifo,) = [s for s in report["submissions"] if s["submission"] == "lifo"]
    assert "order" in lifo["capped_by"]
    assert "**Capped at 60: " in (out / "feedback" / "lifo.md").read_text()


@pytest.mark.parametrize("name, words", [
    ("loops_at_import", "did not finish within"),
    ("exits_at_import", "ended the process it was imported in"),
])
def test_an_import_that_never_returns_scores_zero_with_the_kits_reason(graded_class, name,
                                                                        words):
    row = _rows(graded_class[1])[name]
    assert float(row["score"]) == 0
    assert words in row["reason"]


def test_a_memory_bomb_keeps_the_points_it_earned_before(graded_class):
    row = _rows(graded_class[1])["memory_bomb"]
    assert 0 < float(row["score"]) < 100
    assert float(row["conservation"]) > 0


def test_the_kit_patched_in_the_child_changes_nothing(graded_class):
    """patches_the_kit is a LIFO queue: it scores what lifo scores, not more."""
    rows = _rows(graded_class[1])
    assert float(rows["patches_the_kit"]["order"]) < 10
    assert float(rows["patches_the_kit"]["score"]) <= float(rows["lifo"]["score"]) + 5


def test_no_forged_grades_survive(graded_class):
    out = graded_class[1]
    text = (out / "grades.csv").read_text()
    assert "1000" not in text and "forged" not in text
    assert "1000" not in (out / "grades.json").read_text()


def test_every_student_gets_feedback_and_a_gradescope_result(graded_class):
    code, out, _, count = graded_class
    feedback = sorted((out / "feedback").glob("*.md"))
    assert len(feedback) == count
    lifo = (out / "feedback" / "lifo.md").read_text()
    assert "order" in lifo and "pytest --prodcon-impl=lifo.py --prodcon-seed=11" in lifo
    result = json.loads((out / "gradescope" / "lifo" / "results.json").read_text())
    assert result["score"] == pytest.approx(sum(t["score"] for t in result["tests"]), abs=0.05)
    assert "<svg" in (out / "summary.html").read_text()


def test_wall_time_is_bounded_by_the_limit_over_the_parallelism(graded_class):
    _, _, took, count = graded_class
    baseline = 60  # the reference's own run, and starting the session
    assert took < baseline + TIME_LIMIT * count / JOBS


def test_no_process_of_the_class_outlives_the_grading(graded_class):
    """Only this class's processes count: other gradings on the machine (tests beside
    this one under xdist, anyone's) have sandboxes of their own. A sandbox child, and
    whatever it forked, has its TMPDIR in this class's folder of sandboxes, in its
    environment or as its working directory."""
    _, out, _, _ = graded_class
    sandboxes = str(out.parent / "sandboxes")
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(sandboxes + os.sep) or any(
                entry.startswith(f"TMPDIR={sandboxes}{os.sep}".encode()) for entry in environ):
            leftovers.append(pid)
    assert leftovers == []


# --- pieces ----------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="process groups and /proc")
def test_a_run_past_its_limit_is_stopped(tmp_path):
    """SIGINT first (pytest keeps its records), SIGKILL only after the grace."""
    slow = tmp_path / "slow.py"
    slow.write_text("import time\nfrom queue import Empty, Full\n"
                    "from queue import Queue as _Q\n"
                    "class Queue(_Q):\n"
                    "    def put(self, *a, **k):\n"
                    "        time.sleep(0.5)\n"
                    "        return super().put(*a, **k)\n")
    plan = GradingPlan([], 3, "quick", 1.0, 8.0, [], str(tmp_path), None, False)
    start = time.monotonic()
    result = run_suite(str(slow), plan, isolate=True)
    assert result.exit_code is None
    assert time.monotonic() - start < 8.0 + STOP_GRACE + 5
    assert result.run is not None


def test_an_asyncio_class_is_graded_with_the_async_suite_and_rubric(tmp_path, capsys):
    """`prodcon grade --model asyncio`: each queue runs isolated (its loop in the
    sandbox's child, taking turns with the kit's); a correct design gets full marks, a
    hand-off design whose get_nowait() lets a later item overtake a cancelled getter's
    loses the cancellation points and is capped as unusable; a pair of async workers
    (tasks in the child, calling the kit's queue back) whose consumer swallows its
    cancellation loses the cancel-shutdown points, and is capped too."""
    cls = tmp_path / "class"
    cls.mkdir()
    shutil.copy(ZOO / "async" / "correct" / "condition_queue.py", cls / "alice.py")
    shutil.copy(ZOO / "async" / "broken" / "hand_off_lets_get_nowait_overtake.py",
                cls / "bob.py")
    shutil.copy(ZOO / "async" / "workers" / "consumer_swallows_cancel.py", cls / "carol.py")
    out = tmp_path / "out"
    code = main(["grade", str(cls), "-o", str(out), "-j", str(JOBS), "--seed", "11",
                 "--model", "asyncio"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "--prodcon-model=asyncio" in err and "rubric default asyncio" in err
    with (out / "grades.csv").open(encoding="utf-8") as grades:
        rows = {row["submission"]: row for row in csv.DictReader(grades)}
    assert float(rows["alice"]["score"]) == 100, rows["alice"]
    bob = rows["bob"]
    assert float(bob["cancellation"]) < 10 and float(bob["score"]) <= 60, bob
    carol = rows["carol"]
    assert float(carol["cancel-shutdown"]) < 3 and float(carol["score"]) <= 60, carol
    assert float(carol["cancellation"]) == 10, carol  # the queue is the reference's
    feedback = (out / "feedback" / "bob.md").read_text(encoding="utf-8")
    assert "pytest --prodcon-impl=bob.py --prodcon-seed=11 --prodcon-profile=quick " \
        "--prodcon-model=asyncio" in feedback
