"""The HTML timeline: one self-contained page, data embedded safely, no browser needed."""

from __future__ import annotations

import json
import re

import pytest

from prodcon.history import timeline
from prodcon.history.fileformat import Op

HOSTILE = "</script><script>alert(1)</script>"
DATA = re.compile(r'<script type="application/json" id="tl-data">(.*?)</script>', re.S)


def data_of(page: str) -> dict:
    found = DATA.findall(page)
    assert len(found) == 1
    return json.loads(found[0])


def starts(data: dict) -> list:
    """The decoded start of each call (relative to the origin), in the page's order."""
    column = data["calls"]["start"]
    if not data["deltas"]:
        return column
    out, acc = [], 0
    for delta in column:
        acc += delta
        out.append(acc)
    return out


def indexes(data: dict) -> list[int]:
    column = data["calls"]["index"]
    return list(range(len(data["calls"]["thread"]))) if column is None else column


def history() -> list[Op]:
    return [
        Op(0, "p0", "put", 1, None, 100, 300, label="p0#1"),
        Op(1, "c0", "get", None, "Empty", 120, 130),
        Op(2, "p1", "put", 2, None, 150, 260, label="p1#1"),
        Op(3, "c1", "get", 2, None, 400, 500, label="p1#1"),
        Op(4, "c0", "get", 1, None, 520, 610, label="p0#1"),
        Op(5, "p0", "put", 3, "Full", 620, 700, label="p0#2"),
        Op(6, "p1", "put", 4, None, 650, None, label="p1#2"),
    ]


def test_one_self_contained_document():
    page = timeline.render(history(), title="t", explanation="why", highlight=[0, 2])
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert page.count("<html") == page.count("</html>") == 1
    lowered = page.lower()
    for outside in ("http://", "https://", "src=", "<link", "@import", "url(", "//cdn"):
        assert outside not in lowered, outside
    assert page.count("<script") == 2  # the data and the code, both inline
    assert "<canvas" in page


def test_embedded_data_round_trips():
    ops = history()
    data = data_of(timeline.render(ops, title="t", unit="ns"))
    assert data["unit"] == "ns"
    assert data["origin"] == 100
    assert data["threads"] == ["p0", "p1", "c0", "c1"]
    order = indexes(data)
    assert sorted(order) == [op.index for op in ops]
    by_index = {op.index: op for op in ops}
    calls = data["calls"]
    for pos, (index, start) in enumerate(zip(order, starts(data), strict=True)):
        op = by_index[index]
        assert data["threads"][calls["thread"][pos]] == op.thread
        assert calls["op"][pos] == (0 if op.op == "put" else 1)
        assert start == op.start - data["origin"]
        assert calls["dur"][pos] == (None if op.end is None else op.end - op.start)
        label = calls["label"][pos]
        error = calls["error"][pos]
        assert (data["labels"][label - 1] if label else None) == (
            op.label if op.op == "put" or op.returned else None)
        assert (data["errors"][error - 1] if error else None) == op.error


def test_calls_in_order_of_start_whatever_the_input_order():
    ops = list(reversed(history()))
    data = data_of(timeline.render(ops, title="t"))
    got = starts(data)
    assert got == sorted(got)
    assert indexes(data) == [0, 1, 2, 3, 4, 5, 6]


def test_hostile_labels_thread_names_title_and_explanation_are_escaped():
    ops = [
        Op(0, "<b>boss</b>", "put", 1, None, 0, 10, label=HOSTILE),
        Op(1, "c0", "get", 1, None, 20, 30, label=HOSTILE),
    ]
    page = timeline.render(ops, title="<i>title</i>", explanation=f"a\n{HOSTILE}\n& b",
                           highlight=[0])
    assert HOSTILE not in page
    assert "alert(1)</script>" not in page
    assert "<b>" not in page and "<i>" not in page
    assert "&lt;i&gt;title&lt;/i&gt;" in page
    assert "a\n&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;\n&amp; b" in page
    assert page.count("<script") == 2 and page.count("</script>") == 2
    data = data_of(page)
    assert data["labels"] == [HOSTILE]
    assert "<b>boss</b>" in data["threads"]


@pytest.mark.parametrize("text", ["</SCRIPT>", "<!--", "]]>", "&amp;", "\u2028", "</"])
def test_data_cannot_break_out_of_its_script_element(text):
    page = timeline.render([Op(0, text, "put", text, None, 0, 1)], title="t")
    embedded = DATA.findall(page)[0]
    assert "<" not in embedded and ">" not in embedded and "&" not in embedded
    data = json.loads(embedded)
    assert data["threads"] == [text] and data["labels"] == [text]


def test_highlights_exactly_the_given_indexes():
    ops = history()
    data = data_of(timeline.render(ops, title="t", highlight={4, 2, 99, -1}))
    assert data["highlight"] == [2, 4]  # indexes that are not calls are ignored
    assert "2 highlighted" in timeline.render(ops, title="t", highlight=[2, 4])
    assert data_of(timeline.render(ops, title="t"))["highlight"] == []


def test_highlight_follows_op_index_not_position():
    ops = [Op(10 + k, "p0", "put", k, None, 5 * k, 5 * k + 1) for k in range(3)]
    data = data_of(timeline.render(ops, title="t", highlight=[11]))
    assert data["highlight"] == [11]
    assert indexes(data) == [10, 11, 12]


def test_legend_names_highlighted_calls_only_when_there_are_some():
    assert "highlighted" in timeline.render(history(), title="t", highlight=[1])
    assert "sw hl" not in timeline.render(history(), title="t")


def test_pending_call():
    page = timeline.render(history(), title="t", highlight=[6])
    data = data_of(page)
    pos = indexes(data).index(6)
    assert data["calls"]["dur"][pos] is None
    assert "never returned" in page
    assert data["highlight"] == [6]


def test_empty_history():
    page = timeline.render([], title="nothing", explanation="no calls")
    data = data_of(page)
    assert data["threads"] == [] and data["highlight"] == []
    assert all(col in (None, []) for col in data["calls"].values())
    assert "0 calls, 0 threads" in page


def test_lanes_producers_then_consumers_then_others_in_natural_order():
    names = ["main", "c10", "p10", "c2", "worker-2", "p2", "p1", "c1", "worker-10"]
    ops = [Op(k, name, "put", k, None, k, k + 1) for k, name in enumerate(names)]
    data = data_of(timeline.render(ops, title="t"))
    assert data["threads"] == ["p1", "p2", "p10", "c1", "c2", "c10",
                               "main", "worker-2", "worker-10"]


def test_overlapping_calls_of_one_thread_get_sub_rows():
    ops = [
        Op(0, "w", "put", 1, None, 0, 100),
        Op(1, "w", "get", 1, None, 10, 50),
        Op(2, "w", "get", None, "Empty", 60, 70),
        Op(3, "w", "put", 2, None, 200, 300),
    ]
    rows = data_of(timeline.render(ops, title="t"))["calls"]["row"]
    assert rows == [0, 1, 1, 0]
    sequential = data_of(timeline.render(history(), title="t"))
    assert sequential["calls"]["row"] is None


def test_float_times_and_other_units():
    ops = [Op(0, "p0", "put", "a", None, 1.5, 2.25), Op(1, "c0", "get", "a", None, 2.0, 3.0)]
    data = data_of(timeline.render(ops, title="t", unit="s"))
    assert data["deltas"] is False and data["unit"] == "s"
    assert starts(data) == [0.0, 0.5]
    assert data["calls"]["dur"] == [0.75, 1.0]


def test_values_group_calls_even_with_distinct_labels():
    ops = [Op(0, "p0", "put", 7, None, 0, 1, label="seven"),
           Op(1, "c0", "get", 7, None, 2, 3, label="7"),
           Op(2, "c1", "get", None, "Empty", 4, 5)]
    calls = data_of(timeline.render(ops, title="t"))["calls"]
    assert calls["value"] == [1, 1, 0]
    assert calls["label"] == [1, 2, 0]
    same = data_of(timeline.render(history(), title="t"))["calls"]
    assert same["value"] is None  # one label per value: the label column says it all


def test_large_history_stays_compact():
    ops = [Op(k, f"p{k % 4}" if k % 2 else f"c{k % 4}", "put" if k % 2 else "get", k // 2,
              None, 1000 * k, 1000 * k + 700, label=f"p{k % 4}#{k // 2}")
           for k in range(20_000)]
    page = timeline.render(ops, title="big", highlight=[10_001])
    assert len(page.encode()) < 40 * len(ops)  # bytes per call, everything included
    assert page.count("<div") < 20  # bars are drawn, not made into elements
    assert data_of(page)["highlight"] == [10_001]


def test_write_creates_the_file(tmp_path):
    path = str(tmp_path / "timeline.html")
    assert timeline.write(path, history(), title="t", highlight=[3]) == path
    with open(path, encoding="utf-8") as stream:
        page = stream.read()
    assert page == timeline.render(history(), title="t", highlight=[3])
    assert data_of(page)["highlight"] == [3]


def test_kit_histories_render(tmp_path):
    from prodcon.history import fileformat

    path = tmp_path / "h.jsonl"
    path.write_text('{"thread": "p0", "op": "put", "value": [1, 2], "start": 5, "end": 9}\n'
                    '{"thread": 3, "op": "get", "value": [1, 2], "start": 7, "end": null}\n',
                    encoding="utf-8")
    ops = fileformat.load(str(path))
    data = data_of(timeline.render(ops, title="t"))
    assert data["threads"] == ["p0", "3"]
    assert data["labels"] == [ops[0].label]
    assert data["calls"]["dur"] == [4, None]


def test_an_async_run_s_lanes_are_tasks():
    """An async run records its calls per task: the lanes say so, in the caption and in
    each call's tip (the page reads `lane`); a thread run's say thread."""
    async_page = timeline.render(history(), title="t", lane="task")
    assert "7 calls, 4 tasks" in async_page and data_of(async_page)["lane"] == "task"
    thread_page = timeline.render(history(), title="t")
    assert "7 calls, 4 threads" in thread_page and data_of(thread_page)["lane"] == "thread"
    assert 'line(D.lane || "thread"' in thread_page
