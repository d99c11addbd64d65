"""What a feed poll costs the watched questions (issue 32: <= 30 s for 1,000 watches and
a poll of 100 articles into the rtqa-2024 index, on 2 cores).

1. Copies a data home with rtqa-2024 indexed (the copy is changed; the original is not).
2. Removes the year's `--articles` newest articles from the copy: they come back as the
   poll, so the poll brings the newest news on the very topics the questions are about
   (a poll of unrelated news would re-ask almost nothing, flattering the figure).
3. Watches `--watches` questions (rtqa-2024's, then rtqa-2023's), each asked once.
4. Ingests the removed articles, as a poll's job does, and reports the ingest, the
   re-check (choosing the watches to re-ask: reading the new chunks and one product of
   vectors; re-asking them), how many were re-asked and how many changed.

    .venv/bin/python bench/watch_bench.py --home /tmp/rtqa24 --work /tmp/watch-bench
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import time
from pathlib import Path

import harness


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="a home with rtqa-2024 indexed")
    ap.add_argument("--work", type=Path, required=True, help="where the copy goes (replaced)")
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=100)
    ap.add_argument("--out", type=Path, default=harness.OUT / "watch_bench.json")
    args = ap.parse_args()

    from assistant.service import Assistant
    from assistant.settings import load_settings

    shutil.rmtree(args.work, ignore_errors=True)
    t = time.perf_counter()
    shutil.copytree(args.home, args.work)
    print(f"copied the home in {time.perf_counter() - t:.0f} s", flush=True)
    with gzip.open(harness.SHARED / "rtqa-2024" / "corpus.jsonl.gz", "rt") as f:
        corpus = [json.loads(line) for line in f]
    newest = sorted(corpus, key=lambda a: (a.get("date") or "", a["id"]))[-args.articles:]
    poll = args.work.parent / f"{args.work.name}-poll.jsonl"
    poll.write_text("".join(json.dumps(a) + "\n" for a in newest), encoding="utf-8")

    bot = Assistant(load_settings(home=args.work))
    assert not bot.watcher.store.exists(), "the copied home has watches already"
    removed = bot.remove([a["id"] for a in newest])
    print(f"removed the {len(removed)} newest articles ({newest[0].get('date')} to "
          f"{newest[-1].get('date')})", flush=True)

    questions: list[str] = []
    for year in ("rtqa-2024", "rtqa-2023"):
        for line in (harness.SHARED / year / "questions.jsonl").read_text().splitlines():
            q = json.loads(line)["question"]
            if q not in questions:
                questions.append(q)
    questions = questions[:args.watches]
    bot.settings.watch.max_watches = max(bot.settings.watch.max_watches, len(questions))
    adds = []
    for i, q in enumerate(questions):
        t = time.perf_counter()
        bot.watcher.add(q)
        adds.append(time.perf_counter() - t)
        if (i + 1) % 200 == 0:
            print(f"  {i + 1} watches added", flush=True)
    print(f"{len(questions)} watches added, median {statistics.median(adds) * 1000:.0f} ms",
          flush=True)

    t = time.perf_counter()
    report = bot.ingest([poll], drop_missing=False)
    total = time.perf_counter() - t
    done = bot.last_recheck
    assert done is not None
    result = {
        "watches": len(questions), "articles": report.articles, "added": report.added,
        "chunks": report.chunks_embedded, "ingest_and_recheck_s": round(total, 2),
        "ingest_s": round(total - done.seconds, 2), "recheck_s": round(done.seconds, 2),
        "choosing_s": round(done.choosing_s, 3), "read": done.read, "reasked": done.asked,
        "changes": len(done.changes),
        "reasons": {r: sum(r in c.reasons for c in done.changes)
                    for r in ("answer", "stated", "newer")},
        "add_ms_median": round(statistics.median(adds) * 1000, 1),
        "reask_ms_mean": round((done.seconds - done.choosing_s) / max(done.asked, 1) * 1000, 1),
    }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
