"""The public history format: what parses, what is refused (with its line), and the
kit's own recorded calls turned into it."""

import io
import json

import pytest

from prodcon.cli import main
from prodcon.engine.recording import History
from prodcon.history import fileformat

GOOD = """\
{"thread": "p0", "op": "put", "value": 17, "start": 120, "end": 340}

{"thread": "c1", "op": "get", "value": 17, "start": 300, "end": 410}
{"thread": "c0", "op": "get", "error": "Empty", "start": 90, "end": 95}
{"thread": "p1", "op": "put", "value": [1, 2], "start": 500, "end": null, "extra": true}
{"thread": "c0", "op": "get", "value": null, "start": 600, "end": 610, "label": "None"}
"""


def test_good_history_reads():
    ops = fileformat.read(io.StringIO(GOOD))
    assert [op.line for op in ops] == [1, 3, 4, 5, 6]
    assert [op.index for op in ops] == [0, 1, 2, 3, 4]
    put, get, empty, pending, none = ops
    assert put.returned and put.value == 17 and put.text() == "put(17)"
    assert get.text() == "get() -> 17"
    assert empty.error == "Empty" and empty.value is None and not empty.returned
    assert pending.pending and pending.value == "[1,2]"
    assert none.returned and none.value is None and none.label == "None"


@pytest.mark.parametrize("line, complaint", [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"thread": "a", "op": "peek", "start": 1, "end": 2}', '"op"'),
    ('{"thread": "a", "op": "put", "start": 1, "end": 2}', "needs a \"value\""),
    ('{"thread": "a", "op": "get", "start": 1, "end": 2}', "needs a \"value\""),
    ('{"thread": "a", "op": "get", "value": 1, "end": 2}', 'missing "start"'),
    ('{"thread": "a", "op": "get", "value": 1, "start": "1", "end": 2}', "number"),
    ('{"thread": "a", "op": "get", "value": 1, "start": 3, "end": 2}', "before"),
    ('{"thread": "a", "op": "get", "error": "Empty", "start": 3, "end": null}', "never returned"),
    ('{"op": "get", "value": 1, "start": 1, "end": 2}', '"thread"'),
])
def test_malformed_lines_are_refused_with_their_number(line, complaint):
    text = GOOD + line + "\n"
    with pytest.raises(fileformat.FormatError) as info:
        fileformat.read(io.StringIO(text))
    assert info.value.line == 7
    assert complaint in str(info.value)


def test_round_trip():
    ops = fileformat.read(io.StringIO(GOOD))
    out = io.StringIO()
    fileformat.write(ops, out)
    again = fileformat.read(io.StringIO(out.getvalue()))
    assert [op.to_json() for op in again] == [op.to_json() for op in ops]


def test_kit_calls_become_unique_values_with_names():
    import queue

    q = queue.Queue(1)
    history = History()
    view = history.view(q, "p0")
    a, b = object(), None
    view.put(a)
    with pytest.raises(queue.Full):
        view.put_nowait(b)
    view.get()
    view.put(b)
    view.get_nowait()
    view.task_done()
    ops = fileformat.from_calls(history.calls())
    assert [op.op for op in ops] == ["put", "put", "get", "put", "get"]
    assert ops[0].start == 0 and ops[1].error == "Full"
    assert ops[2].value == ops[0].value and ops[4].value == ops[3].value == ops[1].value
    assert ops[4].label == "None"
    assert all(json.dumps(op.to_json()) for op in ops)


def write(tmp_path, rows):
    path = tmp_path / "h.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def row(thread, op, value, start, end, error=None):
    r = {"thread": thread, "op": op, "start": start, "end": end}
    if error:
        r["error"] = error
    else:
        r["value"] = value
    return r


def test_check_history_checks_linearizability_and_says_so(tmp_path, capsys):
    # The textbook semaphore buffer (capacity 2): each answer true at its own instant,
    # as the per-call verdict of the suite accepts; check-history checks more.
    textbook = [row("p0", "put", 0, 0, 1), row("p0", "put", 1, 2, 11),
                {**row("p1", "put", 2, 3, 4, error="Full"), "value": 2},
                row("c0", "get", 0, 5, 6),
                row("c0", "get", None, 9, 10, error="Empty"), row("c0", "get", 1, 12, 13)]
    assert main(["check-history", "--maxsize", "2", write(tmp_path, textbook)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("checked: linearizability (one atomic FIFO queue")
    assert "NOT linearizable (no-order)" in out


def test_check_history_exit_codes(tmp_path, capsys):
    fifo = [row("p0", "put", 17, 0, 10), row("p1", "put", 42, 20, 30),
            row("c0", "get", 17, 40, 50), row("c1", "get", 42, 60, 70)]
    assert main(["check-history", write(tmp_path, fifo)]) == 0
    assert "linearizable: 4 calls, 4 threads" in capsys.readouterr().out

    swapped = fifo[:2] + [row("c0", "get", 42, 40, 50), row("c1", "get", 17, 60, 70)]
    assert main(["check-history", write(tmp_path, swapped)]) == 1
    out = capsys.readouterr().out
    assert "NOT linearizable (order)" in out
    assert "17 was put before 42's put began" in out and "line 4: c1" in out

    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(fifo[0]) + "\n{oops\n")
    assert main(["check-history", str(path)]) == 2
    assert "line 2" in capsys.readouterr().err
    assert main(["check-history", str(tmp_path / "missing.jsonl")]) == 2


def test_check_history_capacity_and_html(tmp_path, capsys):
    two_in = [row("p0", "put", 1, 0, 1), row("p1", "put", 2, 2, 3),
              row("c0", "get", 1, 4, 5), row("c0", "get", 2, 6, 7)]
    path = write(tmp_path, two_in)
    assert main(["check-history", path, "--maxsize", "2"]) == 0
    page = tmp_path / "t.html"
    assert main(["check-history", path, "--maxsize", "1", "--html", str(page)]) == 1
    out = capsys.readouterr().out
    assert "overfull" in out and f"timeline: {page}" in out
    assert "<html" in page.read_text().lower()


def test_check_history_unknown_when_search_runs_out_of_time(tmp_path, capsys, monkeypatch):
    from prodcon.history import search as exact_search

    monkeypatch.setattr(exact_search, "CHECK_EVERY", 1)
    rows = [row(f"p{i}", "put", i % 2, 0, 100) for i in range(60)]
    rows += [row("c", "get", (i // 2) % 2, 200 + 2 * i, 201 + 2 * i) for i in range(60)]
    assert main(["check-history", write(tmp_path, rows), "--time-limit", "0"]) == 3
    assert "unknown: 120 calls" in capsys.readouterr().out
