"""What one short article costs to ingest as the index grows (issue 34: `newsqa ingest` of
one short article into a big home at most 1.25x (+0.5 s) what it costs into a tiny one).

In one run, for each checkout given (`--roots`, e.g. this one and a baseline worktree):
a tiny home (one real article) and a throwaway copy of a big home (`--home`, never
written itself) each get `--runs` short articles, one `newsqa ingest` process per
article (wall time: process start, models, store, keyword index, change log); medians.

    .venv/bin/python bench/write_cost.py --home /tmp/rtqa24 --roots . /tmp/base
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import harness

TEXT = ("The harbour board of {town} approved a new ferry timetable on Tuesday, its chair "
        "said. Boats will leave every forty minutes from the spring. The council expects "
        "about {n} more passengers a week.")


def newsqa(root: Path, home: Path, *args: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(root))
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "ui.cli", "--home", str(home), *args], cwd=root,
                   env=env, check=True, capture_output=True)
    return time.perf_counter() - t


def chunks_in(root: Path, home: Path) -> int:
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-m", "ui.cli", "--home", str(home), "info"],
                         cwd=root, env=env, capture_output=True, text=True).stdout
    return next((int(line.split(":")[1]) for line in out.splitlines()
                 if line.startswith("chunks:")), -1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="a big home, copied, not written")
    ap.add_argument("--roots", type=Path, nargs="+", default=[harness.ROOT])
    ap.add_argument("--work", type=Path, default=Path("/tmp/write-cost"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    with gzip.open(harness.SHARED / "rtqa-2022" / "corpus.jsonl.gz", "rt") as f:
        first = json.loads(f.readline())
    seed = args.work / "one.jsonl"
    seed.write_text(json.dumps({"id": first["id"], "title": first["title"],
                                "text": first["text"], "date": first["date"]}) + "\n")
    results = []
    for r, root in enumerate(args.roots):
        root = root.resolve()
        tiny = args.work / f"tiny-{r}"
        newsqa(root, tiny, "ingest", str(seed))
        big = args.work / f"big-{r}"
        shutil.copytree(args.home, big)
        newsqa(root, big, "info")  # opening once: any one-time conversion is not a write
        for name, home in (("tiny", tiny), ("big", big)):
            times = []
            for i in range(args.runs):
                item = args.work / f"a-{r}-{name}-{i}.jsonl"
                item.write_text(json.dumps({
                    "id": f"write-cost-{i}", "title": f"Ferry timetable {i}",
                    "text": TEXT.format(town=f"Town{i}", n=100 + i)}) + "\n")
                times.append(newsqa(root, home, "ingest", str(item)))
            row = {"root": str(root), "home": name, "chunks": chunks_in(root, home),
                   "median_s": statistics.median(times), "runs_s": [round(t, 2) for t in times]}
            print(json.dumps(row), flush=True)
            results.append(row)
        shutil.rmtree(big, ignore_errors=True)
    for root in {r["root"] for r in results}:
        tiny_s = next(r["median_s"] for r in results if r["root"] == root and r["home"] == "tiny")
        big_s = next(r["median_s"] for r in results if r["root"] == root and r["home"] == "big")
        print(f"{root}: big / tiny = {big_s / tiny_s:.2f} ({big_s:.2f} s / {tiny_s:.2f} s; "
              f"target <= 1.25x + 0.5 s = {1.25 * tiny_s + 0.5:.2f} s)")
    out = harness.OUT / "write_cost.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
