"""The keyword index in segments (issue 34, point 2): it ranks exactly as one BM25 index
built over the live chunks at once, a write costs what it changes, small segments are
merged, and an index saved by the engine before segments opens without the store."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import index.segment as segment
from index.chunk import Chunk
from index.keyword import KeywordIndex

WORDS = ("harbour strike ferry tram budget council glacier drone vanilla clove election "
         "minister storm river bridge court judge vaccine flood rail port mayor").split()


def article(aid: str, rng: random.Random, chunks: int = 2) -> list[tuple[Chunk, int]]:
    out = []
    for i in range(chunks):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 30)))
        out.append((Chunk(id=f"{aid}:{i}", article_id=aid, index=i, text=text, start=0,
                          end=len(text)), 20240100 + rng.randint(1, 28)))
    return out


def bm25s_scores(index: KeywordIndex, live: dict[str, list[tuple[Chunk, int]]],
                 query: str) -> dict[str, float]:
    """BM25 as one bm25s index over the live chunks (the engine segments replaced)."""
    import bm25s

    chunks = [c for cs in live.values() for c, _ in cs]
    tokens = [index.terms(c.text) for c in chunks]
    bm25 = bm25s.BM25()
    bm25.index(tokens, show_progress=False)
    q = [t for t in index.terms(query) if t in bm25.vocab_dict]
    scores = bm25.get_scores(q)
    return {c.id: float(s) for c, s in zip(chunks, scores, strict=True) if s > 0}


def test_segments_rank_as_one_index_over_the_live_chunks(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segment, "FACTOR", 3)  # merges happen within a few writes
    rng = random.Random(7)
    index = KeywordIndex(tmp_path / "kw")
    live: dict[str, list[tuple[Chunk, int]]] = {}
    for write in range(12):
        added = {f"w{write}a{i}": article(f"w{write}a{i}", rng, rng.randint(1, 4))
                 for i in range(rng.randint(1, 6))}
        removed = rng.sample(sorted(live), min(len(live), rng.randint(0, 2)))
        if live and write % 3 == 0:  # an article written again with new text
            again = rng.choice(sorted(set(live) - set(removed)))
            added[again] = article(again, rng, 2)
        for a in removed:
            del live[a]
        live.update(added)
        index.update([c for cs in added.values() for c in cs], removed, f"g{write}",
                     dict.fromkeys(added, "h"))
    assert len(index._state.parts) < 12  # merged along the way
    reopened = KeywordIndex(tmp_path / "kw")
    for query in ("harbour strike", "ferry ferry council", "glacier vaccine flood mayor"):
        want = bm25s_scores(index, live, query)
        for idx in (index, reopened):
            got = dict(idx.search(query, 1000))
            assert got.keys() == want.keys()
            for cid, score in want.items():
                assert got[cid] == pytest.approx(score, rel=1e-4)
    assert set(reopened.chunk_ids) == {c.id for cs in live.values() for c, _ in cs}
    assert reopened._state.hashes == dict.fromkeys(live, "h")


def test_filters_by_date_and_article_and_dates_of_hits(tmp_path: Path) -> None:
    rng = random.Random(3)
    index = KeywordIndex(tmp_path / "kw")
    chunks = [c for i in range(40) for c in article(f"a{i}", rng)]
    index.update(chunks, [], "g0")
    index.update(article("late", rng), [], "g1")
    dates = {c.id: d for c, d in chunks}
    hits = index.search("harbour strike ferry", 500, max_date_key=20240110)
    assert hits and all(dates[c] <= 20240110 for c, _ in hits)
    picked = index.search("harbour strike ferry tram budget", 500, articles={"a3", "late"})
    assert picked and {c.rsplit(":", 1)[0] for c, _ in picked} <= {"a3", "late"}
    assert index.date_keys_of([c for c, _ in hits]) == {c: dates[c] for c, _ in hits}


def test_a_write_costs_what_it_changes(tmp_path: Path) -> None:
    """Adding one article to a 3,000-chunk index writes a small segment and a manifest,
    never the index again."""
    rng = random.Random(5)
    folder = tmp_path / "kw"
    index = KeywordIndex(folder)
    index.update([c for i in range(1000) for c in article(f"a{i}", rng, 3)], [], "g0")

    def sizes() -> dict[Path, tuple[int, int]]:
        return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
                if p.is_file()}

    before = sizes()
    index.update(article("new", rng), ["a5"], "g1")
    after = sizes()
    written = sum(s for p, (s, m) in after.items() if before.get(p, (0, 0))[1] != m)
    assert written < 0.05 * sum(s for s, _ in before.values())
    assert [c for c, _ in index.search("harbour", 5000) if c.startswith("a5:")] == []
    assert len(KeywordIndex(folder)) == 3000 - 3 + 2


def test_an_index_saved_before_segments_opens_without_the_store(tmp_path: Path) -> None:
    """Format 1 (one bm25s index per version, `v-*`): converted to a segment from its own
    saved term ids, keeping generation, hashes and log position."""
    folder = tmp_path / "kw"
    version = folder / "v-0123456789ab"
    version.mkdir(parents=True)
    vocab = {"harbour": 0, "strike": 1, "ferri": 2}
    docs = {"b:0": [2, 2], "a:0": [0, 1], "a:1": [1]}
    lengths = [len(t) for t in docs.values()]
    np.savez(version / "terms.npz", offsets=np.r_[0, np.cumsum(lengths)],
             flat=np.array([t for ts in docs.values() for t in ts], dtype=np.int32),
             chunk_ids=np.array(list(docs)), article_ids=np.array(["b", "a", "a"]),
             date_keys=np.array([20240101, 20240102, 20240102], dtype=np.int32))
    (version / "vocab.json").write_text(json.dumps(vocab))
    (version / "hashes.json").write_text(json.dumps({"a": "ha", "b": "hb"}))
    (version / "state.json").write_text(json.dumps({"generation": "g7", "chunks": 3,
                                                    "log_seq": 4}))
    (folder / "current").write_text(version.name)
    index = KeywordIndex(folder)
    assert (index.generation, index._state.log_seq, len(index)) == ("g7", 4, 3)
    assert index._state.hashes == {"a": "ha", "b": "hb"}
    assert index.search("ferry", 5)[0][0] == "b:0"
    assert index.search("harbour strike", 5)[0][0] == "a:0"
    assert not version.exists()  # written again in the new format
    assert len(KeywordIndex(folder)) == 3


def test_a_process_beside_an_ingest_adopts_its_saved_version(tmp_path: Path) -> None:
    """`newsqa ingest` beside a running server: the server's keyword index takes the
    version the ingest saved (no segment written twice) and finds the new article."""
    from assistant.service import Assistant
    from tests.conftest import make_settings
    from tests.fakes import FakeEmbedder

    settings = make_settings(tmp_path / "h")
    f = tmp_path / "c.jsonl"
    f.write_text(json.dumps({"id": "a", "text": "Zanzibar farmers expect a clove harvest."})
                 + "\n")
    server = Assistant(settings, embedder=FakeEmbedder())
    server.ingest([f])
    assert server.keyword.search("clove", 5)
    g = tmp_path / "d.jsonl"
    g.write_text(json.dumps({"id": "b", "text": "A ferry now links Lamu and Mombasa."}) + "\n")
    Assistant(settings, embedder=FakeEmbedder()).ingest([g])  # another process, same home
    folder = server.keyword.folder
    segments = sorted(p.name for p in folder.glob("seg-*"))
    assert server.keyword.sync(server.store)
    assert sorted(p.name for p in folder.glob("seg-*")) == segments
    assert server.keyword._state.manifest == (folder / "current").read_text()
    assert server.keyword.search("ferry Lamu", 5)[0][0] == "b:0"


def test_files_no_version_names_are_removed_only_once_settled(tmp_path: Path) -> None:
    """Another process on the home may be writing a segment its manifest does not name
    yet: it is left alone until it is GRACE_S old, then removed."""
    import os

    from index import keyword

    rng = random.Random(1)
    index = KeywordIndex(tmp_path / "kw")
    index.update(article("a", rng), [], "g0")
    pending = tmp_path / "kw" / "seg-another-writer"
    pending.mkdir()
    index.update(article("b", rng), [], "g1")
    assert pending.exists()
    old = pending.stat().st_mtime - keyword.GRACE_S - 1
    os.utime(pending, (old, old))
    index.update(article("c", rng), [], "g2")
    assert not pending.exists()
    assert len(KeywordIndex(tmp_path / "kw")) == 6


def test_an_article_without_chunks_keeps_its_hash_until_removed(tmp_path: Path) -> None:
    """A sync must not fetch an article again because it had nothing to index: its hash
    is recorded alone, survives a reopen and merges, and goes with a removal."""
    rng = random.Random(2)
    index = KeywordIndex(tmp_path / "kw")
    index.update(article("a", rng), [], "g0", {"a": "ha"})
    index.update([], [], "g1", {"empty": "he"})
    for i in range(10):  # enough small writes to merge the one that recorded it
        index.update(article(f"b{i}", rng), [], f"g{i + 2}", {f"b{i}": "hb"})
    reopened = KeywordIndex(tmp_path / "kw")
    assert reopened._state.hashes["empty"] == "he"
    reopened.update([], ["empty", "a"], "g20")
    assert "empty" not in reopened._state.hashes and "a" not in reopened._state.hashes
    again = KeywordIndex(tmp_path / "kw")
    assert set(again._state.hashes) == {f"b{i}" for i in range(10)}
    assert len(again) == 20
