"""Does the short answer's confidence mean what it says? Over the answerable questions
asked plainly: precision at coverage (the share right among the most confident answers),
expected calibration error (10 equal-width bins), how often the answer is stated as a
fact ("Answer: X") and how often that is right, and two plots (reliability,
precision-coverage).

A question without a short answer has confidence 0 and counts as wrong: coverage is a
share of all answerable questions, so a system cannot look precise by answering less
without that showing as lower coverage.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.evaluation.figure import new_figure

BINS = 10
COVERAGES = (0.1, 0.3, 0.5)


def outcomes(rows: Sequence[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(confidence, right 0/1, stated as a fact 0/1) per answerable question with gold
    answers and a plain short-answer score; confidence 0 where there is none."""
    conf, right, stated = [], [], []
    for r in rows:
        if r.get("error") or r.get("answerable") is not True or not r.get("answers"):
            continue
        em = (r.get("scores") or {}).get("short_exact_match")
        if em is None:
            continue
        sa = r.get("short_answer") or {}
        c = sa.get("confidence")
        conf.append(float(c) if c is not None else 0.0)
        right.append(float(em))
        stated.append(float(bool(r.get("confident"))))
    return np.array(conf), np.array(right), np.array(stated)


def precision_at_coverage(conf: np.ndarray, right: np.ndarray, coverage: float) -> float | None:
    """Share right among the `coverage` most confident answers (ties kept in order)."""
    n = int(round(coverage * len(conf)))
    if n == 0:
        return None
    top = np.argsort(-conf, kind="stable")[:n]
    return float(right[top].mean())


def reliability_bins(conf: np.ndarray, right: np.ndarray, bins: int = BINS
                     ) -> list[tuple[float, float, int]]:
    """(mean confidence, share right, answers) of each non-empty equal-width bin."""
    which = np.minimum((conf * bins).astype(int), bins - 1)
    return [(float(conf[inside].mean()), float(right[inside].mean()), int(inside.sum()))
            for b in range(bins) if (inside := which == b).any()]


def expected_calibration_error(conf: np.ndarray, right: np.ndarray, bins: int = BINS
                               ) -> float | None:
    """Sum over equal-width confidence bins of (share of answers) x |mean confidence -
    share right|."""
    if len(conf) == 0:
        return None
    return sum(n / len(conf) * abs(c - r) for c, r, n in reliability_bins(conf, right, bins))


def metrics(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The calibration metrics of an eval run (keys of `report.json`'s metrics)."""
    conf, right, stated = outcomes(rows)
    out: dict[str, Any] = {"confidence_n": len(conf),
                           "confidence_ece": expected_calibration_error(conf, right)}
    for c in COVERAGES:
        out[f"precision_at_{int(c * 100)}"] = precision_at_coverage(conf, right, c)
    out["stated_coverage"] = float(stated.mean()) if len(stated) else None
    out["stated_precision"] = float(right[stated > 0].mean()) if stated.any() else None
    return out


def plot_reliability(rows: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Share right against mean confidence per bin (the diagonal is perfect)."""
    conf, right, _ = outcomes(rows)
    if not len(conf):
        return None
    xs, ys, ns = zip(*reliability_bins(conf, right), strict=True)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfectly calibrated")
    ax.plot(xs, ys, marker="o", label="this run")
    for x, y, n in zip(xs, ys, ns, strict=True):
        ax.annotate(str(n), (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("confidence (bin mean)")
    ax.set_ylabel("share right (short-answer exact match)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    ece = expected_calibration_error(conf, right)
    ax.set_title(f"Reliability (ECE {ece:.3f}, n={len(conf)}; numbers: answers per bin)")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_precision_coverage(rows: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Precision of the most confident answers against the share of questions covered."""
    conf, right, _ = outcomes(rows)
    if not len(conf):
        return None
    order = np.argsort(-conf, kind="stable")
    hits = np.cumsum(right[order])
    n = np.arange(1, len(conf) + 1)
    fig = new_figure()
    ax = fig.add_subplot()
    ax.plot(n / len(conf), hits / n)
    ax.axhline(right.mean(), color="grey", linestyle="--", label="all answers")
    ax.set_xlabel("coverage (share of answerable questions, most confident first)")
    ax.set_ylabel("precision (short-answer exact match)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper right")
    ax.set_title("Precision at coverage")
    fig.tight_layout()
    fig.savefig(path)
    return path
