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
import uuid
from collections.abc import Iterable, Iterator, Sequence
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


class KeywordIndex:
    """BM25 over every chunk of the store, with per-chunk dates for 'as of' filtering."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.terms = Terms()
        self.generation: str | None = None
        self.chunk_ids: list[str] = []
        self.article_ids: np.ndarray = np.zeros(0, dtype=object)
        self.date_keys = np.zeros(0, dtype=np.int32)
        self._doc_terms: list[np.ndarray] = []
        self.vocab: dict[str, int] = {}
        self._bm25: Any = None
        self._position: dict[str, int] | None = None
        self._load()

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
            self.vocab = json.loads((path / "vocab.json").read_text())
            offsets = data["offsets"]
            flat = data["flat"]
            self.chunk_ids = [str(x) for x in data["chunk_ids"]]
            self.article_ids = np.array([str(x) for x in data["article_ids"]], dtype=object)
            self.date_keys = data["date_keys"]
            self._doc_terms = [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]
            self._bm25 = (
                bm25s.BM25.load(str(path / "bm25"), mmap=True, show_progress=False)
                if self.chunk_ids else None
            )
            self.generation = state["generation"]
        except (OSError, KeyError, ValueError):
            # A damaged index is only a cache of the store: forget it and rebuild.
            self.generation = None
            self.chunk_ids = []
            self._doc_terms = []

    def _save(self, generation: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        version = self.folder / f"v-{uuid.uuid4().hex[:12]}"
        version.mkdir()
        lengths = [len(t) for t in self._doc_terms]
        offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        flat = (np.concatenate(self._doc_terms) if self._doc_terms
                else np.zeros(0, dtype=np.int32)).astype(np.int32)
        np.savez(version / "terms.npz", offsets=offsets, flat=flat,
                 chunk_ids=np.array(self.chunk_ids, dtype=str),
                 article_ids=np.array(list(self.article_ids), dtype=str),
                 date_keys=self.date_keys.astype(np.int32))
        (version / "vocab.json").write_text(json.dumps(self.vocab))
        if self._bm25 is not None:
            self._bm25.save(str(version / "bm25"), show_progress=False)
        (version / "state.json").write_text(json.dumps({"generation": generation,
                                                        "chunks": len(self.chunk_ids)}))
        tmp = self.folder / f"current.{uuid.uuid4().hex[:8]}"
        tmp.write_text(version.name)
        os.replace(tmp, self.folder / "current")  # the atomic switch
        self.generation = generation
        for old in self.folder.glob("v-*"):
            if old != version:
                shutil.rmtree(old, ignore_errors=True)

    # -- keeping in step --------------------------------------------------------------
    def update(
        self,
        added: Sequence[tuple[Chunk, int]],
        removed_articles: Iterable[str],
        generation: str,
    ) -> None:
        """Drop the chunks of `removed_articles`, add `added` (chunk, date key) pairs (an
        added chunk replaces any of the same article), re-index and save."""
        gone = set(removed_articles) | {c.article_id for c, _ in added}
        if gone:
            keep = [i for i, a in enumerate(self.article_ids) if a not in gone]
            self.chunk_ids = [self.chunk_ids[i] for i in keep]
            self.article_ids = self.article_ids[keep]
            self.date_keys = self.date_keys[keep]
            self._doc_terms = [self._doc_terms[i] for i in keep]
        if added:
            self.chunk_ids += [c.id for c, _ in added]
            self.article_ids = np.concatenate(
                [self.article_ids, np.array([c.article_id for c, _ in added], dtype=object)])
            self.date_keys = np.concatenate(
                [self.date_keys, np.array([d for _, d in added], dtype=np.int32)])
            self._doc_terms += [self._term_ids(c.text, grow=True) for c, _ in added]
        self._reindex()
        self._save(generation)

    def reload(self) -> None:
        """Read the saved index again (another process may have saved a newer one)."""
        self.generation = None
        self.chunk_ids, self._doc_terms, self.vocab = [], [], {}
        self.article_ids = np.zeros(0, dtype=object)
        self.date_keys = np.zeros(0, dtype=np.int32)
        self._bm25 = None
        self._position = None
        self._load()

    def mirrors(self, store: Store) -> bool:
        """Whether this index mirrors the store's current state: the same generation
        (a token every store write changes) and the same number of chunks."""
        return self.generation == store.generation() and len(self) == store.counts()[1]

    def sync(self, store: Store) -> bool:
        """Rebuild from the store unless it mirrors the store's current state (another
        writer, or an ingest killed before it could update us). True if it rebuilt."""
        current = store.generation()
        if self.mirrors(store):
            return False
        rows = ((chunk, int(meta.get("date_key", 0))) for chunk, meta in store.iter_chunks())
        self.rebuild(rows, current)
        return True

    def rebuild(self, chunks: Iterable[tuple[Chunk, int]], generation: str) -> None:
        """Build from scratch from every (chunk, date key) of the store."""
        self.chunk_ids, self._doc_terms, self.vocab = [], [], {}
        self.article_ids = np.zeros(0, dtype=object)
        self.date_keys = np.zeros(0, dtype=np.int32)
        self.update(list(chunks), [], generation)

    def _term_ids(self, text: str, grow: bool) -> np.ndarray:
        ids = []
        for t in self.terms(text):
            i = self.vocab.get(t)
            if i is None and grow:
                i = self.vocab[t] = len(self.vocab)
            if i is not None:
                ids.append(i)
        return np.array(ids, dtype=np.int32)

    def _reindex(self) -> None:
        import logging

        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG

        self._position = None
        from bm25s.tokenization import Tokenized

        if not self.chunk_ids:
            self._bm25 = None
            return
        # Every chunk needs at least one term for bm25s; an empty one gets a dummy term.
        pad = self.vocab.setdefault("\x00", len(self.vocab))
        bm25 = bm25s.BM25()
        bm25.index(Tokenized(ids=_DocIds(self._doc_terms, pad), vocab=self.vocab),  # type: ignore[arg-type]
                   show_progress=False)
        self._bm25 = bm25

    # -- search -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.chunk_ids)

    def date_keys_of(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """Date keys (0 = undated) of chunks returned by `search`."""
        if not chunk_ids:
            return {}
        if self._position is None or len(self._position) != len(self.chunk_ids):
            self._position = {cid: i for i, cid in enumerate(self.chunk_ids)}
        return {c: int(self.date_keys[self._position[c]]) for c in chunk_ids
                if c in self._position}

    def search(
        self, query: str, top_k: int, max_date_key: int | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `top_k` chunks with a positive score; with
        `max_date_key`, only chunks dated on or before it, or undated."""
        if self._bm25 is None:
            return []
        ids = self._term_ids(query, grow=False)
        ids = ids[ids < len(self._bm25.vocab_dict)]
        if len(ids) == 0:
            return []
        scores = self._bm25.get_scores_from_ids(ids.tolist())
        if max_date_key is not None:
            scores = np.where((self.date_keys <= max_date_key) | (self.date_keys == 0),
                              scores, 0.0)
        k = min(top_k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.chunk_ids[i], float(scores[i])) for i in top if scores[i] > 0]
