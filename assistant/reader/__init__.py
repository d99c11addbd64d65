"""The short-answer reader: the span inside the quotes that answers the question (a
name, place, number, date or short noun phrase). It needs spaCy, loaded on first use.

Modules: `span` (the `Reader` protocol and `SpanReader`, a conditional logit over the
features of each candidate), `mention` (candidates found by spaCy: entities, numbers,
noun phrases), `clue` (word-level clues: answer typing, dates, titles, outlets),
`model` (the learned span scorer, `span.onnx`, whose score is one of the features;
`training/train_span.py`) and `weights.json` (the fitted weights, rebuilt by
`training/train_reader.py --write`).
"""
