"""The span scorer's score as a feature of the short-answer reader (issue 20, part 2).

`training/train_span.py` trains a start/end head over (question, window) pairs. Here each
candidate the reader finds today (`SpanReader.candidates`) gets the model's score for its
exact span, and the score enters the conditional logit as more columns: the score
itself (against the window's "no answer"), its log-softmax over the question's
candidates, and a mark for the model's best candidate. Judged by 2-fold
cross-validated short-answer EM / F1 (three fold splits) on a slice the span model never
saw, from the caches that `training/train_reader.py --slice S` writes:

    .venv/bin/python bench/span_feature.py --model bench/out/span23/span.onnx \
        --slice rtqa-2022

Also reported: the span model alone (the text it believes most is the answer) and the hand
features alone. A slice the model was trained on is refused, and so is rtqa-2024 (the
cross-validation fits on it): score the check year with `--check`, which fits nothing
(the shipped reader, the shipped span model alone, and the hand-features-only weights of
the reader before the span model) over `training/train_reader.py --weights-only` caches:

    .venv/bin/python training/train_reader.py --home H24 --slice rtqa-2024 --weights-only \
        --windows 8 --rerecord
    git show 9a2e58d:assistant/reader/weights.json > /tmp/hand-weights.json
    .venv/bin/python bench/span_feature.py --check --slice rtqa-2024 \
        --hand-weights /tmp/hand-weights.json
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
from train_reader import cross_validate, evaluate, subset  # training/, through harness

from assistant.reader.model import MAX_LENGTH, SpanModel

VARIANTS = {
    "hand features": (),
    "hand + span score": ("raw",),
    "hand + span score, log-softmax, top mark": ("raw", "logp", "top"),
    "hand + span log-softmax": ("logp",),
}


def offsets(slice_: str, rows: list[dict[str, Any]], feats: list[dict[str, Any]]
            ) -> list[list[tuple[int, int, int]]]:
    """(window, start, end) of every candidate, in the order of the featurized rows
    (cached in bench/out/reader-offsets-S.pkl)."""
    from assistant.question import analyse
    from assistant.reader.span import FEATURES, SpanReader

    path = OUT / f"reader-offsets-{slice_}.pkl"
    if path.is_file():
        cached = pickle.loads(path.read_bytes())
        if cached["features"] == list(FEATURES) and cached["rows"] == len(rows):
            return list(cached["offsets"])
    class Unscored:
        """No span model: only the candidates' places are wanted here."""

        def prefetch(self, question: str, texts: Any) -> None:
            pass

        def score(self, question: str, texts: Any, spans: Any) -> list[list[float | None]]:
            return [[0.0] * len(s) for s in spans]

    reader = SpanReader(scorer=Unscored())
    out = []
    t0 = time.perf_counter()
    for i, (r, f) in enumerate(zip(rows, feats, strict=True)):
        cands = reader.candidates(analyse(r["question"]), r["windows"], r["passages"])
        if [c.mention.text for c in cands] != f["text"]:
            sys.exit(f"candidates of {r['id']} differ from the featurized cache: rerun "
                     f"training/train_reader.py --slice {slice_} --rerecord")
        out.append([(c.window, c.mention.start, c.mention.end) for c in cands])
        if i % 100 == 0:
            print(f"  {i}/{len(rows)} parsed, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    path.write_bytes(pickle.dumps({"features": list(FEATURES), "rows": len(rows),
                                   "offsets": out}))
    return out


def span_scores(scorer: SpanModel, rows: list[dict[str, Any]],
                spans: list[list[tuple[int, int, int]]], windows: int) -> list[np.ndarray]:
    """The model's score of every candidate in the first `windows` windows (NaN beyond, or
    where truncation cut the span)."""
    out = []
    t0 = time.perf_counter()
    for i, (r, cands) in enumerate(zip(rows, spans, strict=True)):
        wins = r["windows"][:windows]
        per_window: list[list[tuple[int, int]]] = [[] for _ in wins]
        for w, s, e in cands:
            if w < len(wins):
                per_window[w].append((s, e))
        scored = scorer.score(r["question"], [w.text for w in wins], per_window)
        lookup = {(w, s, e): v for w, ws in enumerate(per_window)
                  for (s, e), v in zip(ws, scored[w], strict=True)}
        out.append(np.array([np.nan if (v := lookup.get(c)) is None else v for c in cands]))
        if i % 100 == 0:
            print(f"  {i}/{len(rows)} scored, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return out


def with_span(feats: list[dict[str, Any]], scores: list[np.ndarray], windows: int,
              columns: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of the first `windows` windows with the span columns appended."""
    tagged = [{**r, "X": np.hstack([r["X"], s[:, None]]) if len(s) else
               np.zeros((0, r["X"].shape[1] + 1))} for r, s in zip(feats, scores, strict=True)]
    out = []
    for r in subset(tagged, windows):
        X, raw = r["X"][:, :-1], r["X"][:, -1]
        if len(raw):
            floor = np.nanmin(raw) - 1.0 if np.isfinite(raw).any() else 0.0
            raw = np.where(np.isfinite(raw), raw, floor)
            logp = raw - (raw.max() + np.log(np.exp(raw - raw.max()).sum()))
            top = (np.arange(len(raw)) == int(np.argmax(raw))).astype(float)
        else:
            logp = top = raw
        cols = {"raw": raw / 10.0, "logp": logp / 10.0, "top": top}
        extra = [cols[c] for c in columns]
        out.append({**r, "X": np.hstack([X, np.stack(extra, axis=1)]) if extra and len(raw)
                    else (X if not extra else np.zeros((0, X.shape[1] + len(extra)))),
                    "span": raw})
    return out


def hand_only(feats: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """The featurized rows without the shipped span model's column (the caches of a
    reader that has one): the hand features, to which this script adds its model's."""
    if "span" not in names:
        return feats
    col = names.index("span")
    return [{**r, "X": np.delete(r["X"], col, axis=1) if r["X"].shape[1] == len(names)
             else np.zeros((0, len(names) - 1))} for r in feats]


def span_alone(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The span model alone: its scores as the logit, the text it believes most as the
    answer (`span.choose`)."""
    best = [{**r, "X": r["span"][:, None] if len(r["span"]) else np.zeros((0, 1))}
            for r in rows]
    return evaluate(best, np.ones(1))


def check(slice_: str, windows: int, hand: Path | None) -> dict[str, Any]:
    """Nothing fitted, so the check year may be measured: the shipped reader, the span
    model alone (its best-believed candidate) and, given `hand`, a weights file of the hand
    features only (the reader before the span model), over the cached features of
    `training/train_reader.py --slice S [--weights-only]` (span scores of the shipped model)."""
    from assistant.reader.span import FEATURES, SPAN_SCALE, Weights

    col = FEATURES.index("span")
    hand_weights = None
    if hand is not None:
        if not hand.is_file():
            sys.exit(f"{hand} is missing: give a weights.json of hand features, e.g. `git "
                     "show 9a2e58d:assistant/reader/weights.json > hand.json`")
        try:
            hand_weights = Weights.load(hand.read_text(encoding="utf-8"))
        except (ValueError, KeyError, TypeError) as e:
            sys.exit(f"{hand} is not a reader weights file ({e})")
        if hand_weights.weights[col]:
            sys.exit(f"{hand} weighs the span model's score: give hand-feature weights")
    path = OUT / f"reader-feats-{slice_}.pkl"
    if not path.is_file():
        sys.exit(f"{path} is missing: run training/train_reader.py --home H --slice {slice_} "
                 "--weights-only first")
    cached = pickle.loads(path.read_bytes())
    if cached["features"] != list(FEATURES):
        sys.exit(f"{path} was made with other reader features: rerun train_reader.py")
    feats = subset(cached["feats"], windows)
    shipped = Weights.load()
    alone = [{**r, "X": r["X"][:, col:col + 1] * SPAN_SCALE} for r in feats]
    result: dict[str, Any] = {"slice": slice_, "questions": len(feats), "windows": windows,
                              "shipped": evaluate(feats, shipped.weights, shipped.threshold),
                              "span alone": evaluate(alone, np.ones(1))}
    if hand_weights is not None:
        result["hand features"] = evaluate(feats, hand_weights.weights,
                                           hand_weights.threshold)
    return result


def watch(models: list[Path], windows: int) -> dict[str, Any]:
    """Span models compared on the questions every `train_span.py` run holds out to watch
    (`finetune.held_out`, seed 0, 10%: the same ids in every run), so out of sample
    for each model, whatever years it was trained on: the reader with the shipped weights
    and confidence map, EM / F1, mean confidence and accuracy, and the mean confidence of
    its wrong answers."""
    from finetune import held_out

    from assistant.evaluation.metrics import short_exact_match
    from assistant.reader.confidence import Calibration
    from assistant.reader.span import Weights, choose
    from assistant.sentence import normalize

    shipped, cal = Weights.load(), Calibration.load()
    result: dict[str, Any] = {"windows": windows, "slices": {}}
    for slice_ in ("rtqa-2022", "rtqa-2023"):
        rows = pickle.loads((OUT / f"reader-cache-{slice_}.pkl").read_bytes())
        cached = pickle.loads((OUT / f"reader-feats-{slice_}.pkl").read_bytes())
        feats = hand_only(cached["feats"], list(cached["features"]))
        spans = offsets(slice_, rows, feats)
        keep = [i for i, r in enumerate(rows) if held_out(r["id"], 0, 0.1)]
        per_model = {}
        for path in models:
            scores = span_scores(SpanModel(path), [rows[i] for i in keep],
                                 [spans[i] for i in keep], windows)
            tagged = with_span([feats[i] for i in keep], scores, windows, ("raw",))
            conf, right = [], []
            for r in tagged:
                if not len(r["y"]):
                    conf.append(0.0)
                    right.append(0.0)
                    continue
                s = r["X"] @ shipped.weights
                j = choose(r["text"], s)
                p = np.exp(s - s.max())
                same = [normalize(t) == normalize(r["text"][j]) for t in r["text"]]
                conf.append(cal.probability(float(p[same].sum() / p.sum())))
                right.append(short_exact_match(r["text"][j], r["answers"]) or 0.0)
            c, y = np.array(conf), np.array(right)
            per_model[str(path)] = {
                **evaluate(tagged, shipped.weights, shipped.threshold),
                "mean_confidence": float(c.mean()),
                "confidence_of_wrong": float(c[y == 0].mean()) if (y == 0).any() else None,
                "right": [int(v) for v in y]}
        result["slices"][slice_] = {"questions": len(keep), "models": per_model}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--model", type=Path, help="span.onnx of train_span.py")
    ap.add_argument("--slice", default="rtqa-2022",
                    choices=["rtqa-2022", "rtqa-2023", "rtqa-2024"])
    ap.add_argument("--windows", type=int, default=8, help="windows the reader parses")
    ap.add_argument("--seeds", type=int, default=3, help="fold splits")
    ap.add_argument("--check", action="store_true",
                    help="fit nothing (so also the check year): the shipped reader, the "
                    "shipped span model alone and --hand-weights on the slice's caches")
    ap.add_argument("--hand-weights", type=Path, metavar="weights.json",
                    help="with --check: hand-feature weights to compare, e.g. `git show "
                    "9a2e58d:assistant/reader/weights.json` (the reader before the span model)")
    ap.add_argument("--watch", type=Path, nargs="+", metavar="RUN/span.onnx",
                    help="compare span models on the questions every training run held out "
                    "(rtqa-2022 and rtqa-2023 caches; nothing fitted)")
    args = ap.parse_args()
    if args.watch:
        found = watch(args.watch, args.windows)
        for slice_, res in found["slices"].items():
            for model, m in res["models"].items():
                print(f"{slice_} watch ({res['questions']}) {model}: EM {m['em']:.3f} F1 "
                      f"{m['f1']:.3f}, confidence {m['mean_confidence']:.3f}, of wrong "
                      f"answers {m['confidence_of_wrong']:.3f}")
        (OUT / "span-watch.json").write_text(json.dumps(found, indent=1))
        return
    if args.check:
        result = check(args.slice, args.windows, args.hand_weights)
        print(json.dumps(result, indent=1))
        (OUT / f"span-check-{args.slice}.json").write_text(json.dumps(result, indent=1))
        return
    if args.model is None or args.slice == "rtqa-2024":
        sys.exit("cross-validation needs --model and a training slice (rtqa-2022 or "
                 "rtqa-2023); measure rtqa-2024 with --check")
    report_path = args.model.with_suffix(".report.json")
    if not report_path.is_file():
        sys.exit(f"{report_path} is missing: training/train_span.py writes it beside the "
                 "model")
    about = json.loads(report_path.read_text(encoding="utf-8"))["model"]
    if args.slice in about["train_slices"]:
        sys.exit(f"the span model was trained on {args.slice}: measure it on a slice it "
                 "never saw")
    caches = [OUT / f"reader-cache-{args.slice}.pkl", OUT / f"reader-feats-{args.slice}.pkl"]
    if not all(c.is_file() for c in caches):
        sys.exit(f"{caches[0]} or {caches[1].name} is missing: run training/train_reader.py "
                 f"--home H --slice {args.slice} first")
    rows = pickle.loads(caches[0].read_bytes())
    cached = pickle.loads(caches[1].read_bytes())
    feats = hand_only(cached["feats"], list(cached["features"]))
    spans = offsets(args.slice, rows, feats)
    if int(about["max_length"]) != MAX_LENGTH:
        sys.exit(f"{args.model} was trained to read {about['max_length']} word pieces; the "
                 f"reader reads {MAX_LENGTH} (assistant/reader/model.py)")
    scores = span_scores(SpanModel(args.model), rows, spans, args.windows)
    variants = {name: with_span(feats, scores, args.windows, cols)
                for name, cols in VARIANTS.items()}
    result: dict[str, Any] = {"slice": args.slice, "model": str(args.model),
                              "span_trained_on": about["train_slices"],
                              "questions": len(feats), "windows": args.windows,
                              "span alone": span_alone(variants["hand features"]),
                              "splits": []}
    print(json.dumps({"span alone": result["span alone"]}))
    for seed in range(args.seeds):
        folds = np.random.default_rng(seed).permutation(len(feats)) % 2
        split = {"seed": seed, **{name: cross_validate(rows_, folds)
                                  for name, rows_ in variants.items()}}
        result["splits"].append(split)
        print(json.dumps(split))
    for name in VARIANTS:
        result[name] = {k: round(float(np.median([s[name][k] for s in result["splits"]])), 3)
                        for k in ("em", "f1")}
    print(json.dumps({k: result[k] for k in VARIANTS}))
    (OUT / f"span-feature-{args.slice}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
