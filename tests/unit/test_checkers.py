"""The checkers on hand-made histories: each rule fires exactly when it must."""

from prodcon.engine import checkers
from prodcon.engine.recording import Call, History
from prodcon.items import FalsyItem, Item, describe


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


def test_lost_items_are_the_puts_that_returned_and_no_get_returned():
    """What a run still stuck has lost so far: a put still waiting (or failed) has
    stored nothing, and an item a get returned is not lost."""
    pending = put("p1", C, 5, None)  # put() never returned
    calls = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c0", A, 4, 5), pending,
             call("c1", "get", 6, None)]
    assert checkers.lost_items(calls, [[A, B], [C]]) == [B]
    assert checkers.lost_items(calls + [get("c1", B, 7, 8)], [[A, B], [C]]) == []


def test_failed_calls_do_not_count():
    calls = [put("p0", A, 0, 1), call("c0", "get", 2, 3, error=Exception()), get("c0", A, 4, 5)]
    assert checkers.conservation(calls, [[A]]) == []


def test_order_violation_needs_real_time_evidence():
    # B taken before A was even asked for: impossible for a FIFO queue.
    bad = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c0", B, 4, 5), get("c1", A, 6, 7)]
    [violation] = checkers.fifo_queue(bad, 0)
    assert violation.prop == "order"
    assert "p0#1 was taken before p0#0 was even asked for" in violation.message
    assert violation.evidence.culprits == (0, 1, 2, 3)
    # Overlapping gets may finish in either order: no evidence of a violation.
    fine = [put("p0", A, 0, 1), put("p0", B, 2, 3), get("c1", A, 4, 9), get("c0", B, 5, 6)]
    assert checkers.fifo_queue(fine, 0) == []


def test_order_holds_across_producers_too():
    # A's put returned before C's began, so A is ahead of C whoever put them.
    calls = [put("p0", A, 0, 1), put("p1", C, 2, 3), get("c0", C, 4, 5), get("c0", A, 6, 7)]
    [violation] = checkers.fifo_queue(calls, 0)
    assert violation.prop == "order"
    overlapping = [put("p0", A, 0, 3), put("p1", C, 2, 3), get("c0", C, 4, 5),
                   get("c0", A, 6, 7)]
    assert checkers.fifo_queue(overlapping, 0) == []


def test_capacity_counts_items_certainly_inside():
    calls = [put("p0", A, 0, 1), put("p1", C, 2, 3), get("c0", A, 4, 5), get("c0", C, 6, 7)]
    [violation] = checkers.fifo_queue(calls, 1)
    assert violation.prop == "capacity" and "maxsize=1" in violation.message
    assert checkers.fifo_queue(calls, 2) == []
    assert checkers.fifo_queue(calls, 0) == []
    # A get that began before the second put returned leaves no certainty.
    overlapping = [put("p0", A, 0, 1), get("c0", A, 2, 10), put("p1", C, 3, 4),
                   get("c0", C, 11, 12)]
    assert checkers.fifo_queue(overlapping, 1) == []


def test_empty_and_full_answers_are_judged():
    from queue import Empty, Full

    empty = call("c1", "get", 2, 3, error=Empty())
    calls = [put("p0", A, 0, 1), empty, get("c0", A, 4, 5)]
    [violation] = checkers.fifo_queue(calls, 0)
    assert violation.prop == "full-empty" and "certainly held an item" in violation.message
    full = call("p1", "put", 2, 3, item=C, error=Full())
    calls = [put("p0", A, 0, 1), full, get("c0", A, 4, 5)]
    assert checkers.fifo_queue(calls, 1) == []
    [violation] = checkers.fifo_queue(calls, 2)
    assert "raised Full" in violation.message


def test_strict_judges_what_the_per_call_verdict_lets_pass():
    from queue import Empty, Full

    # The textbook semaphore buffer (maxsize 2): p0's put of B holds its slot from the
    # start but publishes B only at the end. p1's Full and c0's Empty are each true
    # at their own instant; one atomic queue explains only one of them.
    calls = [put("p0", A, 0, 1), put("p0", B, 2, 11),
             call("p1", "put", 3, 4, item=C, error=Full()), get("c0", A, 5, 6),
             call("c0", "get", 9, 10, error=Empty()), get("c0", B, 12, 13)]
    assert checkers.fifo_queue(calls, 2) == []
    [violation] = checkers.fifo_queue(calls, 2, strict=True)
    assert violation.prop == "strict-linearizability"
    assert "though each Full and Empty answer is true at some instant" in violation.message
    assert "p0's put(p0#1) [0.000 ms .. 0.000 ms] was under way" in violation.message
    assert "reserves its slot before it publishes its item" in violation.message
    assert violation.evidence.culprits == (1, 2, 4)
    # A history with a per-call finding reports that finding, strict or not.
    calls[4] = call("c0", "get", 7, 8, error=Empty())
    calls[1] = put("p0", B, 2, 3)
    [violation] = checkers.fifo_queue(calls, 2, strict=True)
    assert violation.prop == "full-empty"


def test_strict_without_a_call_to_blame_says_so_and_shows_the_search():
    from queue import Empty, Full

    # A run of the semaphore buffer (maxsize 2) where the contradiction takes more
    # than one put or get under way to show: the search's own finding is reported.
    i10, i11, i0, i1 = Item(1, 0), Item(1, 1), Item(0, 0), Item(0, 1)
    calls = [put("p1", i10, 2, 7), call("p1", "put", 7, 7, item=i11, error=Full()),
             get("c0", i10, 4, 10), call("c0", "get", 10, 10, error=Empty()),
             put("p0", i0, 1, 13), call("p0", "put", 13, 13, item=i1, error=Full()),
             put("p1", i11, 11, 15), get("c1", i0, 3, 22), get("c0", i11, 20, 25),
             put("p0", i1, 17, 27), get("c1", i1, 22, 30)]
    assert checkers.fifo_queue(calls, 2) == []
    [violation] = checkers.fifo_queue(calls, 2, strict=True)
    assert violation.prop == "strict-linearizability"
    assert violation.message.startswith("each Full and Empty answer is true at some instant "
                                        "of its own call, but not all of them at once")
    assert "no order of the calls, one at a time on a FIFO queue of capacity 2" in \
        violation.message


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


class _BrokenRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


def test_a_call_quotes_items_bare_and_short():
    """A signature names an item without its kind, cuts at 40 characters, and calls an
    object whose repr raises `<T>`; a message's `describe` says more (60, kind, object)."""
    item = FalsyItem(0, 3)
    assert call("p0", "put", 0, 1, item=item).signature() == "put(p0#3)"
    assert describe(item) == "p0#3 (falsy)"
    long = "x" * 50
    assert call("c0", "get", 0, 1, value=long).outcome() == f"returned '{'x' * 36}..."
    assert describe(long) == repr(long)
    assert call("p0", "put", 0, 1, item=_BrokenRepr()).signature() == "put(<_BrokenRepr>)"
    assert describe(_BrokenRepr()) == "<_BrokenRepr object>"
    timed = Call("p0", "put", A, True, 0.05)
    assert timed.signature() == "put(p0#0, timeout=0.05)"
    assert Call("c0", "get", None, False, None).signature() == "get(block=False)"
