"""Grading a class: `prodcon grade` (the command), the pytest plugin of each submission's
grading session, the rubric (points per property) and the reports (CSV, JSON, Gradescope).

May import: the shared modules at the package's top and `prodcon.isolation`.
"""
