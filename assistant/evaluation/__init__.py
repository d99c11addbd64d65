"""Evaluation: ask fixed question sets through the assistant and score the answers.

Modules: `case` (question files: each line a question with its gold answers), `metrics`
(pure metric functions), `calibration` (the confidence metrics and their plots), `run`
(the evaluation loop, results.jsonl and report.json), `report` (report.md and its
plots), `compare` (runs side by side), `figure` (the off-screen figure every plot draws
on) and `command` (`newsqa eval`). Imports run one way: `report` uses `calibration`,
both draw on `figure`. The quiz rule it scores is `assistant.choice`. Metric definitions
are in docs/evaluation.md.
"""
