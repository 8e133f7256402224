"""prodcon: a concurrency-correctness test kit for producer-consumer code.

Kept import-light on purpose: pytest loads the plugin in every session of every
user who has it installed, and the kit must cost nothing when it is not asked for.

The house (docs/architecture.md draws it). Two doors: `plugin` (the pytest11 entry
point) and `cli` (the `prodcon` command). Shared by every room, importing nothing but
each other and the bundled reference: `errors` (every error a user can meet),
`verdict` (the properties and how a violation is told), `items` (payloads and how they
are shown), `settings` (bounds, profiles, shapes), `contract` (what NAME must provide,
and loading it), `processes` (the kit's import path for child processes, killing a
process group), `bursts` (calls made back to back where the queue lives), `one_core`
(which threads share one CPU core, and keeping them there). Rooms, each
with its door in its `__init__`: `session`, `engine`, `history`, `controlled`,
`isolation`, `grading`, `bench`; `suite` is the bundled
conformance suite, `reference` the bundled implementation.
"""

__version__ = "0.1.0"
