"""A task of the async suites, read as the engine's checkers read a worker thread.

The engine judges a worker by its name, whether it is alive, the error it died of and
where (`checkers.thread_errors`, `WorkerJudge`); a task answers the same questions, so
the async suites hand their tasks to the same judges instead of keeping copies of them.
"""

from __future__ import annotations

import asyncio
import time

from prodcon.errors import kit_file


class TaskWorker:
    """One task, as a worker: name, alive, ended, error, error_trace."""

    kind = "task"

    def __init__(self, task: asyncio.Task) -> None:
        self.task = task
        self.name = task.get_name()
        self.ended: int | None = None
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self.ended = time.perf_counter_ns()

    @property
    def alive(self) -> bool:
        return not self.task.done()

    @property
    def error(self) -> BaseException | None:
        """The exception the task ended with; None while it runs, or if it returned or
        was cancelled."""
        if not self.task.done() or self.task.cancelled():
            return None
        return self.task.exception()

    @property
    def error_trace(self) -> str:
        """The last three lines of the error's traceback outside the kit, innermost first."""
        error = self.error
        if error is None or error.__traceback__ is None:
            return ""
        tb, lines = error.__traceback__, []
        while tb is not None:
            code = tb.tb_frame.f_code
            if not kit_file(code.co_filename):
                lines.append(f"{code.co_filename}:{tb.tb_lineno} in {code.co_name}")
            tb = tb.tb_next
        return " <- ".join(reversed(lines[-3:]))
