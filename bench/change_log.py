"""A second process catching up with another writer's one-article ingest into a big home
(issue 34, point 3): the keyword index's sync by comparing every article's hash (before
the change log) against reading the change-log entries since its position.

1. Copies a home (changed; the original is not) and opens a follower on it.
2. A writer ingests one short article; the follower syncs (its index has no log position
   yet: it compares every hash, as before, and records the position).
3. The writer ingests another; the follower syncs from the log.

    .venv/bin/python bench/change_log.py --home H24 --work /tmp/log-bench
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import harness


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=harness.OUT / "change_log.json")
    args = ap.parse_args()

    from assistant.service import Assistant
    from assistant.settings import load_settings
    from index.store import Store

    shutil.rmtree(args.work, ignore_errors=True)
    shutil.copytree(args.home, args.work)
    settings = load_settings(home=args.work)
    follower = Assistant(settings)
    follower.open()
    len(follower.keyword)  # load it
    writer = Assistant(settings)
    result: dict[str, float | int] = {}
    for n, label in ((1, "hashes"), (2, "log")):
        article = args.work.parent / f"{args.work.name}-{n}.jsonl"
        article.write_text(json.dumps({"id": f"log-bench-{n}", "title": "Ferry",
                                       "text": f"A new ferry number {n} links Lamu and "
                                               "Mombasa twice a week."}) + "\n")
        writer.ingest([article], drop_missing=False)
        fresh = Store(settings.store, settings.chroma_dir)
        fresh.open()
        t = time.perf_counter()
        follower.keyword.sync(fresh)
        result[f"sync_by_{label}_ms"] = round((time.perf_counter() - t) * 1000, 1)
        assert follower.keyword.mirrors(fresh)
    result["articles"], result["chunks"] = follower.store.counts()
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
