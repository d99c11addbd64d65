"""Calibrate the abstention threshold (`answer.min_relevance`, issue 5).

Asks every answerable question of a bench slice (non-empty supporting_ids) as a plain
question (no options), as of its date, and the seed set's unanswerable questions against
an index of seeds/; prints the relevance distribution and, per threshold, the share of
wrong abstentions and of seed abstentions.

    .venv/bin/python bench/calibrate_abstention.py --home /tmp/rtqa22 --seed-home /tmp/seedhome
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import date
from pathlib import Path

import numpy as np
from harness import ROOT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True, help="data home with the slice indexed")
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("--seed-home", type=Path, required=True,
                    help="data home for seeds/ (indexed here if empty)")
    args = ap.parse_args()

    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=args.home))
    rel = []
    for line in (SHARED / args.slice / "questions.jsonl").open():
        q = json.loads(line)
        if q.get("supporting_ids"):
            a = bot.ask(q["question"], as_of=date.fromisoformat(q["date"]))
            rel.append(a.relevance or 0.0)
    seed = Assistant(load_settings(home=args.seed_home))
    seed.ingest([ROOT / "seeds"])
    unanswerable = [q for q in map(json.loads, (ROOT / "seeds" / "questions.jsonl").open())
                    if q.get("answerable") is False]
    un = np.array([seed.ask(q["question"]).relevance or 0.0 for q in unanswerable])
    r = np.array(rel)
    print(f"answerable n={len(r)}; relevance percentiles 1/5/10/50: "
          f"{np.percentile(r, [1, 5, 10, 50]).round(3)}")
    print(f"seed unanswerable relevance: {un.round(3)}")
    print("| threshold | wrong abstentions | seed unanswerable abstained |\n| --- | --- | --- |")
    for t in (0.2, 0.3, 0.4, 0.45, 0.5, 0.6):
        print(f"| {t} | {np.mean(r < t):.3f} | {np.mean(un < t):.2f} |")


if __name__ == "__main__":
    main()
