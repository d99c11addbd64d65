"""Fault benchmark (issue 13): the "nothing lost" targets, measured with the real model
and the real `newsqa` command in separate processes.

In ONE run, over ../shared/bench/rtqa-2022/corpus.jsonl.gz (read in place; the slices
this script needs are written to a temp dir outside the repository and deleted):
  1. concurrency: `newsqa ingest` of 400 articles into a fresh home, then two
     `newsqa ingest` processes of 100 other articles each, started together. Then: exit
     codes and error lines, every one of the 600 articles findable by its title (among
     the first 10 distinct articles retrieved), article records, chunks, readable vectors
     and keyword entries (`newsqa check`), duplicate chunk ids.
  2. one 50 MB article among 7 good files (made here): exit code, error lines, articles
     indexed, peak RSS of the `newsqa ingest` process (/usr/bin/time).
     With --control, the same 600 articles are also ingested by one writer, and the
     articles not findable by title are compared (generic titles vs. lost articles).
  3. with --ingest-bench: `bench/ingest_bench.py --limit 1000` (ingest-vs-bare-encode
     ratio), run after the rest so that nothing else competes for the 2 cores.

    nice -n 10 .venv/bin/python bench/fault_bench.py [--control] [--ingest-bench]

Results: a markdown table on stdout and bench/out/fault-bench.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import OUT, ROOT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

MB = 1024 * 1024


def read_articles(corpus: Path, n: int) -> list[dict[str, str]]:
    """The first `n` records of the corpus with a title and text (streamed, in place)."""
    out: list[dict[str, str]] = []
    with gzip.open(corpus, "rt", encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("title") and rec.get("text"):
                out.append(rec)
                if len(out) == n:
                    break
    return out


def write_jsonl(path: Path, recs: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs),
                    encoding="utf-8")
    return path


def newsqa(home: Path, *argv: str) -> list[str]:
    return [sys.executable, "-m", "ui.cli", "--home", str(home), *argv]


def cli_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("newsqa:")
            and "waiting for it to finish" not in line]


def title_misses(bot: object, articles: list[dict[str, str]], lead: bool = False
                 ) -> list[str]:
    """Ids of the articles not among the first 10 distinct articles retrieved for their
    title (with `lead`, their title and first 30 words)."""
    misses = []
    for rec in articles:
        query = rec["title"] + (" " + " ".join(rec["text"].split()[:30]) if lead else "")
        passages = bot.retriever.retrieve(query, 50)  # type: ignore[attr-defined]
        top = list(dict.fromkeys(p.article_id for p in passages))[:10]
        if rec["id"] not in top:
            misses.append(rec["id"])
    return misses


def concurrency(tmp: Path, articles: list[dict[str, str]],
                with_control: bool = False) -> dict[str, object]:
    home = tmp / "home-concurrent"
    base = write_jsonl(tmp / "base.jsonl", articles[:400])
    a = write_jsonl(tmp / "a.jsonl", articles[400:500])
    b = write_jsonl(tmp / "b.jsonl", articles[500:600])
    t0 = time.perf_counter()
    first = subprocess.run(newsqa(home, "ingest", "--quiet", str(base)), env=cli_env(),
                           capture_output=True, text=True, cwd=ROOT)
    base_s = time.perf_counter() - t0
    print(f"base: {first.stdout.strip()}", file=sys.stderr)
    t0 = time.perf_counter()
    procs = [subprocess.Popen(newsqa(home, "ingest", "--quiet", str(p)), env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=ROOT) for p in (a, b)]
    outs = [p.communicate() for p in procs]
    both_s = time.perf_counter() - t0
    for out, err in outs:
        print(f"concurrent: {out.strip()} {err.strip()}", file=sys.stderr)
    errors = error_lines(first.stderr) + [e for _, err in outs for e in error_lines(err)]
    waited = sum("waiting for it to finish" in err for _, err in outs)

    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    check = bot.check()
    records = bot.store.records()
    chunk_ids = [c.id for c, _ in bot.store.iter_chunks()]
    t0 = time.perf_counter()
    misses = title_misses(bot, articles)
    # The same search with the article's first words after its title: tells an article
    # that is missing from one whose title is generic ("50 States", a cookie wall's text).
    lead_misses = title_misses(bot, articles, lead=True)
    control: dict[str, object] = {}
    if with_control:  # the same 600 articles ingested by one writer: the reference
        ref = tmp / "home-control"
        shutil.copytree(home / "models", ref / "models")
        subprocess.run(newsqa(ref, "ingest", "--quiet", str(base), str(a), str(b)),
                       env=cli_env(), capture_output=True, text=True, cwd=ROOT, check=True)
        ref_misses = title_misses(Assistant(load_settings(home=ref)), articles)
        control = {"control_single_writer_findable_by_title_top10": 600 - len(ref_misses),
                   "control_same_misses": sorted(ref_misses) == sorted(misses)}
    return {
        "concurrent_exit_codes": [first.returncode] + [p.returncode for p in procs],
        "concurrent_errors": len(errors),
        "concurrent_second_writer_waited": waited,
        "concurrent_base_ingest_s": round(base_s, 1),
        "concurrent_two_ingests_s": round(both_s, 1),
        "articles_expected": 600,
        "articles_indexed": len(records),
        "findable_by_title_top10": 600 - len(misses),
        "not_found": misses[:10],
        "findable_by_title_and_lead_top10": 600 - len(lead_misses),
        **control,
        "title_search_s": round(time.perf_counter() - t0, 1),
        "chunks": check.chunks,
        "chunks_expected_by_records": sum(r.chunks for r in records.values()),
        "vectors_readable": check.chunks - len(check.missing_vectors),
        "keyword_entries": check.keyword_entries,
        "orphan_chunks": len(check.orphan_chunks),
        "duplicate_chunk_ids": len(chunk_ids) - len(set(chunk_ids)),
        "check_consistent": check.ok,
    }


def huge_article(tmp: Path, articles: list[dict[str, str]]) -> dict[str, object]:
    docs = tmp / "docs"
    docs.mkdir()
    for i, rec in enumerate(articles[:7]):
        header = f"title: {rec['title']}\n" + (f"date {rec['date']}\n" if rec.get("date")
                                                else "")
        (docs / f"good-{i}.txt").write_text(header + "\n" + rec["text"], encoding="utf-8")
    sentence = "The committee discussed the budget for the coming year in great detail. "
    with (docs / "huge.txt").open("w", encoding="utf-8") as f:
        for _ in range(50 * MB // len(sentence)):
            f.write(sentence)
    home = tmp / "home-huge"
    # the ONNX export made by the first part (an export loads torch: not what is measured)
    shutil.copytree(tmp / "home-concurrent" / "models", home / "models")
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "RSS_KB=%M",
                           *newsqa(home, "ingest", "--quiet", str(docs))],
                          env=cli_env(), capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - t0
    rss_mb = int(proc.stderr.rsplit("RSS_KB=", 1)[1].split()[0]) / 1024
    errors = error_lines(proc.stderr)
    print(f"huge: {proc.stdout.strip()} {errors}", file=sys.stderr)

    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    return {
        "huge_file_mb": round((docs / "huge.txt").stat().st_size / MB, 1),
        "huge_exit_code": proc.returncode,
        "huge_error_lines": len(errors),
        "huge_error": errors[0] if errors else "",
        "huge_good_indexed": bot.info()["articles"],
        "huge_peak_rss_mb": round(rss_mb),
        "huge_ingest_s": round(seconds, 1),
    }


def ingest_ratio() -> dict[str, object]:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "ingest_bench.py"),
                           "--limit", "1000"], env=cli_env(), capture_output=True, text=True,
                          cwd=ROOT)
    if proc.returncode != 0:
        return {"ingest_bench_error": proc.stderr[-500:]}
    data = json.loads((OUT / "ingest-rtqa-2022.json").read_text())
    return {key: data[key] for key in ("ingest_chunks_per_s", "bare_encode_chunks_per_s",
                                        "ratio_pipeline_vs_bare") if key in data}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("--control", action="store_true",
                    help="also ingest the same 600 articles with one writer and compare which "
                         "are findable by title (tells lost articles from generic titles)")
    ap.add_argument("--ingest-bench", action="store_true",
                    help="also run bench/ingest_bench.py --limit 1000 (ratio to bare encode)")
    args = ap.parse_args()
    articles = read_articles(SHARED / args.slice / "corpus.jsonl.gz", 607)
    tmp = Path(tempfile.mkdtemp(prefix="newsqa-fault-bench-"))
    result: dict[str, object] = {"slice": args.slice, "cores": os.cpu_count()}
    try:
        result.update(concurrency(tmp, articles[:600], args.control))
        result.update(huge_article(tmp, articles[600:607]))
        if args.ingest_bench:
            result.update(ingest_ratio())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "fault-bench.json").write_text(json.dumps(result, indent=2))
    print("| metric | value |\n| --- | --- |")
    for k, v in result.items():
        print(f"| {k} | {v:.3f} |" if isinstance(v, float) else f"| {k} | {v} |")


if __name__ == "__main__":
    main()
