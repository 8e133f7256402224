"""Blocking and timed forms: calls that must wait, and how long.

As CPython's test_queue does it: a blocking call is started, seen to be still
waiting, then unblocked by the test, and must then return. Timing is one-sided: a
timeout must not fire early (less 1 ms of clock slack); returning late is judged
only against a generous ceiling scaled by --prodcon-timeout-factor.
"""

import pytest

from prodcon.session.kit import (
    CALL_BOUND,
    Item,
    Violation,
    describe,
    expect,
    put_then_take,
    take_then_put,
)

pytestmark = pytest.mark.prodcon_role("queue")

#: Ceiling, in unscaled seconds, for a call that must return once unblocked.
LONG = 10.0
#: Clock slack: a timeout may fire this much before its nominal end.
SLACK = 0.001
#: Why a timed test judges nothing: its calls' whole timeouts ran out before the kit
#: looked at them, so they were right to give up and nothing else can be learnt.
TOO_LATE = ("the machine kept the kit waiting past the timeout of the calls under test "
            "(they gave up on time, as they should): nothing to judge in this run")


def _full_queue(prodcon, maxsize=1):
    q = prodcon.queue(maxsize)
    items = [Item(0, seq) for seq in range(maxsize)]
    for item in items:
        prodcon.returns(f"put_nowait({item!r})", q.put_nowait, item, prop="capacity",
                        due="the queue has room")
    return q, items


def test_put_blocks_while_full_and_wakes_on_get(prodcon):
    q, (first,) = _full_queue(prodcon)
    waiting = Item(1, 0)
    pending = prodcon.start(q.put, waiting)
    prodcon.must_block(pending, f"put({waiting!r}) on a full queue (maxsize=1)")
    prodcon.get_item(q, first)
    pending.result(prodcon.settings, LONG, prop="blocking",
                   what=f"put({waiting!r}) after get() made room (a lost wake-up?)")
    prodcon.get_item(q, waiting)


def test_get_blocks_while_empty_and_wakes_on_put(prodcon):
    q = prodcon.queue(0)
    pending = prodcon.start(q.get)
    prodcon.must_block(pending, "get() on an empty queue")
    item = Item(0, 0)
    prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="the queue has room")
    got = pending.result(prodcon.settings, LONG, prop="blocking",
                         what="get() after put() supplied an item (a lost wake-up?)")
    expect(got is item, "conservation", f"the blocked get() returned {describe(got)}; "
           f"{describe(item)}, the only item put, was due")


def test_timed_get_raises_empty_not_before_timeout(prodcon, timeout=0.05):
    q = prodcon.queue(0)
    result = prodcon.raises(
        prodcon.Empty, f"get(timeout={timeout}) on an empty queue", q.get, timeout=timeout,
        bound=timeout + LONG, prop="exceptions", stuck="timeout",
        due=f"with nothing put it raises Empty once {timeout} s have passed")
    expect(result.elapsed >= timeout - SLACK, "timeout",
           f"get(timeout={timeout}) raised Empty after {result.elapsed:.4f} s, before its "
           "timeout had elapsed; a timed get waits the whole timeout")


def test_timed_put_raises_full_not_before_timeout(prodcon, timeout=0.05):
    q, _ = _full_queue(prodcon, 2)
    result = prodcon.raises(
        prodcon.Full, f"put(x, timeout={timeout}) on a full queue", q.put, Item(1, 0),
        timeout=timeout, bound=timeout + LONG, prop="capacity", stuck="timeout",
        due=f"with nothing taken it raises Full once {timeout} s have passed")
    expect(result.elapsed >= timeout - SLACK, "timeout",
           f"put(x, timeout={timeout}) raised Full after {result.elapsed:.4f} s, before its "
           "timeout had elapsed; a timed put waits the whole timeout")


def test_timeout_zero_answers_at_once(prodcon):
    q, _ = _full_queue(prodcon, 1)
    prodcon.raises(prodcon.Full, "put(x, timeout=0) on a full queue", q.put, Item(1, 0),
                   timeout=0, prop="capacity", stuck="timeout", bound=CALL_BOUND,
                   due="timeout=0 means: raise Full at once if there is no room")
    empty = prodcon.queue(0)
    prodcon.raises(prodcon.Empty, "get(timeout=0) on an empty queue", empty.get, timeout=0,
                   prop="exceptions", stuck="timeout", bound=CALL_BOUND,
                   due="timeout=0 means: raise Empty at once if there is no item")


def test_timed_get_returns_item_that_arrives_in_time(prodcon):
    q = prodcon.queue(0)
    timeout = prodcon.bound(LONG)
    pending = prodcon.start(q.get, timeout=timeout)
    if not prodcon.must_block(pending, f"get(timeout={timeout:g}) on an empty queue",
                              expires=(prodcon.Empty, timeout - SLACK)):
        pytest.skip(TOO_LATE)
    item = Item(0, 0)
    prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="the queue has room")
    try:
        got = pending.result(prodcon.settings, LONG, prop="blocking",
                             what=f"get(timeout={timeout:g}) after put() supplied an item")
    except prodcon.Empty:
        raise Violation("timeout", f"get(timeout={timeout:g}) raised Empty after "
                        f"{pending.elapsed:.3f} s although an item was put while it waited "
                        "and its timeout had not elapsed") from None
    expect(got is item, "conservation", f"get() returned {describe(got)}; {item!r} was due")


def test_timed_put_stores_item_when_room_appears_in_time(prodcon):
    q, (first,) = _full_queue(prodcon, 1)
    timeout = prodcon.bound(LONG)
    waiting = Item(1, 0)
    pending = prodcon.start(q.put, waiting, timeout=timeout)
    if not prodcon.must_block(pending, f"put(x, timeout={timeout:g}) on a full queue",
                              expires=(prodcon.Full, timeout - SLACK)):
        pytest.skip(TOO_LATE)
    prodcon.get_item(q, first)
    try:
        pending.result(prodcon.settings, LONG, prop="blocking",
                       what=f"put(x, timeout={timeout:g}) after get() made room")
    except prodcon.Full:
        raise Violation("timeout", f"put(x, timeout={timeout:g}) raised Full after "
                        f"{pending.elapsed:.3f} s although get() made room while it waited "
                        "and its timeout had not elapsed") from None
    prodcon.get_item(q, waiting)


ROUNDS = 3
STOLEN_TIMEOUT = 0.4


def test_timed_get_keeps_waiting_after_a_stolen_wakeup(prodcon):
    """A getter woken for an item another thread took must wait out the rest of its timeout.

    The classic bug: `if empty: wait(timeout)` then raise Empty, without checking
    whether the time is really up. The rounds run side by side, each on its own
    queue, so they cost one timeout, not three. A round teaches something only when
    the bait is stolen before the waiter wakes (one thread keeping the GIL between
    its put and its take); without the GIL more rounds are skipped, never failed.
    """
    queues = [prodcon.queue(0) for _ in range(ROUNDS)]
    waiters = [prodcon.start(q.get, timeout=STOLEN_TIMEOUT) for q in queues]
    rounds = _still_waiting(prodcon, queues, waiters, prodcon.Empty,
                            f"get(timeout={STOLEN_TIMEOUT}) on an empty queue")
    stolen = [prodcon.at_once("put_nowait(bait) then get_nowait()", put_then_take, q,
                              Item(0, seq)) for seq, (q, _) in enumerate(rounds)]
    for (_, pending), steal in zip(rounds, stolen, strict=True):
        if steal.error is None:  # else the waiting getter took it first: nothing to learn
            _expect_waited_out(prodcon, pending, prodcon.Empty,
                               f"get(timeout={STOLEN_TIMEOUT})",
                               "an item was put and taken by another thread while it waited")


def test_timed_put_keeps_waiting_after_a_stolen_wakeup(prodcon):
    queues = [_full_queue(prodcon, 1)[0] for _ in range(ROUNDS)]
    waiters = [prodcon.start(q.put, Item(1, seq), timeout=STOLEN_TIMEOUT)
               for seq, q in enumerate(queues)]
    rounds = _still_waiting(prodcon, queues, waiters, prodcon.Full,
                            f"put(x, timeout={STOLEN_TIMEOUT}) on a full queue")
    refills = [prodcon.at_once("get_nowait() then put_nowait(refill)", take_then_put, q,
                               Item(2, seq)) for seq, (q, _) in enumerate(rounds)]
    for (_, pending), refill in zip(rounds, refills, strict=True):
        if refill.error is None:  # else the waiting putter got the room first
            _expect_waited_out(prodcon, pending, prodcon.Full,
                               f"put(x, timeout={STOLEN_TIMEOUT})",
                               "room appeared and was taken by another thread while it waited")


def _still_waiting(prodcon, queues, waiters, expired, what):
    """The rounds whose timed call is still waiting after the kit's look, as (queue, call).

    A call whose timeout ran out before the look is right to have given up (the machine
    kept the kit waiting): its round is dropped, and if none is left there is nothing
    to judge.
    """
    waiting = prodcon.must_block_all(waiters, what, prop="timeout",
                                     expires=(expired, STOLEN_TIMEOUT - SLACK))
    rounds = [(q, pending) for q, pending in zip(queues, waiters, strict=True)
              if pending in waiting]
    if not rounds:
        pytest.skip(TOO_LATE)
    return rounds


def _expect_waited_out(prodcon, pending, exc_type, what, story):
    try:
        pending.result(prodcon.settings, STOLEN_TIMEOUT + LONG, prop="timeout", what=what)
    except exc_type:
        expect(pending.elapsed >= STOLEN_TIMEOUT - SLACK, "timeout",
               f"{what} raised {exc_type.__name__} after {pending.elapsed:.3f} s, before its "
               f"timeout: {story}, and the call gave up instead of waiting for the rest of "
               "its timeout (wait in a loop and recompute the time left)")
        return
    raise Violation("timeout", f"{what} returned although nothing was left for it; "
                    f"{exc_type.__name__} was due after {STOLEN_TIMEOUT} s")


def test_blocked_getters_each_take_one_item(prodcon):
    q = prodcon.queue(0)
    getters = [prodcon.start(q.get) for _ in range(3)]
    prodcon.must_block_all(getters, "get() on an empty queue (one of three getters)")
    items = [Item(0, seq) for seq in range(3)]
    for item in items:
        prodcon.returns(f"put({item!r})", q.put, item, prop="capacity", due="room")
    got = [p.result(prodcon.settings, LONG, prop="blocking",
                    what="a blocked get() after enough items were put (a lost wake-up?)")
           for p in getters]
    expect(sorted(id(g) for g in got) == sorted(id(i) for i in items), "conservation",
           f"three blocked get() calls returned {[describe(g) for g in got]} for the three "
           f"items {items}; each item exactly once was due")
