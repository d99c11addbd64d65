"""Metric functions: pure, no I/O, no assistant. Every string comparison goes through
`normalize`, so the quiz's curly quotes and dashes match the articles' straight ones.

Conventions: a metric that does not apply to a question (no gold answers, no gold article
ids) returns None, and `mean` leaves None out, so a question counts only where it can.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

from assistant.sentence import normalize

# `normalize` lives with the other text helpers; metrics are defined on its output.

_MARKER = re.compile(r"\s*\[\d+\]")


def tokens(text: str) -> list[str]:
    """Words of the normalised text."""
    return normalize(text).split()


def strip_markers(text: str) -> str:
    """Answer text without its citation markers ("... Syria. [1]" -> "... Syria.")."""
    return _MARKER.sub("", text).strip()


def _golds(golds: Iterable[str]) -> list[str]:
    """Normalised gold strings, dropping those that normalise to nothing."""
    return [g for g in (normalize(x) for x in golds) if g]


def exact_match(prediction: str, golds: Sequence[str]) -> float | None:
    """1.0 when the normalised prediction equals some normalised gold answer, else 0.0;
    None when there is no gold answer."""
    norm = _golds(golds)
    if not norm:
        return None
    return 1.0 if normalize(prediction) in norm else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float | None:
    """SQuAD token F1: harmonic mean of token precision and recall (multiset overlap of
    normalised words), best over the gold answers; None when there is no gold answer."""
    norm = _golds(golds)
    return _best_f1(normalize(prediction).split(), norm) if norm else None


def _best_f1(pred: list[str], golds: list[str]) -> float:
    """Best token F1 of the predicted words against each (normalised) gold string."""
    best = 0.0
    for gold in golds:
        g = gold.split()
        common = sum((Counter(pred) & Counter(g)).values())
        if common:
            precision, recall = common / len(pred), common / len(g)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


_ASCII_PUNCT = frozenset(string.punctuation)
_SQUAD_ARTICLES = re.compile(r"\b(a|an|the)\b")


def squad_normalize(text: str) -> str:
    """SQuAD's answer normalisation, plus unicode punctuation removed: lower case, every
    punctuation character deleted (ASCII punctuation and Unicode categories P*, so curly
    quotes and dashes too), the words a / an / the dropped, whitespace collapsed. The
    published free-text baselines were scored this way, so short answers are too."""
    text = text.lower()
    text = "".join(ch for ch in text
                   if ch not in _ASCII_PUNCT and not unicodedata.category(ch).startswith("P"))
    return " ".join(_SQUAD_ARTICLES.sub(" ", text).split())


def short_exact_match(prediction: str | None, golds: Sequence[str]) -> float | None:
    """Exact match of a short answer under `squad_normalize` (None prediction = "")."""
    norm = [g for g in (squad_normalize(x) for x in golds) if g]
    if not norm:
        return None
    return 1.0 if squad_normalize(prediction or "") in norm else 0.0


def short_f1(prediction: str | None, golds: Sequence[str]) -> float | None:
    """SQuAD token F1 of a short answer under `squad_normalize`, best over the golds."""
    norm = [g for g in (squad_normalize(x) for x in golds) if g]
    return _best_f1(squad_normalize(prediction or "").split(), norm) if norm else None


def contains(text: str, golds: Sequence[str]) -> float | None:
    """1.0 when some normalised gold answer occurs in the normalised text as whole words
    ("europe" is in "in europe today", not in "european"); None without gold answers."""
    norm = _golds(golds)
    if not norm:
        return None
    hay = f" {normalize(text)} "
    return 1.0 if any(f" {g} " in hay for g in norm) else 0.0


def contains_any(texts: Iterable[str], golds: Sequence[str]) -> float | None:
    """`contains` over several texts (e.g. the cited quotes): 1.0 if any holds a gold
    answer; 0.0 for no texts; None without gold answers."""
    if not _golds(golds):
        return None
    return 1.0 if any(contains(t, golds) for t in texts) else 0.0


def unique_in_order(ids: Iterable[str]) -> list[str]:
    """First occurrence of each id, rank order kept (chunk ranks -> article ranks)."""
    return list(dict.fromkeys(ids))


def first_hit_rank(ranked_ids: Sequence[str], gold_ids: Iterable[str]) -> int | None:
    """1-based article rank of the first gold id among the de-duplicated `ranked_ids`, or
    None when none was retrieved."""
    gold = set(gold_ids)
    for rank, aid in enumerate(unique_in_order(ranked_ids), start=1):
        if aid in gold:
            return rank
    return None


def hit_at_k(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int) -> float | None:
    """1.0 when a gold article is among the first `k` distinct retrieved articles, else
    0.0; None when `gold_ids` is empty (the question does not count)."""
    if not gold_ids:
        return None
    rank = first_hit_rank(ranked_ids, gold_ids)
    return 1.0 if rank is not None and rank <= k else 0.0


def mrr_at_k(ranked_ids: Sequence[str], gold_ids: Sequence[str], k: int = 10) -> float | None:
    """Reciprocal rank of the first gold article among the first `k` distinct retrieved
    articles (0.0 if it is not there); None when `gold_ids` is empty."""
    if not gold_ids:
        return None
    rank = first_hit_rank(ranked_ids, gold_ids)
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def support_at_k(chunk_texts: Sequence[str], golds: Sequence[str], k: int) -> float | None:
    """1.0 when some gold answer string occurs (whole words, normalised) in one of the
    first `k` retrieved chunks; None without gold answers."""
    return contains_any(chunk_texts[:k], golds)


def mean(values: Iterable[float | None]) -> float | None:
    """Average of the values that are not None; None when there are none."""
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def count(values: Iterable[object | None]) -> int:
    """How many values are not None (the n behind a `mean`)."""
    return sum(v is not None for v in values)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation between closest ranks (numpy's
    default); None for no values."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not within 0..100")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
