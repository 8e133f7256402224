"""What keeps the sandbox's child in: its limits, its user, its pids cgroup, and the
ending of everything it started.

`Limits` is chosen by the kit; `apply_limits` and `leave_root` run in the child before
the submission is imported; `pids_cgroup`, `end_session` and `end_cgroup` run in the
kit, around the child's life.
"""

from __future__ import annotations

import math
import os
import signal
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from prodcon.processes import signal_group

_CGROUP_ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


@dataclass(frozen=True)
class Limits:
    """What the child may use; each limit is set in the child before the submission loads.

    `memory` is RLIMIT_AS (address space, thread stacks included), `cpu` RLIMIT_CPU
    (seconds of all its threads), `file_size` RLIMIT_FSIZE (any file it writes, the
    logs of its stdout and stderr included). `processes` bounds the child's processes and
    threads together, through RLIMIT_NPROC and, where the kit may make one, a pids
    cgroup of the child's own. RLIMIT_NPROC counts every process of the user: under
    root the child becomes a user of its own (`leave_root`); under another grading
    user it counts that user's processes too.

    Not options of `prodcon grade` (or of `--prodcon-isolate`, which sets only
    `import_bound`): one set of limits serves a whole class, so every submission is
    graded under the same ones, and these are far above what a correct queue needs.
    """

    memory: int = 1 << 30
    cpu: float = 120.0
    processes: int = 256
    file_size: int = 16 << 20
    import_bound: float = 30.0


# --- in the child, before the submission loads ----------------------------------------------


def apply_limits(config: dict) -> None:
    """Join the child's pids cgroup, if it has one, and lower its rlimits to `config`'s."""
    import resource

    if config["cgroup"] is not None:  # before anything can fork
        with open(os.path.join(config["cgroup"], "cgroup.procs"), "w") as procs:
            procs.write(str(os.getpid()))

    def lower(kind: int, soft: int, hard: int) -> None:
        _, current = resource.getrlimit(kind)
        if current != resource.RLIM_INFINITY:
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(kind, (soft, hard))

    cpu = math.ceil(config["cpu"])
    lower(resource.RLIMIT_AS, config["memory"], config["memory"])
    lower(resource.RLIMIT_CPU, cpu, cpu + 1)  # SIGXCPU first, SIGKILL a second later
    lower(resource.RLIMIT_NPROC, config["processes"], config["processes"])
    lower(resource.RLIMIT_FSIZE, config["file_size"], config["file_size"])
    lower(resource.RLIMIT_CORE, 0, 0)


_UID_BASE = 1_000_000_000  # far above every real account's uid
_CAP_DAC_READ_SEARCH = 2
_CAPABILITY_VERSION_3 = 0x20080522
_PR_SET_KEEPCAPS = 8


def leave_root() -> None:
    """Started by root, the child becomes a user no account has, one per child.

    As root a submission could write the grader's files, read its environment and
    open files, signal or trace it, and RLIMIT_NPROC would not bind. A fresh uid owns
    only the working directory; it keeps one capability, reading any file, because
    the interpreter's own files often sit in a home folder only root may enter.

    Not started by root, the child stays the grader's user: it could rewrite what that
    user may write (the run's records file, OUTDIR), no pids cgroup can be made, and a
    process it forks into a session of its own survives close(). Only root can change
    a process's user, so that stays: grade untrusted code as root, in a container.
    """
    if os.geteuid() != 0:
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    uid = _UID_BASE + os.getpid()
    for folder, dirs, files in os.walk("."):
        for entry in (folder, *(os.path.join(folder, name) for name in dirs + files)):
            os.lchown(entry, uid, uid)
    if libc.prctl(_PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
    data = (Data * 2)()
    data[0].effective = data[0].permitted = 1 << _CAP_DAC_READ_SEARCH
    if libc.capset(ctypes.byref(Header(_CAPABILITY_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


# --- in the kit, around the child's life -----------------------------------------------------


def pids_cgroup(limit: int) -> Path | None:
    """A pids cgroup of its own for one child, capped at `limit` tasks, where the kit may
    make one: RLIMIT_NPROC does not bind root, and the cgroup also finds every process
    the child started when it ends, whatever session they moved to."""
    for root in _CGROUP_ROOTS:
        control = root / "cgroup.subtree_control"  # cgroup v2: pids must be delegated
        try:
            if not (root / "cgroup.procs").is_file() or (
                    control.exists() and "pids" not in control.read_text().split()):
                continue
            group = Path(tempfile.mkdtemp(prefix="prodcon-sandbox-", dir=root))
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(limit))
            return group
        except OSError:
            end_cgroup(group, 0)
    return None


def end_session(sid: int, bound: float) -> None:
    """Kill what runs in the child's session, and wait up to `bound` s until nothing does.

    The group goes at once; a process that left it (setpgid) but not the session is
    found in /proc. Zombies are dead already: whoever adopted them reaps them.
    """
    signal_group(sid)
    _kill_until_gone(lambda: _session_members(sid), bound)


def end_cgroup(group: Path | None, bound: float) -> None:
    """Kill every task left in the child's cgroup, then remove it (an empty one only)."""
    if group is None:
        return
    _kill_until_gone(lambda: _cgroup_members(group), bound)
    with suppress(OSError):
        group.rmdir()


def _kill_until_gone(members: Callable[[], list[int]], bound: float) -> None:
    """SIGKILL each of `members()` until it lists none, or `bound` s have passed."""
    deadline = time.monotonic() + bound
    while True:
        pids = members()
        for pid in pids:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        if not pids or time.monotonic() > deadline:
            return
        time.sleep(0.01)


def _session_members(sid: int) -> list[int]:
    """The live processes of session `sid`, from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid and fields[0] != b"Z":
            members.append(int(entry))
    return members


def _cgroup_members(group: Path) -> list[int]:
    try:
        return [int(pid) for pid in (group / "cgroup.procs").read_text().split()]
    except OSError:
        return []
