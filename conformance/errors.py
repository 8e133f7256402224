"""The kit's own failures, kept apart from verdicts on the implementation.

A bug in prodcon must never read as a bug in the code under test. A test in which
the kit itself fails judges nothing: it is reported as prodcon's, with the kit's
frames (`run.explain_kit_error`), the run ends with `EXIT_CODE`, and grading takes
no points for it (`rubric.score`).
"""

from __future__ import annotations

import os
import traceback
from contextlib import contextmanager

#: The exit status of a run in which the kit itself failed: sysexits.h's EX_SOFTWARE
#: ("an internal software error was detected"). pytest's own codes are 0 to 5.
EXIT_CODE = 70

_KIT_DIR = os.path.dirname(os.path.abspath(__file__))


class KitError(BaseException):
    """The kit failed while `doing` something: a bug in prodcon, not in the implementation.

    A BaseException, like `verdict.Stuck`: code under test that catches Exception
    cannot swallow it, and Hypothesis does not shrink it. `trace` is the kit's
    traceback as text, since it may come from the sandbox's child process.
    """

    def __init__(self, doing: str, trace: str = "") -> None:
        super().__init__(doing)
        self.doing = doing
        self.trace = trace

    @classmethod
    def caught(cls, doing: str, exc: BaseException) -> KitError:
        """`exc`, raised by the kit's own code while `doing`, as the kit's failure."""
        return cls(doing, kit_traceback(exc))


def kit_traceback(exc: BaseException) -> str:
    """`exc` with the frames of the kit's own files (every frame if none is the kit's):
    what a bug report needs, without the implementation's code around it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    shown = [f for f in frames if _in_kit(f.filename)] or frames
    return ("Traceback (the kit's frames, most recent call last):\n"
            + "".join(traceback.format_list(shown))
            + "".join(traceback.format_exception_only(type(exc), exc))).rstrip()


def _in_kit(filename: str) -> bool:
    try:
        return os.path.abspath(filename).startswith(_KIT_DIR + os.sep)
    except OSError:  # a relative name, and the working directory is gone
        return False


@contextmanager
def kit_code(doing: str):
    """Around code of the kit's own that runs none of the implementation's (judging a
    recorded history): whatever it raises is a bug in prodcon, never a finding."""
    try:
        yield
    except Exception as exc:
        raise KitError.caught(doing, exc) from exc
