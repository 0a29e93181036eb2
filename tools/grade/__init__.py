"""The instructor's grader ("the judge"): ``python -m tools.grade SUBMISSIONS --out RESULTS``.

A pipeline of small steps, one module each:

collect   learners from folders or Canvas/Moodle downloads; notebooks found by (Colab) file name
          at any depth; the most complete of several copies (tools/grade/collect.py)
extract   only the source text of the answer cells crosses over (extract.py)
rebuild   the trusted exercise with those sources put in (rebuild.py)
rules     the from-scratch rules and escape hatches, looked for on the syntax tree, and which
          checks test NumPy-only answers (rules.py)
sandbox   bubblewrap + prlimit, or a documented fallback; NumPy-only checks run where
          PyTorch's files are hidden (sandbox.py, session.py)
runner    runs inside the sandbox: the notebook's cells, then each check's call (runner.py)
codec     data <-> JSON skeleton + .npz, never pickle (codec.py)
judge     inputs, references and verdicts, in this process, which runs no learner code
report    grades.csv, a JSON per learner, a feedback page (Markdown, HTML) per learner x
          notebook, run.json for the instructor (report.py, safe.py)

Around it: merge (join shards, a regraded learner), class_report (class-report.html) and
similarity (answers to review): ``python -m tools.grade merge``,
``python -m tools.grade.class_report``, ``python -m tools.grade.similarity``.
"""
