"""Timed calls judged from both sides in virtual time: never early, and never late.

In a free-running test a late timeout proves nothing (the machine may be loaded),
so the kit only asks that a timeout not fire early. Under the controlled scheduler
time is virtual and free of load: it moves only when the scheduler fires a
timeout, so every second that passes during a timed call can be accounted for,
and "block at most timeout seconds" (the documentation of queue.Queue) can be
judged exactly.

A timed call begins at `start` with the deadline `start + timeout`. Each move of
the clock while it is in flight (the scheduler firing the earliest timeout, from
`old` to `new`) is one of:

- **let pass**: the scheduler chose to fire some other thread's timeout while a
  thread could still run. That is the scheduler's doing (on a real machine: a
  preemption, load), not the implementation's, whoever could have run: the
  calling thread itself, or the thread that would have woken it. Such time moves
  the call's deadline on by as much.
- **counted**: nothing else could run (a forced move), or the timeout that fired
  is the calling thread's own wait. The implementation asked to be woken then, so
  the time counts against the call.
- **one poll**: a polling implementation checks, sleeps, checks again; it may
  legitimately overshoot its deadline by the one sleep it was in when the deadline
  passed. The allowance is what the implementation itself asked for: a timed wait
  the call began before its deadline (allowing for the time let pass), shorter
  than its whole timeout (a wait as long as the timeout, begun after the call
  started, is the timeout started again, not a poll), may run to its end. Once per
  call: a second wait begun after the deadline is counted. Shorter than the
  timeout, because a get that waits ten timeouts in one wait also began it before
  its deadline; so a fixed `sleep(0.1)` poll passes where the timeout is longer
  (the contests' is 0.2 s), while get(timeout=0.05) sleeping 0.1 s blocks twice its
  timeout on an idle machine and is late.

A call is late when the counted time goes past its timeout: it returned or gave up
later than its deadline plus the time let pass (plus one poll), or it was still
waiting when that moment passed. A call blocked with no timeout of its own when
nothing can run and nothing is due at all is late too (on a real clock it would
wait for ever); one blocked acquiring a lock then is left to the deadlock report.

Every correct design passes: queue.Queue and Condition.wait_for recompute the time
left after each wake-up, so their last wait ends at the deadline (or at the
deadline plus the time let pass while the time left was computed and the wait
began); a semaphore's acquire(timeout) is written the same way; a lock's
acquire(timeout) or an Event's wait(timeout) with the time left, likewise; a
polling loop's last sleep ends within one poll of the deadline. The kit's own tests
check queue.Queue, the reference, a polling queue, a semaphore buffer, a wait_for
queue, an Event queue and fixed-tick pollers (20 ms, 0.1 ms) on one seed each
(tests/unit/test_controlled_deadlines.py); the correct zoo runs them on the suite's.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Virtual time is a float: `now + (deadline - now)` may differ from `deadline` by an ulp.
SLACK = 1e-9


@dataclass
class Overshoot:
    """Where a call first went past its time: the wait it was in."""

    at: float  # the virtual time the clock reached
    verb: str  # what the thread was doing: "wait on", "sleep", "acquire", ...
    what: str  # the primitive, as the trace names it ("" for a sleep)
    began: float  # when that wait began
    asked: float | None  # the timeout that wait asked for; None: none


@dataclass
class TimedCall:
    """One timed call in flight, and the account of the virtual time it took."""

    text: str  # "get(timeout=0.05)"
    thread: str
    task: object  # the scheduler's Task of the calling thread
    timeout: float
    start: float
    let_pass: float = 0.0  # time the scheduler let pass while a thread could run
    poll: float = 0.0  # time allowed as the one poll that straddled the deadline
    counted: float = 0.0  # time that counts against the call
    end: float | None = None
    raised: str = ""  # the Full/Empty it gave up with; "" when it returned
    stuck: bool = False  # still waiting, untimed, when nothing could run or become due
    over: Overshoot | None = None
    _wait: tuple | None = None  # (began, deadline) of the wait being accounted
    _wait_poll: bool = False  # that wait is the call's one poll
    _polled: bool = False  # the one poll is spent

    @property
    def deadline(self) -> float:
        return self.start + self.timeout

    @property
    def due_by(self) -> float:
        """When the call must have returned or given up: its deadline plus the time the
        scheduler let pass and the one poll's overshoot."""
        return self.deadline + self.let_pass + self.poll

    def late(self) -> bool:
        return self.stuck or self.counted > self.timeout + SLACK

    def moved(self, old: float, new: float, fired, forced: bool, describe) -> None:
        """The clock moved from `old` to `new` while this call was in flight, firing the
        timeout of the task `fired`; `forced`: no thread could run instead."""
        span = new - old
        task = self.task
        if span <= 0:
            return
        if not forced and fired is not task:
            self.let_pass += span
            return
        # forced, or its own timeout: the thread is blocked (a fired task always is)
        deadline = getattr(task, "deadline", None)
        if deadline is None or task.state != "blocked":  # waiting with no timeout: counts
            self._count(span, new, describe)
            return
        began = task.waiting_since
        if self._wait != (began, deadline):
            self._wait = (began, deadline)
            left = self.timeout - self.counted  # what the call had left when it began
            asked = deadline - began
            self._wait_poll = (not self._polled and left >= -SLACK
                               and asked < self.timeout - SLACK and asked > left + SLACK)
            if self._wait_poll:
                self._polled = True
        if self._wait_poll:
            allowed = max(0.0, min(span, self.timeout - self.counted))
            self.counted += allowed
            self.poll += span - allowed
            return
        self._count(span, new, describe)

    def _count(self, span: float, new: float, describe) -> None:
        before = self.counted
        self.counted += span
        if self.over is None and self.counted > self.timeout + SLACK:
            self._overshoot(new - (self.counted - max(before, self.timeout)), describe)

    def _overshoot(self, at: float, describe) -> None:
        task = self.task
        deadline = getattr(task, "deadline", None)
        waiting = _waiting(task)
        blocked = waiting is not None
        self.over = Overshoot(
            at, waiting[0] if blocked else "running",
            describe(waiting[1]) if blocked and waiting[1] is not None else "",
            task.waiting_since if blocked else at,
            deadline - task.waiting_since if blocked and deadline is not None else None)

    def nothing_due(self, describe) -> None:
        """No thread can run and no timeout is pending (the run is deadlocked). A call
        waiting with no timeout of its own then would wait for ever; one acquiring a
        lock is left to the deadlock report (a lock cycle, not a timeout, is the bug)."""
        waiting = _waiting(self.task)
        if waiting is not None and waiting[0] != "acquire" and self.end is None:
            self.stuck = True
            if self.over is None:
                self._overshoot(float("inf"), describe)

    # -- the report ---------------------------------------------------------------------

    def message(self, refused: str) -> str:
        """What went wrong, when, and what was due: `refused` is Full or Empty."""
        due = self.due_by
        began = f"{self.text} by {self.thread} began at t={self.start:.3f}"
        if self.stuck:
            what = (f"{began} and was still waiting ({self._waiting()}) when no thread "
                    f"could run and no timeout was pending: it must give up by "
                    f"t={self.deadline:.3f} virtual, raising {refused}")
        elif self.end is None:
            what = (f"{began} and was still waiting at t={self.over.at:.3f} virtual "
                    f"({self._waiting()}): it must give up by t={due:.3f}")
        else:
            how = f"raised {self.raised}" if self.raised else "returned"
            what = (f"{began} and {how} at t={self.end:.3f} virtual: it must return or "
                    f"give up by t={due:.3f}")
        return f"{what}{self._due_text()}.\n{self._why()}"

    def _waiting(self) -> str:
        over = self.over
        if over is None or over.verb == "running":
            return "running"
        what = f"{over.verb} {over.what}".strip()
        if over.asked is None:
            return f"{what}, begun at t={over.began:.3f} with no timeout"
        return f"{what}, begun at t={over.began:.3f} for {over.asked:g} s"

    def _due_text(self) -> str:
        parts = [f"its deadline t={self.deadline:.3f} (timeout {self.timeout:g} s)"]
        if self.let_pass > SLACK:
            parts.append(f"{self.let_pass:.3f} s the scheduler let pass while threads "
                         "could run")
        if self.poll > SLACK:
            parts.append(f"{self.poll:.3f} s of the poll it was in when the deadline "
                         "passed")
        return " (" + ", plus ".join(parts) + ")" if len(parts) > 1 else ""

    def _why(self) -> str:
        over = self.over
        hint = ""
        if over is not None and over.asked is not None and over.verb != "running":
            began = f" Here it began a wait at t={over.began:.3f} for {over.asked:g} s"
            if over.asked > self.timeout + SLACK:
                hint = f"{began}, longer than its whole timeout."
            elif over.began > self.start + SLACK and over.asked >= self.timeout - SLACK:
                hint = f"{began}: its whole timeout again, not the time left."
            else:
                hint = f"{began}, past the time it had left."
        elif over is not None and over.asked is None and over.verb != "running":
            hint = f" Here it waited with no timeout ({over.verb} {over.what})."
        return ("A timed call blocks at most its timeout: woken with nothing to take "
                "(another thread took the item or the slot first), it waits again only "
                "for the time left, as CPython's queue.py does (remaining = endtime - "
                "time() after each wake-up), and gives up once the deadline has passed. "
                "Time is virtual here and moves only when every thread waits, so this "
                "lateness is the implementation's, not the machine's." + hint)


class Deadlines:
    """The timed calls of one run, kept in account as the scheduler moves the clock."""

    def __init__(self) -> None:
        self.calls: list[TimedCall] = []  # every timed call begun, in order
        self._listening: object = None  # the scheduler listened to

    def begin(self, sched, task, text: str, timeout: float) -> TimedCall:
        """A timed call begins on the calling managed thread (`task` of `sched`)."""
        if self._listening is not sched:
            sched.listen_to_clock(lambda old, new, fired, forced:
                                  self._moved(sched, old, new, fired, forced))
            self._listening = sched
        call = TimedCall(text, task.name, task, timeout, sched.clock)
        self.calls.append(call)
        return call

    @staticmethod
    def end(call: TimedCall, clock: float, raised: str = "") -> None:
        call.end, call.raised = clock, raised

    def late_in_flight(self) -> list[TimedCall]:
        """The calls that never ended and were already late when the run stopped."""
        return [c for c in self.calls if c.end is None and c.late()]

    def _moved(self, sched, old, new, fired, forced) -> None:
        describe = lambda obj: obj._describe(sched)  # noqa: E731 - one use, named for it
        for call in self.calls:
            if call.end is not None:
                continue
            if new is None:
                call.nothing_due(describe)
            else:
                call.moved(old, new, fired, forced, describe)


def _waiting(task):
    """(verb, the object) of what `task` waits in: blocked in it, or not offered while
    what it waits for ever on (a held lock, an unfinished thread: the scheduler's
    `wants`) is not there; None while it can run."""
    if task.state == "blocked":
        return task.verb, task.blocked_on
    wants = getattr(task, "wants", None)
    if wants is not None and task.state == "runnable" and not wants._free_for(task):
        return wants._verb, wants
    return None
