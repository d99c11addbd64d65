"""Benchmark: index a slice of ../shared/bench/ into a throwaway data home and run
`newsqa eval` (the same `run_eval_command`) on its question files.

    .venv/bin/python bench/eval_bench.py                      # both slices, whole corpora
    .venv/bin/python bench/eval_bench.py --slice rtqa-2022 --home /tmp/nq-bench
    .venv/bin/python bench/eval_bench.py --limit-articles 300 --limit-questions 50

* Data is read from ../shared/bench (relative to the repository) and never copied into the
  repository. Whole corpora are ingested straight from corpus.jsonl.gz; with
  --limit-articles the chosen records are written to a JSONL file inside the data home.
* --home DIR keeps the index there (one Chroma collection per slice and size), so a second
  run skips the ~20-minute ingest (ingest is incremental: unchanged articles are skipped).
  Without --home a temporary home is used and deleted at the end.
* --limit-articles N keeps the gold and supporting articles of the questions that will be
  asked (the first --limit-questions of each file) and fills up to N with the corpus's
  other articles in file order, so a small run still has something to find.
* Output: bench/out/<slice>-<questions file>[-small]/ (results.jsonl, report.json,
  report.md, plots), bench/out/eval-headline.md (one column per run) and
  bench/out/eval-compare/.
  bench/out/ is git-ignored.
* NEWSQA_* variables apply as usual (e.g. NEWSQA_RETRIEVAL__MODE=hybrid), except the data
  home and collection, which this script sets.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness import OUT, ROOT, SHARED

from assistant.evaluation.command import run_eval_command  # noqa: E402
from assistant.evaluation.compare import compare  # noqa: E402
from assistant.evaluation.report import fmt, md_table, text_table  # noqa: E402
from assistant.evaluation.run import DEFAULT_K  # noqa: E402

SLICES: dict[str, tuple[str, ...]] = {
    "rtqa-2022": ("questions.jsonl", "questions-gold.jsonl"),
    "rtqa-2024": ("questions.jsonl",),
}
# (metric, label) of the closing-note table.
TABLE = (
    ("gold_hit@10", "Hit@10 gold_ids"),
    ("gold_mrr@10", "MRR@10 gold_ids"),
    ("supporting_hit@10", "Hit@10 supporting_ids"),
    ("supporting_mrr@10", "MRR@10 supporting_ids"),
    ("support@10", "answer support@10"),
    ("cited_support", "answer in cited quotes"),
    ("contains", "answer contains gold"),
    ("mc_accuracy", "MC accuracy"),
    ("abstain_answerable", "abstains (answerable q.)"),
    ("abstain_all", "abstains (all q.)"),
    ("citation_integrity", "citation integrity"),
    ("latency_p50_ms", "latency p50 ms"),
    ("latency_p95_ms", "latency p95 ms"),
)
N_KEYS = {"gold": "gold_n", "supporting": "supporting_n", "mc": "mc_n"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--slice", nargs="+", choices=sorted(SLICES), default=sorted(SLICES),
                   help="which slices (default: all)")
    p.add_argument("--bench-dir", type=Path, default=SHARED,
                   help="the shared benchmark folder (default: ../shared/bench)")
    p.add_argument("--home", type=Path,
                   help="data home to keep the index in (reused next time); default: temporary")
    p.add_argument("--limit-articles", type=int, metavar="N",
                   help="index only N articles (questions' own articles first)")
    p.add_argument("--limit-questions", type=int, metavar="N",
                   help="only the first N questions of each file")
    p.add_argument("-k", type=int, default=DEFAULT_K, help=f"passages per question ({DEFAULT_K})")
    p.add_argument("--no-as-of", action="store_true", help="ignore the questions' dates")
    p.add_argument("--out", type=Path, default=OUT, help="output folder")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    args = p.parse_args(argv)
    for name in ("limit_articles", "limit_questions"):
        value = getattr(args, name)
        if value is not None and value < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.home is not None and _inside(args.home, ROOT):
        p.error("--home must be outside the repository (benchmark articles are never "
                "copied into it)")
    return args


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a .jsonl or .jsonl.gz file (bad lines are left to the real parsers)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue


def wanted_ids(question_files: list[Path], limit: int | None) -> set[str]:
    """Gold and supporting article ids of the questions that will be asked."""
    ids: set[str] = set()
    for path in question_files:
        for i, q in enumerate(read_jsonl(path)):
            if limit is not None and i >= limit:
                break
            ids.update(q.get("gold_ids") or [])
            ids.update(q.get("supporting_ids") or [])
    return ids


def write_subset(corpus: Path, wanted: set[str], n: int, target: Path) -> int:
    """Write up to `n` corpus records to `target`: wanted ids first, then others in file
    order. Returns how many were written."""
    chosen: list[dict[str, Any]] = []
    fillers: list[dict[str, Any]] = []
    for rec in read_jsonl(corpus):
        if rec.get("id") in wanted:
            chosen.append(rec)
        elif len(fillers) < n:
            fillers.append(rec)
    chosen = chosen[:n] + fillers[: max(0, n - len(chosen))]
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as fh:
        for rec in chosen:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(chosen)


def open_bot(home: Path, collection: str) -> Any:
    """An Assistant on `home` with its own collection (NEWSQA_* settings apply)."""
    from assistant.service import Assistant
    from assistant.settings import load_settings
    from ui.cli import offline_environment

    offline_environment()
    settings = load_settings(home=home)
    settings.store.collection = collection
    return Assistant(settings)


def run_slice(name: str, args: argparse.Namespace, home: Path) -> list[tuple[str, Path, int]]:
    """Ingest one slice and evaluate its question files; returns (run name, folder, exit)."""
    folder = args.bench_dir / name
    corpus = folder / "corpus.jsonl.gz"
    qfiles = [folder / f for f in SLICES[name]]
    missing = [p for p in (corpus, *qfiles) if not p.exists()]
    if missing:
        raise SystemExit(f"eval_bench: missing {', '.join(map(str, missing))}")
    small = args.limit_articles is not None
    collection = f"bench-{name}" + (f"-a{args.limit_articles}" if small else "")
    bot = open_bot(home, collection)
    if small:
        source = home / "slices" / f"{name}-a{args.limit_articles}.jsonl"
        n = write_subset(corpus, wanted_ids(qfiles, args.limit_questions),
                         args.limit_articles, source)
        print(f"[{name}] {n} articles selected into {source}", flush=True)
    else:
        source = corpus
    t0 = time.perf_counter()
    report = bot.ingest([source], progress=not args.quiet)
    print(f"[{name}] ingest: {report.summary()} ({time.perf_counter() - t0:.0f}s)", flush=True)
    runs = []
    for qfile in qfiles:
        run_name = f"{name}-{qfile.stem}" + ("-small" if small else "")
        out = args.out / run_name
        ns = argparse.Namespace(
            questions=qfile, out=out, k=args.k, limit=args.limit_questions,
            no_as_of=args.no_as_of, compare=None, quiet=args.quiet,
        )
        print(f"\n[{run_name}] newsqa eval {qfile} --out {out}", flush=True)
        code = run_eval_command(ns, lambda _args: bot)
        runs.append((run_name, out, code))
    return runs


def headline_table(runs: list[tuple[str, Path, int]]) -> tuple[str, str]:
    """(terminal table, Markdown table) of the closing-note metrics, one column per run."""
    reports = {}
    for name, out, _ in runs:
        path = out / "report.json"
        if path.exists():
            reports[name] = json.loads(path.read_text(encoding="utf-8"))
    rows = []
    for key, label in TABLE:
        cells = []
        for rep in reports.values():
            met = rep["metrics"]
            value = fmt(met.get(key), "ms" if key.endswith("_ms") else "rate")
            n_key = next((v for p, v in N_KEYS.items() if key.startswith(p + "_")), None)
            if n_key and met.get(key) is not None:
                value += f" (n={met[n_key]})"
            cells.append(value)
        rows.append((label, *cells))
    counts = [f"{r['counts']['evaluated']} q, {r['config']['index']['articles']} articles"
              for r in reports.values()]
    rows.append(("questions / index", *counts))
    header = ("metric", *reports)
    return text_table(rows, header), md_table(rows, header)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    temp = args.home is None
    home = Path(tempfile.mkdtemp(prefix="newsqa-bench-")) if temp else args.home
    home.mkdir(parents=True, exist_ok=True)
    print(f"data home: {home}" + (" (temporary)" if temp else ""), flush=True)
    runs: list[tuple[str, Path, int]] = []
    try:
        for name in args.slice:
            runs.extend(run_slice(name, args, home))
    finally:
        if temp:
            shutil.rmtree(home, ignore_errors=True)
    text, md = headline_table(runs)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "eval-headline.md").write_text(md + "\n", encoding="utf-8")
    print("\n" + text)
    if len(runs) >= 2:
        compare([out for _, out, _ in runs], args.out / "eval-compare")
    print(f"\nheadline: {args.out / 'eval-headline.md'}; runs: "
          + ", ".join(str(out) for _, out, _ in runs))
    return max((code for _, _, code in runs), default=0)


if __name__ == "__main__":
    sys.exit(main())
