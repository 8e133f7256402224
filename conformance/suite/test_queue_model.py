"""Sequential semantics against a model, with Hypothesis choosing the calls.

A deque, a maxsize and a count of unfinished tasks say what every call of a
correct queue must do in a single thread; Hypothesis explores call sequences and
shrinks a failure to the shortest one. The profile is derandomized (the same calls
on every run), so two students, or two runs of one CI job, see the same inputs.
"""

from collections import deque

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from prodcon.session.kit import (
    EqualsEverything,
    FalsyItem,
    Item,
    TouchyItem,
    UnhashableItem,
    Violation,
    describe,
    expect,
)

pytestmark = pytest.mark.prodcon_role("queue")

KINDS = (Item, FalsyItem, EqualsEverything, UnhashableItem, TouchyItem, None, 0)
PUT_FORMS = ("put_nowait(x)", "put(x, block=False)", "put(x, timeout=0)", "put(x)",
             "put(x, timeout=5)")
GET_FORMS = ("get_nowait()", "get(block=False)", "get(timeout=0)", "get()", "get(timeout=5)")
BLOCKING = {"put(x)", "put(x, timeout=5)", "get()", "get(timeout=5)"}


def _call(q, form, item=None):
    """The bound method and arguments that `form` names."""
    table = {
        "put_nowait(x)": (q.put_nowait, (item,), {}),
        "put(x, block=False)": (q.put, (item,), {"block": False}),
        "put(x, timeout=0)": (q.put, (item,), {"timeout": 0}),
        "put(x)": (q.put, (item,), {}),
        "put(x, timeout=5)": (q.put, (item,), {"timeout": 5}),
        "get_nowait()": (q.get_nowait, (), {}),
        "get(block=False)": (q.get, (), {"block": False}),
        "get(timeout=0)": (q.get, (), {"timeout": 0}),
        "get()": (q.get, (), {}),
        "get(timeout=5)": (q.get, (), {"timeout": 5}),
    }
    return table[form]


def make_machine(kit):
    class QueueModel(RuleBasedStateMachine):
        """Each rule calls the queue once and compares with the model."""

        @initialize(maxsize=st.sampled_from([1, 2, 3, 0, -1]))
        def create(self, maxsize):
            self.maxsize = maxsize
            self.q = kit.queue(maxsize)
            self.model = deque()
            self.unfinished = 0
            self.made = 0

        def _state(self):
            return (f"(model: maxsize={self.maxsize}, {len(self.model)} item(s) held, "
                    f"{self.unfinished} unfinished task(s))")

        def _full(self):
            return 0 < self.maxsize <= len(self.model)

        @rule(form=st.sampled_from(PUT_FORMS), kind=st.sampled_from(KINDS))
        def put(self, form, kind):
            if form in BLOCKING and self._full():
                return  # would block forever in one thread
            item = kind if kind in (None, 0) else kind(0, self.made)
            self.made += 1
            fn, args, kwargs = _call(self.q, form, item)
            what = form.replace("x", describe(item)) + f" {self._state()}"
            if self._full():
                kit.raises(kit.Full, what, fn, *args, prop="capacity", stuck="blocking",
                           due="a full queue refuses the non-blocking put with Full", **kwargs)
                return
            odd = kind is not Item  # an odd item refused points at the item, not the room
            kit.returns(what, fn, *args, prop="any-item" if odd else "capacity",
                        due="the queue has room and any object is a valid item", **kwargs)
            self.model.append(item)
            self.unfinished += 1

        @rule(form=st.sampled_from(GET_FORMS))
        def get(self, form):
            if form in BLOCKING and not self.model:
                return
            fn, args, kwargs = _call(self.q, form)
            what = f"{form} {self._state()}"
            if not self.model:
                kit.raises(kit.Empty, what, fn, *args, prop="exceptions", stuck="blocking",
                           due="an empty queue answers the non-blocking get with Empty",
                           **kwargs)
                return
            due = self.model.popleft()
            got = kit.returns(what, fn, *args, prop="conservation",
                              due=f"{describe(due)} was first in line", **kwargs)
            if got is not due:
                raise Violation("order", f"{what} returned {describe(got)}; {describe(due)} "
                                "was first in line")

        @rule()
        def task_done(self):
            what = f"task_done() {self._state()}"
            if self.unfinished == 0:
                kit.raises(ValueError, what, self.q.task_done, prop="exceptions",
                           due="task_done() with no unfinished task raises ValueError")
                return
            kit.returns(what, self.q.task_done, prop="exceptions", due="a task was unfinished")
            self.unfinished -= 1

        @rule()
        def join_when_all_done(self):
            if self.unfinished == 0:
                kit.returns(f"join() {self._state()}", self.q.join, prop="join",
                            due="no task is unfinished, so join() returns at once")

        @rule()
        def negative_timeout(self):
            kit.raises(ValueError, f"get(timeout=-1) {self._state()}", self.q.get, timeout=-1,
                       prop="exceptions", due="a negative timeout raises ValueError")

        @invariant()
        def sizes(self):
            if not hasattr(self, "q"):
                return
            state = self._state()
            size = kit.returns("qsize()", self.q.qsize, prop="sizes", due="qsize() answers")
            expect(size == len(self.model), "sizes", f"qsize() returned {size!r} {state}")
            empty = kit.returns("empty()", self.q.empty, prop="sizes", due="empty() answers")
            expect(bool(empty) == (not self.model), "sizes", f"empty() returned {empty!r} {state}")
            full = kit.returns("full()", self.q.full, prop="sizes", due="full() answers")
            expect(bool(full) == self._full(), "sizes", f"full() returned {full!r} {state}")

    return QueueModel


def test_sequential_model(prodcon):
    run_state_machine_as_test(
        make_machine(prodcon),
        settings=settings(
            max_examples=prodcon.profile.model_examples,
            stateful_step_count=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            # No explain phase: it re-runs failing cases under a tracer, slow and noisy
            # next to a report that already names the calls.
            phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
        ),
    )
