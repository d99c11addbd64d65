"""Ablation table (issue 5): every retrieval configuration tried, end to end, on both
benchmark slices, one `newsqa eval` run each (the same `evaluate` as the command).

    .venv/bin/python bench/ablation.py --home rtqa-2022=/tmp/rtqa22 --home rtqa-2024=/tmp/rtqa24

* Each --home is a data home that already holds the slice's whole corpus (for example
  built by `newsqa ingest ../shared/bench/rtqa-2022/corpus.jsonl.gz` with
  NEWSQA_HOME=/tmp/rtqa22, or by bench/eval_bench.py --home). Nothing is copied into the
  repository.
* Every configuration is a change of `RetrievalSettings` on top of the current defaults;
  the answerer, quiz rule and abstention threshold are the defaults throughout, and
  questions are asked with their options and their date as "as of" (k = 10).
* Output: bench/out/ablation/<slice>-<config>/ (results, report, plots) and
  bench/out/ablation/ablation.md (the table) and ablation.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from harness import OUT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
SLICES = ("rtqa-2022", "rtqa-2024")

# name -> RetrievalSettings changes. "dense" is the stock llama-index VectorIndexRetriever
# path (mode="dense"); the other rows go through the hybrid retriever with weights set.
CONFIGS: dict[str, dict[str, Any]] = {
    "dense": {"mode": "dense", "recency_weight": 0.0},
    "bm25": {"mode": "bm25", "recency_weight": 0.0},
    "hybrid 1:1": {"mode": "hybrid", "bm25_weight": 1.0, "recency_weight": 0.0},
    "hybrid 1:2": {"mode": "hybrid", "bm25_weight": 2.0, "recency_weight": 0.0},
    "dense + recency": {"mode": "hybrid", "bm25_weight": 0.0, "recency_weight": 1.0},
    "hybrid 1:2 + recency, 40 candidates": {"candidates": 40},
    "default (hybrid 1:2 + recency, 100 candidates)": {},
}
COLUMNS = (
    ("gold_hit@1", "gold Hit@1"), ("gold_hit@10", "gold Hit@10"),
    ("gold_mrr@10", "gold MRR@10"),
    ("supporting_hit@1", "supp. Hit@1"), ("supporting_hit@10", "supp. Hit@10"),
    ("supporting_mrr@10", "supp. MRR@10"),
    ("cited_support_answerable", "answer in quotes (answerable)"),
    ("mc_accuracy", "MC acc."),
    ("latency_p50_ms", "p50 ms"), ("latency_p95_ms", "p95 ms"),
)


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.split(" (")[0]).strip("-")


def run_one(slice_name: str, home: Path, config: str, out: Path, limit: int | None,
            k: int) -> dict[str, Any]:
    from assistant.evaluation.case import load_questions
    from assistant.evaluation.run import evaluate
    from assistant.service import Assistant
    from assistant.settings import load_settings
    from ui.cli import offline_environment

    offline_environment()
    settings = load_settings(home=home)
    settings.retrieval = settings.retrieval.model_copy(update=CONFIGS[config])
    bot = Assistant(settings)
    questions = load_questions(SHARED / slice_name / "questions.jsonl").questions
    report = evaluate(bot, questions, out, k=k, use_as_of=True, progress=False, limit=limit)
    return {**report["metrics"], **answerable_metrics(out)}


def answerable_metrics(out: Path) -> dict[str, float | None]:
    """The issue's "answer string inside the cited quotes" is over answerable questions
    (a supporting article exists); the report's cited_support is over all of them."""
    rows = [json.loads(line) for line in (out / "results.jsonl").open(encoding="utf-8")]
    scores = [r["scores"].get("cited_support") for r in rows if r.get("answerable")]
    values = [v for v in scores if v is not None]
    return {"cited_support_answerable": sum(values) / len(values) if values else None}


def cell(metrics: dict[str, Any], key: str) -> str:
    value = metrics.get(key)
    if value is None:
        return "–"
    return f"{value:.0f}" if key.endswith("_ms") else f"{value:.3f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--home", action="append", default=[], metavar="SLICE=DIR",
                    help="data home holding a slice's corpus, e.g. rtqa-2022=/tmp/rtqa22")
    ap.add_argument("--table-only", action="store_true",
                    help="run nothing; print the table of every finished run in --out")
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS),
                    help="only these configurations (default: all)")
    ap.add_argument("--limit", type=int, help="only the first N questions of each slice")
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--out", type=Path, default=OUT / "ablation")
    args = ap.parse_args()
    homes = dict(h.split("=", 1) for h in args.home)
    if not homes and not args.table_only:
        ap.error("give --home SLICE=DIR (or --table-only)")
    configs = [] if args.table_only else (args.config or list(CONFIGS))
    table: dict[str, dict[str, dict[str, Any]]] = {}
    summary = args.out / "ablation.json"
    if summary.exists():  # keep rows of earlier partial runs
        table = json.loads(summary.read_text(encoding="utf-8"))
    for config in CONFIGS:  # rows finished by a run that was stopped before its summary
        for slice_name in SLICES:
            folder = args.out / f"{slice_name}-{slug(config)}"
            metrics = table.setdefault(config, {}).get(slice_name)
            if (folder / "report.json").exists() and (
                    metrics is None or "cited_support_answerable" not in metrics):
                report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
                table[config][slice_name] = {**report["metrics"], **answerable_metrics(folder)}
    for config in configs:
        for slice_name, home in homes.items():
            t0 = time.perf_counter()
            metrics = run_one(slice_name, Path(home), config,
                              args.out / f"{slice_name}-{slug(config)}", args.limit, args.k)
            table.setdefault(config, {})[slice_name] = metrics
            print(f"[{slice_name}] {config}: MC {cell(metrics, 'mc_accuracy')}, "
                  f"supp. MRR@10 {cell(metrics, 'supporting_mrr@10')} "
                  f"({time.perf_counter() - t0:.0f}s)", flush=True)
            args.out.mkdir(parents=True, exist_ok=True)
            summary.write_text(json.dumps(table, indent=1), encoding="utf-8")
    lines = []
    for slice_name in SLICES:
        cols = [(k, lab) for k, lab in COLUMNS
                if any(table[c].get(slice_name, {}).get(k) is not None for c in table)]
        lines.append(f"\n### {slice_name}\n")
        lines.append("| config | " + " | ".join(lab for _, lab in cols) + " |")
        lines.append("|---" * (len(cols) + 1) + "|")
        for config in CONFIGS:
            row = table.get(config, {}).get(slice_name)
            if row:
                lines.append(f"| {config} | " + " | ".join(cell(row, k) for k, _ in cols)
                             + " |")
    text = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ablation.md").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
