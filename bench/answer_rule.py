"""Ablation of the answerer's sentence choice (issue 5), on plain questions (no quiz
options), replayed on identical retrievals.

It reuses the retrieval cache of bench/mc_rule.py (the top 10 passages of each question,
as of its date; built on first use) and answers each answerable question (one with a
supporting article) with `ExtractiveAnswerer`, with and without the "names something
new" ranking bonus (`W_NEW`). Reported: the share whose answer string is inside the
cited quotes (`contains_any`, as `newsqa eval` computes cited_support), abstentions, and
quotes per answer.

    .venv/bin/python bench/answer_rule.py --home /tmp/rtqa22 --slice rtqa-2022
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
SHARED = ROOT.parent / "shared" / "bench"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--home", type=Path, required=True, help="data home with the slice indexed")
    ap.add_argument("--slice", default="rtqa-2022", choices=["rtqa-2022", "rtqa-2024"])
    args = ap.parse_args()

    from mc_rule import dump

    import assistant.extractive as ex
    from assistant.evaluation import metrics
    from assistant.evaluation.case import load_questions
    from assistant.settings import load_settings
    from index.embed import make_embedder

    cache = ROOT / "bench" / "out" / f"mc-cache-{args.slice}.pkl"
    if cache.exists():
        rows = pickle.loads(cache.read_bytes())
    else:
        rows = dump(args.home, args.slice, None)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(rows))
    answers = {q.question: q.answers for q in
               load_questions(SHARED / args.slice / "questions.jsonl").questions}
    rows = [r for r in rows if r["supported"]]
    settings = load_settings(home=args.home)
    embedder = make_embedder(settings.embedding, settings.model_dir)
    default = ex.W_NEW
    results: dict[str, dict[str, Any]] = {}
    for name, w_new in (("relevance only", 0.0), (f"+ names-something-new bonus "
                                                    f"{default} (default)", default)):
        ex.W_NEW = w_new
        answerer = ex.ExtractiveAnswerer(embedder, settings.answer)
        inside, abstained, quotes = 0.0, 0, 0
        t0 = time.perf_counter()
        for r in rows:
            answer = answerer.answer(r["question"], list(r["main"]))
            abstained += answer.abstained
            quotes += len(answer.citations)
            inside += metrics.contains_any([c.quote for c in answer.citations],
                                           answers[r["question"]]) or 0
        n = len(rows)
        results[name] = {"answer_in_quotes": inside / n, "abstained": abstained / n,
                         "quotes_per_answer": quotes / n,
                         "ms_per_answer": (time.perf_counter() - t0) * 1000 / n}
    ex.W_NEW = default
    (ROOT / "bench" / "out" / f"answer-rule-{args.slice}.json").write_text(
        json.dumps(results, indent=1))
    print(f"\n{args.slice}: {len(rows)} answerable questions, asked without options\n")
    print("| sentence choice | answer in quotes | abstained | quotes per answer |")
    print("|---|---|---|---|")
    for name, res in results.items():
        print(f"| {name} | {res['answer_in_quotes']:.3f} | {res['abstained']:.3f} | "
              f"{res['quotes_per_answer']:.2f} |")


if __name__ == "__main__":
    main()
