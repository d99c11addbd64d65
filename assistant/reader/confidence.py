"""The reader's belief in its short answer, calibrated into the probability that the answer
is right.

The belief (`Span.belief`: the conditional logit's probability of the answer's text, summed
over its mentions) ranks answers, but it is not a probability of being right: the reader
spreads it over the candidates it sees, not over the truth. Nor does it know how old its
source is: news answers stand in the week's articles, and an answer read in an article
written long before the newest one retrieved on the question is more often stale or beside
the point. So the map's input is one score,

    score = logit(belief) + age_weight * log1p(age in days)

where the age is how much older the answer's article is than the newest retrieved passage
(0 when either date is unknown), and `age_weight` (negative) is the ratio of the two
coefficients of a logistic fit on the training years. An isotonic map (pool adjacent
violators, monotone, no shape assumed) from the score to the share of answers that were
right is then fitted on the same answers by `training/calibrate_confidence.py` and shipped as
`calibration.json` with the counts and commit that made it; the check year is only
reported. Below the map's first point the first rate holds, above its last the last.

Why the age: fitted on one training year and measured on the other (rtqa-2022 / rtqa-2023,
`training/calibrate_confidence.py`), it lowered the calibration error from 0.093 / 0.109
(belief alone) to 0.067 / 0.068 and raised precision among the 30% most confident answers
from 0.832 / 0.654 to 0.858 / 0.680; the weight came out alike from either year (-0.295,
-0.269). The age is measured from the newest retrieved passage, not from the question's
date, because a user who asks without an as-of date has no such date, and the same score
must mean the same everywhere. (The logistic fit is two features and an intercept:
Newton's method in numpy, no extra dependency.)

Why nothing else: two more inputs were measured the same way (fitted on one training year,
measured on the other; `training/calibrate_confidence.py` prints the comparison) and left
out. Whether a different answer was read in a newer article (`Span.newer_rival`: such
answers are right 0.26 / 0.18 of the time against 0.57 / 0.48) adds nothing the belief
does not already say: the belief+age map gives them a mean confidence of 0.26 / 0.19, and
the rival's fitted weight changes sign between the years (log loss 0.5318 / 0.5610 against
0.5297 / 0.5606). The count of independent outlets stating the answer
(`sources.agreement`) likewise (0.5335 / 0.5611; its weight -0.23 / +0.06).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

CALIBRATION_FILE = "calibration.json"


_EDGE = 1e-6  # beliefs are clipped into (0, 1) before the logit


def logit(belief: float) -> float:
    """log(b / (1 - b)), with b clipped into (0, 1)."""
    b = min(max(belief, _EDGE), 1.0 - _EDGE)
    return math.log(b / (1.0 - b))


@dataclass(frozen=True)
class Calibration:
    """A monotone step map: scores `xs` (ascending; see `score`) to probabilities `ys`,
    linearly interpolated between the steps' centres."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    about: dict[str, Any]
    age_weight: float = 0.0

    def score(self, belief: float, age_days: float = 0.0) -> float:
        """The map's input: logit(belief) + age_weight * log1p(age_days)."""
        return logit(belief) + self.age_weight * math.log1p(max(age_days, 0.0))

    def probability(self, belief: float, age_days: float = 0.0) -> float:
        """P(the answer is right | the reader's belief, its article's age in days behind
        the newest retrieved passage)."""
        return float(np.interp(self.score(belief, age_days), self.xs, self.ys))

    def to_json(self) -> dict[str, Any]:
        return {"xs": [round(x, 6) for x in self.xs], "ys": [round(y, 6) for y in self.ys],
                "age_weight": round(self.age_weight, 6), "about": self.about}

    @classmethod
    def load(cls, text: str | None = None) -> Calibration:
        """The shipped calibration (or the one in the JSON `text`)."""
        if text is None:
            text = resources.files("assistant.reader").joinpath(CALIBRATION_FILE).read_text()
        data = json.loads(text)
        xs, ys = tuple(map(float, data["xs"])), tuple(map(float, data["ys"]))
        if len(xs) != len(ys) or not xs or list(xs) != sorted(xs):
            raise ValueError(f"{CALIBRATION_FILE}: xs and ys must be equal-length and xs "
                             "ascending")
        if "age_weight" not in data:
            # The map before the age read xs as beliefs, not logit scores: read that way
            # it would give wrong confidences without a word.
            raise ValueError(f"{CALIBRATION_FILE} has no age_weight: it is the older map "
                             "over beliefs; refit it with training/calibrate_confidence.py")
        return cls(xs, ys, dict(data.get("about", {})), float(data["age_weight"]))


def fit(beliefs: Sequence[float], ages: Sequence[float], right: Sequence[float], *,
        min_count: int = 20, use_age: bool = True, about: dict[str, Any] | None = None
        ) -> Calibration:
    """The calibration of the module docstring: `age_weight` from a logistic fit of the
    answers' rightness on logit(belief) and log1p(age) (0 with `use_age` off), then the
    isotonic map over the scores."""
    logits = np.array([logit(b) for b in beliefs])
    log_ages = np.log1p(np.maximum(np.asarray(ages, dtype=float), 0.0))
    y = np.asarray(right, dtype=float)
    weight = 0.0
    if use_age:
        coef = logistic(np.column_stack([logits, log_ages]), y)
        weight = float(coef[1] / coef[0]) if coef[0] > 0 else 0.0
    shape = fit_isotonic((logits + weight * log_ages).tolist(), y.tolist(),
                         min_count=min_count, about=about)
    return Calibration(shape.xs, shape.ys, shape.about, weight)


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 50) -> np.ndarray:
    """Coefficients (intercept dropped) of an L2-regularised logistic regression, by
    Newton's method."""
    X = np.column_stack([np.ones(len(x)), x])
    w = np.zeros(X.shape[1])
    penalty = l2 * np.eye(X.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(X @ w)))
        grad = X.T @ (y - p) - penalty @ w
        hess = (X * (p * (1 - p))[:, None]).T @ X + penalty
        step = np.linalg.solve(hess, grad)
        w += step
        if np.abs(step).max() < 1e-9:
            break
    return w[1:]


def fit_isotonic(scores: Sequence[float], right: Sequence[float], *, min_count: int = 20,
                 about: dict[str, Any] | None = None) -> Calibration:
    """Pool adjacent violators over answers sorted by score (`Calibration.score`): the
    non-decreasing step function closest (least squares) to the 0/1 outcomes; blocks are
    then merged until each holds at least `min_count` answers, so no step rests on a
    handful."""
    order = np.argsort(np.asarray(scores, dtype=float), kind="stable")
    x = np.asarray(scores, dtype=float)[order]
    y = np.asarray(right, dtype=float)[order]
    blocks: list[list[float]] = []  # [sum y, count, sum x]
    for xi, yi in zip(x, y, strict=True):
        blocks.append([yi, 1.0, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] >= blocks[-1][0] / blocks[-1][1]:
            s, c, sx = blocks.pop()
            blocks[-1][0] += s
            blocks[-1][1] += c
            blocks[-1][2] += sx
    merged: list[list[float]] = []
    for b in blocks:  # small blocks join the next one up (still monotone: means pool)
        if merged and merged[-1][1] < min_count:
            for k in range(3):
                merged[-1][k] += b[k]
        else:
            merged.append(list(b))
    if len(merged) > 1 and merged[-1][1] < min_count:
        last = merged.pop()
        for k in range(3):
            merged[-1][k] += last[k]
    xs = tuple(b[2] / b[1] for b in merged)
    ys = tuple(b[0] / b[1] for b in merged)
    return Calibration(xs, ys, dict(about or {}))
