"""Fit the short answer's confidence (`assistant/reader/calibration.json`) from eval runs of
the training years, and say where to state answers as facts.

    newsqa --home H22 eval ../shared/bench/rtqa-2022/questions.jsonl --out eval-out/rtqa-2022
    newsqa --home H23 eval ../shared/bench/rtqa-2023/questions.jsonl --out eval-out/rtqa-2023
    .venv/bin/python training/calibrate_confidence.py \
        --train eval-out/rtqa-2022 eval-out/rtqa-2023 [--write]

Only answerable questions with a short answer enter the fit: x = the reader's belief and
how many days its article is older than the newest retrieved passage (one score, see
`assistant/reader/confidence.py`), y = short-answer exact match. Cross-year check first
(fit on one year, measure on the other), then the fit on all training years, which
`--write` ships. The confidence at which "Answer: X" is stated
(`NEWSQA_ANSWER__CONFIDENT_AT`) is the lowest at which the stated answers of the training
years are right at least `--precision` of the time. The file records each run under its
folder's name: name them after their years. rtqa-2024 is never an input here (refused, by
the folder's name or the questions file of its report.json): report it with `newsqa eval`
once the calibration is shipped. The whole recipe: training/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from paths import OUT, ROOT

from assistant.evaluation.calibration import expected_calibration_error, precision_at_coverage
from assistant.reader.confidence import (
    CALIBRATION_FILE,
    Calibration,
    fit,
    fit_isotonic,
    logistic,
    logit,
)

MIN_COUNT = 25


@dataclass(frozen=True)
class Data:
    """One run's answerable questions, a row each."""

    belief: np.ndarray
    age: np.ndarray  # days the answer's article is older than the newest retrieved passage
    right: np.ndarray  # short-answer exact match
    has: np.ndarray  # whether there is a short answer
    rival: np.ndarray  # `span.newer_rival`, as the reader recorded it (0 in older runs)
    sources: np.ndarray  # independent outlets stating the answer (`sources.agreement`)


def load(run: Path) -> Data:
    """The answerable questions of a run (`Data`). The age is how much older the short
    answer's article is than the newest retrieved passage, as the reader computes it
    (`span.age_days`)."""
    beliefs, ages, right, has, rivals, sources = [], [], [], [], [], []
    for line in (run / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        em = (r.get("scores") or {}).get("short_exact_match")
        if r.get("error") or r.get("answerable") is not True or em is None:
            continue
        sa = r.get("short_answer") or {}
        belief = sa.get("belief")
        dated = {p["article_id"]: date.fromisoformat(p["date"])
                 for p in r.get("retrieved") or [] if p.get("date")}
        own = dated.get(sa.get("article_id", ""))
        newest = max(dated.values(), default=None)
        ages.append(float(max((newest - own).days, 0)) if own and newest else 0.0)
        beliefs.append(float(belief) if belief is not None else 0.0)
        right.append(float(em))
        has.append(belief is not None)
        rivals.append(float(sa.get("newer_rival") or 0.0))
        sources.append(float(sa.get("sources") or 0))
    return Data(np.array(beliefs), np.array(ages), np.array(right), np.array(has),
                np.array(rivals), np.array(sources))


def asked_the_check_year(run: Path) -> bool:
    """Whether an eval run asked rtqa-2024's questions: its folder's name or the questions
    file its report.json names."""
    named = run.name
    report = run / "report.json"
    if report.is_file():
        try:
            config = json.loads(report.read_text(encoding="utf-8")).get("config") or {}
            named += f" {config.get('questions_file')}"
        except (ValueError, AttributeError):
            pass
    return "rtqa-2024" in named


def confidences(cal: Calibration, data: Data) -> np.ndarray:
    return np.where(data.has, [cal.probability(b, a) for b, a in
                               zip(data.belief, data.age, strict=True)], 0.0)


def log_loss(conf: np.ndarray, right: np.ndarray) -> float:
    p = np.clip(conf, 1e-3, 1 - 1e-3)
    return float(-np.mean(right * np.log(p) + (1 - right) * np.log(1 - p)))


def measure(cal: Calibration, data: Data) -> dict[str, Any]:
    conf, right, has = confidences(cal, data), data.right, data.has
    return {"n": len(conf), "answered": int(has.sum()), "em": round(float(right.mean()), 3),
            "ece": round(expected_calibration_error(conf, right) or 0.0, 4),
            "log_loss": round(log_loss(conf, right), 4),
            **{f"precision_at_{int(c * 100)}": round(precision_at_coverage(conf, right, c)
                                                    or 0.0, 3) for c in (0.1, 0.3, 0.5)}}


def threshold(cal: Calibration, data: list[Data], precision: float
              ) -> tuple[float, float, float]:
    """(confidence, precision, coverage): the lowest confidence whose stated answers
    reach `precision` over the training years."""
    conf = np.concatenate([confidences(cal, d) for d in data])
    right = np.concatenate([d.right for d in data])
    for t in sorted(set(np.round(conf[conf > 0], 4))):
        shown = conf >= t
        if shown.any() and right[shown].mean() >= precision:
            return float(t), float(right[shown].mean()), float(shown.mean())
    return 1.0, float("nan"), 0.0


def fitted(data: list[Data], use_age: bool, about: dict[str, Any] | None = None
           ) -> Calibration:
    """`confidence.fit` on the answered questions of the runs."""
    def pooled(field: str) -> np.ndarray:
        return np.concatenate([getattr(d, field)[d.has] for d in data])

    return fit(pooled("belief"), pooled("age"), pooled("right"), min_count=MIN_COUNT,
               use_age=use_age, about=about)


EXTRA = {  # inputs measured beside the belief and the age (not in the shipped map)
    "rival": lambda d: d.rival,
    "sources": lambda d: np.log(np.maximum(d.sources, 1.0)),
}


def compare(data: list[Data], names: list[str]) -> list[dict[str, Any]]:
    """Cross-year figures of candidate inputs, each fitted on the other years by `fit`'s
    recipe (logistic weights as ratios to the belief's, then the isotonic map): the belief
    alone, with the age (the shipped map), and with the age and the newer rival
    (`span.newer_rival`), the count of independent sources stating the answer
    (`sources.agreement`, as log), or both."""
    rows = []
    for label, use_age, extra in (
            ("belief", False, ()), ("belief+age", True, ()),
            ("belief+age+rival", True, ("rival",)), ("belief+age+sources", True, ("sources",)),
            ("belief+age+rival+sources", True, ("rival", "sources"))):
        for i, held in enumerate(data):
            rest = [d for j, d in enumerate(data) if j != i]
            if not rest:
                continue
            conf, weights = _held_out(rest, held, use_age, extra)
            rows.append({"inputs": label, "measured_on": names[i], "weights": weights,
                         "ece": round(expected_calibration_error(conf, held.right) or 0.0, 4),
                         "log_loss": round(log_loss(conf, held.right), 4),
                         **{f"precision_at_{int(c * 100)}": round(
                             precision_at_coverage(conf, held.right, c) or 0.0, 3)
                            for c in (0.1, 0.3, 0.5)}})
    return rows


def _held_out(rest: list[Data], held: Data, use_age: bool, extra: tuple[str, ...]
              ) -> tuple[np.ndarray, list[float]]:
    """Held-out confidences of a map fitted on `rest` whose score adds the `extra` inputs
    (and the age) to logit(belief), and the inputs' weights."""
    def columns(d: Data) -> np.ndarray:
        cols = [np.array([logit(b) for b in d.belief])]
        if use_age:
            cols.append(np.log1p(np.maximum(d.age, 0.0)))
        cols += [EXTRA[name](d) for name in extra]
        return np.column_stack(cols)

    x = np.concatenate([columns(d)[d.has] for d in rest])
    y = np.concatenate([d.right[d.has] for d in rest])
    ratios = np.zeros(x.shape[1] - 1)
    if x.shape[1] > 1:
        coef = logistic(x, y)
        ratios = coef[1:] / coef[0]
    shape = fit_isotonic((x[:, 0] + x[:, 1:] @ ratios).tolist(), y.tolist(),
                         min_count=MIN_COUNT)
    own = columns(held)
    conf = np.where(held.has, np.interp(own[:, 0] + own[:, 1:] @ ratios, shape.xs, shape.ys),
                    0.0)
    return conf, [round(float(r), 3) for r in ratios]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--train", nargs="+", type=Path, required=True,
                        help="eval output folders of the training years (rtqa-2022, -2023)")
    parser.add_argument("--precision", type=float, default=0.70,
                        help="precision the stated answers must reach (default 0.70)")
    parser.add_argument("--note", default="",
                        help="how the runs were made (which span model read each year), "
                        "kept in the file's `about.note`")
    parser.add_argument("--no-age", action="store_true",
                        help="map the belief alone (the map before the age; for comparison)")
    parser.add_argument("--write", action="store_true",
                        help=f"write assistant/reader/{CALIBRATION_FILE}")
    args = parser.parse_args()
    if any(asked_the_check_year(run) for run in args.train):
        sys.exit("rtqa-2024 is the check year: never fit on it (measure the shipped "
                 "calibration there with newsqa eval)")
    data = [load(run) for run in args.train]
    names = [run.name for run in args.train]
    use_age = not args.no_age
    out: dict[str, Any] = {"compare": compare(data, names), "cross_year": []}
    for i, held in enumerate(data):  # fit on the other years, measure on this one
        rest = [d for j, d in enumerate(data) if j != i]
        if not rest:
            continue
        cal = fitted(rest, use_age)
        out["cross_year"].append({"measured_on": names[i], "age_weight": round(cal.age_weight, 3),
                                  **measure(cal, held)})
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    about = {"script": "training/calibrate_confidence.py", "fitted": date.today().isoformat(),
             "commit": commit, "min_count": MIN_COUNT,
             "data": {n: {"answerable": len(d.belief), "with_short_answer": int(d.has.sum())}
                      for n, d in zip(names, data, strict=True)},
             "x": "logit(reader belief) + age_weight * log1p(days the answer's article is "
                  "older than the newest retrieved passage)" if use_age else
                  "logit(reader belief)",
             "y": "short-answer exact match (SQuAD-normalised)",
             **({"note": args.note} if args.note else {})}
    cal = fitted(data, use_age, about)
    out["fit"] = cal.to_json()
    out["in_sample"] = [{"measured_on": n, **measure(cal, d)}
                        for n, d in zip(names, data, strict=True)]
    t, prec, cov = threshold(cal, data, args.precision)
    out["confident_at"] = {"confidence": round(t, 4), "precision": round(prec, 3),
                           "coverage": round(cov, 3)}
    print(json.dumps({k: v for k, v in out.items() if k != "compare"}, indent=2))
    print("cross-year, each input set fitted on the other years:")
    for row in out["compare"]:
        print(f"  {row['inputs']:<26} on {row['measured_on']:<16} ece {row['ece']:.4f}  "
              f"log loss {row['log_loss']:.4f}  precision at 10/30/50% "
              f"{row['precision_at_10']:.3f} / {row['precision_at_30']:.3f} / "
              f"{row['precision_at_50']:.3f}  weights {row['weights']}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "calibration.json").write_text(json.dumps(out, indent=2))
    if args.write:
        path = ROOT / "assistant" / "reader" / CALIBRATION_FILE
        path.write_text(json.dumps(cal.to_json(), indent=1) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
