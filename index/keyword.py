"""BM25 keyword search over chunk texts, persisted in the data home in segments and kept
in step with the vector store at a cost that follows each change, not the index.

News questions hinge on names, places and numbers, where keyword matching beats
embeddings. The index mirrors the store: every ingest updates it, and it records the
store's generation and change-log position; if another writer (a second machine on a
shared Chroma server, or a killed ingest) changed the store, the next open catches up
from the log. It is never rebuilt per query or per write.

On disk (`<home>/keyword/<collection>/`): immutable segments (`index/segment.py`), per
segment a small file of its deleted chunks, vocabulary files that only grow, and a
manifest naming them all; `current` names the live manifest and is swapped atomically,
so a process killed mid-write leaves the previous version whole. A write adds one
segment, rewrites the deletion files of the segments it touched and the manifest, and
merges small segments by size tier (bench/keyword_scale.py: adding one article to a
1M-chunk index, and the engines measured against this one).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from index.chunk import Chunk
from index.keyword_state import Part, State, assembled, compacted, locate
from index.segment import LARGE, Segment, ragged

if TYPE_CHECKING:
    from index.store import Store

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset(
    """a an and are as at be by for from has have he her his i in is it its of on or she
    that the their them they this to was were will with would what which who whom when
    where why how said says""".split()
)
_FORMAT = 2  # manifests of segments; format 1 was one bm25s index per version (`v-*`)
GRACE_S = 300.0  # how long a file no version names is kept (see `_collect`)


class Terms:
    """Lower-cased, stemmed words without stopwords (English Snowball stemmer)."""

    def __init__(self) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords

    def __call__(self, text: str) -> list[str]:
        words = [w.replace("’", "'").removesuffix("'s") for w in _WORD.findall(text.lower())]
        return list(self._stem([w for w in words if w not in _STOP]))


class KeywordIndex:
    """BM25 over every chunk of the store, with per-chunk dates for 'as of' filtering.
    Safe to search from several threads while one thread updates it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.terms = Terms()
        self._write = threading.RLock()  # one writer at a time; searches take no lock
        self._state = self._load() or State()

    @property
    def generation(self) -> str | None:
        """The store generation this index mirrors (None: never synced)."""
        return self._state.generation

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        """Every live chunk id (a scan: for `check` and tests)."""
        return tuple(str(c) for p in self._state.parts
                     for c in p.segment.chunk_ids[~p.deleted])

    # -- persistence ------------------------------------------------------------------
    def _current(self) -> str | None:
        try:
            return (self.folder / "current").read_text().strip() or None
        except OSError:
            return None

    def _load(self) -> State | None:
        for _ in range(2):  # a writer may swap versions while we read: once more
            name = self._current()
            if name is None:
                return None
            try:
                if name.startswith("v-"):
                    return self._migrated(self.folder / name)
                return self._read(name)
            except (OSError, KeyError, ValueError, TypeError):
                continue
        return None  # damaged: only a cache of the store, so the next sync rebuilds it

    def _read(self, name: str) -> State:
        manifest = json.loads((self.folder / name).read_text())
        if manifest.get("format") != _FORMAT:
            raise ValueError(f"keyword index format {manifest.get('format')}")
        terms: list[str] = []
        for vocab_file in manifest["vocab"]:
            terms.extend(json.loads((self.folder / vocab_file).read_text()))
        terms = terms[:manifest["vocab_size"]]
        parts = []
        for entry in manifest["segments"]:
            seg = Segment.load(self.folder, entry["name"])
            deleted = np.zeros(len(seg), dtype=bool)
            gone: frozenset[str] = frozenset()
            if entry["deleted"]:
                data = np.load(self.folder / entry["name"] / entry["deleted"])
                deleted[data["docs"]] = True
                gone = frozenset(str(a) for a in data["gone"])
            parts.append(Part(seg, deleted, gone, entry["deleted"]))
        return replace(assembled(parts, terms, manifest["generation"], manifest["log_seq"],
                                  tuple(manifest["vocab"]), name), vocab_saved=len(terms))

    def _migrated(self, path: Path) -> State | None:
        """The index of a format-1 version (one bm25s index), as one segment, without
        reading the store again; None (rebuild) if it kept no article hashes."""
        if not (path / "hashes.json").exists():
            return None
        state = json.loads((path / "state.json").read_text())
        data = np.load(path / "terms.npz", allow_pickle=False)
        vocab = json.loads((path / "vocab.json").read_text())
        terms = [""] * len(vocab)
        for term, i in vocab.items():
            terms[i] = term
        articles = [str(a) for a in data["article_ids"]]
        order = sorted(range(len(articles)), key=lambda i: articles[i])  # articles together
        offsets = data["offsets"]
        idx = np.array(order, dtype=np.int64)
        lengths = (offsets[idx + 1] - offsets[idx]) if len(idx) else np.zeros(0, np.int64)
        where, _ = ragged(offsets, idx)
        hashes = json.loads((path / "hashes.json").read_text())
        seg = Segment.build(
            chunk_ids=[str(c) for c in data["chunk_ids"][idx]],
            article_ids=[articles[i] for i in order],
            date_keys=data["date_keys"][idx], terms=data["flat"][where],
            offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64), hashes=hashes)
        migrated = assembled([Part(seg, np.zeros(len(seg), dtype=bool))], terms,
                              state["generation"], state.get("log_seq"), (), None)
        self._save(migrated, new=[seg], touched=set())
        return self._state

    def _save(self, state: State, new: Sequence[Segment], touched: set[str]) -> None:
        """Write what `state` adds to disk (new segments, deletion files of `touched`
        segments, new terms), then its manifest, then swap `current` and swap it in."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for seg in new:
            seg.save(self.folder)
        parts = []
        for p in state.parts:
            if p.segment.name in touched and (p.deleted.any() or p.gone):
                name = f"del-{uuid.uuid4().hex[:12]}.npz"
                with open(self.folder / p.segment.name / name, "wb") as f:
                    np.savez(f, docs=np.flatnonzero(p.deleted).astype(np.int32),
                             gone=np.array(sorted(p.gone), dtype=str))
                p = replace(p, deleted_file=name)
            parts.append(p)
        vocab_files, saved = state.vocab_files, state.vocab_saved
        if len(vocab_files) >= 32:  # compaction: one file of every term
            vocab_files, saved = (), 0
        if saved < state.vocab_size:
            name = f"vocab-{uuid.uuid4().hex[:12]}.json"
            (self.folder / name).write_text(json.dumps(state.terms[saved:state.vocab_size]))
            vocab_files, saved = (*vocab_files, name), state.vocab_size
        manifest = f"m-{uuid.uuid4().hex[:12]}.json"
        (self.folder / manifest).write_text(json.dumps({
            "format": _FORMAT, "generation": state.generation, "log_seq": state.log_seq,
            "chunks": state.live, "vocab": list(vocab_files), "vocab_size": state.vocab_size,
            "segments": [{"name": p.segment.name, "deleted": p.deleted_file} for p in parts],
        }))
        tmp = self.folder / f"current.{uuid.uuid4().hex[:8]}"
        tmp.write_text(manifest)
        os.replace(tmp, self.folder / "current")  # the atomic switch
        self._state = replace(state, parts=tuple(parts), vocab_files=vocab_files,
                              vocab_saved=saved, manifest=manifest)  # the atomic swap (see State)
        self._collect(self._state)

    def _collect(self, state: State) -> None:
        """Remove what the live manifest no longer names, once it is GRACE_S old: another
        process on this home may be writing a version of its own (its new segment is not
        named yet), and one still reading an old version keeps its memory maps."""
        keep = {state.manifest, *state.vocab_files, "current"}
        segments = {p.segment.name: p.deleted_file for p in state.parts}
        settled = time.time() - GRACE_S
        for path in self.folder.iterdir():
            if path.name in keep:
                continue
            if path.name in segments:
                for f in path.glob("del-*"):
                    if f.name != segments[path.name] and _older(f, settled):
                        f.unlink(missing_ok=True)
            elif path.name.startswith("v-") or _older(path, settled):
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    path.unlink(missing_ok=True)

    # -- keeping in step --------------------------------------------------------------
    def update(
        self,
        added: Sequence[tuple[Chunk, int]],
        removed_articles: Iterable[str],
        generation: str,
        hashes: dict[str, str] | None = None,
        log_seq: int | None = None,
    ) -> None:
        """Drop the chunks of `removed_articles`, add `added` (chunk, date key) pairs (an
        added chunk replaces any of the same article), save, then swap the new version
        in. `hashes` are the content hashes of the added articles; `log_seq` the store's
        change-log position this brings the index to (None: unknown)."""
        with self._write:
            self._apply(self._state, added, removed_articles, generation, hashes, log_seq)

    def _apply(
        self, s: State, added: Sequence[tuple[Chunk, int]], removed_articles: Iterable[str],
        generation: str, hashes: dict[str, str] | None, log_seq: int | None,
    ) -> None:
        groups: dict[str, dict[str, tuple[Chunk, int]]] = {}
        for c, d in added:  # the last of a chunk id wins; an article's chunks together
            groups.setdefault(c.article_id, {})[c.id] = (c, d)
        written = dict.fromkeys(groups, "") | dict(hashes or {})
        gone = set(removed_articles) | set(written)
        parts = list(s.parts)
        at = s.position
        df = s.df.copy()
        live, total = s.live, s.total_length
        spans, known = dict(s.spans), dict(s.hashes)
        touched: set[str] = set()
        masks: dict[int, np.ndarray] = {}  # each touched segment's mask, copied once
        gone_of: dict[int, set[str]] = {}
        dropped: list[np.ndarray] = []
        for a in gone:
            span = spans.pop(a, None)
            # The segment holding its hash: its chunks', or for an article without chunks
            # (rare) the segment that recorded it alone.
            holder = span[0] if span is not None else next(
                (p.segment.name for p in parts
                 if a in p.segment.hashes and a not in p.gone), None) if a in known else None
            known.pop(a, None)
            if span is not None:
                i = at[span[0]]
                seg = parts[i].segment
                docs = np.arange(span[1], span[1] + span[2])
                if i not in masks:
                    masks[i] = parts[i].deleted.copy()
                masks[i][docs] = True
                dropped.append(seg.doc_terms(docs))
                live -= span[2]
                total -= int(seg.lengths[docs].sum())
                touched.add(seg.name)
            if holder is not None:
                gone_of.setdefault(at[holder], set()).add(a)
                touched.add(holder)
        for i in masks.keys() | gone_of.keys():
            parts[i] = replace(parts[i], deleted=masks.get(i, parts[i].deleted),
                               gone=parts[i].gone | gone_of.get(i, set()))
        if dropped:
            df -= np.bincount(np.concatenate(dropped), minlength=len(df))[: len(df)]
        batches = _batches(groups)
        homeless = set(written) - set(groups)  # articles without chunks: the last batch
        new = [self._segment(s, batch, {a: written[a] for a in {c.article_id for c, _ in batch}
                                        | (homeless if i == len(batches) - 1 else set())})
               for i, batch in enumerate(batches)]
        size = len(s.terms)  # the vocabulary grew while the new segments were made
        if len(df) < size:
            df = np.concatenate([df, np.zeros(size - len(df), dtype=np.int64)])
        for seg in new:
            present, counts = seg.doc_counts()
            df[present] += counts
            live += len(seg)
            total += int(seg.lengths.sum())
            parts.append(Part(seg, np.zeros(len(seg), dtype=bool)))
            spans.update({a: (seg.name, st, n) for a, (st, n) in seg.spans().items()})
            known.update(seg.hashes)
        parts, merges = compacted(parts)
        for seg in merges:
            new.append(seg)
            spans.update({a: (seg.name, st, n) for a, (st, n) in seg.spans().items()})
        names = {p.segment.name for p in parts}
        state = replace(s, generation=generation, parts=tuple(parts), vocab_size=size, df=df,
                        live=live, total_length=total, spans=spans,
                        hashes=known, log_seq=log_seq)
        self._save(state, [g for g in new if g.name in names], touched & names)

    def _segment(self, s: State, batch: list[tuple[Chunk, int]],
                 hashes: dict[str, str]) -> Segment:
        ids = [self._term_ids(c.text, s) for c, _ in batch]
        lengths = np.array([len(t) for t in ids], dtype=np.int64)
        return Segment.build(
            chunk_ids=[c.id for c, _ in batch], article_ids=[c.article_id for c, _ in batch],
            date_keys=np.array([d for _, d in batch], dtype=np.int32),
            offsets=np.r_[0, np.cumsum(lengths)].astype(np.int64),
            terms=(np.concatenate(ids) if ids else np.zeros(0, dtype=np.int32)),
            hashes=hashes)

    def _term_ids(self, text: str, s: State) -> np.ndarray:
        ids = []
        for t in self.terms(text):
            i = s.vocab.get(t)
            if i is None:  # appended: searches of older versions ignore ids past theirs
                i = s.vocab[t] = len(s.terms)
                s.terms.append(t)
            ids.append(i)
        return np.array(ids, dtype=np.int32)

    def mirrors(self, store: Store) -> bool:
        """Whether this index mirrors the store's current state: the same generation
        (a token every store write changes) and the same number of chunks."""
        return self.generation == store.generation() and len(self) == store.counts()[1]

    def sync(self, store: Store, records: dict[str, str] | None = None) -> bool:
        """Bring the index in line with the store unless it already mirrors it (another
        writer, or an ingest killed before it could update us): first from this home's
        own saved version if another process on it wrote a newer one, then from the
        store's change log, and only without a log by comparing every article's content
        hash. `records` ({article id: hash}, if the caller has them) saves reading them.
        True if anything changed."""
        with self._write:
            current = store.generation()
            position = store.log_position()
            reloaded = False
            if self._current() not in (None, self._state.manifest):
                newer = self._load()  # say, `newsqa ingest` beside a running server
                if newer is not None:
                    self._state, reloaded = newer, True
            s = self._state
            if self.mirrors(store):
                if s.log_seq != position:  # adopt it while they match
                    self._save(replace(s, log_seq=position), [], set())
                return reloaded
            if s.log_seq is not None and records is None:
                logged = store.changes_since(s.log_seq, position)
                if logged:  # what changed since this index's position, not every record
                    latest = dict(logged)
                    changed = [a for a, h in latest.items() if h and s.hashes.get(a) != h]
                    removed = [a for a, h in latest.items() if not h and a in s.hashes]
                    self.update(store.chunks_of(changed), removed, current,
                                {a: latest[a] for a in changed}, log_seq=position)
                    if self.mirrors(store):
                        return True
                    s = self._state  # a write the log does not name (a repair): scan
            hashes = records if records is not None else _hashes(store)
            if not s.parts:
                self.rebuild(((c, int(m.get("date_key", 0))) for c, m in store.iter_chunks()),
                             current, hashes, log_seq=position)
                return True
            changed = [a for a, h in hashes.items() if s.hashes.get(a) != h]
            removed = [a for a in s.hashes if a not in hashes]
            extra = set(s.spans) - set(hashes) - set(removed)  # chunks without record
            self.update(store.chunks_of(changed), [*removed, *extra], current,
                        {a: hashes[a] for a in changed}, log_seq=position)
            return True

    def rebuild(self, chunks: Iterable[tuple[Chunk, int]], generation: str,
                hashes: dict[str, str] | None = None, log_seq: int | None = None) -> None:
        """Build from scratch from every (chunk, date key) of the store (`hashes`: the
        content hash of every article, for later incremental syncs; `log_seq`: the store's
        change-log position they reflect). Searches use the old version until the new one
        is complete."""
        with self._write:
            self._apply(State(), list(chunks), [], generation, hashes, log_seq)

    # -- search -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._state.live

    def date_keys_of(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """Date keys (0 = undated) of chunks returned by `search`."""
        s = self._state
        at = s.position
        keys = {}
        for cid in chunk_ids:
            found = locate(s, at, cid)
            if found is not None:
                keys[cid] = int(found[0].segment.date_keys[found[1]])
        return keys

    def search(
        self, query: str, top_k: int, max_date_key: int | None = None,
        articles: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `top_k` chunks with a positive score; with
        `max_date_key`, only chunks dated on or before it, or undated; with `articles`,
        only chunks of these article ids (found through their spans, not a scan)."""
        s = self._state  # one version for the whole search
        ids = [i for i in (s.vocab.get(t) for t in self.terms(query))
               if i is not None and i < s.vocab_size]
        if not ids or not s.live or top_k <= 0:
            return []
        query_ids = np.array(ids, dtype=np.int64)
        df = s.df[query_ids].astype(np.float64)
        idf = np.where(df > 0, np.log(1 + (s.live - df + 0.5) / (df + 0.5)), 0.0)
        avg = s.total_length / s.live
        ranges: dict[str, list[tuple[int, int]]] | None = None
        if articles is not None:
            ranges = {}
            for a in articles:
                span = s.spans.get(a)
                if span is not None:
                    ranges.setdefault(span[0], []).append((span[1], span[2]))
        found: list[tuple[float, str]] = []
        for p in s.parts:
            if ranges is not None and p.segment.name not in ranges:
                continue
            scores = p.segment.scores(query_ids, idf, avg).astype(np.float32)
            scores[p.deleted] = 0
            if max_date_key is not None:
                keys = p.segment.date_keys
                scores[(keys > max_date_key) & (keys != 0)] = 0
            if ranges is not None:
                inside = np.zeros(len(scores), dtype=bool)
                for start, n in ranges[p.segment.name]:
                    inside[start:start + n] = True
                scores[~inside] = 0
            k = min(top_k, len(scores))
            top = np.argpartition(-scores, k - 1)[:k]
            found += [(float(scores[i]), str(p.segment.chunk_ids[i]))
                      for i in top if scores[i] > 0]
        found.sort(key=lambda x: -x[0])
        return [(cid, score) for score, cid in found[:top_k]]


def _batches(groups: dict[str, dict[str, tuple[Chunk, int]]]
             ) -> list[list[tuple[Chunk, int]]]:
    """The added chunks, an article's together, in segments of at most LARGE chunks (one
    empty batch when none were added, to record articles without chunks)."""
    batches: list[list[tuple[Chunk, int]]] = [[]]
    for chunks in groups.values():
        if batches[-1] and len(batches[-1]) + len(chunks) > LARGE:
            batches.append([])
        batches[-1].extend(chunks.values())
    return batches


def _older(path: Path, than: float) -> bool:
    try:
        return path.stat().st_mtime < than
    except OSError:
        return False


def _hashes(store: Store) -> dict[str, str]:
    return {a: r.hash for a, r in store.records().items()}
