"""Histories on their own: the file format, the rules, the search, the timeline picture.

Owns: `fileformat` (a history as JSON lines, `Op`), `linearizability` (the per-call
Full/Empty rules and whole-history linearizability), `search` (the exact search those
rules fall back on), `timeline` (the HTML page of a history, from asset files).
Used live by the engine and offline by `prodcon check-history`.
May import: the shared modules at the package's top only (today `errors` and
`items`), never `engine`, `session` or another room. Inside: `fileformat` <- `search`
<- `linearizability`; `fileformat` <- `timeline`.
"""
