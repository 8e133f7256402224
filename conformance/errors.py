"""Every error a user can meet (`ProdconError` and its kinds), and the kit's own failures,
kept apart from verdicts on the implementation.

A bug in prodcon must never read as a bug in the code under test. A test in which
the kit itself fails judges nothing: it is reported as prodcon's, with the kit's
frames (`session.explain.explain_kit_error`), the run ends with `EXIT_CODE`, and grading takes
no points for it (`rubric.score`).
"""

from __future__ import annotations

import os
import sysconfig
import traceback
from contextlib import contextmanager

#: The exit status of a run in which the kit itself failed: sysexits.h's EX_SOFTWARE
#: ("an internal software error was detected"). pytest's own codes are 0 to 5.
EXIT_CODE = 70

#: The package's folder; the kit's own files are those under it, the bundled reference aside.
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_REFERENCE_DIR = os.path.join(PACKAGE_DIR, "reference")


class ProdconError(Exception):
    """The base of every error prodcon raises at a user: catch it to catch them all.

    Not a verdict (`verdict.Violation`, `verdict.Stuck`: findings about the
    implementation) and not the kit's own failure (`KitError`, a bug in prodcon).
    """


class ContractError(ProdconError):
    """NAME cannot be tested: not importable, or not shaped like the contract."""


class FormatError(ProdconError, ValueError):
    """A history line that is not a call; `line` is 1-based."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.message = message


class RubricError(ProdconError, ValueError):
    """The rubric file is not one: the message names the file and the key."""


class UsageError(ProdconError):
    """Bad arguments to a `prodcon` command: the message says which and why."""


class UnusableInterpreter(ProdconError):
    """PATH cannot run the free-threaded twins: missing, not Python, or built with the GIL."""


class SchedulerError(ProdconError, RuntimeError):
    """The controlled scheduler itself could not go on (a real wait passed its safety
    bound): the schedule was not explored, nothing is said about the implementation."""


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
        """`exc`, raised by the kit's own code while `doing`, as the kit's failure; `exc`
        stays its cause, for a caller that tells one kind of failure from another."""
        error = cls(doing, kit_traceback(exc))
        error.__cause__ = exc
        return error


def kit_traceback(exc: BaseException) -> str:
    """`exc` with the frames of the kit's own files (every frame if none is the kit's):
    what a bug report needs, without the implementation's code around it."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    shown = [f for f in frames if kit_file(f.filename)] or frames
    return ("Traceback (the kit's frames, most recent call last):\n"
            + "".join(traceback.format_list(shown))
            + "".join(traceback.format_exception_only(type(exc), exc))).rstrip()


def kit_file(filename: str) -> bool:
    """Whether `filename` is one of the kit's own files: a frame to show in a report of the
    kit's failure, and to hide from a report about the implementation. The bundled
    reference is an implementation like any other (in a wheel it lives in the package's
    folder; in a checkout, beside it)."""
    try:
        path = os.path.abspath(filename)
    except OSError:  # a relative name, and the working directory is gone
        return False
    return path.startswith(PACKAGE_DIR + os.sep) and not path.startswith(_REFERENCE_DIR + os.sep)


_STDLIB = os.path.realpath(sysconfig.get_paths()["stdlib"])
_SITE = tuple({os.path.realpath(sysconfig.get_paths()[k]) for k in ("purelib", "platlib")})


def standard_library_file(filename: str) -> bool:
    """Whether `filename` is a module of Python's standard library (not a package
    installed beside it): its lines are never the implementation's, even when they run
    the implementation's calls (queue.py under a module that imports queue)."""
    real = os.path.realpath(filename)
    return real.startswith(_STDLIB + os.sep) and not real.startswith(_SITE)


@contextmanager
def kit_code(doing: str):
    """Around code of the kit's own that runs none of the implementation's (judging a
    recorded history): whatever it raises is a bug in prodcon, never a finding."""
    try:
        yield
    except Exception as exc:
        raise KitError.caught(doing, exc) from exc
