"""Evaluation: ask fixed question sets through the assistant and score the answers.

Modules: `question` (question files), `metrics` (pure metric functions), `choice` (the
multiple-choice rule), `run` (the evaluation loop, results.jsonl and report.json),
`report` (report.md, plots, comparison) and `command` (`newsqa eval`). Metric definitions
are in docs/evaluation.md.
"""
