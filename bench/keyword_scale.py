"""Keyword engines at 10k / 100k / 300k / 1M chunks (issue 34, point 2): what a write
costs as the index grows, what a query costs, memory, disk, and ranking parity.

Engines, each behind the same four calls (build, open, update, search):
- `v1`: the engine before segments, one bm25s index rebuilt and rewritten whole on
  every write (loaded from git, commit `V1_COMMIT`, so it is measured as it shipped);
- `segments`: `index.keyword.KeywordIndex`, immutable segments merged by tier;
- `fts5`: SQLite FTS5 (stdlib) over the same stemmed terms, bm25() ranking, a table of
  chunk dates and articles beside it.

Texts: the real chunks of rtqa-2022/2023/2024 (`keyword_corpus.py`, ~190k), then marked
synthetic variants (sentences reordered, new ids, dates shifted) up to the size; the
synthetic part measures cost only. Queries: rtqa-2022/2023 questions. Each (engine,
size) runs in its own process, so memory is its own: build, open from disk (time, RSS),
queries p50 / p95 (plain, dated 'as of', limited to 2,000 articles), one article added,
1,000 articles added (the same 1,000 removed first, so sizes stay put).

    .venv/bin/python bench/keyword_scale.py --sizes 10000 100000 300000 1000000
    .venv/bin/python bench/keyword_scale.py --parity   # keyword-only Hit@10, real years
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import harness
import keyword_corpus
import numpy as np

from index.chunk import Chunk
from index.record import date_key

V1_COMMIT = "2591745"
ENGINES = ("v1", "segments", "fts5")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def v1_class() -> Any:
    """The keyword index as it was at V1_COMMIT."""
    source = subprocess.run(["git", "show", f"{V1_COMMIT}:index/keyword.py"], cwd=harness.ROOT,
                            capture_output=True, text=True, check=True).stdout
    path = Path("/tmp/keyword_v1.py")
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("keyword_v1", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["keyword_v1"] = module
    spec.loader.exec_module(module)
    return module.KeywordIndex


class Fts5:
    """SQLite FTS5 over the stemmed terms (the same Terms as the project's index)."""

    def __init__(self, folder: Path) -> None:
        from index.keyword import Terms

        folder.mkdir(parents=True, exist_ok=True)
        self.terms = Terms()
        self.db = sqlite3.connect(folder / "fts.sqlite", check_same_thread=False)
        self.db.executescript(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(terms, detail=column);"
            "CREATE TABLE IF NOT EXISTS docs(rowid INTEGER PRIMARY KEY, chunk TEXT UNIQUE,"
            " article TEXT, date_key INTEGER);"
            "CREATE INDEX IF NOT EXISTS docs_article ON docs(article);")

    def _text(self, text: str) -> str:
        return " ".join(t.replace("'", "") for t in self.terms(text))

    def update(self, added: Sequence[tuple[Chunk, int]], removed: Collection[str],
               generation: str, hashes: Any = None) -> None:
        gone = set(removed) | {c.article_id for c, _ in added}
        with self.db:
            for a in gone:
                rows = [r for (r,) in self.db.execute("SELECT rowid FROM docs WHERE article=?",
                                                      (a,))]
                self.db.executemany("DELETE FROM fts WHERE rowid=?", [(r,) for r in rows])
                self.db.executemany("DELETE FROM docs WHERE rowid=?", [(r,) for r in rows])
            for c, d in added:
                cur = self.db.execute("INSERT INTO docs(chunk, article, date_key) VALUES(?,?,?)",
                                      (c.id, c.article_id, d))
                self.db.execute("INSERT INTO fts(rowid, terms) VALUES(?, ?)",
                                (cur.lastrowid, self._text(c.text)))

    def rebuild(self, chunks: Any, generation: str, hashes: Any = None) -> None:
        self.update(list(chunks), [], generation)

    def __len__(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM docs").fetchone()[0])

    def search(self, query: str, top_k: int, max_date_key: int | None = None,
               articles: Collection[str] | None = None) -> list[tuple[str, float]]:
        words = sorted({t.replace("'", "") for t in self.terms(query)} - {""})
        if not words:
            return []
        match = " OR ".join(f'"{w}"' for w in words)
        sql = ("SELECT d.chunk, -bm25(fts) FROM fts JOIN docs d ON d.rowid = fts.rowid "
               "WHERE fts MATCH ?")
        args: list[Any] = [match]
        if max_date_key is not None:
            sql += " AND (d.date_key <= ? OR d.date_key = 0)"
            args.append(max_date_key)
        if articles is not None:
            self.db.execute("CREATE TEMP TABLE IF NOT EXISTS pick(article TEXT PRIMARY KEY)")
            self.db.execute("DELETE FROM pick")
            self.db.executemany("INSERT OR IGNORE INTO pick VALUES(?)", [(a,) for a in articles])
            sql += " AND d.article IN (SELECT article FROM pick)"
        sql += " ORDER BY bm25(fts) LIMIT ?"
        args.append(top_k)
        return [(c, float(s)) for c, s in self.db.execute(sql, args)]


def engine(name: str, folder: Path) -> Any:
    if name == "v1":
        return v1_class()(folder)
    if name == "segments":
        from index.keyword import KeywordIndex

        return KeywordIndex(folder)
    return Fts5(folder)


def chunks_of(data: dict[str, np.ndarray], rows: Sequence[int] | range) -> list[tuple[Chunk, int]]:
    out = []
    for i in rows:
        text = str(data["texts"][i])
        cid = str(data["ids"][i])
        out.append((Chunk(id=cid, article_id=str(data["articles"][i]),
                          index=int(cid.rsplit(":", 1)[1]), text=text, start=0, end=len(text)),
                    int(data["date_keys"][i])))
    return out


def questions(years: Sequence[str] = ("rtqa-2022", "rtqa-2023"), n: int = 200,
              seed: int = 34) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for year in years:
        with open(harness.SHARED / year / "questions.jsonl") as f:
            rows += [json.loads(line) for line in f]
    random.Random(seed).shuffle(rows)
    return rows[:n]


def timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args, **kw)
    return out, time.perf_counter() - t


def measure(name: str, size: int, cache: Path, work: Path) -> dict[str, Any]:
    """One engine at one size, in this process."""
    real = keyword_corpus.load(cache)
    data = keyword_corpus.synthetic(real, size) if size > len(real["ids"]) else {
        k: v[:size] for k, v in real.items()}
    del real
    n = len(data["ids"])
    # The last 1,000 articles are held back and added as one poll; one more article
    # before them is the single-article write.
    articles = list(dict.fromkeys(str(a) for a in data["articles"]))
    many = min(1000, len(articles) // 5)  # fewer in a small index
    poll = set(articles[-many:])
    single = articles[-many - 1]
    held = {single} | poll
    rows_base = [i for i in range(n) if str(data["articles"][i]) not in held]
    rows_single = [i for i in range(n) if str(data["articles"][i]) == single]
    rows_poll = [i for i in range(n) if str(data["articles"][i]) in poll]
    folder = work / f"{name}-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    result: dict[str, Any] = {"engine": name, "size": n, "real": min(n, 189_518),
                              "poll_articles": many}

    index = engine(name, folder)
    _, result["build_s"] = timed(index.rebuild, chunks_of(data, rows_base), "g0",
                                 {a: "h" for a in articles if a not in held})
    del index
    gc.collect()
    before = rss_mb()
    index, result["open_s"] = timed(engine, name, folder)
    result["rss_open_mb"] = rss_mb() - before

    qs = questions()
    pick = set(random.Random(1).sample(articles[:len(articles) - many - 1],
                                      min(2000, len(articles) // 2)))

    def latencies(**kw: Any) -> list[float]:
        times = []
        for q in qs:
            extra = dict(kw)
            if extra.get("max_date_key") == "q":
                extra["max_date_key"] = date_key(_day(q["date"]))
            _, dt = timed(index.search, q["question"], 50, **extra)
            times.append(dt * 1000)
        return times

    latencies()  # warm: pages mapped, caches filled
    for label, kw in (("plain", {}), ("dated", {"max_date_key": "q"}),
                      ("articles", {"articles": pick})):
        t = latencies(**kw)
        result[f"query_{label}_p50_ms"] = harness.percentile(t, 50)
        result[f"query_{label}_p95_ms"] = harness.percentile(t, 95)
    result["rss_queried_mb"] = rss_mb() - before
    _, result["update_1_article_s"] = timed(index.update, chunks_of(data, rows_single), [],
                                           "g1", {single: "h"})
    _, result["update_poll_s"] = timed(index.update, chunks_of(data, rows_poll), [],
                                               "g2", dict.fromkeys(poll, "h"))
    result["chunks_after"] = len(index)
    _, result["remove_poll_s"] = timed(index.update, [], sorted(poll), "g3")
    result["disk_mb"] = disk_mb(folder)
    result["rss_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    shutil.rmtree(folder, ignore_errors=True)
    return result


def _day(text: str) -> Any:
    from datetime import date

    return date.fromisoformat(text)


def parity(cache: Path, work: Path, engines: Sequence[str]) -> dict[str, Any]:
    """Keyword-only Hit@10 by supporting article, each training year's questions over
    that year's real chunks, as of each question's date."""
    real = keyword_corpus.load(cache)
    out: dict[str, Any] = {}
    for year in ("rtqa-2022", "rtqa-2023"):
        import gzip

        with gzip.open(harness.SHARED / year / "corpus.jsonl.gz", "rt") as f:
            ids = {json.loads(line)["id"] for line in f}
        rows = [i for i in range(len(real["ids"])) if str(real["articles"][i]) in ids]
        with open(harness.SHARED / year / "questions.jsonl") as f:
            qs = [q for q in map(json.loads, f) if q.get("supporting_ids")]
        for name in engines:
            folder = work / f"parity-{name}-{year}"
            shutil.rmtree(folder, ignore_errors=True)
            index = engine(name, folder)
            index.rebuild(chunks_of(real, rows), "g0", {})
            hits = []
            for q in qs:
                found = index.search(q["question"], 40, max_date_key=date_key(_day(q["date"])))
                top = list(dict.fromkeys(c.rsplit(":", 1)[0] for c, _ in found))[:10]
                hits.append(bool(set(top) & set(q["supporting_ids"])))
            out[f"{year}/{name}"] = {"questions": len(qs), "hit@10": float(np.mean(hits))}
            print(year, name, out[f"{year}/{name}"], flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/kw/real.npz"),
                    help="chunk texts from keyword_corpus.py")
    ap.add_argument("--work", type=Path, default=Path("/tmp/kw/work"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--engines", nargs="*", default=list(ENGINES))
    ap.add_argument("--parity", action="store_true")
    ap.add_argument("--one", nargs=2, metavar=("ENGINE", "SIZE"), help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, default=harness.OUT / "keyword_scale.jsonl")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), args.cache, args.work)))
        return
    if args.parity:
        result = parity(args.cache, args.work, args.engines)
        with open(args.out.with_name("keyword_parity.json"), "w") as f:
            json.dump(result, f, indent=1)
        return
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        for name in args.engines:
            run = subprocess.run([sys.executable, __file__, "--one", name, str(size),
                                  "--cache", str(args.cache), "--work", str(args.work)],
                                 capture_output=True, text=True)
            if run.returncode:
                print(f"{name} at {size}: failed\n{run.stderr[-2000:]}", flush=True)
                continue
            row = json.loads(run.stdout.strip().splitlines()[-1])
            print(json.dumps(row), flush=True)
            with open(args.out, "a") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
