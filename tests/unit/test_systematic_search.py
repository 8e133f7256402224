"""The systematic search (controlled/systematic.py) and what it knows of each step
(controlled/dependence.py).

The search must be sound within its bound: every outcome that some schedule with at
most k preemptions reaches, it reaches too, however few schedules it runs. So small
programs are run under both this search and `Exhaustive` (every schedule within the
bound, no reduction), and the sets of outcomes must be equal."""

import dis
import json
from dataclasses import asdict

import pytest

from prodcon.controlled import Exhaustive, RandomWalk, dependence, primitives
from prodcon.controlled.explore import run_once
from prodcon.controlled.systematic import Systematic

HERE = __file__


def instructions(function):
    return {i.opname: dependence.access(i) for i in dis.get_instructions(function)}


def test_an_attribute_is_read_or_written_by_name():
    def body(q):
        q.count = q.count + 1

    found = instructions(body)
    assert found["LOAD_ATTR"] == ((("attr", "count"), dependence.READ),)
    assert found["STORE_ATTR"] == ((("attr", "count"), dependence.WRITE),)
    assert found["LOAD_FAST"] == ()


def test_a_subscript_store_writes_every_container_and_a_truth_test_reads_them():
    def body(q, x):
        q[0] = x
        if q:
            return 1
        return 0

    found = instructions(body)
    assert found["STORE_SUBSCR"] == ((dependence.HEAP, dependence.WRITE),)
    assert (dependence.HEAP, dependence.READ) in sum(
        (access for name, access in found.items() if "JUMP" in name or name == "TO_BOOL"), ())


def test_a_call_touches_what_its_callee_does():
    files = frozenset({HERE})

    def own():
        pass

    assert dependence.call_touches(own, files) == ()  # its own instructions say
    assert dependence.call_touches(len, files) == ((dependence.HEAP, dependence.READ),)
    assert dependence.call_touches([].append, files) == ((dependence.HEAP, dependence.WRITE),)
    assert dependence.call_touches(primitives.Lock().acquire, files) == ()  # touches itself
    assert dependence.call_touches(dis.dis, files) == ((dependence.HEAP, dependence.WRITE),)


# -- small programs, their outcomes under both searches ---------------------------------


class Shared:
    def __init__(self):
        self.count = 0
        self.items = []
        self.lock = primitives.Lock()


class Private:
    def __init__(self):
        self.left = self.right = 0


def unlocked_increments():
    shared = Shared()

    def add():
        value = shared.count
        shared.count = value + 1

    return [add, add], lambda: shared.count


def locked_appends():
    shared = Shared()

    def adder(tag):
        def run():
            with shared.lock:
                shared.items.append(tag)
            with shared.lock:
                shared.items.append(tag * 10)
        return run

    return [adder(1), adder(2)], lambda: tuple(shared.items)


def check_then_act():
    shared = Shared()

    def take():
        with shared.lock:
            present = shared.count < 1
        if present:
            with shared.lock:
                shared.count += 1

    return [take, take, take], lambda: shared.count


def independent_then_shared():
    """Each thread adds to a field of its own three times, then to a shared one under
    the lock. Fields are told apart by name (an instruction does not say which object
    it reads: dependence.py), so the two threads' fields have two names."""
    shared = Shared()
    private = Private()

    def left():
        private.left = private.left + 1
        private.left = private.left + 1
        private.left = private.left + 1
        with shared.lock:
            shared.count = shared.count + private.left

    def right():
        private.right = private.right + 1
        private.right = private.right + 1
        private.right = private.right + 1
        with shared.lock:
            shared.count = shared.count * 10 + private.right

    return [left, right], lambda: shared.count


def timed_join_or_end():
    """A join that may time out while the thread could still run (a timeout racing the
    wake-up its thread's end would give)."""
    shared = Shared()
    seen = []

    def work():
        shared.count = 1

    def main():
        thread = primitives.Thread(target=work)
        thread.start()
        thread.join(1.0)
        seen.append(thread.is_alive())

    return [main], lambda: (tuple(seen), shared.count)


def timed_wait_or_notify():
    shared = Shared()
    condition = primitives.Condition(shared.lock)
    seen = []

    def waiter():
        with condition:
            seen.append(condition.wait(1.0))

    def notifier():
        with condition:
            shared.count = 1
            condition.notify()

    return [waiter, notifier], lambda: (tuple(seen), shared.count)


def rlock_reentry():
    shared = Shared()
    lock = primitives.RLock()

    def twice(tag):
        def run():
            with lock:
                with lock:
                    shared.items.append(tag)
                shared.items.append(tag * 10)
        return run

    return [twice(1), twice(2)], lambda: tuple(shared.items)


def semaphore_handoff():
    shared = Shared()
    permits = primitives.Semaphore(0)

    def giver():
        shared.count = 1
        permits.release()
        shared.count = 2
        permits.release()  # two permits: the taker never waits for ever

    def taker():
        permits.acquire()
        shared.items.append(shared.count)

    def tryer():
        shared.items.append(permits.acquire(blocking=False))

    return [giver, taker, tryer], lambda: tuple(shared.items)


def outcomes(program, strategy, granularity="opcode"):
    """The final states `program` reaches under every schedule `strategy` runs, and how
    many schedules that took."""
    seen = set()
    count = 0
    outcome: list = []
    while not strategy.exhausted:
        outcome.clear()

        def scenario():
            bodies, result = program()
            return bodies, lambda: outcome.append(result())
        _, findings = run_once(scenario, strategy, [HERE], granularity=granularity)
        assert not findings, findings
        seen.add(outcome[0])
        count += 1
    return seen, count


@pytest.mark.parametrize("program, bound", [
    (program, bound) for program in (unlocked_increments, locked_appends,
                                     independent_then_shared, timed_join_or_end,
                                     timed_wait_or_notify, rlock_reentry)
    for bound in (0, 1, 2)
] + [(program, bound) for program in (check_then_act, semaphore_handoff)
     for bound in (0, 1)])  # three threads: bound 2 takes 30 s
def test_the_search_reaches_every_outcome_the_exhaustive_one_does(program, bound):
    exhaustive, every = outcomes(program, Exhaustive(bound))
    reduced, fewer = outcomes(program, Systematic(bound))
    assert reduced == exhaustive
    assert fewer <= every


def test_steps_that_commute_are_not_tried_in_both_orders():
    """Three private increments a thread commute with the other thread's: without the
    reduction each one is a place to preempt, with it only the lock's order counts."""
    _, every = outcomes(independent_then_shared, Exhaustive(1))
    _, fewer = outcomes(independent_then_shared, Systematic(1))
    assert fewer * 4 <= every, (fewer, every)


def test_a_timeout_racing_a_wake_up_is_tried_both_ways():
    """(True,) the thread was still running when the join's second ran out: a
    timeout may fire whenever its deadline is set, even while the thread could run."""
    assert outcomes(timed_join_or_end, Systematic(1))[0] == {((True,), 1), ((False,), 1)}


def test_the_search_refuses_line_switch_points():
    def scenario():
        return unlocked_increments()[0], None
    with pytest.raises(ValueError, match="opcode switch points"):
        run_once(scenario, Systematic(1), [HERE], granularity="line")


def test_a_race_needing_one_preemption_is_found_within_bound_one_not_zero():
    assert outcomes(unlocked_increments, Systematic(0))[0] == {2}
    assert outcomes(unlocked_increments, Systematic(1))[0] == {1, 2}


def test_the_search_is_the_same_every_time():
    first = outcomes(check_then_act, Systematic(1))
    again = outcomes(check_then_act, Systematic(1))
    assert first == again


def test_the_access_granularity_has_fewer_switch_points_and_the_same_outcomes():
    """The "access" granularity leaves out opcodes that touch nothing shared."""
    def steps(granularity):
        def scenario():
            return unlocked_increments()[0], None
        return run_once(scenario, RandomWalk(1), [HERE], granularity=granularity)[0].steps
    assert steps("access") < steps("opcode")
    assert outcomes(unlocked_increments, Systematic(1), "access")[0] == {1, 2}


def test_a_search_cut_short_says_it_was_not_complete():
    from prodcon.controlled.queue_exploration import SYSTEMATIC, explore_systematic
    from prodcon.reference import bounded_queue
    from prodcon.session.kit import coverage

    plan = SYSTEMATIC[0]
    found = json.loads(explore_systematic(bounded_queue, json.dumps(asdict(plan)), 1, 1, 5))
    assert (found["schedules"], found["complete"], found["failed_at"]) == (5, False, None)
    assert coverage(plan.id, found).startswith(f"incomplete: 5 schedules of {plan.id} with "
                                               "at most 1 preemption explored")
    whole = json.loads(explore_systematic(bounded_queue, json.dumps(asdict(plan)), 1, 1, 5000))
    assert whole["complete"] and whole["schedules"] < 5000
    assert coverage(plan.id, whole).startswith(f"complete: every schedule of {plan.id}")
