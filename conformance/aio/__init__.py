"""asyncio: the same kit for asyncio.Queue-style queues and async producers and consumers.

Owns: an event loop on a kit thread of its own whose every run is bounded, with a
stuck run reported task by task (`loop`); the async queue role's calls made with a
bound and judged as the thread suite judges them (`calls`); every call of an async
scenario recorded into the engine's `History`, per task (`recording`); and the
concurrent scenarios of the async queue role (`scenario`), judged by the engine's
checkers, unchanged: a history does not care who made it.
Also the async worker role's coordinator (`workers`) and the watch over the loop's thread
(`blocking`).
May import: the shared modules at the package's top, `prodcon.engine` (recording,
checkers, the worker judge), `prodcon.history` and `prodcon.reference` (the async queue
the worker-role scenarios run on).
"""
