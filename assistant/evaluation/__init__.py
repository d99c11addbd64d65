"""Evaluation: ask fixed question sets through the assistant and score the answers.

Modules: `case` (question files: each line a question with its gold answers), `metrics`
(pure metric functions), `run` (the evaluation loop, results.jsonl and report.json),
`report` (report.md, plots, comparison) and `command` (`newsqa eval`). The quiz rule it
scores is `assistant.choice`. Metric definitions are in docs/evaluation.md.
"""
