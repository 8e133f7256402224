"""Grade reports: right numbers, student files that leak nothing, files that cannot be forged."""

from __future__ import annotations

import csv
import json

import pytest

from prodcon.grading import reports, rubric
from prodcon.grading.reports import Graded, write_all
from prodcon.verdict import PROPERTIES

EXPECTED = ["test_pipeline[1p1c]", "test_pipeline[4p4c]", "test_pipeline[8p2c]",
            "test_fifo_one_producer", "test_fifo_many[2]"]
SECRET_TEST = "test_fifo_many[2]"
SECRET_MESSAGE = "full-empty broken: get() answered Empty while item 7 was inside"
SECRET_HINT = "Answer Empty only under the lock."
REPLAY = "pytest --prodcon-impl=alice.py --prodcon-seed=7 --prodcon-profile=quick"


def _rubric(required=(), conservation_cap=None):
    cap = {} if conservation_cap is None else {"cap": conservation_cap}
    return rubric.parse({
        "grading": {"required": list(required)},
        "criteria": {
            "conservation": {"points": 15, "tests": ["test_pipeline"],
                             "hint": "Take items under the lock.", **cap},
            "order": {"points": 10, "tests": ["test_fifo_*"], "hint": "Use popleft."},
            "full-empty": {"points": 5, "tests": ["test_fifo_many"],
                           "hint": SECRET_HINT, "hidden": True},
        }}, "small.toml")


def _rec(test, outcome="passed", props=(), message=""):
    return {"test": test, "outcome": outcome, "properties": list(props), "message": message,
            "duration": 0.1}


def _passing():
    return [_rec(t) for t in EXPECTED]


def _graded(name, records, rub=None, **kw):
    rub = rub or _rubric()
    return Graded(name, f"{name}.py", rubric.score(rub, records, EXPECTED), rub.max_score, **kw)


def _alice(rub=None):
    """Loses one of three conservation tests, and the hidden check."""
    records = _passing()
    records[1] = _rec(EXPECTED[1], "failed", ["conservation"],
                      "conservation broken: item 3 was taken twice\nby consumer-1 and consumer-2")
    records[4] = _rec(SECRET_TEST, "failed", ["full-empty"], SECRET_MESSAGE)
    return _graded("alice", records, rub, replay=REPLAY, duration=2.5)


def _csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_csv_header_and_rows(tmp_path):
    rub = _rubric(required=["conservation"])
    gated = _passing()
    gated[0] = _rec(EXPECTED[0], "failed", ["conservation"], "lost item 1")
    graded = [_graded("zed", _passing(), rub),
              _graded("bob", gated, rub),
              Graded("carol", "carol.py", None, rub.max_score,
                     "import failed: No module named 'x'"),
              _alice(rub)]
    write_all(tmp_path, graded, rub)
    rows = _csv(tmp_path / "grades.csv")
    assert rows[0] == ["submission", "score", "max_score", "conservation", "order",
                       "full-empty", "reason"]
    by_name = {row[0]: row for row in rows[1:]}
    assert [row[0] for row in rows[1:]] == ["alice", "bob", "carol", "zed"]
    assert by_name["zed"] == ["zed", "30", "30", "15", "10", "5", ""]
    assert by_name["alice"] == ["alice", "10", "30", "10", "0", "0", ""]  # gated: 2/3 of 15
    assert by_name["bob"] == ["bob", "10", "30", "10", "0", "0", ""]
    assert by_name["carol"] == ["carol", "0", "30", "0", "0", "0",
                                "import failed: No module named 'x'"]


def test_csv_partial_points_without_trailing_noise(tmp_path):
    write_all(tmp_path, [_alice()], _rubric())
    assert _csv(tmp_path / "grades.csv")[1] == ["alice", "20", "30", "10", "10", "0", ""]
    records = _passing()
    records[3] = _rec(EXPECTED[3], "failed", ["order"])
    records[4] = _rec(EXPECTED[4], "failed", ["order"])
    records[0] = _rec(EXPECTED[0], "failed", ["conservation"])
    write_all(tmp_path, [_graded("dan", records)], _rubric())
    assert _csv(tmp_path / "grades.csv")[1][:5] == ["dan", "15", "30", "10", "0"]
    assert reports._num(6.666) == "6.67" and reports._num(72.50) == "72.5"


def test_csv_cells_never_start_a_formula(tmp_path):
    graded = [Graded("=HYPERLINK(1)", "x.py", None, 30.0, "@SUM(A1)")]
    write_all(tmp_path, graded, _rubric())
    row = _csv(tmp_path / "grades.csv")[1]
    assert row[0] == "'=HYPERLINK(1)" and row[-1] == "'@SUM(A1)"


def test_forged_files_are_replaced_not_followed(tmp_path):
    out = tmp_path / "out"
    (out / "feedback").mkdir(parents=True)
    (out / "grades.csv").write_text("submission,score\nalice,100\n", encoding="utf-8")
    (out / "feedback" / "alice.md").write_text("# alice: 100 / 100\n", encoding="utf-8")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    (out / "summary.html").symlink_to(victim)
    write_all(out, [_alice()], _rubric())
    assert _csv(out / "grades.csv")[1][:2] == ["alice", "20"]
    assert (out / "feedback" / "alice.md").read_text(encoding="utf-8").startswith(
        "# alice: 20 / 30")
    assert not (out / "summary.html").is_symlink()
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not [p for p in out.rglob("*.tmp")]


def test_feedback_explains_a_failure(tmp_path):
    paths = write_all(tmp_path, [_alice()], _rubric())
    md = (tmp_path / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert tmp_path / "feedback" / "alice.md" in paths
    assert md.startswith("# alice: 20 / 30\n")
    assert "| conservation | 10 / 15 |" in md
    assert "test_pipeline[4p4c]" in md
    assert "item 3 was taken twice\nby consumer-1 and consumer-2" in md
    assert "Hint: Take items under the lock." in md
    assert PROPERTIES["conservation"] in md
    assert md.rstrip().endswith(f"Reproduce locally:\n\n```\n{REPLAY}\n```")


def test_feedback_says_why_the_run_ended_and_what_never_ran(tmp_path):
    reason = "stopped at the time limit of 120 s after 3 of 5 tests"
    graded = _graded("eve", _passing()[:3], reason=reason)
    write_all(tmp_path, [graded], _rubric())
    md = (tmp_path / "feedback" / "eve.md").read_text(encoding="utf-8")
    assert md.index(reason) < md.index("## Points")
    assert "Never ran" in md and "test_fifo_one_producer" in md


def test_tests_the_kit_failed_in_are_flagged_for_the_instructor_not_counted(tmp_path):
    records = _passing()
    records[4] = _rec(SECRET_TEST, "kit-error", message="prodcon internal error: ...")
    graded = _graded("kim", records, kit_failed=[SECRET_TEST])
    write_all(tmp_path, [graded], _rubric(), gradescope=True)
    assert graded.total == graded.max_score
    note = (f"prodcon itself failed in 1 test, not counted against the submission (a bug in "
            f"prodcon): {SECRET_TEST}")
    assert _csv(tmp_path / "grades.csv")[1] == ["kim", "30", "30", "15", "10", "5", note]
    instructor = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    assert instructor["submissions"][0]["kit_failed"] == [SECRET_TEST]
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "prodcon itself failed" in page and SECRET_TEST in page
    student = [(tmp_path / "feedback" / "kim.md").read_text(encoding="utf-8"),
               json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))["output"]]
    for text in student:  # how many, never which: it may be a hidden test
        assert "prodcon itself failed in 1 test of your run" in text, text
        assert "not counted for or against you" in text and SECRET_TEST not in text
    assert "The run ended early" not in student[0]


def test_feedback_names_the_gate(tmp_path):
    rub = _rubric(required=["conservation"])
    write_all(tmp_path, [_alice(rub)], rub)
    md = (tmp_path / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "Required property fell short: conservation" in md
    assert "only the required properties are counted" in md


def test_a_cap_is_a_column_a_line_and_a_reason_everywhere_the_grade_is_written(tmp_path):
    """alice's criteria add up to 20; conservation fell short and caps her at 12."""
    rub = _rubric(conservation_cap=12)
    write_all(tmp_path, [_alice(rub), _graded("bob", _passing(), rub)], rub, gradescope=True)
    rows = _csv(tmp_path / "grades.csv")
    assert rows[0] == ["submission", "score", "max_score", "conservation", "order",
                       "full-empty", "cap", "reason"]
    assert rows[1] == ["alice", "12", "30", "10", "10", "0", "-8", ""]
    assert rows[2] == ["bob", "30", "30", "15", "10", "5", "0", ""]
    md = (tmp_path / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert ("**Capped at 12: conservation falls short, and while it does the total is at most "
            "12, whatever the other criteria earn (they add up to 20).**") in md
    assert "| conservation | 10 / 15 | see below; caps the total at 12 |" in md
    assert "| cap: at most 12 | -8 | |\n| **Total** | **12 / 30** | |" in md
    assert "Capped" not in (tmp_path / "feedback" / "bob.md").read_text(encoding="utf-8")
    result = json.loads((tmp_path / "gradescope" / "alice" / "results.json").read_text("utf-8"))
    assert result["score"] == 12
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(12)
    assert result["tests"][-1]["name"] == "cap: at most 12" and "Capped at 12" in result["output"]
    data = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    alice = data["submissions"][0]
    assert (alice["score"], alice["subtotal"], alice["cap"], alice["capped_by"]) == (
        12, 20, 12, ["conservation"])
    assert "<td>at 12: conservation</td>" in (tmp_path / "summary.html").read_text("utf-8")


def test_a_cap_that_does_not_bind_is_still_named_but_takes_nothing(tmp_path):
    rub = _rubric(conservation_cap=25)
    write_all(tmp_path, [_alice(rub)], rub)
    assert _csv(tmp_path / "grades.csv")[1] == ["alice", "20", "30", "10", "10", "0", "0", ""]
    md = (tmp_path / "feedback" / "alice.md").read_text(encoding="utf-8")
    assert "the total is at most 25, whatever the other criteria earn.**" in md
    assert "| cap:" not in md


def test_hidden_criterion_leaks_nothing_to_students(tmp_path):
    write_all(tmp_path, [_alice()], _rubric(), gradescope=True)
    student = [(tmp_path / "feedback" / "alice.md").read_text(encoding="utf-8"),
               (tmp_path / "results.json").read_text(encoding="utf-8")]
    for text in student:
        assert SECRET_TEST not in text and "test_fifo_many" not in text
        assert "item 7" not in text and SECRET_HINT not in text
        assert "hidden check" in text
    assert "| full-empty | 0 / 5 |" in student[0]
    instructor = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    (hidden,) = [c for c in instructor["submissions"][0]["criteria"] if c["hidden"]]
    assert hidden["failed_tests"] == [SECRET_TEST] and hidden["points"] == 0


def test_grades_json_is_the_instructor_view(tmp_path):
    write_all(tmp_path, [_alice(), Graded("carol", "c.py", None, 30.0, "import failed")],
              _rubric())
    data = json.loads((tmp_path / "grades.json").read_text(encoding="utf-8"))
    assert data["rubric"] == "small.toml" and data["max_score"] == 30
    alice, carol = data["submissions"]
    assert alice["submission"] == "alice" and alice["score"] == 20 and alice["replay"] == REPLAY
    conservation = alice["criteria"][0]
    assert conservation == {"property": "conservation", "points": 10.0, "max_points": 15.0,
                            "held": 2, "counted": 3, "required": False, "hidden": False,
                            "cap": None, "failed_tests": ["test_pipeline[4p4c]"],
                            "missing_tests": []}
    assert (alice["subtotal"], alice["cap"], alice["capped_by"]) == (20, None, [])
    assert carol["score"] == 0 and not carol["gated"]
    assert all(c["points"] == 0 for c in carol["criteria"])


def test_gradescope_one_submission_goes_to_results_json(tmp_path):
    paths = write_all(tmp_path, [_alice()], _rubric(), gradescope=True)
    assert tmp_path / "results.json" in paths and not (tmp_path / "gradescope").exists()
    result = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert result["score"] == 20
    assert sum(t["score"] for t in result["tests"]) == pytest.approx(result["score"])
    assert [t["name"] for t in result["tests"]] == ["conservation", "order", "full-empty"]
    assert all(t["visibility"] == "visible" for t in result["tests"])
    assert "Take items under the lock." in result["tests"][0]["output"]
    assert REPLAY in result["output"]


def test_gradescope_many_submissions_get_a_folder_each(tmp_path):
    rub = _rubric(required=["conservation"])
    graded = [_alice(rub), _graded("bob", _passing(), rub),
              Graded("carol", "c.py", None, rub.max_score, "import failed")]
    write_all(tmp_path, graded, rub, gradescope=True)
    assert not (tmp_path / "results.json").exists()
    for g in graded:
        result = json.loads((tmp_path / "gradescope" / g.name / "results.json")
                            .read_text(encoding="utf-8"))
        assert result["score"] == g.total
        assert sum(t["score"] for t in result["tests"]) == pytest.approx(g.total)
    carol = json.loads((tmp_path / "gradescope" / "carol" / "results.json").read_text("utf-8"))
    assert "import failed" in carol["output"]


def test_summary_escapes_hostile_strings_and_draws_a_histogram(tmp_path):
    hostile = Graded("<script>alert(1)</script>", "x.py", None, 30.0,
                     'import failed: "<img src=x onerror=alert(2)>"')
    write_all(tmp_path, [_alice(), hostile, _graded("bob", _passing())], _rubric())
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert page.count("<rect ") == 10
    assert 'href="feedback/alice.md"' in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "Median: 20" in page and "test_pipeline" in page


def test_hostile_and_colliding_names_get_distinct_safe_files(tmp_path):
    graded = [Graded(name, "x", None, 30.0) for name in ["a b", "a_b", "../up", "A_B"]]
    paths = write_all(tmp_path, graded, _rubric(), gradescope=True)
    feedback = sorted(p.name for p in (tmp_path / "feedback").iterdir())
    assert len(feedback) == 4 and "a_b.md" not in feedback  # "A_B" folds onto it
    assert all(p.resolve().is_relative_to(tmp_path.resolve()) for p in paths)
    assert not (tmp_path.parent / "up.md").exists()


def test_writes_are_deterministic(tmp_path):
    def run(out, order):
        graded = [_alice(), _graded("bob", _passing()), Graded("carol", "c", None, 30.0, "x")]
        write_all(out, [graded[i] for i in order], _rubric(), gradescope=True)
        return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*"))
                if p.is_file()}

    assert run(tmp_path / "one", [0, 1, 2]) == run(tmp_path / "two", [2, 0, 1])


def test_long_messages_are_clipped(tmp_path):
    message = "\n".join(f"line {i}: consumer-{i} took item {i}" for i in range(500))
    records = _passing()
    records[0] = _rec(EXPECTED[0], "failed", ["conservation"], message)
    write_all(tmp_path, [_graded("fay", records)], _rubric())
    md = (tmp_path / "feedback" / "fay.md").read_text(encoding="utf-8")
    assert "line 39:" in md and "line 40:" not in md and "clipped" in md
    wide = reports.shorten_output("x" * 10_000)
    assert len(wide) < 4200 and "clipped" in wide
    assert reports.shorten_output("short\n") == "short"


def test_a_message_cannot_close_its_code_block(tmp_path):
    records = _passing()
    records[0] = _rec(EXPECTED[0], "failed", ["conservation"], "```\n# injected heading")
    write_all(tmp_path, [_graded("gil", records)], _rubric())
    md = (tmp_path / "feedback" / "gil.md").read_text(encoding="utf-8")
    assert "````\n```\n# injected heading\n````" in md


def test_default_rubric_and_duplicate_names(tmp_path):
    default = rubric.load()
    expected = ["test_pipeline[1p1c]", "test_fifo_one_producer"]
    records = [_rec(expected[0], "failed", ["order"], "order"), _rec(expected[1])]
    graded = Graded("hal", "hal.py", rubric.score(default, records, expected), default.max_score)
    write_all(tmp_path, [graded], default)
    assert _csv(tmp_path / "grades.csv")[0][3:-1] == [*(c.prop for c in default.criteria),
                                                      "cap"]
    with pytest.raises(ValueError, match="unique"):
        write_all(tmp_path, [graded, graded], default)
