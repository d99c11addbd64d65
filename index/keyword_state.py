"""One version of the keyword index in memory (`index/keyword.py`): its segments with
their deletions, the shared vocabulary, index-wide document frequencies, and where each
live article's chunks and hash are. A version is never changed: a write builds the next
one beside it, so searches on other threads always see a whole one."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from index.segment import Segment, merge_plan, merged


@dataclass(frozen=True)
class Part:
    """A segment as this version sees it: which of its chunks are deleted, and which of
    the articles it was written with are gone (removed, or written again elsewhere)."""

    segment: Segment
    deleted: np.ndarray
    gone: frozenset[str] = frozenset()
    deleted_file: str | None = None

    @property
    def live(self) -> int:
        return len(self.segment) - int(self.deleted.sum())


@dataclass(frozen=True)
class State:
    """One consistent version of the index. Searches read `KeywordIndex._state` once and
    use only that; writers build a new state beside it and swap the reference, so a search
    running while an ingest updates the index sees the old version or the new, never a mix.
    The vocabulary (`terms`, `vocab`) is shared along a lineage and only grows; a version
    uses the first `vocab_size` terms."""

    generation: str | None = None
    parts: tuple[Part, ...] = ()
    terms: list[str] = field(default_factory=list)
    vocab: dict[str, int] = field(default_factory=dict)
    vocab_size: int = 0
    vocab_files: tuple[str, ...] = ()
    vocab_saved: int = 0  # how many terms `vocab_files` hold
    df: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    live: int = 0
    total_length: int = 0
    # {article id: (segment name, first chunk, chunks)} of the live articles with chunks
    spans: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    # Content hash of every article the index holds ("" where the writer did not say):
    # what lets `sync` fetch only the articles that changed. An article's hash is kept in
    # the segment that holds its chunks (`spans`), or alone, for an article without any.
    hashes: dict[str, str] = field(default_factory=dict)
    # The store's change-log position this index has applied (`Store.log_position`);
    # None: unknown, so the next sync compares every article's hash once.
    log_seq: int | None = None
    manifest: str | None = None

    @property
    def position(self) -> dict[str, int]:
        return {p.segment.name: i for i, p in enumerate(self.parts)}


def assembled(parts: list[Part], terms: list[str], generation: str | None,
               log_seq: int | None, vocab_files: tuple[str, ...],
               manifest: str | None) -> State:
    """The in-memory state of saved parts: document frequencies, spans and hashes."""
    df = np.zeros(len(terms), dtype=np.int64)
    live = total = 0
    spans: dict[str, tuple[str, int, int]] = {}
    hashes: dict[str, str] = {}
    for p in parts:
        seg = p.segment
        t, c = seg.doc_counts()
        df[t] += c
        if p.deleted.any():
            df -= np.bincount(seg.doc_terms(np.flatnonzero(p.deleted)), minlength=len(df))
        live += p.live
        total += int(seg.lengths[~p.deleted].sum())
        spans.update({a: (seg.name, st, n) for a, (st, n) in seg.spans().items()
                      if not p.deleted[st]})
        hashes.update({a: h for a, h in seg.hashes.items() if a not in p.gone})
    return State(generation=generation, parts=tuple(parts), terms=terms,
                  vocab={t: i for i, t in enumerate(terms)}, vocab_size=len(terms),
                  vocab_files=vocab_files, df=df, live=live, total_length=total, spans=spans,
                  hashes=hashes, log_seq=log_seq, manifest=manifest)


def compacted(parts: list[Part]) -> tuple[list[Part], list[Segment]]:
    """`parts` without empty segments and with small ones merged (`merge_plan`), and the
    segments the merges made."""
    parts = [p for p in parts if p.live or (p.segment.hashes.keys() - p.gone)]
    made: list[Segment] = []
    while (plan := merge_plan([p.live for p in parts], [len(p.segment) for p in parts])):
        seg = merged([(parts[i].segment, parts[i].deleted, set(parts[i].gone)) for i in plan])
        made.append(seg)
        rest = [p for i, p in enumerate(parts) if i not in plan]
        rest.insert(plan[0], Part(seg, np.zeros(len(seg), dtype=bool)))
        parts = rest
    return parts, made


def locate(s: State, at: dict[str, int], chunk_id: str) -> tuple[Part, int] | None:
    """The part and position of a live chunk: `<article>:<n>` is the article's n-th."""
    article, _, n = chunk_id.rpartition(":")
    span = s.spans.get(article)
    if span is None:
        return None
    part = s.parts[at[span[0]]]
    ids = part.segment.chunk_ids
    if n.isdigit() and int(n) < span[2] and ids[span[1] + int(n)] == chunk_id:
        return part, span[1] + int(n)
    hit = np.flatnonzero(ids[span[1]:span[1] + span[2]] == chunk_id)
    return (part, span[1] + int(hit[0])) if len(hit) else None
