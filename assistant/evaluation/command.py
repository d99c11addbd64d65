"""`newsqa eval`: run a question file and write results, report and plots, or compare
earlier runs. Exit codes: 0 ok; 1 finished, but some question lines were bad (skipped)
or some questions failed; 2 error, nothing evaluated."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation.case import EvalError, load_questions
from assistant.evaluation.compare import compare
from assistant.evaluation.report import headline, text_table, write_markdown
from assistant.evaluation.run import DEFAULT_K, evaluate

if TYPE_CHECKING:
    from assistant.service import Assistant

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR = 0, 1, 2
_ROOT = Path(__file__).resolve().parents[2]
# The seed question set (folder ingest skips `questions*.jsonl`, so it can sit in seeds/).
DEFAULT_QUESTIONS = _ROOT / "seeds" / "questions.jsonl"


def default_questions() -> Path | None:
    """The seed question file, or None if the checkout has none."""
    return DEFAULT_QUESTIONS if DEFAULT_QUESTIONS.exists() else None


def default_out(kind: str = "") -> Path:
    """./eval-out/<timestamp>[-kind], made unique if that folder exists already."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S") + (f"-{kind}" if kind else "")
    path = Path("eval-out") / stamp
    n = 2
    while path.exists():
        path = Path("eval-out") / f"{stamp}-{n}"
        n += 1
    return path


def load_results(run_dir: Path) -> list[dict[str, Any]]:
    """The rows of `run_dir/results.jsonl`."""
    with (run_dir / "results.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def run_eval_command(args: Any, open_bot: Callable[[Any], Assistant]) -> int:
    """Entry point of `newsqa eval`. `args` has questions, out, k, limit, no_as_of and
    compare (argparse fields); `open_bot(args)` returns the Assistant to evaluate."""
    try:
        if getattr(args, "compare", None):
            return _compare(args)
        return _evaluate(args, open_bot)
    except EvalError as exc:
        print(f"newsqa: error: {exc}", file=sys.stderr)
        return EXIT_ERROR


def _compare(args: Any) -> int:
    out = args.out or default_out("compare")
    table = compare(args.compare, out)
    print(table)
    print(f"\ncomparison: {out / 'compare.md'} (chart {out / 'compare.png'})")
    return EXIT_OK


def _evaluate(args: Any, open_bot: Callable[[Any], Assistant]) -> int:
    path: Path | None = args.questions
    if path is None:
        path = default_questions()
        if path is None:
            raise EvalError(f"no question file given and the default {DEFAULT_QUESTIONS} "
                            "is missing; pass one: newsqa eval QUESTIONS.jsonl")
    k = args.k if args.k is not None else DEFAULT_K
    if k < 1:
        raise EvalError("-k must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise EvalError("--limit must be at least 1")
    qfile = load_questions(path)
    for err in qfile.errors:
        print(f"newsqa: skipped {err}", file=sys.stderr)
    if not qfile.questions:
        raise EvalError(f"{path} holds no valid question")
    out: Path = args.out or default_out()
    bot = open_bot(args)
    report = evaluate(
        bot, qfile.questions, out, k=k, use_as_of=not args.no_as_of,
        progress=not getattr(args, "quiet", False), limit=args.limit,
        questions_file=str(path), bad_lines=len(qfile.errors),
        llm=bool(getattr(args, "llm", False)),
    )
    md = write_markdown(report, load_results(out), out)
    counts = report["counts"]
    print(text_table(headline(report), ("metric", "value")))
    print(f"\n{counts['evaluated']} question(s) from {path}"
          + (f", {counts['errors']} failed" if counts["errors"] else "")
          + (f", {len(qfile.errors)} bad line(s) skipped" if qfile.errors else ""))
    print(f"results: {out / 'results.jsonl'}\nreport:  {md}")
    if counts["evaluated"] and counts["errors"] == counts["evaluated"]:
        first = next(r["error"] for r in load_results(out) if r.get("error"))
        print(f"newsqa: error: every question failed, e.g. {first}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_PARTIAL if qfile.errors or counts["errors"] else EXIT_OK
