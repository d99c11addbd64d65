"""The learned window ranker's score as a feature of the short-answer reader (issue 20).

`bench/train_ranker.py` trained a cross-encoder that scores (question, sentence window)
pairs. Reordering windows with it did not beat the keyword prior (docs/benchmarks.md).
This measures the other use: the reader keeps the windows it reads today, and each
candidate also gets its window's ranker score (standardised within the question) and a
mark for the ranker's top window, as two more columns of the conditional logit.

Judged by 2-fold cross-validated short-answer EM / F1 on a slice the ranker never saw
(three fold splits), with and without the two columns, from the caches that
`bench/train_reader.py --slice S` writes (bench/out/reader-cache-S.pkl, reader-feats-S.pkl):

    .venv/bin/python bench/ranker_feature.py --model bench/out/r23s8k/ranker.onnx \
        --slice rtqa-2022

A slice the ranker was trained on is refused (its scores there are in-sample, so the
reader would learn to trust them too much), and so is rtqa-2024 (the check year: the
cross-validation fits on it).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from harness import OUT
from train_ranker import OnnxScorer
from train_reader import cross_validate, subset


def window_scores(model: Path, rows: list[dict[str, Any]]) -> list[np.ndarray]:
    """The ranker's logit for every recorded window of every question."""
    report = json.loads(model.with_suffix(".report.json").read_text(encoding="utf-8"))
    scorer = OnnxScorer(model, int(report["model"]["max_length"]))
    out = []
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        out.append(scorer.scores(r["question"], [w.text for w in r["windows"]]))
        if i % 100 == 0:
            print(f"  {i}/{len(rows)} scored, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return out


def with_ranker(feats: list[dict[str, Any]], scores: list[np.ndarray], windows: int
                ) -> list[dict[str, Any]]:
    """The featurized rows with two columns more: the candidate's window score,
    standardised over the question's first `windows` windows, and whether that window is
    the ranker's best of them."""
    out = []
    for r, s in zip(feats, scores, strict=True):
        s = s[:windows].astype(float)
        z = (s - s.mean()) / (s.std() + 1e-6) if len(s) > 1 else np.zeros_like(s)
        top = (np.arange(len(s)) == int(np.argmax(s))).astype(float) if len(s) else s
        win = r["window"]
        extra = (np.stack([z[win], top[win]], axis=1) if len(win)
                 else np.zeros((0, 2)))
        out.append({**r, "X": np.hstack([r["X"], extra]) if len(win)
                    else np.zeros((0, r["X"].shape[1] + 2))})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--model", type=Path, required=True, help="ranker.onnx of train_ranker.py")
    ap.add_argument("--slice", default="rtqa-2022", choices=["rtqa-2022", "rtqa-2023"])
    ap.add_argument("--windows", type=int, default=8, help="windows the reader parses")
    ap.add_argument("--seeds", type=int, default=3, help="fold splits")
    args = ap.parse_args()
    report_path = args.model.with_suffix(".report.json")
    if not report_path.is_file():
        sys.exit(f"{report_path} is missing: bench/train_ranker.py writes it beside the model")
    trained_on = json.loads(report_path.read_text(encoding="utf-8"))["model"]["train_slices"]
    if args.slice in trained_on:
        sys.exit(f"the ranker was trained on {args.slice}: measure it on a slice it never saw")
    caches = [OUT / f"reader-cache-{args.slice}.pkl", OUT / f"reader-feats-{args.slice}.pkl"]
    if not all(c.is_file() for c in caches):
        sys.exit(f"{caches[0]} or {caches[1].name} is missing: run bench/train_reader.py "
                 f"--home H --slice {args.slice} first")
    rows = pickle.loads(caches[0].read_bytes())
    feats = pickle.loads(caches[1].read_bytes())["feats"]
    scores = window_scores(args.model, rows)
    base = subset(feats, args.windows)
    plus = with_ranker(base, scores, args.windows)
    result: dict[str, Any] = {"slice": args.slice, "model": str(args.model),
                              "ranker_trained_on": trained_on, "questions": len(feats),
                              "windows": args.windows, "splits": []}
    for seed in range(args.seeds):
        folds = np.random.default_rng(seed).permutation(len(feats)) % 2
        split = {"seed": seed, "hand features": cross_validate(base, folds),
                 "hand features + ranker": cross_validate(plus, folds)}
        result["splits"].append(split)
        print(json.dumps(split))
    for name in ("hand features", "hand features + ranker"):
        result[name] = {k: round(float(np.median([s[name][k] for s in result["splits"]])), 3)
                        for k in ("em", "f1")}
    print(json.dumps({k: result[k] for k in ("hand features", "hand features + ranker")}))
    (OUT / f"ranker-feature-{args.slice}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
