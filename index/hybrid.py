"""Hybrid retrieval: dense (embeddings, via llama-index) and BM25 (keywords) rankings
fused by weighted reciprocal rank, with an optional recency prior for "as of" questions.

Why not llama-index's QueryFusionRetriever: its reciprocal-rank mode has no per-retriever
weights and no place for a date prior, both of which the news benchmarks reward; the
fusion itself is a few lines.

Why the dense side asks the store for ids and distances only, instead of going through
llama-index's VectorIndexRetriever (still used by `DenseRetriever` for mode="dense"):
measured on the 51k-chunk rtqa-2022 index, turning 100 hits into llama-index nodes costs
~26 ms against ~4 ms for the raw query, Chroma's metadata-filtered search (the "as of"
window) takes 230-430 ms, and llama-index's imports add ~0.8 s to a cold `newsqa ask`.
So the dense ranking over-fetches unfiltered neighbours and drops those published after
"as of" using the chunk dates the keyword index mirrors, and those outside a date or
source scope by their article; only when too few survive does it fall back to the
filtered query (a source filter through Chroma took 660 ms at 300k chunks,
bench/scale.py). Text and vectors are then fetched for the final top-k.
"""

from __future__ import annotations

import math
import threading
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from index.keyword import KeywordIndex
from index.record import date_key
from index.retrieve import Passage, passage_from_row
from index.scope import Scope
from index.settings import RetrievalSettings
from index.store import Store

if TYPE_CHECKING:
    from index.embed import Embedder

# Unfiltered neighbours fetched per wanted dense candidate when a date window applies.
_OVERFETCH = 5
_MAX_FETCH = 8000  # unfiltered neighbours fetched at most before the exact filter
_SCOPES = 8  # scopes whose articles are remembered


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
        self, embedder: Embedder, keyword: KeywordIndex, store: Store,
        settings: RetrievalSettings,
    ) -> None:
        self.embedder = embedder
        self.keyword = keyword
        self.store = store
        self.settings = settings
        # The articles inside a scope, per store generation: a chat user keeps a filter
        # over several questions, and Chroma's metadata filter over the article records
        # took 0.74 s at 96k articles (bench/scale.py).
        self._scoped: dict[tuple[Scope, str], set[str]] = {}
        self._scoped_lock = threading.Lock()

    def articles_in(self, scope: Scope) -> set[str]:
        """Ids of the articles inside `scope` (the last few scopes remembered until the
        store changes)."""
        key = (scope, self.store.generation())
        with self._scoped_lock:
            found = self._scoped.get(key)
        if found is None:
            found = self.store.article_ids(scope)
            with self._scoped_lock:
                if len(self._scoped) >= _SCOPES:
                    self._scoped.pop(next(iter(self._scoped)))
                self._scoped[key] = found
        return found

    def retrieve(self, query: str, top_k: int, as_of: date | None = None,
                 scope: Scope | None = None, recent: date | None = None) -> list[Passage]:
        s = self.settings
        dense_w = 0.0 if s.mode == "bm25" else s.dense_weight
        bm25_w = 0.0 if s.mode == "dense" else s.bm25_weight
        n = max(s.candidates, top_k)
        max_key = date_key(as_of) if as_of else None
        vector = self.embedder.embed_query(query)
        articles = self.articles_in(scope) if scope else None
        if articles is not None and not articles:
            return []  # nothing inside the filter
        dense = self.dense_ids(vector, n, max_key, articles, scope) if dense_w > 0 else []
        keyword = [cid for cid, _ in self.keyword.search(query, n, max_key, articles)] \
            if bm25_w else []
        fused = weighted_rrf([(dense, dense_w), (keyword, bm25_w)], s.rrf_k)
        prior = as_of or recent  # `recent`: the prior's date only, never a filter
        if prior is not None and s.recency_weight > 0:
            dates = self.keyword.date_keys_of(list(fused))
            for cid in fused:
                fused[cid] *= recency_boost(dates.get(cid, 0), prior, s.recency_weight,
                                            s.recency_days)
        top = sorted(fused, key=lambda c: -fused[c])[:top_k]
        return [passage_from_row(chunk, meta,
                                 float(np.dot(vec, vector)) if vec.shape == vector.shape else 0.0)
                for chunk, meta, vec in self.store.rows(top)]

    def dense_ids(self, vector: np.ndarray, n: int, max_date_key: int | None,
                  articles: set[str] | None = None, scope: Scope | None = None) -> list[str]:
        """Chunk ids by embedding similarity, within the date window and among `articles`
        (those inside `scope`), if given (see module doc)."""
        if max_date_key is None and articles is None:
            return [cid for cid, _ in self.store.nearest(vector, n)]
        fetch = _OVERFETCH * n
        while True:
            hits = [cid for cid, _ in self.store.nearest(vector, fetch)]
            kept = hits
            if max_date_key is not None:
                dates = self.keyword.date_keys_of(hits)
                kept = [c for c in kept if c in dates and dates[c] <= max_date_key]  # 0: undated
            if articles is not None:
                kept = [c for c in kept if c.rsplit(":", 1)[0] in articles]
            if len(kept) >= n or len(hits) < fetch:
                return kept[:n]
            if fetch >= _MAX_FETCH or not kept:
                break
            # Fetch as many as the share kept so far says are needed, with a margin
            # (unfiltered neighbours: 38 ms for 8,000 at 1M chunks, bench/scale.py).
            fetch = min(_MAX_FETCH, max(2 * fetch, int(1.5 * n * len(hits) / len(kept))))
        # Too few survive (a narrow scope): the store's exact filter.
        return [cid for cid, _ in self.store.nearest(vector, n, max_date_key, scope)]
