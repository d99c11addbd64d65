"""The reader's belief in its short answer, calibrated into the probability that the answer
is right.

The belief (`Span.belief`: the conditional logit's probability of the answer's text, summed
over its mentions) ranks answers, but it is not a probability of being right: the reader
spreads it over the candidates it sees, not over the truth. An isotonic map (pool adjacent
violators, monotone, no shape assumed) from belief to the share of answers that were right
is fitted on the training years by `bench/calibrate_confidence.py` and shipped as
`calibration.json` with the counts and commit that made it; the check year is only
reported. Below the map's first point the first rate holds, above its last the last.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

CALIBRATION_FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    """A monotone step map: beliefs `xs` (ascending) to probabilities `ys`, linearly
    interpolated between the steps' centres."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    about: dict[str, Any]

    def probability(self, belief: float) -> float:
        """P(the answer is right | the reader's belief)."""
        return float(np.interp(belief, self.xs, self.ys))

    def to_json(self) -> dict[str, Any]:
        return {"xs": [round(x, 6) for x in self.xs], "ys": [round(y, 6) for y in self.ys],
                "about": self.about}

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
        return cls(xs, ys, dict(data.get("about", {})))


def fit_isotonic(beliefs: Sequence[float], right: Sequence[float], *, min_count: int = 20,
                 about: dict[str, Any] | None = None) -> Calibration:
    """Pool adjacent violators over answers sorted by belief: the non-decreasing step
    function closest (least squares) to the 0/1 outcomes; blocks are then merged until
    each holds at least `min_count` answers, so no step rests on a handful."""
    order = np.argsort(np.asarray(beliefs, dtype=float), kind="stable")
    x = np.asarray(beliefs, dtype=float)[order]
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
