"""Tune hybrid retrieval (issue 5) on an ingested bench slice, quickly.

Dense and BM25 candidate lists are computed ONCE per question (with the question's date as
"as of", unless --no-as-of); every fusion setting is then replayed offline with the same
code the retriever uses (`weighted_rrf`, `recency_boost`). Metrics are article-level
Hit@1/5/10 and MRR@10 over the top-10 chunks, against gold_ids and supporting_ids
(questions with an empty list are left out), as in `newsqa eval`.

    .venv/bin/python bench/tune_retrieval.py --home /tmp/rtqa22 --slice rtqa-2022
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

from harness import OUT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def article_metrics(ranked_articles: list[str], gold: set[str]) -> tuple[float, ...]:
    """Hit@1, Hit@5, Hit@10, MRR@10 over distinct articles, as `newsqa eval` computes them."""
    from assistant.evaluation import metrics as m

    ids = sorted(gold)
    hits = [m.hit_at_k(ranked_articles, ids, k) or 0.0 for k in (1, 5, 10)]
    return (*hits, m.mrr_at_k(ranked_articles, ids, 10) or 0.0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--no-as-of", action="store_true")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()

    from assistant.service import Assistant
    from assistant.settings import load_settings
    from index.hybrid import HybridRetriever, recency_boost, weighted_rrf
    from index.record import date_key

    bot = Assistant(load_settings(home=args.home))
    bot.open()
    t0 = time.perf_counter()
    rebuilt = bot.keyword.sync(bot.store)
    print(f"keyword index {'rebuilt' if rebuilt else 'loaded'} in "
          f"{time.perf_counter() - t0:.1f}s ({len(bot.keyword)} chunks)", file=sys.stderr)
    hybrid = HybridRetriever(bot.embedder, bot.keyword, bot.store, bot.settings.retrieval)
    qfile = SHARED / args.slice / "questions.jsonl"
    questions = [json.loads(line) for line in qfile.open()][: args.limit]
    gold_file = SHARED / args.slice / "questions-gold.jsonl"
    gold = {}
    if gold_file.exists():
        gold = {q["id"]: set(q["gold_ids"]) for q in map(json.loads, gold_file.open())
                if q.get("gold_ids")}

    cache = []
    t_dense, t_bm25 = [], []
    for q in questions:
        as_of = None if args.no_as_of or not q.get("date") else date.fromisoformat(q["date"])
        t = time.perf_counter()
        max_key = date_key(as_of) if as_of else None
        vec = bot.embedder.embed_query(q["question"])
        d = hybrid.dense_ids(vec, args.candidates, max_key)
        t_dense.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        k = [c for c, _ in bot.keyword.search(q["question"], args.candidates, max_key)]
        t_bm25.append((time.perf_counter() - t) * 1000)
        dates = bot.keyword.date_keys_of(d + k)
        arts = {cid: cid.rsplit(":", 1)[0] for cid in d + k}  # chunk ids are article:index
        cache.append((q, as_of, d, k, arts, dates))
    print(f"dense p50 {statistics.median(t_dense):.1f} ms, bm25 p50 "
          f"{statistics.median(t_bm25):.1f} ms", file=sys.stderr)

    grid = []
    for dw, bw in [(1, 0), (0, 1), (1, 1), (1, 1.5), (1, 2), (1, 2.5), (1, 3)]:
        for rw, days in itertools.product([0, 0.5, 1, 2, 4], [7, 14, 21, 30]):
            if rw == 0 and days != 7:
                continue
            for rrf_k in ([60] if (dw, bw) != (1, 1) or rw else [10, 30, 60, 100]):
                grid.append((dw, bw, rw, days, rrf_k))
    rows = []
    for dw, bw, rw, days, rrf_k in grid:
        m_gold, m_sup = [], []
        for q, as_of, dids, kids, arts, dates in cache:
            fused = weighted_rrf([(dids, dw), (kids, bw)], rrf_k)
            if as_of is not None and rw > 0:
                for cid in fused:
                    fused[cid] *= recency_boost(dates.get(cid, 0), as_of, rw, days)
            top = sorted(fused, key=lambda c: -fused[c])[:10]
            ranked = [arts[c] for c in top]
            if q["id"] in gold:
                m_gold.append(article_metrics(ranked, gold[q["id"]]))
            if q.get("supporting_ids"):
                m_sup.append(article_metrics(ranked, set(q["supporting_ids"])))

        def avg(ms: list[tuple[float, ...]], i: int) -> float:
            return sum(m[i] for m in ms) / len(ms) if ms else float("nan")

        rows.append({"dense_w": dw, "bm25_w": bw, "recency_w": rw, "recency_days": days,
                     "rrf_k": rrf_k, "gold_n": len(m_gold), "gold_hit1": avg(m_gold, 0),
                     "gold_hit10": avg(m_gold, 2), "gold_mrr10": avg(m_gold, 3),
                     "sup_n": len(m_sup), "sup_hit1": avg(m_sup, 0), "sup_hit10": avg(m_sup, 2),
                     "sup_mrr10": avg(m_sup, 3)})
    key = "gold_mrr10" if gold else "sup_mrr10"
    rows.sort(key=lambda r: -r[key])
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    suffix = f"-c{args.candidates}" + ("-noasof" if args.no_as_of else "")
    (out / f"tune-{args.slice}{suffix}.json").write_text(json.dumps(rows, indent=1))
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + " --- |" * len(cols))
    shown = rows[:15] + [r for r in rows[15:] if (r["recency_w"] == 0 and r["rrf_k"] == 60
                                                  and (r["dense_w"], r["bm25_w"]) in
                                                  [(1, 0), (0, 1), (1, 1)])]
    for r in shown:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v)
                                for v in r.values()) + " |")


if __name__ == "__main__":
    main()
