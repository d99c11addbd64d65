"""LLM answers on plain rtqa-2022 questions (asked without their quiz options): does the
model keep the format, what happens to its quotes, how often it falls back, how good its
short answers are, and how long it takes, with and without the JSON schema.

Needs an OpenAI-compatible server (scripts/llm-server.sh serves SmolLM2-135M on
127.0.0.1:8765) and an rtqa-2022 index (read only):

    scripts/llm-server.sh &    # first run compiles llama-cpp-python once
    python bench/llm_bench.py --home /var/tmp/rtqa22 --limit 50 \
        --modes json_object off --out bench/out/llm

The seed's answerable questions, on a home holding the seed (`newsqa --home S ingest
seeds`): `--home S --questions seeds/questions.jsonl --limit 100`.

Without a full index, `--small-home DIR` builds one of the questions' supporting and gold
articles plus distractors from the same weeks (never ingest into a shared home).

Per mode it reports: format kept (reply parsed, every sentence id and passage number
valid), quotes exact / repaired / dropped, answers by `llm` vs `extractive-fallback` (with
reasons), citation integrity (quote == article text[start:end], checked against the
store), short-answer EM / F1 (SQuAD normalisation, `assistant.evaluation.metrics`)
beside the extractive answer's short answer when it has one, time to first token and
total latency p50 / p95 (retrieval included), and how often an LLM answer's short
answer lies inside its own quotes. Each question is asked as `newsqa ask` and
`newsqa ask --llm` ask it (an LLM answer whose own short answer is not in its quotes gets
the reader's, read from them).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from harness import SHARED, percentile

from assistant.evaluation.metrics import exact_match, token_f1  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from assistant.settings import LLMSettings, load_settings  # noqa: E402

BENCH = SHARED / "rtqa-2022"


def questions(limit: int, path: Path = BENCH / "questions.jsonl") -> list[dict[str, Any]]:
    """The first `limit` answerable questions (non-empty supporting_ids, or marked
    answerable as the seed's are), without options."""
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            q = json.loads(line)
            if q.get("supporting_ids") or q.get("answerable"):
                out.append(q)
            if len(out) >= limit:
                break
    return out


def build_small_home(home: Path, qs: list[dict[str, Any]], distractors: int) -> None:
    """Index the questions' supporting and gold articles plus `distractors` others."""
    if (home / "chroma").exists():
        return
    wanted = {i for q in qs for i in q.get("supporting_ids", []) + q.get("gold_ids", [])}
    keep, rest = [], []
    with gzip.open(BENCH / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            (keep if json.loads(line)["id"] in wanted else rest).append(line)
    keep += random.Random(1).sample(rest, min(distractors, len(rest)))
    home.mkdir(parents=True, exist_ok=True)
    src = home / "articles.jsonl"
    src.write_text("".join(keep), encoding="utf-8")
    bot = Assistant(load_settings(home=home))
    report = bot.ingest([src])
    print(f"small index: {report.summary()}", file=sys.stderr)


def p50(xs: list[float]) -> float | None:
    return round(percentile(xs, 50), 2) if xs else None


def p95(xs: list[float]) -> float | None:
    return round(percentile(xs, 95), 2) if xs else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    qs = questions(args.limit, args.questions)
    home = args.home
    if args.small_home:
        build_small_home(args.small_home, qs, args.distractors)
        home = args.small_home
    settings = load_settings(home=home)
    texts: dict[str, str] = {}
    rows: list[dict[str, Any]] = []
    # One assistant per mode (the first also gives the extractive answer): the models
    # load per assistant, so modes beyond one cost memory, not time per question.
    bots = {m: Assistant(settings.model_copy(update={"answer": settings.answer.model_copy(
        update={"llm": LLMSettings(url=args.url, model=args.model, structured=m,
                                   max_tokens=args.max_tokens, timeout_s=args.timeout,
                                   max_passages=args.passages)})}))
            for m in args.modes}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "results.jsonl", "w", encoding="utf-8") as results:
        for i, q in enumerate(qs):
            rows += _ask(q, i, len(qs), bots, k=args.k, texts=texts)
            for row in rows[-len(bots):]:
                results.write(json.dumps(row, ensure_ascii=False) + "\n")
            results.flush()
    summary = {m: summarize([r for r in rows if r["mode"] == m]) for m in args.modes}
    summary["_setup"] = {"questions": len(qs), "k": args.k, "passages": args.passages,
                         "max_tokens": args.max_tokens, "home": str(home), "url": args.url}
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary


def _ask(q: dict[str, Any], i: int, n: int, bots: dict[str, Assistant], k: int,
         texts: dict[str, str]) -> list[dict[str, Any]]:
    """One question, extractive and through every mode, as `newsqa ask [--llm]` answers."""
    rows: list[dict[str, Any]] = []
    day = date.fromisoformat(q["date"]) if q.get("date") else None
    bot = next(iter(bots.values()))
    extractive = bot.ask(q["question"], k=k, as_of=day)
    for mode, llm_bot in bots.items():
        t0 = time.perf_counter()
        answer = llm_bot.ask(q["question"], k=k, as_of=day, llm=True)
        total = time.perf_counter() - t0
        rec = llm_bot.llm_answerer.last
        for c in answer.citations:
            if c.article_id not in texts:
                art = bot.article(c.article_id)
                texts[c.article_id] = art.text if art else ""
        verbatim = [texts[c.article_id][c.start:c.end] == c.quote for c in answer.citations]
        sa = answer.short_answer
        short = sa.text if sa else ""
        # the short answer shown lies inside one of the answer's own quotes
        short_in_cited = sa is not None and any(
            c.article_id == sa.article_id and c.start <= sa.start and sa.end <= c.end
            for c in answer.citations)
        row = {
            "id": q["id"], "mode": mode, "question": q["question"], "gold": q["answers"],
            "format_kept": rec.parsed is not None and rec.ids_valid,
            "parsed": rec.parsed is not None, "ids_valid": rec.ids_valid,
            "truncated": rec.truncated, "asked": bool(rec.tried),
            "structured": rec.structured, "answerer": answer.answerer,
            "fallback_reason": answer.fallback_reason,
            "checks": [c.outcome for c in answer.quote_checks],
            "verbatim": verbatim, "short": short, "short_in_cited": short_in_cited,
            "confidence": sa.confidence if sa else None,
            "llm_short": rec.parsed.short_answer if rec.parsed else "",
            "em": exact_match(short, q["answers"]), "f1": token_f1(short, q["answers"]),
            "extractive_short": (extractive.short_answer.text
                                 if extractive.short_answer else None),
            "first_token_s": rec.first_token_s, "total_s": total, "raw": rec.raw[:600],
        }
        rows.append(row)
        print(f"[{i + 1}/{n}] {mode:11} {answer.answerer:19} "
              f"fmt={row['format_kept']!s:5} checks={Counter(row['checks'])} "
              f"short={short!r} gold={q['answers'][0]!r} {total:.1f}s", file=sys.stderr)
    return rows


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    if not rows:
        return {}
    n = len(rows)
    # A question the articles don't cover is not sent to the model (answerer.py).
    asked = [r for r in rows if r.get("asked", bool(r["raw"]))]
    checks = Counter(c for r in rows for c in r["checks"])
    quotes = [v for r in rows for v in r["verbatim"]]
    ex = [r for r in rows if r["extractive_short"] is not None]
    by_llm = [r for r in rows if r["answerer"] == "llm"]
    llm_short = [r for r in by_llm if r["short"]]
    first = [r["first_token_s"] for r in rows if r["first_token_s"]]
    total = [r["total_s"] for r in rows]
    return {
        "questions": n,
        "asked_the_model": len(asked),
        "format_kept": (round(sum(r["format_kept"] for r in asked) / len(asked), 3)
                        if asked else None),
        "parsed": round(sum(r["parsed"] for r in asked) / len(asked), 3) if asked else None,
        "truncated_then_closed": sum(bool(r.get("truncated")) for r in rows),
        "quotes": dict(checks),
        "answered_by_llm": len(by_llm),
        "llm_answers_with_short_answer": len(llm_short),
        "short_answer_in_cited": (round(sum(bool(r.get("short_in_cited")) for r in llm_short)
                                        / len(llm_short), 3) if llm_short else None),
        "llm_answers_em": (round(sum(r["em"] or 0 for r in by_llm) / len(by_llm), 3)
                           if by_llm else None),
        "fallbacks": dict(Counter(r["fallback_reason"] for r in rows if r["fallback_reason"])),
        "citation_integrity": round(sum(quotes) / len(quotes), 3) if quotes else None,
        "short_answer_em": round(sum(r["em"] or 0 for r in rows) / n, 3),
        "short_answer_f1": round(sum(r["f1"] or 0 for r in rows) / n, 3),
        "llm_short_em_unverified": round(sum(
            exact_match(r["llm_short"], r["gold"]) or 0 for r in rows) / n, 3),
        "extractive_short_em": (round(sum(exact_match(r["extractive_short"], r["gold"]) or 0
                                          for r in ex) / len(ex), 3) if ex else None),
        "first_token_p50_s": p50(first), "first_token_p95_s": p95(first),
        "total_p50_s": p50(total), "total_p95_s": p95(total),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path("/var/tmp/rtqa22"))
    ap.add_argument("--small-home", type=Path, help="build/use a small index here instead")
    ap.add_argument("--distractors", type=int, default=150)
    ap.add_argument("--url", default="http://127.0.0.1:8765/v1")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--questions", type=Path, default=BENCH / "questions.jsonl",
                    help="questions .jsonl (default rtqa-2022's; seeds/questions.jsonl "
                    "with a home holding the seed)")
    ap.add_argument("-k", type=int, default=8, help="passages retrieved")
    ap.add_argument("--passages", type=int, default=3, help="passages shown to the model")
    ap.add_argument("--max-tokens", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=180)
    ap.add_argument("--modes", nargs="+", default=["json_object", "off"],
                    choices=["json_schema", "json_object", "off"])
    ap.add_argument("--out", type=Path, default=Path("bench/out/llm"))
    ap.add_argument("--summarize", type=Path, metavar="DIR",
                    help="only summarize DIR/results.jsonl of an earlier (or stopped) run")
    args = ap.parse_args()
    if args.summarize:
        rows = [json.loads(x) for x in (args.summarize / "results.jsonl").open(encoding="utf-8")]
        modes = list(dict.fromkeys(r["mode"] for r in rows))
        summary = {m: summarize([r for r in rows if r["mode"] == m]) for m in modes}
    elif not args.questions.is_file():
        sys.exit(f"no such questions file: {args.questions} (a .jsonl of questions, e.g. "
                 "seeds/questions.jsonl)")
    else:
        summary = run(args)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
