"""Hybrid retrieval: dense (embeddings, via llama-index) and BM25 (keywords) rankings
fused by weighted reciprocal rank, with an optional recency prior for "as of" questions.

Why not llama-index's QueryFusionRetriever: its reciprocal-rank mode has no per-retriever
weights and no place for a date prior, both of which the news benchmarks reward; the
fusion itself is a few lines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from index.keyword import KeywordIndex
from index.retrieve import DenseRetriever, Passage, passage_from_row
from index.settings import RetrievalSettings
from index.store import Store, date_key


@dataclass(frozen=True)
class _Candidate:
    chunk_id: str
    fused: float
    date_key: int


def weighted_rrf(
    rankings: list[tuple[list[str], float]], k: int
) -> dict[str, float]:
    """Sum over rankings of weight / (k + rank), rank starting at 1."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        if weight <= 0:
            continue
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


def recency_boost(key: int, as_of: date, weight: float, days: float) -> float:
    """1 + weight * exp(-age / days) for an article dated `key` (0 = undated: no boost)."""
    if key == 0 or weight <= 0:
        return 1.0
    published = date(key // 10000, key // 100 % 100, key % 100)
    age = max((as_of - published).days, 0)
    return 1.0 + weight * math.exp(-age / days)


class HybridRetriever:
    """Dense + BM25 with weighted RRF. Passage scores are cosine similarities to the query
    (also for keyword-only hits), so the answerer sees one scale whatever found them."""

    def __init__(
        self, dense: DenseRetriever, keyword: KeywordIndex, store: Store,
        settings: RetrievalSettings,
    ) -> None:
        self.dense = dense
        self.keyword = keyword
        self.store = store
        self.settings = settings

    def retrieve(self, query: str, top_k: int, as_of: date | None = None) -> list[Passage]:
        s = self.settings
        dense_w = 0.0 if s.mode == "bm25" else s.dense_weight
        bm25_w = 0.0 if s.mode == "dense" else s.bm25_weight
        n = max(s.candidates, top_k)
        vector = self.dense.embedder.embed_query(query)
        dense = self.dense.search(query, vector, n, as_of) if dense_w > 0 else []
        keyword = (self.keyword.search(query, n, date_key(as_of) if as_of else None)
                   if bm25_w > 0 else [])
        fused = weighted_rrf(
            [([p.chunk_id for p in dense], dense_w), ([cid for cid, _ in keyword], bm25_w)],
            s.rrf_k,
        )
        if as_of is not None and s.recency_weight > 0:
            dates = {p.chunk_id: date_key(p.date) for p in dense}
            dates.update(self.keyword.date_keys_of([cid for cid, _ in keyword]))
            for cid in fused:
                fused[cid] *= recency_boost(dates.get(cid, 0), as_of, s.recency_weight,
                                            s.recency_days)
        top = sorted(fused, key=lambda c: -fused[c])[:top_k]
        known = {p.chunk_id: p for p in dense}
        missing = [cid for cid in top if cid not in known]
        for chunk, meta, vec in self.store.rows(missing):
            known[chunk.id] = passage_from_row(chunk, meta, float(np.dot(vec, vector)))
        return [known[cid] for cid in top if cid in known]
