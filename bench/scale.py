"""A big bench home grown in steps, each stage measured at every step (issue 34, point 1).

Building: the articles of existing homes (`--source`, e.g. the full rtqa-2022 and
rtqa-2024 homes: real texts, embedded with the real model) are written into a new home
(`--home`) with their stored vectors, through the store's and keyword index's own write
path; then marked synthetic copies until the size: article `syn<k>-<id>`, titled
"[synthetic k] ...", dated k months later, source `synthetic-<k>`, the same text (so
every citation span holds), each vector the source chunk's plus small noise. The
synthetic part measures cost only: quality figures come from real questions over the
real articles (`newsqa eval` on the source homes).

At each size in `--sizes` (chunks), in fresh processes: opening the home, `info`, warm
asks p50 / p95 (rtqa-2024 questions as of their dates, the same without a date, and
limited to one source), RSS after the asks, the `newsqa info` command (before and after
the writes), `newsqa ingest` of one short article, and `newsqa check`. Results append to
bench/out/scale.jsonl; the home is kept for the next run, which goes on from its size.

    .venv/bin/python bench/scale.py --source /tmp/rtqa24 /tmp/rtqa22 --home /tmp/scale/home \
        --sizes 100000 300000 1000000
    .venv/bin/python bench/scale.py --source - --home /tmp/scale/home --sizes 1000000 \
        --server 8765        # the same home through `chroma run` on loopback

With --server the measuring process and the one-article ingests reach the home's Chroma
folder through `chroma run` (the server's RSS is reported beside), the rest of the home
(keyword index, locks) as before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import harness
import numpy as np

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
BATCH = 200  # articles per write


def open_bot(home: Path) -> Any:
    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    bot.open()
    return bot


def source_store(home: Path) -> Any:
    """The store of a source home, opened read-only in effect (nothing else of the home
    is opened, so its keyword index is left as it is)."""
    from assistant.settings import load_settings
    from index.store import Store

    settings = load_settings(home=home)
    store = Store(settings.store, settings.chroma_dir)
    store.open()
    return store


def shifted(day: date | None, months: int) -> date | None:
    if day is None:
        return None
    y, m = divmod(day.month - 1 + months, 12)
    return date(day.year + y, m + 1, min(day.day, 28))


def grow(target: Any, sources: list[Path], size: int, seed: int = 34) -> None:
    """Write into `target` until it holds `size` chunks: the sources' articles first,
    then synthetic copies of them (round k copies every source article once)."""
    from index.chunk import Chunk
    from index.record import date_key

    rng = np.random.default_rng(seed)
    have = target.store.counts()[1]
    done = set(target.store.records())
    k = 0
    while have < size:
        for src_home in sources:
            src = source_store(src_home)
            records = src.records()
            ids = sorted(records)
            for start in range(0, len(ids), BATCH):
                part = ids[start:start + BATCH]
                names = {a: (a if k == 0 else f"syn{k}-{a}") for a in part}
                part = [a for a in part if names[a] not in done]
                if not part:
                    continue
                articles = src.articles(part)
                rows = src.rows([f"{a}:{i}" for a in part for i in range(records[a].chunks)])
                arts = []
                for a in part:
                    art = articles[a]
                    if k:
                        art = replace(art, id=names[a], title=f"[synthetic {k}] {art.title}",
                                      date=shifted(art.date, k), source=f"synthetic-{k}",
                                      url=None)
                    arts.append(art)
                by_id = {names[a]: art for a, art in zip(part, arts, strict=True)}
                chunks, vectors = [], []
                for c, _, vec in rows:
                    new = names[c.article_id]
                    chunks.append(Chunk(id=f"{new}:{c.index}", article_id=new, index=c.index,
                                        text=c.text, start=c.start, end=c.end))
                    if k:
                        vec = vec + rng.normal(0, 0.02, vec.shape).astype(np.float32)
                        vec /= np.linalg.norm(vec)
                    vectors.append(vec)
                target.store.write(arts, chunks, np.array(vectors, dtype=np.float32))
                target.keyword.update(
                    [(c, date_key(by_id[c.article_id].date)) for c in chunks], [],
                    target.store.generation(), {a.id: a.hash for a in arts},
                    log_seq=target.store.log_position())
                done.update(by_id)
                have += len(chunks)
                if have >= size:
                    return
        k += 1


def newsqa(home: Path, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ui.cli", "--home", str(home), *args],
                   cwd=harness.ROOT, check=True, capture_output=True)
    return time.perf_counter() - t


def serve_chroma(path: Path, port: int) -> subprocess.Popen[bytes]:
    """`chroma run` over the home's own Chroma folder (no writer may use it meanwhile)."""
    import socket

    server = subprocess.Popen([str(Path(sys.executable).parent / "chroma"), "run", "--path",
                               str(path), "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("chroma run did not start")


def rss_of(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def measure(home: Path, questions: int) -> dict[str, Any]:
    """The stages of one size, in this (fresh) process."""
    import resource

    import warm_ask

    from index.scope import Scope

    t = time.perf_counter()
    bot = open_bot(home)
    out: dict[str, Any] = {"open_s": time.perf_counter() - t}
    t = time.perf_counter()
    info = bot.info()
    out["info_s"] = time.perf_counter() - t
    out["chunks"] = info["chunks"]
    out["articles"] = info["articles"]
    stages = warm_ask.measure(home, "rtqa-2024", questions, runs=1, bot=bot)["stages"]
    out["ask_as_of_p50_ms"] = stages["total"]["p50"]
    out["ask_as_of_p95_ms"] = stages["total"]["p95"]
    out["bm25_p50_ms"] = stages["retrieve.bm25"]["p50"]
    out["dense_p50_ms"] = stages["retrieve.dense"]["p50"]
    qs = warm_ask.questions_of("rtqa-2024", questions)
    for label, kwargs in (("plain", {}), ("source", {"scope": Scope(sources=("synthetic-1",))})):
        times = []
        for text, _ in qs:
            t = time.perf_counter()
            bot.ask(text, **kwargs)
            times.append((time.perf_counter() - t) * 1000)
        out[f"ask_{label}_p50_ms"] = statistics.median(times)
        out[f"ask_{label}_p95_ms"] = harness.percentile(times, 95)
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", type=Path, nargs="+", required=True)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--questions", type=int, default=40)
    ap.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--no-check", action="store_true", help="skip `newsqa check`")
    ap.add_argument("--measure-only", action="store_true",
                    help="measure the home as it is, without growing it")
    ap.add_argument("--server", type=int, metavar="PORT",
                    help="serve the home's Chroma folder with `chroma run` on PORT and "
                         "measure through it (implies --measure-only)")
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.home, args.questions)))
        return
    out = harness.OUT / "scale.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    args.home.parent.mkdir(parents=True, exist_ok=True)
    item = args.home.parent / "scale-one.jsonl"
    if not (args.home / "chroma").exists():  # a new home, made as a user makes one
        import gzip

        with gzip.open(harness.SHARED / "rtqa-2022" / "corpus.jsonl.gz", "rt") as f:
            first = json.loads(f.readline())
        item.write_text(json.dumps(first) + "\n")
        newsqa(args.home, "ingest", str(item))
    server = None
    if args.server:
        server = serve_chroma(args.home / "chroma", args.server)
        os.environ["NEWSQA_STORE__CHROMA_URL"] = f"http://127.0.0.1:{args.server}"
        args.measure_only = True
    for size in args.sizes[-1:] if args.measure_only else args.sizes:
        row: dict[str, Any] = {"size": size, "store": "server" if server else "embedded"}
        if not args.measure_only:
            bot = open_bot(args.home)
            t = time.perf_counter()
            grow(bot, args.source, size)
            row["grow_s"] = time.perf_counter() - t
            del bot
        run = subprocess.run([sys.executable, __file__, "--measure", "--source", "-",
                              "--home", str(args.home), "--questions", str(args.questions)],
                             capture_output=True, text=True, check=True)
        row.update(json.loads(run.stdout.strip().splitlines()[-1]))
        # the command: its first run may make the data home's catalog (once per home)
        row["info_cli_first_s"] = newsqa(args.home, "info")
        times = []
        for i in range(3):
            item.write_text(json.dumps({"id": f"scale-one-{i}", "title": "Ferry timetable",
                                        "text": "The harbour board approved a new ferry "
                                                f"timetable on Tuesday, number {i}."}) + "\n")
            times.append(newsqa(args.home, "ingest", str(item)))
            newsqa(args.home, "remove", f"scale-one-{i}")
        row["ingest_one_s"] = statistics.median(times)
        row["info_cli_s"] = newsqa(args.home, "info")  # after writes: the catalog follows
        if not args.no_check:
            row["check_s"] = newsqa(args.home, "check")
        if server is not None:
            row["chroma_server_rss_mb"] = rss_of(server.pid)
        print(json.dumps(row), flush=True)
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")
    if server is not None:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
