"""One Chroma collection against monthly ones at 1M chunks (issue 34, point 4: measure,
adopt if they win).

The product keeps every chunk in one collection (`index.store`). This script measures the
candidate layout outside the product, with chromadb directly, on a copy of a bench home's
vectors (`bench/scale.py` builds the 1M home): every chunk's vector and date go into one
collection per month of its article's date (`m-YYYYMM`; undated: `m-none`), in a scratch
folder, with the product's HNSW settings; the home's own collection is the one-collection
side (queried for ids and distances only; both sides take dates from the same table).

    .venv/bin/python bench/partitions.py --home /tmp/scale/home --work /tmp/part --build
    .venv/bin/python bench/partitions.py --home /tmp/scale/home --work /tmp/part [--retention]

What it measures (rtqa-2024's answerable questions, asked as of their dates):

* the dense stage: the `--n` nearest chunks dated on or before the question's date, from
  `all` (over-fetched, then filtered by date, as `index.hybrid` does), from every monthly
  collection up to that month (merged), and from the newest `--months` of them only
  (searching newest first and stopping there, the only early stop a rank fusion allows:
  the recency prior is at most x2, so no older month can be ruled out exactly); p50 / p95
  latency, and how many of the one-collection neighbours each finds;
* recall on real questions: whether a supporting article is among the first 10 articles
  of the dense neighbours ranked by reciprocal rank times the recency prior
  (`index.hybrid.recency_boost`);
* one-article ingest: a fresh process opening the store and adding 10 chunks (then
  deleting them), into the home's collection and into the newest month, three times each
  (median);
* `--retention` (destroys the copy, last): dropping the oldest months, 10% of the chunks
  (`newsqa prune` of the same share through the store is bench/scale.py's figure).

Quality figures come from the real questions and articles; the synthetic copies in the
home only make the collections big.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import harness
import numpy as np

CHUNKS = "newsqa-chunks"  # the home's one collection (`index.store`, default name)
FLUSH = 10_000  # rows buffered per month before an add
HNSW = {"hnsw:space": "cosine", "hnsw:construction_ef": 100, "hnsw:search_ef": 100,
        "hnsw:M": 16}
BATCH = 2000


def client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(path), settings=Settings(
        anonymized_telemetry=False))


def month_of(key: int) -> str:
    return f"m-{key // 100}" if key else "m-none"


def build(home: Path, work: Path) -> dict[str, Any]:
    """Copy every chunk's vector from the home's chunks collection into one collection
    per month under `work` (buffered, so that each add is large), and keep every chunk's
    date key beside them (`keys.json`): both layouts filter by date from it, as the
    product filters from its keyword index."""
    source = client(home / "chroma").get_collection(CHUNKS)
    total = source.count()
    target = client(work)
    months: dict[str, Any] = {}
    pending: dict[str, tuple[list[str], list[np.ndarray], list[int]]] = defaultdict(
        lambda: ([], [], []))
    keys: dict[str, int] = {}
    t0 = time.perf_counter()
    read_s = write_s = 0.0

    def flush(name: str) -> None:
        nonlocal write_s
        ids, vecs, ks = pending.pop(name)
        if name not in months:
            months[name] = target.get_or_create_collection(name, metadata=HNSW,
                                                           embedding_function=None)
        t = time.perf_counter()
        for i in range(0, len(ids), 5000):
            months[name].add(ids=ids[i:i + 5000], embeddings=np.stack(vecs[i:i + 5000]),
                             metadatas=[{"date_key": k} for k in ks[i:i + 5000]])
        write_s += time.perf_counter() - t

    offset = 0
    while offset < total:
        t = time.perf_counter()
        got = source.get(limit=BATCH, offset=offset, include=["embeddings", "metadatas"])
        read_s += time.perf_counter() - t
        if not got["ids"]:
            break
        vecs = np.asarray(got["embeddings"], dtype=np.float32)
        for i, (cid, meta) in enumerate(zip(got["ids"], got["metadatas"], strict=True)):
            key = int((meta or {}).get("date_key") or 0)
            keys[cid] = key
            name = month_of(key)
            buf = pending[name]
            buf[0].append(cid)
            buf[1].append(vecs[i])
            buf[2].append(key)
            if len(buf[0]) >= FLUSH:
                flush(name)
        offset += len(got["ids"])
        if offset % (50 * BATCH) == 0:
            print(f"  {offset:,} / {total:,} chunks, {time.perf_counter() - t0:.0f} s",
                  flush=True)
    for name in list(pending):
        flush(name)
    (work / "keys.json").write_text(json.dumps(keys))
    return {"chunks": offset, "months": len(months), "read_s": round(read_s, 1),
            "write_monthly_s": round(write_s, 1),
            "total_s": round(time.perf_counter() - t0, 1)}


def questions(limit: int) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in
            (harness.SHARED / "rtqa-2024" / "questions.jsonl").read_text().splitlines()]
    return [q for q in rows if q.get("supporting_ids") and q.get("date")][:limit]


def embed(texts: list[str], home: Path) -> np.ndarray:
    from assistant.settings import load_settings
    from index.embed import make_embedder

    embedder = make_embedder(load_settings().embedding, home / "models")
    return np.stack([embedder.embed_query(t) for t in texts])


def from_one(col: Any, keys: dict[str, int], vec: np.ndarray, n: int, max_key: int
             ) -> list[tuple[str, float, int]]:
    """The n nearest dated on or before max_key (or undated) from one collection:
    over-fetch, filter by the date keys, fetch more while too few survive (as
    `index.hybrid.dense_ids`)."""
    fetch = 3 * n if max_key < 99991231 else n
    while True:
        got = col.query(query_embeddings=[vec.tolist()], n_results=fetch,
                        include=["distances"])
        rows = [(cid, 1 - d, keys.get(cid, 0)) for cid, d in
                zip(got["ids"][0], got["distances"][0], strict=True)]
        kept = [r for r in rows if r[2] <= max_key]
        if len(kept) >= n or len(rows) < fetch or fetch >= 8000:
            return kept[:n]
        fetch = min(8000, max(2 * fetch, int(1.5 * n * len(rows) / max(len(kept), 1))))


def from_months(cols: dict[str, Any], sizes: dict[str, int], keys: dict[str, int],
                vec: np.ndarray, n: int, max_key: int, newest: int | None
                ) -> list[tuple[str, float, int]]:
    """The n nearest from the monthly collections up to max_key's month, newest first,
    all of them or the `newest` many (and the undated one)."""
    own = month_of(max_key)
    names = sorted((m for m in cols if m != "m-none" and m <= own), reverse=True)
    if newest is not None:
        names = names[:newest]
    rows: list[tuple[str, float, int]] = []
    for name in [*names, "m-none"]:
        col = cols.get(name)
        if col is None or not sizes[name]:
            continue
        if name == own:
            rows += from_one(col, keys, vec, min(n, sizes[name]), max_key)
            continue
        got = col.query(query_embeddings=[vec.tolist()], n_results=min(n, sizes[name]),
                        include=["distances"])
        rows += [(cid, 1 - d, keys.get(cid, 0)) for cid, d in
                 zip(got["ids"][0], got["distances"][0], strict=True)]
    rows.sort(key=lambda r: -r[1])
    return rows[:n]


def top_articles(rows: list[tuple[str, float, int]], as_of: date, k: int = 10) -> list[str]:
    """Articles of the neighbours ranked by reciprocal rank times the recency prior."""
    from index.hybrid import recency_boost

    scored = sorted(((1 / (60 + r + 1)) * recency_boost(key, as_of, 1.0, 30.0), cid)
                    for r, (cid, _, key) in enumerate(rows))
    out: list[str] = []
    for _, cid in sorted(scored, reverse=True):
        art = cid.rsplit(":", 1)[0]
        if art not in out:
            out.append(art)
        if len(out) == k:
            break
    return out


INGEST = """
import sys, time, numpy as np
t = time.perf_counter()
import chromadb
from chromadb.config import Settings
c = chromadb.PersistentClient(path=sys.argv[1], settings=Settings(anonymized_telemetry=False))
col = c.get_collection(sys.argv[2])
rng = np.random.default_rng(int(sys.argv[3]))
v = rng.normal(size=(10, 384)).astype(np.float32)
v /= np.linalg.norm(v, axis=1, keepdims=True)
ids = [f"bench-ingest-{sys.argv[3]}:{i}" for i in range(10)]
col.add(ids=ids, embeddings=v, metadatas=[{"date_key": 20250701}] * 10)
col.delete(ids=ids)
print(time.perf_counter() - t)
"""


def ingest_once(path: Path, name: str, seed: int) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", INGEST, str(path), name, str(seed)], check=True,
                   capture_output=True)
    return time.perf_counter() - t


def measure(home: Path, work: Path, n: int, limit: int, month_counts: list[int]
            ) -> dict[str, Any]:
    target = client(work)
    cols = {c.name: target.get_collection(c.name) for c in target.list_collections()}
    everything = client(home / "chroma").get_collection(CHUNKS)
    keys: dict[str, int] = json.loads((work / "keys.json").read_text())
    sizes = {name: col.count() for name, col in cols.items()}
    qs = questions(limit)
    vecs = embed([q["question"] for q in qs], home)
    variants: dict[str, Any] = {"one collection": None, "every month": None,
                                **{f"newest {m} months": m for m in month_counts}}
    times: dict[str, list[float]] = {v: [] for v in variants}
    found: dict[str, list[float]] = {v: [] for v in variants}
    hits: dict[str, list[float]] = {v: [] for v in variants}
    # Warm-up: every collection's index loaded once, as a long-running server has them.
    for col in [everything, *cols.values()]:
        col.query(query_embeddings=[vecs[0].tolist()], n_results=1, include=["distances"])
    for q, vec in zip(qs, vecs, strict=True):
        as_of = date.fromisoformat(q["date"])
        key = as_of.year * 10000 + as_of.month * 100 + as_of.day
        support = set(q["supporting_ids"])
        base: set[str] = set()
        for label, months in variants.items():
            t = time.perf_counter()
            if label == "one collection":
                rows = from_one(everything, keys, vec, n, key)
            else:
                rows = from_months(cols, sizes, keys, vec, n, key, months)
            times[label].append((time.perf_counter() - t) * 1000)
            ids = {r[0] for r in rows}
            if label == "one collection":
                base = ids
            found[label].append(len(ids & base) / max(len(base), 1))
            hits[label].append(float(bool(support & set(top_articles(rows, as_of)))))
    # Without a date (a chat question with no as-of): every month, against one query.
    undated: dict[str, list[float]] = {"one collection": [], "every month": []}
    for vec in vecs:
        for label in undated:
            t = time.perf_counter()
            if label == "one collection":
                from_one(everything, keys, vec, n, 99991231)
            else:
                from_months(cols, sizes, keys, vec, n, 99991231, None)
            undated[label].append((time.perf_counter() - t) * 1000)
    out: dict[str, Any] = {"questions": len(qs), "n": n, "months": len(cols), "dense": {},
                           "dense_without_date": {
                               label: {"p50_ms": round(harness.percentile(v, 50), 1),
                                       "p95_ms": round(harness.percentile(v, 95), 1)}
                               for label, v in undated.items()}}
    for label in variants:
        out["dense"][label] = {
            "p50_ms": round(harness.percentile(times[label], 50), 1),
            "p95_ms": round(harness.percentile(times[label], 95), 1),
            "share_of_one_collection_neighbours": round(statistics.mean(found[label]), 4),
            "supporting_hit_at_10": round(statistics.mean(hits[label]), 4)}
    newest = max(m for m in cols if m != "m-none")
    # Ten chunks added and deleted again: in the home's own collection (through chromadb,
    # not the store: no log entry, the count unchanged) and in the newest month's.
    out["ingest_s"] = {
        "one collection": round(statistics.median(
            ingest_once(home / "chroma", CHUNKS, seed) for seed in range(3)), 2),
        f"newest month ({newest})": round(statistics.median(
            ingest_once(work, newest, seed) for seed in range(3)), 2)}
    return out


def retention(work: Path) -> dict[str, Any]:
    """Remove the oldest 10% of the chunks by dropping whole months (the one collection's
    figure is `newsqa prune`'s, from bench/scale.py: it deletes by id through the store)."""
    target = client(work)
    cols = {c.name: target.get_collection(c.name) for c in target.list_collections()}
    sizes = {name: col.count() for name, col in cols.items()}
    total = sum(sizes.values())
    dropped, count = [], 0
    for name in sorted(m for m in cols if m != "m-none"):
        if count >= total // 10:
            break
        dropped.append(name)
        count += sizes[name]
    t = time.perf_counter()
    for name in dropped:
        target.delete_collection(name)
    return {"chunks": count, "share": round(count / total, 4), "months": len(dropped),
            "monthly_drop_s": round(time.perf_counter() - t, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True,
                        help="a bench home (bench/scale.py) whose chunks are copied")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder")
    parser.add_argument("--build", action="store_true", help="copy the vectors first")
    parser.add_argument("--n", type=int, default=100,
                        help="dense neighbours per question (the retriever's candidates)")
    parser.add_argument("--limit", type=int, default=300, help="questions asked")
    parser.add_argument("--months", type=int, nargs="+", default=[3, 6, 12],
                        help="newest-first searches stopping after this many months")
    parser.add_argument("--retention", action="store_true",
                        help="last: remove the oldest 10%% both ways (destroys the copy)")
    args = parser.parse_args()
    out: dict[str, Any] = {}
    if args.build:
        out["build"] = build(args.home, args.work)
        print(json.dumps(out["build"]), flush=True)
    out["measure"] = measure(args.home, args.work, args.n, args.limit, args.months)
    if args.retention:
        out["retention"] = retention(args.work)
    print(json.dumps(out, indent=2))
    harness.OUT.mkdir(parents=True, exist_ok=True)
    (harness.OUT / "partitions.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
