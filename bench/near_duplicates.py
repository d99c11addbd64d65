"""Near-duplicate articles (issue 32, point 3): how well `index.story` tells a story's
copies from other articles, on hand-labelled pairs, and what finding them costs.

* Precision and recall of "same story" on `bench/duplicate_pairs.jsonl`: 101 pairs of
  articles from rtqa-2022 (54, where the threshold was chosen) and rtqa-2023 (47, the
  check), drawn across the range of MinHash similarity and labelled by hand (`why` says
  what each pair is). A copy is the same article: a reprint, a page under two URLs, a
  republished update, or, as parsed, the same text (a site's boilerplate).
* Ingest throughput with the grouping and without (`--throughput N`: `newsqa ingest` of
  N rtqa-2023 articles into empty homes, alternating, the real model).
* The cost of grouping as the index grows: `assign_stories` over 10k, 30k and 100k
  articles (the three years' articles, then variants with their sentences shuffled, so
  they are new texts), with the band lookups and writes of `index.bands` (SQLite), as
  ingest makes them; the cost per article must stay flat (near-linear in total).

    .venv/bin/python bench/near_duplicates.py [--scale]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

import harness

from index.story import SAME_STORY_AT, Fingerprint, assign_stories, fingerprint

PAIRS = Path(__file__).resolve().parent / "duplicate_pairs.jsonl"
YEARS = ("rtqa-2022", "rtqa-2023", "rtqa-2024")


def corpus(years: Sequence[str]) -> dict[str, dict[str, str]]:
    out = {}
    for year in years:
        with gzip.open(harness.SHARED / year / "corpus.jsonl.gz", "rt") as f:
            for line in f:
                a = json.loads(line)
                out[a["id"]] = a
    return out


def quality() -> dict[str, object]:
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines()]
    arts = corpus(sorted({p["year"] for p in pairs}))
    prints: dict[str, Fingerprint] = {}
    for p in pairs:
        for key in ("a", "b"):
            if p[key] not in prints:
                prints[p[key]] = fingerprint(arts[p[key]]["text"])
    for p in pairs:
        p["sim"] = prints[p["a"]].similarity(prints[p["b"]])
    out: dict[str, object] = {}
    for year in sorted({p["year"] for p in pairs}):
        mine = [p for p in pairs if p["year"] == year]
        rows = {}
        for at in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            said = [p for p in mine if p["sim"] >= at]
            right = sum(p["same_story"] for p in said)
            positives = sum(p["same_story"] for p in mine)
            rows[f"{at:.1f}"] = {"precision": round(right / len(said), 3) if said else None,
                                 "recall": round(right / positives, 3), "flagged": len(said)}
        missed = [p["why"] + f" ({p['sim']:.2f})" for p in mine
                  if p["same_story"] and p["sim"] < SAME_STORY_AT]
        wrong = [p["why"] + f" ({p['sim']:.2f})" for p in mine
                 if not p["same_story"] and p["sim"] >= SAME_STORY_AT]
        out[year] = {"pairs": len(mine), "same_story": sum(p["same_story"] for p in mine),
                     "by_threshold": rows, f"missed_at_{SAME_STORY_AT}": missed,
                     f"wrong_at_{SAME_STORY_AT}": wrong}
    return out


def _shuffled(text: str, rng: random.Random) -> str:
    parts = [s for s in text.replace("\n", " ").split(". ") if s]
    rng.shuffle(parts)
    return ". ".join(parts)


def scale(sizes: Sequence[int] = (10_000, 30_000, 100_000)) -> dict[str, object]:
    base = [(a["id"], a["text"]) for a in corpus(YEARS).values()]
    rng = random.Random(0)
    texts = list(base)
    while len(texts) < max(sizes):
        aid, text = base[len(texts) % len(base)]
        texts.append((f"{aid}~{len(texts)}", _shuffled(text, rng)))
    import tempfile

    from index.bands import BandTable

    out = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            table = BandTable(Path(tmp))  # the lookups ingest makes, from the same table
            t = time.perf_counter()
            stories = {}
            for at in range(0, n, 500):  # ingest batches of 500 articles
                got = assign_stories(texts[at:at + 500], table.candidates)
                table.add(got)
                stories.update(got)
            seconds = time.perf_counter() - t
        groups = len({s for s, _ in stories.values()})
        out[str(n)] = {"seconds": round(seconds, 1), "ms_per_article": round(seconds / n * 1000, 3),
                       "stories": groups, "copies": n - groups}
        print(f"{n:,} articles: {seconds:.1f} s, {seconds / n * 1000:.2f} ms/article, "
              f"{n - groups:,} copies", flush=True)
    return out


def throughput(n: int, runs: int = 2) -> dict[str, object]:
    """`newsqa ingest` of rtqa-2023's first `n` articles into empty homes, with the
    stories grouped and without (NEWSQA_INGEST__STORIES), alternating, real model."""
    import os
    import subprocess
    import sys
    import tempfile

    with gzip.open(harness.SHARED / "rtqa-2023" / "corpus.jsonl.gz", "rt") as f:
        lines = [line for _, line in zip(range(n), f, strict=False)]
    seconds: dict[str, list[float]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "articles.jsonl"
        corpus.write_text("".join(lines))
        models = Path(tmp) / "models-home"
        subprocess.run([sys.executable, "-m", "ui.cli", "--home", str(models), "ingest",
                        "--quiet", str(corpus)], check=True, cwd=harness.ROOT,
                       capture_output=True)  # the model export, once, outside the measure
        for run in range(runs):
            for mode in (("on", "off") if run % 2 == 0 else ("off", "on")):
                home = Path(tmp) / f"{mode}-{run}"
                import shutil
                shutil.copytree(models / "models", home / "models")
                env = {**os.environ, "NEWSQA_INGEST__STORIES": str(mode == "on").lower()}
                t = time.perf_counter()
                subprocess.run([sys.executable, "-m", "ui.cli", "--home", str(home), "ingest",
                                "--quiet", str(corpus)], check=True, cwd=harness.ROOT,
                               env=env, capture_output=True)
                seconds[mode].append(time.perf_counter() - t)
                print(f"  stories {mode}: {seconds[mode][-1]:.1f} s", flush=True)
    on, off = statistics.median(seconds["on"]), statistics.median(seconds["off"])
    return {"articles": len(lines), "runs": runs, "seconds_on": seconds["on"],
            "seconds_off": seconds["off"], "median_ratio_on_off": round(on / off, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", action="store_true", help="also time grouping at 10k-100k")
    ap.add_argument("--throughput", type=int, metavar="N",
                    help="also time `newsqa ingest` of N articles with and without stories")
    ap.add_argument("--out", type=Path, default=harness.OUT / "near_duplicates.json")
    args = ap.parse_args()
    result: dict[str, object] = {"threshold": SAME_STORY_AT, "quality": quality()}
    print(json.dumps(result, indent=1))
    if args.scale:
        result["scale"] = scale()
    if args.throughput:
        result["throughput"] = throughput(args.throughput)
        print(json.dumps(result["throughput"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
