"""Isolation: an implementation imported in a separate, resource-limited process and
tested through proxies (`--prodcon-isolate`, and every submission `prodcon grade` runs).

The rule: the process that decides the verdict never runs submission code. So
`load_isolated` imports the submission in a child process (its own session, resource
limits, a temporary working directory holding a copy of the submission, an
environment without the parent's variables) and returns an `Implementation` whose
user-provided parts are proxies into it. pytest, the scenarios and the checkers stay
in the trusted process and use the proxies as they would use the real thing. A child
that exits, crashes or runs out of a limit ends every pending and future call with
`SandboxDied`, within a fraction of a second, saying why.

The modules, each with one job:
- `protocol`: the wire between the two processes: JSON lines, each message a small
  frozen dataclass, `encode`/`decode`, values by token, lanes of paired threads
  (`Endpoint`, which both sides extend), and `RemoteError`.
- `parent`: the kit's side: `load_isolated`, the child process (`Sandbox`: starting,
  checking what it sends, its death), the proxies (the sandboxed Queue, producer and
  consumer), `run_in_child`.
- `child`: the child's side: `serve`, the entry point its `-c` bootstrap imports,
  which imports the submission and runs the kit's calls on it.
- `confinement`: `Limits`, the rlimits and the user change in the child, the pids
  cgroup, and the ending of the child's session and cgroup.
- `async_parent`, `async_child`, `async_callbacks`: the same for an asyncio
  implementation: its loop in the child, ticked by the kit's (`Pump`); its Queue's
  coroutines and its workers as tasks there; the kit's queue and handle the workers
  call back.
Dependencies: `parent` and `child` import `protocol` and `confinement`; neither
imports the other (the child is named only in the bootstrap's text).

May import: the shared modules at the package's top only (and `prodcon.reference`;
the async modules, `prodcon.aio`).
"""

from prodcon.isolation.confinement import Limits
from prodcon.isolation.parent import Foreign, SandboxDied, load_isolated
from prodcon.isolation.protocol import RemoteError

__all__ = ["Foreign", "Limits", "RemoteError", "SandboxDied", "load_isolated"]
