"""One small run of benchmarks/kill_matrix.py: the kit on the reference and on one zoo
module, each in a process of its own.
"""

import json

import pytest

from conftest import SEED, load_benchmark

pytestmark = pytest.mark.once  # a benchmark script's plumbing: the same on every Python

km = load_benchmark("kill_matrix")


def test_kill_matrix_smoke_run_on_lifo(tmp_path, capsys):
    out = tmp_path / "matrix.json"
    assert km.main(["--only", "lifo", "--jobs", "2", "--seed", str(SEED),
                    "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "lifo" in text and "1/1 zoo modules caught" in text
    report = json.loads(out.read_text())
    assert report["reference"]["returncode"] == 0
    (lifo,) = report["modules"]
    assert lifo["module"] == "lifo" and lifo["caught_by"] == "order"
    assert lifo["caught"] and "order" in lifo["violated"]
    assert "test_fifo_one_producer" in lifo["killed_for_declared_property_by"]
    rows = {row["test"]: row for row in report["tests"]}
    assert rows and all(row["reference_seconds"] is not None for row in rows.values())
    assert "lifo" in rows["test_fifo_one_producer"]["kills"]
