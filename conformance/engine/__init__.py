"""The live engine: real threads driving a queue, every call recorded, the record judged.

Owns: the harness (bounded calls, crews of threads, stuck-thread diagnosis), the
recording of a run (`recording.History`), the scenarios the suite runs (queue, join,
workers) and the checkers that turn a recording into violations.
May import: the shared modules at the package's top (`errors`, `verdict`, `items`,
`settings`, `contract`), `prodcon.history` (the rules a recording is judged by) and
`prodcon.reference` (the known-good queue the worker-role scenarios run on).
"""
