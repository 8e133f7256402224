"""Grading a class: `prodcon grade` (the command), the pytest plugin of each submission's
grading session, the rubric (points per property) and the reports (CSV, JSON, Gradescope).

One job a module, each importing only those above it:
  rubric       the rubric file and the score of a run's records
  reports      the files left behind (gradebook, feedback, summary), from the grades
  submissions  finding the submissions on the command line
  plan         `GradingPlan`: the settings every submission is graded with, as one file
  suite_run    one trusted run of the suite on a submission, and what it left
  judge        a submission's grade, from what its run left
  plugin       the grading session (`-p prodcon.grading.plugin`): items, grades, files
  command      `prodcon grade`: find, plan, run the reference, start the session

May import: the shared modules at the package's top only (a submission's run is a
separate pytest session, confined by `--prodcon-isolate`, not an import of `isolation`).
"""
