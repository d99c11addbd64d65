"""One immutable segment of the keyword index: the postings of a batch of chunks, on disk
as plain `.npy` arrays read through memory maps.

A write adds a segment for what it added and marks removed chunks deleted in the
segments holding them (a small file per touched segment), so its cost follows the
change, not the index; small segments are merged by size tier (`merge_plan`), as
Lucene's segments are. Scores are BM25 with the Lucene idf, computed at query time from
the index-wide document frequencies, so a segmented index ranks exactly as one built
over everything at once (bm25s's `lucene` method, the engine this replaced).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

K1 = 1.5  # bm25s's defaults, which the retrieval weights were tuned with
B = 0.75
FACTOR = 8  # segments merged at once, and the size ratio between tiers
LARGE = 100_000  # chunks per segment a rebuild writes, and the most a merge makes
_ARRAYS = ("chunk_ids", "article_ids", "date_keys", "lengths", "offsets", "terms",
           "post_terms", "post_starts", "post_docs", "post_tf")


def ragged(offsets: np.ndarray, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions in the flat forward index of the terms of `docs`, and for each position
    its doc's index in `docs`."""
    starts = offsets[docs]
    lengths = (offsets[docs + 1] - starts).astype(np.int64)
    total = int(lengths.sum())
    owner = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
    first = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.repeat(starts, lengths) + (np.arange(total, dtype=np.int64) - first), owner


@dataclass(frozen=True)
class Segment:
    """Chunks in article order (an article's chunks are consecutive), their forward index
    (`terms[offsets[i]:offsets[i + 1]]`: chunk i's term ids, in order) and postings by
    term (`post_terms` sorted; term `post_terms[j]` is in chunks
    `post_docs[post_starts[j]:post_starts[j + 1]]`, `post_tf` times each)."""

    name: str
    chunk_ids: np.ndarray
    article_ids: np.ndarray
    date_keys: np.ndarray
    lengths: np.ndarray  # terms per chunk, at least 1 (bm25s's document length)
    offsets: np.ndarray
    terms: np.ndarray
    post_terms: np.ndarray
    post_starts: np.ndarray
    post_docs: np.ndarray
    post_tf: np.ndarray
    hashes: dict[str, str]  # content hash of each article it was written with ("": unsaid)

    def __len__(self) -> int:
        return len(self.chunk_ids)

    @classmethod
    def build(cls, *, chunk_ids: Sequence[str], article_ids: Sequence[str],
              date_keys: np.ndarray, offsets: np.ndarray, terms: np.ndarray,
              hashes: dict[str, str]) -> Segment:
        n = len(chunk_ids)
        counts = np.diff(offsets)
        doc = np.repeat(np.arange(n, dtype=np.int64), counts)
        keys, tf = np.unique(terms.astype(np.int64) * max(n, 1) + doc, return_counts=True)
        post_terms, first = np.unique(keys // max(n, 1), return_index=True)
        return cls(
            name=f"seg-{uuid.uuid4().hex[:12]}",
            chunk_ids=np.array(chunk_ids, dtype=str),
            article_ids=np.array(article_ids, dtype=str),
            date_keys=np.asarray(date_keys, dtype=np.int32),
            lengths=np.maximum(counts, 1).astype(np.int32),
            offsets=np.asarray(offsets, dtype=np.int64),
            terms=np.asarray(terms, dtype=np.int32),
            post_terms=post_terms.astype(np.int32),
            post_starts=np.append(first, len(keys)).astype(np.int64),
            post_docs=(keys % max(n, 1)).astype(np.int32),
            post_tf=tf.astype(np.float32),
            hashes=hashes,
        )

    def save(self, folder: Path) -> None:
        path = folder / self.name
        path.mkdir(parents=True)
        for key in _ARRAYS:
            np.save(path / f"{key}.npy", getattr(self, key), allow_pickle=False)
        (path / "hashes.json").write_text(json.dumps(self.hashes))

    @classmethod
    def load(cls, folder: Path, name: str) -> Segment:
        path = folder / name
        arrays = {key: np.load(path / f"{key}.npy", mmap_mode="r", allow_pickle=False)
                  for key in _ARRAYS}
        return cls(name=name, hashes=json.loads((path / "hashes.json").read_text()),
                   **arrays)

    def doc_terms(self, docs: np.ndarray) -> np.ndarray:
        """The distinct term ids of each of `docs`, concatenated (what a chunk adds to the
        document frequencies)."""
        where, owner = ragged(self.offsets, docs)
        keys = owner * (1 << 32) + self.terms[where].astype(np.int64)
        return (np.unique(keys) & 0xFFFFFFFF).astype(np.int64)

    def doc_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(term ids, in how many chunks each occurs)."""
        return self.post_terms, np.diff(self.post_starts)

    def scores(self, query: np.ndarray, idf: np.ndarray, avg_length: float) -> np.ndarray:
        """BM25 of every chunk for the query's term ids (repeats count again, as in bm25s),
        `idf` giving each query term's weight."""
        found = np.searchsorted(self.post_terms, query)
        docs: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for term, j, weight in zip(query, found, idf, strict=True):
            if j >= len(self.post_terms) or self.post_terms[j] != term or weight <= 0:
                continue
            a, e = self.post_starts[j], self.post_starts[j + 1]
            d = self.post_docs[a:e]
            tf = self.post_tf[a:e]
            norm = K1 * ((1 - B) + B * self.lengths[d] / avg_length)
            docs.append(d)
            values.append(weight * tf / (norm + tf))
        if not docs:
            return np.zeros(len(self), dtype=np.float64)
        return np.bincount(np.concatenate(docs), weights=np.concatenate(values),
                           minlength=len(self))

    def spans(self) -> dict[str, tuple[int, int]]:
        """{article id: (first chunk, chunk count)} over all its chunks."""
        ids = self.article_ids
        if len(ids) == 0:
            return {}
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        ends = np.r_[starts[1:], len(ids)]
        return {str(ids[s]): (int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)}


def merged(parts: Sequence[tuple[Segment, np.ndarray, set[str]]]) -> Segment:
    """One segment of the live chunks of `parts` ((segment, deleted mask, articles gone))."""
    ids: list[np.ndarray] = []
    arts: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    terms: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    hashes: dict[str, str] = {}
    for seg, deleted, gone in parts:
        live = np.flatnonzero(~deleted)
        where, _ = ragged(seg.offsets, live)
        ids.append(seg.chunk_ids[live])
        arts.append(seg.article_ids[live])
        keys.append(seg.date_keys[live])
        terms.append(seg.terms[where])
        counts.append(seg.offsets[live + 1] - seg.offsets[live])
        hashes.update({a: h for a, h in seg.hashes.items() if a not in gone})
    lengths = np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)
    return Segment.build(
        chunk_ids=[str(x) for x in np.concatenate(ids)] if ids else [],
        article_ids=[str(x) for x in np.concatenate(arts)] if arts else [],
        date_keys=np.concatenate(keys) if keys else np.zeros(0, dtype=np.int32),
        offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        terms=np.concatenate(terms) if terms else np.zeros(0, dtype=np.int32),
        hashes=hashes)


def merge_plan(live: Sequence[int], size: Sequence[int]) -> list[int] | None:
    """Which segments (positions) to merge next, given each one's live and total chunks:
    once FACTOR segments under LARGE / 2 share a size tier, as many of them as make at
    most LARGE chunks together (at least two); else one that is more than a third
    deleted; None if none. Each chunk is so rewritten about log_FACTOR(LARGE / write)
    times, and a 1M-chunk index keeps about a dozen segments."""
    tiers: dict[int, list[int]] = {}
    for i, n in enumerate(live):
        if n < LARGE // 2:
            tiers.setdefault(int(math.log(max(n, 1), FACTOR)), []).append(i)
    for tier in sorted(tiers):
        if len(tiers[tier]) >= FACTOR:
            chosen: list[int] = []
            for i in tiers[tier]:
                if len(chosen) >= 2 and sum(live[j] for j in chosen) + live[i] > LARGE:
                    break
                chosen.append(i)
            return chosen
    for i, (n, total) in enumerate(zip(live, size, strict=True)):
        if total and n < total * 2 // 3:
            return [i]
    return None
