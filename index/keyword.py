"""BM25 keyword search over chunk texts (bm25s), persisted in the data home and kept in
step with the vector store.

News questions hinge on names, places and numbers, where keyword matching beats
embeddings. The index mirrors the store: every ingest updates it, and it records the
store's generation; if another writer (a second machine on a shared Chroma server, or a
killed ingest) changed the store, the next open rebuilds it from the store. It is never
rebuilt per query.

On disk (`<home>/keyword/<collection>/`): a `current` file naming the live version folder,
which holds the bm25s index and `terms.npz` (each chunk's term ids, so an update
re-indexes without re-reading or re-tokenising the unchanged chunks). A new version is
written beside the old one and `current` is swapped atomically.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.chunk import Chunk

if TYPE_CHECKING:
    from index.store import Store

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_STOP = frozenset(
    """a an and are as at be by for from has have he her his i in is it its of on or she
    that the their them they this to was were will with would what which who whom when
    where why how said says""".split()
)


class Terms:
    """Lower-cased, stemmed words without stopwords (English Snowball stemmer)."""

    def __init__(self) -> None:
        import Stemmer

        self._stem = Stemmer.Stemmer("english").stemWords

    def __call__(self, text: str) -> list[str]:
        words = [w.replace("’", "'").removesuffix("'s") for w in _WORD.findall(text.lower())]
        return list(self._stem([w for w in words if w not in _STOP]))


class _DocIds:
    """Each chunk's term ids as a list, made one at a time as bm25s walks the corpus: a
    list of lists of every chunk at once is ~4x the arrays (+370 MB at 100k chunks)."""

    def __init__(self, terms: Sequence[np.ndarray], pad: int) -> None:
        self._terms = terms
        self._pad = pad

    def __len__(self) -> int:
        return len(self._terms)

    def __iter__(self) -> Iterator[list[int]]:
        for t in self._terms:
            yield t.tolist() if len(t) else [self._pad]


@dataclass(frozen=True)
class _State:
    """One consistent version of the index. Searches read `KeywordIndex._state` once and
    use only that; writers build a new state beside it and swap the reference, so a search
    running while an ingest updates the index sees the old version or the new, never a mix.
    """

    generation: str | None = None
    chunk_ids: tuple[str, ...] = ()
    article_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    date_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    doc_terms: tuple[np.ndarray, ...] = ()
    vocab: dict[str, int] = field(default_factory=dict)
    bm25: Any = None
    # Content hash of every article the index holds (None: unknown, from an index saved
    # before hashes were kept): what lets `sync` fetch only the articles that changed.
    hashes: dict[str, str] | None = None
    position: dict[str, int] = field(default_factory=dict)
    # The store's change-log position this index has applied (`Store.log_position`);
    # None: unknown, so the next sync compares every article's hash once.
    log_seq: int | None = None


class KeywordIndex:
    """BM25 over every chunk of the store, with per-chunk dates for 'as of' filtering.
    Safe to search from several threads while one thread updates it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.terms = Terms()
        self._write = threading.RLock()  # one writer at a time; searches take no lock
        self._state = _State()
        self._load()

    @property
    def generation(self) -> str | None:
        """The store generation this index mirrors (None: never synced)."""
        return self._state.generation

    @property
    def chunk_ids(self) -> tuple[str, ...]:
        return self._state.chunk_ids

    # -- persistence ------------------------------------------------------------------
    def _current(self) -> Path | None:
        try:
            name = (self.folder / "current").read_text().strip()
        except OSError:
            return None
        path = self.folder / name
        return path if path.is_dir() else None

    def _load(self) -> None:
        path = self._current()
        if path is None:
            return
        try:
            import bm25s

            state = json.loads((path / "state.json").read_text())
            data = np.load(path / "terms.npz", allow_pickle=False)
            offsets = data["offsets"]
            flat = data["flat"]
            chunk_ids = tuple(str(x) for x in data["chunk_ids"])
            hashes_file = path / "hashes.json"
            self._state = _State(
                generation=state["generation"],
                chunk_ids=chunk_ids,
                article_ids=np.array([str(x) for x in data["article_ids"]], dtype=object),
                date_keys=data["date_keys"],
                doc_terms=tuple(flat[offsets[i]:offsets[i + 1]]
                                for i in range(len(offsets) - 1)),
                vocab=json.loads((path / "vocab.json").read_text()),
                bm25=(bm25s.BM25.load(str(path / "bm25"), mmap=True, show_progress=False)
                      if chunk_ids else None),
                hashes=(json.loads(hashes_file.read_text()) if hashes_file.exists()
                        else None),
                position={cid: i for i, cid in enumerate(chunk_ids)},
                log_seq=state.get("log_seq"),
            )
        except (OSError, KeyError, ValueError):
            # A damaged index is only a cache of the store: forget it and rebuild.
            self._state = _State()

    def _save(self, state: _State) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        version = self.folder / f"v-{uuid.uuid4().hex[:12]}"
        version.mkdir()
        lengths = [len(t) for t in state.doc_terms]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = (np.concatenate(state.doc_terms) if state.doc_terms
                else np.zeros(0, dtype=np.int32)).astype(np.int32)
        np.savez(version / "terms.npz", offsets=offsets, flat=flat,
                 chunk_ids=np.array(state.chunk_ids, dtype=str),
                 article_ids=np.array(list(state.article_ids), dtype=str),
                 date_keys=state.date_keys.astype(np.int32))
        (version / "vocab.json").write_text(json.dumps(state.vocab))
        if state.hashes is not None:
            (version / "hashes.json").write_text(json.dumps(state.hashes))
        if state.bm25 is not None:
            state.bm25.save(str(version / "bm25"), show_progress=False)
        (version / "state.json").write_text(json.dumps({"generation": state.generation,
                                                        "chunks": len(state.chunk_ids),
                                                        "log_seq": state.log_seq}))
        tmp = self.folder / f"current.{uuid.uuid4().hex[:8]}"
        tmp.write_text(version.name)
        os.replace(tmp, self.folder / "current")  # the atomic switch
        for old in self.folder.glob("v-*"):
            if old != version:
                shutil.rmtree(old, ignore_errors=True)

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
        added chunk replaces any of the same article), re-index, save, then swap the new
        version in. `hashes` are the content hashes of the added articles; `log_seq` the
        store's change-log position this brings the index to (None: unknown)."""
        with self._write:
            self._swap(replace(
                self._updated(self._state, added, removed_articles, generation, hashes),
                log_seq=log_seq))

    def _swap(self, state: _State) -> None:
        self._save(state)
        self._state = state  # the atomic swap (see _State)

    def _updated(
        self, s: _State, added: Sequence[tuple[Chunk, int]], removed_articles: Iterable[str],
        generation: str, hashes: dict[str, str] | None,
    ) -> _State:
        gone = set(removed_articles) | {c.article_id for c, _ in added}
        keep = [i for i, a in enumerate(s.article_ids) if a not in gone]
        vocab = dict(s.vocab)  # grown for the new version only
        doc_terms = [s.doc_terms[i] for i in keep]
        doc_terms += [self._term_ids(c.text, vocab, grow=True) for c, _ in added]
        chunk_ids = tuple([s.chunk_ids[i] for i in keep] + [c.id for c, _ in added])
        known = None
        if s.hashes is not None and (hashes is not None or not added):
            known = {a: h for a, h in s.hashes.items() if a not in gone}
            known.update(hashes or {})
        return _State(
            generation=generation,
            chunk_ids=chunk_ids,
            article_ids=np.concatenate(
                [s.article_ids[keep], np.array([c.article_id for c, _ in added], dtype=object)]),
            date_keys=np.concatenate(
                [s.date_keys[keep], np.array([d for _, d in added], dtype=np.int32)]),
            doc_terms=tuple(doc_terms),
            vocab=vocab,
            bm25=_bm25(doc_terms, vocab),
            hashes=known,
            position={cid: i for i, cid in enumerate(chunk_ids)},
        )

    def mirrors(self, store: Store) -> bool:
        """Whether this index mirrors the store's current state: the same generation
        (a token every store write changes) and the same number of chunks."""
        return self.generation == store.generation() and len(self) == store.counts()[1]

    def sync(self, store: Store, records: dict[str, str] | None = None) -> bool:
        """Bring the index in line with the store unless it already mirrors it (another
        writer, or an ingest killed before it could update us): only the articles whose
        content hash changed are fetched, so following another server's push costs about
        what that push added. `records` ({article id: hash}, if the caller has them) saves
        reading them. True if anything changed."""
        with self._write:
            current = store.generation()
            s = self._state
            position = store.log_position()
            if self.mirrors(store):
                if (s.hashes is None and len(self)) or s.log_seq != position:
                    # adopt them while they match
                    hashes = (s.hashes if s.hashes is not None else
                              records if records is not None else _hashes(store))
                    self._state = replace(s, hashes=hashes, log_seq=position)
                    self._save(self._state)
                return False
            if s.hashes is not None and s.log_seq is not None and records is None:
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
            if s.hashes is None:
                self.rebuild(((c, int(m.get("date_key", 0))) for c, m in store.iter_chunks()),
                             current, hashes, log_seq=position)
                return True
            changed = [a for a, h in hashes.items() if s.hashes.get(a) != h]
            removed = [a for a in s.hashes if a not in hashes]
            extra = set(s.article_ids) - set(hashes) - set(removed)  # chunks without record
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
            empty = _State(hashes=None if hashes is None else {})
            self._swap(replace(self._updated(empty, list(chunks), [], generation, hashes),
                               log_seq=log_seq))

    def _term_ids(self, text: str, vocab: dict[str, int], grow: bool) -> np.ndarray:
        ids = []
        for t in self.terms(text):
            i = vocab.get(t)
            if i is None and grow:
                i = vocab[t] = len(vocab)
            if i is not None:
                ids.append(i)
        return np.array(ids, dtype=np.int32)

    # -- search -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._state.chunk_ids)

    def date_keys_of(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """Date keys (0 = undated) of chunks returned by `search`."""
        s = self._state
        return {c: int(s.date_keys[s.position[c]]) for c in chunk_ids if c in s.position}

    def search(
        self, query: str, top_k: int, max_date_key: int | None = None,
        articles: Collection[str] | None = None,
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `top_k` chunks with a positive score; with
        `max_date_key`, only chunks dated on or before it, or undated; with `articles`,
        only chunks of these article ids."""
        s = self._state  # one version for the whole search
        if s.bm25 is None:
            return []
        ids = self._term_ids(query, s.vocab, grow=False)
        ids = ids[ids < len(s.bm25.vocab_dict)]
        if len(ids) == 0:
            return []
        scores = s.bm25.get_scores_from_ids(ids.tolist())
        if max_date_key is not None:
            scores = np.where((s.date_keys <= max_date_key) | (s.date_keys == 0), scores, 0.0)
        if articles is not None:
            inside = np.fromiter((c.rsplit(":", 1)[0] in articles for c in s.chunk_ids),
                                 dtype=bool, count=len(s.chunk_ids))
            scores = np.where(inside, scores, 0.0)
        k = min(top_k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(s.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]


def _bm25(doc_terms: Sequence[np.ndarray], vocab: dict[str, int]) -> Any:
    """A bm25s index of the chunks' term ids (None when there are no chunks)."""
    import logging

    import bm25s
    from bm25s.tokenization import Tokenized

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
    if not doc_terms:
        return None
    # Every chunk needs at least one term for bm25s; an empty one gets a dummy term.
    pad = vocab.setdefault("\x00", len(vocab))
    bm25 = bm25s.BM25()
    bm25.index(Tokenized(ids=_DocIds(doc_terms, pad), vocab=vocab),  # type: ignore[arg-type]
               show_progress=False)
    return bm25


def _hashes(store: Store) -> dict[str, str]:
    return {a: r.hash for a, r in store.records().items()}
