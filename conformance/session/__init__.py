"""The pytest session: what `pytest --prodcon-impl=NAME` does around the bundled suite.

Owns: loading the implementation into a run (`run`), the `prodcon` fixture the suite
talks to (`kit.Kit`, the suite's one surface), explaining failures, the tally and the
replay command, and the free-threaded twin (`twin`).
May import: the shared modules, `engine`, `history`, `controlled` and `isolation`
(never `grading` or `bench`, commands of their own). Only `prodcon.plugin` and the
suite import it.
"""
