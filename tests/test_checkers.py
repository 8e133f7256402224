"""The checkers on hand-made histories: each rule fires exactly when it must."""

from prodcon import checkers
from prodcon.history import Call, History
from prodcon.items import Item


def call(thread, op, start, end, item=None, value=None, error=None):
    c = Call(thread, op, item, True, None)
    c.start, c.end, c.value, c.error = start, end, value, error
    return c


def put(thread, item, start, end):
    return call(thread, "put", start, end, item=item)


def get(thread, item, start, end):
    return call(thread, "get", start, end, value=item)


A, B, C = Item(0, 0), Item(0, 1), Item(1, 0)


def test_conservation_holds():
    calls = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c0", A, 4, 5), get("c0", B, 6, 7)]
    assert checkers.conservation(calls, [[A, B]]) == []


def test_lost_duplicated_invented():
    stranger = object()
    calls = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c0", A, 4, 5), get("c1", A, 4, 6),
             get("c0", stranger, 7, 8)]
    found = checkers.conservation(calls, [[A, B]])
    text = "\n".join(v.message for v in found)
    assert [v.prop for v in found] == ["conservation"] * 3
    assert "never taken: p0#1" in text
    assert "taken more than once: p0#0" in text and "c0" in text and "c1" in text
    assert "no producer put" in text


def test_failed_calls_do_not_count():
    calls = [put("p0", A, 0, 1), call("c0", "get", 2, 3, error=Exception()), get("c0", A, 4, 5)]
    assert checkers.conservation(calls, [[A]]) == []


def test_order_violation_needs_real_time_evidence():
    # B taken before A was even asked for: impossible for a FIFO queue.
    bad = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c0", B, 4, 5), get("c1", A, 6, 7)]
    [violation] = checkers.linearizable(bad, 0)
    assert violation.prop == "order"
    assert "p0#1 was taken before p0#0 was even asked for" in violation.message
    assert violation.evidence.culprits == (0, 1, 2, 3)
    # Overlapping gets may finish in either order: no evidence of a violation.
    fine = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c1", A, 4, 9), get("c0", B, 5, 6)]
    assert checkers.linearizable(fine, 0) == []


def test_order_holds_across_producers_too():
    # A's put returned before C's began, so A is ahead of C whoever put them.
    calls = [put("p0", A, 0, 1), put("p1", C, 2, 3), get("c0", C, 4, 5), get("c0", A, 6, 7)]
    [violation] = checkers.linearizable(calls, 0)
    assert violation.prop == "order"
    overlapping = [put("p0", A, 0, 3), put("p1", C, 2, 3), get("c0", C, 4, 5),
                   get("c0", A, 6, 7)]
    assert checkers.linearizable(overlapping, 0) == []


def test_capacity_counts_items_certainly_inside():
    calls = [put("p0", A, 0, 1), put("p1", C, 2, 3), get("c0", A, 4, 5), get("c0", C, 6, 7)]
    [violation] = checkers.linearizable(calls, 1)
    assert violation.prop == "capacity" and "maxsize=1" in violation.message
    assert checkers.linearizable(calls, 2) == []
    assert checkers.linearizable(calls, 0) == []
    # A get that began before the second put returned leaves no certainty.
    overlapping = [put("p0", A, 0, 1), get("c0", A, 2, 10), put("p1", C, 3, 4),
                   get("c0", C, 11, 12)]
    assert checkers.linearizable(overlapping, 1) == []


def test_empty_and_full_answers_are_judged():
    from queue import Empty, Full

    empty = call("c1", "get", 2, 3, error=Empty())
    calls = [put("p0", A, 0, 1), empty, get("c0", A, 4, 5)]
    [violation] = checkers.linearizable(calls, 0)
    assert violation.prop == "linearizability" and "certainly held an item" in violation.message
    full = call("p1", "put", 2, 3, item=C, error=Full())
    calls = [put("p0", A, 0, 1), full, get("c0", A, 4, 5)]
    assert checkers.linearizable(calls, 1) == []
    [violation] = checkers.linearizable(calls, 2)
    assert "raised Full" in violation.message


def test_history_views_record_and_count_progress():
    import queue

    history = History()
    q = queue.Queue(1)
    view = history.view(q, "t0")
    view.put(A)
    try:
        view.put_nowait(B)
    except queue.Full:
        pass
    assert view.get(timeout=1) is A
    assert history.progress() == 2  # the refused put is not progress
    sigs = [c.signature() for c in history.calls()]
    assert sigs == ["put(p0#0)", "put_nowait(p0#1)", "get(timeout=1)"]
    assert [c.outcome() for c in history.calls()] == ["returned", "raised Full",
                                                       "returned p0#0"]
    assert view.maxsize == 1 and history.pending("t0") is None
    view.put(A)
    view.get()
    assert history.progress() == 2  # nor is moving the same item round again
