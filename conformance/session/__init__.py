"""The pytest session: what `pytest --prodcon-impl=NAME` does around the bundled suite.

Owns: loading the implementation into a run (`run`), the `prodcon` fixture the suite
talks to (`kit.Kit`, the suite's one surface), explaining failures, the tally and the
replay command, and the free-threaded twin (`twin`).
May import: every other room; nothing imports it but `prodcon.plugin`, the suite and
the command line.
"""
