"""Fit the short-answer reader's weights (issue 10; shipped as
`assistant/reader/weights.json`) on a training year, and measure them.

1. Asks every answerable question of the slice (non-empty `supporting_ids`) plainly, with
   no quiz options, as of its date, through `Assistant.ask` (retrieval, sentence
   scoring), recording the sentence windows handed to the reader (up to --windows) and
   the retrieved passages. Cached in bench/out/reader-cache-<slice>.pkl, which the
   measurements in bench/ (`span_feature.py`) read too.
2. Computes every candidate's features (`SpanReader.candidates`, the span model's score
   included) and labels them: a candidate is right when it equals a gold answer under
   `squad_normalize`. Cached in bench/out/reader-feats-<slice>.pkl: after a new span
   model, pass --rerecord.
3. Fits a conditional logit (softmax over a question's candidates; numpy, L2) and
   reports, per number of windows parsed, how often the gold span is a candidate
   (recall) and the short-answer EM / F1 of the reader's choice (`span.choose`): the
   shipped weights, 2-fold CV on the slice, and the weights fitted on the whole slice.
4. With --write, stores the weights fitted on the slice (and any --fit-on years) as
   assistant/reader/weights.json.

Fit on the training years (rtqa-2022, rtqa-2023) only. The check year, rtqa-2024, is
only measured, with --weights-only (the shipped weights; nothing fitted, not even the
cross-validation): fitting on it is refused. With --fit-on, weights fitted on the other
training year(s) alone are measured on --slice, a year they never saw:

    .venv/bin/python training/train_reader.py --home /var/tmp/rtqa22 --slice rtqa-2022 --write
    .venv/bin/python training/train_reader.py --home /var/tmp/rtqa23 --slice rtqa-2023
    .venv/bin/python training/train_reader.py --home /var/tmp/rtqa22 --slice rtqa-2022 \
        --fit-on rtqa-2023
    .venv/bin/python training/train_reader.py --home /var/tmp/rtqa24 --slice rtqa-2024 \
        --weights-only
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from paths import OUT, ROOT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Stronger than 0.1: 2-fold CV EM 0.302 -> 0.316 on rtqa-2022 (3 seeds, 8 windows).
L2 = 1.0


def record(home: Path, slice_: str, windows: int, limit: int | None,
           embedded: int | None = None) -> list[dict[str, Any]]:
    """Ask each answerable question plainly; keep what the reader was given."""
    from assistant.evaluation.case import load_questions
    from assistant.service import Assistant
    from assistant.settings import load_settings

    qs = [q for q in load_questions(SHARED / slice_ / "questions.jsonl").questions
          if q.supporting_ids and q.answers][:limit]
    # The reader reads the embedded sentences: embed at least as many as it reads.
    bot = Assistant(load_settings(home=home, answer={
        "reader_windows": windows, "embedded_sentences": embedded or max(8, windows)}))
    answerer: Any = bot.answerer
    inner = answerer.reader
    rows: list[dict[str, Any]] = []

    class Recorder:
        def weigh(self, q, wins, passage_texts, newest=None):  # type: ignore[no-untyped-def]
            rows[-1].update(windows=list(wins), passages=list(passage_texts), newest=newest)
            return inner.weigh(q, wins, passage_texts, newest=newest)

    answerer.reader = Recorder()
    t0 = time.perf_counter()
    for i, q in enumerate(qs):
        rows.append({"id": q.id, "question": q.question, "answers": q.answers,
                     "windows": [], "passages": []})
        answer = bot.ask(q.question, k=10, as_of=q.date)
        rows[-1].update(quotes=[c.quote for c in answer.citations],
                        short=answer.short_answer.text if answer.short_answer else None,
                        abstained=answer.abstained)
        if i % 50 == 0:
            print(f"  {i}/{len(qs)} asked, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return rows


def featurize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Candidates' features and labels per question."""
    from assistant.evaluation.metrics import squad_normalize
    from assistant.question import analyse
    from assistant.reader.span import SpanReader

    reader = SpanReader()
    out = []
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        q = analyse(r["question"])
        cands = reader.candidates(q, r["windows"], r["passages"])
        golds = {squad_normalize(a) for a in r["answers"]} - {""}
        out.append({
            "id": r["id"], "type": q.answer_type,
            "X": np.stack([c.features for c in cands]) if cands else np.zeros((0, 1)),
            "y": np.array([squad_normalize(c.mention.text) in golds for c in cands]),
            "window": np.array([c.window for c in cands]),
            "text": [c.mention.text for c in cands],
            "answers": r["answers"],
        })
        if i % 100 == 0:
            print(f"  {i}/{len(rows)} parsed, {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    return out


def subset(rows: list[dict[str, Any]], windows: int) -> list[dict[str, Any]]:
    """The same questions as if the reader had parsed only the first `windows` windows."""
    out = []
    for r in rows:
        keep = r["window"] < windows
        out.append({**r, "X": r["X"][keep], "y": r["y"][keep], "window": r["window"][keep],
                    "text": [t for t, k in zip(r["text"], keep, strict=True) if k]})
    return out


def ablate(rows: list[dict[str, Any]], drop_kind: str | None = None,
           zero: tuple[str, ...] = (), no_windows: bool = False) -> list[dict[str, Any]]:
    """The rows without some candidates (a kind, or those in continuation sentences) or
    with some features zeroed: what each step of the reader adds."""
    from assistant.reader.span import FEATURES

    cols = [FEATURES.index(f) for f in zero]
    kind_col = {"entity": FEATURES.index("entity"), "phrase": FEATURES.index("phrase")}
    cont = FEATURES.index("continuation")
    out = []
    for r in rows:
        X = r["X"].copy()
        keep = np.ones(len(r["y"]), dtype=bool)
        if len(keep):
            if drop_kind == "number":
                keep &= (X[:, kind_col["entity"]] + X[:, kind_col["phrase"]]) > 0
            elif drop_kind:
                keep &= X[:, kind_col[drop_kind]] == 0
            if no_windows:
                keep &= X[:, cont] == 0
            X[:, cols] = 0.0
        out.append({**r, "X": X[keep], "y": r["y"][keep], "window": r["window"][keep],
                    "text": [t for t, k in zip(r["text"], keep, strict=True) if k]})
    return out


ABLATIONS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("no next sentence (candidates of the first sentence only)", {"no_windows": True}),
    ("no answer typing", {"zero": ("type", "type_strong", "focus_in", "focus_near", "year",
                                   "relative_date", "preposition")}),
    ("no NER candidates (phrases and numbers only)", {"drop_kind": "entity"}),
    ("no noun-phrase candidates", {"drop_kind": "phrase"}),
    ("no voting across sources", {"zero": ("agree_articles", "repeated")}),
    ("no question-word placement (alignment, verbs, keyword rarity)",
     {"zero": ("aligned", "verb_near", "local_idf", "local_share")}),
    ("no poor-answer marks (outlets, surnames, datelines)",
     {"zero": ("outlet", "short_name", "dateline")}),
    ("no span model (the hand features only)", {"zero": ("span",)}),
    ("full reader", {}),
)


def cross_validate(rows: list[dict[str, Any]], folds: np.ndarray,
                   extra: Sequence[dict[str, Any]] = ()) -> dict[str, float]:
    """2-fold cross-validated EM / F1 of the fitted conditional logit (`extra` rows, from
    other years, join every training fold)."""
    em = f1 = 0.0
    for k in (0, 1):
        w = fit([*extra, *(r for r, f in zip(rows, folds, strict=True) if f != k)])
        ev = evaluate([r for r, f in zip(rows, folds, strict=True) if f == k], w)
        em += ev["em"] * ev["n"]
        f1 += ev["f1"] * ev["n"]
    return {"em": em / len(rows), "f1": f1 / len(rows)}


def fit(rows: list[dict[str, Any]], l2: float = L2, steps: int = 600) -> np.ndarray:
    """Conditional logit: maximise log P(some right candidate) over each question's
    candidates, by gradient ascent (Adam)."""
    data = [(r["X"], r["y"]) for r in rows if len(r["y"]) and r["y"].any()]
    dim = data[0][0].shape[1]
    w = np.zeros(dim)
    m, v = np.zeros(dim), np.zeros(dim)
    lr, b1, b2 = 0.05, 0.9, 0.999
    for t in range(1, steps + 1):
        grad = -l2 * w
        for X, y in data:
            s = X @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            pos = p * y
            grad += X.T @ (pos / pos.sum() - p)
        grad /= len(data)
        m = b1 * m + (1 - b1) * grad
        v = b2 * v + (1 - b2) * grad**2
        w += lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
    return w


def evaluate(rows: list[dict[str, Any]], w: np.ndarray, threshold: float = -np.inf
             ) -> dict[str, float]:
    """Short-answer EM / F1 of the reader's choice (`span.choose`: the text with the most
    belief), and candidate recall."""
    from assistant.evaluation.metrics import short_exact_match, short_f1
    from assistant.reader.span import choose

    em, f1, rec = [], [], []
    for r in rows:
        pred = None
        if len(r["y"]):
            s = r["X"] @ w
            best = choose(r["text"], s)
            if s[best] >= threshold:
                pred = r["text"][best]
        em.append(short_exact_match(pred, r["answers"]) or 0.0)
        f1.append(short_f1(pred, r["answers"]) or 0.0)
        rec.append(float(bool(len(r["y"]) and r["y"].any())))
    return {"em": float(np.mean(em)), "f1": float(np.mean(f1)), "recall": float(np.mean(rec)),
            "n": len(rows)}


def ablate_weights(w: np.ndarray, how: dict[str, Any]) -> np.ndarray:
    """The shipped weights with the ablated features' weights zeroed."""
    from assistant.reader.span import FEATURES

    w = w.copy()
    for f in how.get("zero", ()):
        w[FEATURES.index(f)] = 0.0
    return w


def choose_threshold(rows: list[dict[str, Any]], w: np.ndarray, floor: float = 0.05
                     ) -> float:
    """The highest score below which the reader's answers are right less than `floor` of
    the time: below it a short answer is more noise than help, so none is given."""
    from assistant.evaluation.metrics import short_exact_match
    from assistant.reader.span import choose

    best: list[tuple[float, float]] = []
    for r in rows:
        if len(r["y"]):
            s = r["X"] @ w
            i = choose(r["text"], s)
            best.append((float(s[i]), short_exact_match(r["text"][i], r["answers"]) or 0.0))
    best.sort()
    threshold = best[0][0] - 1.0 if best else 0.0
    right = 0.0
    for n, (score, em) in enumerate(best, start=1):
        right += em
        if n >= 10 and right / n < floor:
            threshold = score
    return threshold


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--home", type=Path, required=True, help="data home with the slice indexed")
    ap.add_argument("--slice", default="rtqa-2022",
                    choices=["rtqa-2022", "rtqa-2023", "rtqa-2024"])
    ap.add_argument("--fit-on", nargs="*", default=[], metavar="SLICE",
                    help="other training slices, already featurized by a run with --slice "
                    "SLICE: weights fitted on them alone are measured on --slice (a year "
                    "the fit never saw), and --write fits on all of them and --slice")
    ap.add_argument("--windows", type=int, default=10, help="windows recorded per question")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--embedded", type=int, default=None,
                    help="sentences embedded per question (default: max(8, windows))")
    ap.add_argument("--weights-only", action="store_true",
                    help="measure the shipped weights, fit nothing (the only use of rtqa-2024)")
    ap.add_argument("--write", action="store_true", help="store the fitted weights")
    ap.add_argument("--rerecord", action="store_true", help="ignore the caches")
    ap.add_argument("--ablate", action="store_true", help="each step's gain, 2-fold CV")
    args = ap.parse_args()
    if "rtqa-2024" in args.fit_on or (args.slice == "rtqa-2024" and (
            args.write or args.ablate or not args.weights_only)):
        sys.exit("rtqa-2024 is the check year: never fit on it, nor cross-validate "
                 "(measure the shipped weights with --weights-only)")

    from assistant.reader.span import FEATURES, Weights

    OUT.mkdir(parents=True, exist_ok=True)
    cache = OUT / f"reader-cache-{args.slice}.pkl"
    if cache.exists() and not args.rerecord:
        rows = pickle.loads(cache.read_bytes())
    else:
        rows = record(args.home, args.slice, args.windows, args.limit, args.embedded)
        cache.write_bytes(pickle.dumps(rows))
    fcache = OUT / f"reader-feats-{args.slice}.pkl"
    cached = pickle.loads(fcache.read_bytes()) if fcache.exists() and not args.rerecord else {}
    if cached.get("features") == list(FEATURES) and cached.get("rows") == len(rows):
        feats = cached["feats"]
    else:
        feats = featurize(rows)
        fcache.write_bytes(pickle.dumps({"features": list(FEATURES), "rows": len(rows),
                                         "feats": feats}))
    shipped = Weights.load()
    report: dict[str, Any] = {"slice": args.slice, "questions": len(feats), "rows": []}
    if all("quotes" in r for r in rows):
        # As answered end to end when recorded (the recording's weights and windows).
        from assistant.evaluation.metrics import contains_any, short_exact_match, short_f1

        asked = {
            "short_em": float(np.mean([short_exact_match(r["short"], r["answers"]) or 0.0
                                       for r in rows])),
            "short_f1": float(np.mean([short_f1(r["short"], r["answers"]) or 0.0
                                       for r in rows])),
            "answer_in_quotes": float(np.mean([contains_any(r["quotes"], r["answers"]) or 0.0
                                               for r in rows])),
            "abstained": float(np.mean([bool(r["abstained"]) for r in rows])),
            "n": len(rows),
        }
        report["as_answered"] = asked
        print(json.dumps({"as_answered": asked}))
    rng = np.random.default_rng(0)
    folds = rng.permutation(len(feats)) % 2
    for n_win in sorted({3, 5, 8, args.windows}):
        sub = subset(feats, n_win)
        row: dict[str, Any] = {"windows": n_win,
                               "shipped": evaluate(sub, shipped.weights, shipped.threshold)}
        if not args.weights_only:
            row["cv"] = cross_validate(sub, folds)
        report["rows"].append(row)
        print(json.dumps(row))
    n_win = int(os.environ.get("READER_WINDOWS", "8"))
    others: list[dict[str, Any]] = []
    for other in args.fit_on:
        path = OUT / f"reader-feats-{other}.pkl"
        if not path.exists():
            sys.exit(f"{path} is missing: run this script with --slice {other} first")
        others += pickle.loads(path.read_bytes())["feats"]
    if others:
        w_other = fit(subset(others, n_win))
        report["fitted_on_other_years"] = {
            "fit_on": args.fit_on, "questions": len(others),
            "here": evaluate(subset(feats, n_win), w_other)}
        print(json.dumps({"fitted on " + "+".join(args.fit_on) + " only":
                          report["fitted_on_other_years"]["here"]}))
        # What --write gains from the other years: 2-fold CV with the other years added to
        # each training fold, against the same folds alone ("cv" above).
        report["fitted_on_other_years"]["cv_with_half_here"] = cross_validate(
            subset(feats, n_win), folds, extra=subset(others, n_win))
        print(json.dumps({"cv with " + "+".join(args.fit_on) + " added":
                          report["fitted_on_other_years"]["cv_with_half_here"]}))
    if args.ablate:
        sub = subset(feats, n_win)
        report["ablation"] = []
        for name, how in ABLATIONS:
            rows_ = ablate(sub, **how)
            hand = evaluate(rows_, shipped.weights if not how else
                            ablate_weights(shipped.weights, how))
            res = {"step": name, "shipped": hand, "cv": cross_validate(rows_, folds)}
            report["ablation"].append(res)
            print(json.dumps(res))
    if args.write:
        pooled = subset(feats + others, n_win)
        w = fit(pooled)
        slices = " + ".join([args.slice, *args.fit_on])
        text = json.dumps({
            "source": f"training/train_reader.py on {slices} ({len(pooled)} answerable plain "
                      f"questions, {n_win} windows), conditional logit, L2 {L2}",
            "threshold": round(choose_threshold(pooled, w), 4),
            "features": list(FEATURES),
            "weights": [round(float(x), 4) for x in w],
        }, indent=1)
        (ROOT / "assistant" / "reader" / "weights.json").write_text(text + "\n")
        print("fitted:", evaluate(subset(feats, n_win), w))
    (OUT / f"reader-{args.slice}.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
