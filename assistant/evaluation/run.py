"""The evaluation loop: ask every question through `Assistant.ask` (the chat's own code
path), score the answer, write `results.jsonl` line by line and `report.json` at the end.

Scoring one question (`score_question`) and summarising many (`aggregate`) are separate
pure-ish functions so they can be tested without an index.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer import CONFIDENT_AT
from assistant.choice import RULE, pick_choice
from assistant.evaluation import calibration
from assistant.evaluation import metrics as m
from assistant.evaluation.case import Case

if TYPE_CHECKING:
    from assistant.answer import Answer
    from assistant.service import Assistant
    from index.embed import Embedder

CUTOFFS = (1, 5, 10)  # the @k of the headline metrics
DEFAULT_K = 10  # passages asked for per question: enough for Hit@10
SCHEMA_VERSION = 1
ArticleText = Callable[[str], "str | None"]


def package_version() -> str:
    """Installed version of newsqa, else the one in pyproject.toml, else "unknown"."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsqa")
    except PackageNotFoundError:
        pass
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text())["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


def git_commit() -> str | None:
    """The checkout's commit (read-only `git rev-parse HEAD`), or None outside git."""
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parents[2],
            capture_output=True, text=True, timeout=5, check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


def _rank_within(rank: int | None, has_gold: bool, n: int) -> float | None:
    if not has_gold:
        return None
    return 1.0 if rank is not None and rank <= n else 0.0


def score_question(
    q: Case, answer: Answer, article_text: ArticleText, embedder: Embedder,
    plain: Answer | None = None, confident_at: float = CONFIDENT_AT,
) -> dict[str, Any]:
    """Per-question scores. `article_text(id)` returns the stored article text (for the
    citation check). Ranks are 1-based; None means "not found" (or no gold to find).
    `plain` is the answer to the question asked without its options (defaults to
    `answer`): the short answer and "answer in the quotes (plain)" are scored on it, and
    whether it would be stated as a fact at confidence `confident_at`."""
    plain = plain or answer
    # A passage stands for the articles whose identical copy it replaced (`copies`): the
    # gold article's text was read, under another article's id.
    ranked_articles = seen_as(answer, q.gold_ids)
    ranked_supporting = seen_as(answer, q.supporting_ids)
    chunk_texts = [p.text for p in answer.retrieved]
    gold_rank = m.first_hit_rank(ranked_articles, q.gold_ids) if q.gold_ids else None
    sup_rank = (
        m.first_hit_rank(ranked_supporting, q.supporting_ids) if q.supporting_ids else None
    )
    support_rank = None
    if q.answers:
        for i, text in enumerate(chunk_texts, start=1):
            if m.contains(text, q.answers):
                support_rank = i
                break
    prediction = "" if answer.abstained else m.strip_markers(answer.text)
    quotes = [c.quote for c in answer.citations]
    verbatim = 0
    cited = [*answer.citations, *(plain.citations if plain is not answer else ())]
    for c in cited:
        stored = article_text(c.article_id)
        if stored is not None and stored[c.start:c.end] == c.quote:
            verbatim += 1
    short = plain.short_answer
    if short is not None:
        stored = article_text(short.article_id)
        verbatim_short = stored is not None and stored[short.start:short.end] == short.text
    short_text = None if short is None or plain.abstained else short.text
    # Only a factoid question gets a short answer (`assistant.question.kind`): the others
    # are not scored on one.
    factoid = plain.question_kind == "factoid"
    scores: dict[str, Any] = {
        "gold_rank": gold_rank,
        "supporting_rank": sup_rank,
        "support_rank": support_rank,
        "gold_mrr@10": m.mrr_at_k(ranked_articles, q.gold_ids, 10),
        "supporting_mrr@10": m.mrr_at_k(ranked_supporting, q.supporting_ids, 10),
    }
    for n in CUTOFFS:
        scores[f"gold_hit@{n}"] = m.hit_at_k(ranked_articles, q.gold_ids, n)
        scores[f"supporting_hit@{n}"] = m.hit_at_k(ranked_supporting, q.supporting_ids, n)
        scores[f"support@{n}"] = m.support_at_k(chunk_texts, q.answers, n)
    scores.update(
        cited_support=m.contains_any(quotes, q.answers),
        exact_match=m.exact_match(prediction, q.answers),
        f1=m.token_f1(prediction, q.answers),
        contains=m.contains(prediction, q.answers),
        quotes=len(cited),
        quotes_verbatim=verbatim,
        plain_cited_support=m.contains_any([c.quote for c in plain.citations], q.answers),
        short_exact_match=m.short_exact_match(short_text, q.answers) if factoid else None,
        short_f1=m.short_f1(short_text, q.answers) if factoid else None,
        short_answered=float(short_text is not None) if factoid else None,
        short_verbatim=None if short is None else float(verbatim_short),
    )
    row: dict[str, Any] = {"predicted_choice": None, "choice_scores": None,
                           "choice_method": None, "gold_choice": q.gold_choice,
                           "short_answer": short.to_json() if short else None,
                           "confident": plain.confident(confident_at),
                           "alternatives": [a.to_json() for a in plain.alternatives],
                           "differ": [d.to_json() for d in plain.differ]}
    if q.choices:
        if answer.choice is not None:  # asked with the options: the assistant picked
            index, method, choice_scores = (answer.choice, answer.choice_method,
                                            answer.choice_scores)
        else:
            pick = pick_choice(q.question, q.choices, answer, embedder)
            index, method, choice_scores = pick.index, pick.method, pick.scores
        row.update(predicted_choice=index, choice_method=method,
                   choice_scores=[round(s, 4) for s in choice_scores])
        scores["choice_correct"] = (
            None if q.gold_choice is None else float(index == q.gold_choice)
        )
    else:
        scores["choice_correct"] = None
    row["scores"] = scores
    return row


def seen_as(answer: Answer, wanted: Sequence[str]) -> list[str]:
    """The retrieved article ids in rank order, each replaced by a `wanted` one whose
    identical passage it stands for (`Answer.copies`)."""
    want = set(wanted)
    out = []
    for p in answer.retrieved:
        copy = next((a for a in answer.copies.get(p.chunk_id, ()) if a in want), None)
        out.append(p.article_id if p.article_id in want or copy is None else copy)
    return out


def result_row(
    q: Case, answer: Answer | None, latency_ms: float | None, scored: dict[str, Any],
    as_of: str | None, error: str | None = None,
) -> dict[str, Any]:
    """One line of results.jsonl (see docs/evaluation.md for every field)."""
    data = answer.to_json() if answer is not None else {}
    retrieved = [{"rank": i, **r} for i, r in enumerate(data.get("retrieved", []), start=1)]
    return {
        "id": q.id,
        "question": q.question,
        "question_kind": data.get("question_kind"),
        "date": q.date.isoformat() if q.date else None,
        "as_of": as_of,
        "answers": q.answers,
        "choices": q.choices,
        "gold_ids": q.gold_ids,
        "supporting_ids": q.supporting_ids,
        "answerable": q.is_answerable,
        "answer": data.get("answer"),
        "short_answer": scored.get("short_answer"),
        "confident": scored.get("confident"),
        "alternatives": scored.get("alternatives", []),
        "differ": scored.get("differ", []),
        "abstained": data.get("abstained"),
        "relevance": data.get("relevance"),
        "citations": data.get("citations", []),
        "answerer": data.get("answerer"),
        "fallback_reason": data.get("fallback_reason"),
        "quote_checks": data.get("quote_checks", []),
        "retrieved": retrieved,
        "retrieved_articles": m.unique_in_order(r["article_id"] for r in retrieved),
        "predicted_choice": scored.get("predicted_choice"),
        "gold_choice": q.gold_choice,
        "choice_scores": scored.get("choice_scores"),
        "choice_method": scored.get("choice_method"),
        "latency_ms": round(latency_ms, 2) if latency_ms is not None else None,
        "scores": scored.get("scores", {}),
        "error": error,
    }


def _rate(rows: Sequence[dict[str, Any]], key: str) -> tuple[float | None, int]:
    vals = [r["scores"].get(key) for r in rows]
    return m.mean(vals), m.count(vals)


def aggregate(rows: Sequence[dict[str, Any]], k: int) -> dict[str, Any]:
    """Every metric over the result rows. Rows with an `error` count as questions but not
    in any metric. Metrics at a cutoff above `k` are None (not enough was retrieved)."""
    ok = [r for r in rows if not r.get("error")]
    out: dict[str, Any] = {}
    for prefix, rank_key, has in (
        ("gold_", "gold_rank", lambda r: bool(r["gold_ids"])),
        ("supporting_", "supporting_rank", lambda r: bool(r["supporting_ids"])),
    ):
        counted = [r for r in ok if has(r)]
        out[f"{prefix}n"] = len(counted)
        for n in CUTOFFS:
            out[f"{prefix}hit@{n}"] = (
                m.mean(_rank_within(r["scores"][rank_key], True, n) for r in counted)
                if n <= k else None
            )
        out[f"{prefix}mrr@10"] = m.mean(r["scores"][f"{prefix}mrr@10"] for r in counted)
    with_answers = [r for r in ok if r["answers"]]
    out["support_n"] = len(with_answers)
    for n in CUTOFFS:
        out[f"support@{n}"] = (
            m.mean(_rank_within(r["scores"]["support_rank"], True, n) for r in with_answers)
            if n <= k else None
        )
    out["cited_support"], _ = _rate(with_answers, "cited_support")
    out["exact_match"], out["answer_n"] = _rate(with_answers, "exact_match")
    out["f1"], _ = _rate(with_answers, "f1")
    out["contains"], _ = _rate(with_answers, "contains")
    # Short answers: over every question with gold answers (the published baselines'
    # "all questions" column) and over the answerable ones (their "answerable" column).
    answerable_golds = [r for r in with_answers if r["answerable"] is True]
    for suffix, group in (("", with_answers), ("_answerable", answerable_golds)):
        out[f"short_exact_match{suffix}"], out[f"short_n{suffix}"] = _rate(
            group, "short_exact_match")
        out[f"short_f1{suffix}"], _ = _rate(group, "short_f1")
        out[f"short_answered{suffix}"], _ = _rate(group, "short_answered")
    out["plain_cited_support"], _ = _rate(answerable_golds, "plain_cited_support")
    out["short_verbatim"], out["short_verbatim_n"] = _rate(ok, "short_verbatim")
    out["mc_accuracy"], out["mc_n"] = _rate(ok, "choice_correct")
    unanswerable = [r for r in ok if r["answerable"] is False]
    answerable = [r for r in ok if r["answerable"] is True]
    out["abstain_unanswerable"] = m.mean(float(bool(r["abstained"])) for r in unanswerable)
    out["unanswerable_n"] = len(unanswerable)
    out["abstain_answerable"] = m.mean(float(bool(r["abstained"])) for r in answerable)
    out["answerable_n"] = len(answerable)
    out["abstain_all"] = m.mean(float(bool(r["abstained"])) for r in ok)
    quotes = sum(r["scores"]["quotes"] for r in ok)
    verbatim = sum(r["scores"]["quotes_verbatim"] for r in ok)
    out["citation_integrity"] = verbatim / quotes if quotes else None
    out["quotes_n"] = quotes
    # LLM answers (`newsqa eval --llm`): who wrote them, and what became of the quotes
    out["llm_answered"] = sum(1 for r in ok if r.get("answerer") == "llm")
    out["llm_fallbacks"] = sum(1 for r in ok if r.get("answerer") == "extractive-fallback")
    for outcome in ("exact", "repaired", "dropped"):
        out[f"llm_quotes_{outcome}"] = sum(
            1 for r in ok for c in r.get("quote_checks") or [] if c["outcome"] == outcome)
    out.update(calibration.metrics(ok))
    lat = [r["latency_ms"] for r in ok if r["latency_ms"] is not None]
    out["latency_p50_ms"] = m.percentile(lat, 50)
    out["latency_p95_ms"] = m.percentile(lat, 95)
    out["latency_mean_ms"] = m.mean(lat)
    return out


def curves(rows: Sequence[dict[str, Any]], k: int) -> dict[str, list[Any]]:
    """Hit@n (gold, supporting) and answer support@n for n = 1..max(k, 1)."""
    ok = [r for r in rows if not r.get("error")]
    ns = list(range(1, max(k, 1) + 1))
    out: dict[str, list[Any]] = {"n": ns}
    for name, key, has in (
        ("gold_hit", "gold_rank", "gold_ids"),
        ("supporting_hit", "supporting_rank", "supporting_ids"),
        ("support", "support_rank", "answers"),
    ):
        counted = [r for r in ok if r[has]]
        out[name] = [m.mean(_rank_within(r["scores"][key], True, n) for r in counted)
                     for n in ns]
    return out


def run_config(bot: Assistant, k: int, use_as_of: bool) -> dict[str, Any]:
    """What produced the numbers: index, model, chunking, retrieval and answer settings."""
    s = bot.settings
    return {
        "package_version": package_version(),
        "git_commit": git_commit(),
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "k": k,
        "use_as_of": use_as_of,
        "choice_rule": RULE,
        "index": bot.info(),
        "embedding": s.embedding.model_dump(mode="json"),
        "chunking": s.chunking.model_dump(mode="json"),
        "retrieval": s.retrieval.model_dump(mode="json"),
        "answer": s.answer.model_dump(mode="json"),
    }


def evaluate(
    bot: Assistant,
    questions: Sequence[Case],
    out_dir: Path,
    k: int = DEFAULT_K,
    use_as_of: bool = True,
    progress: bool = True,
    limit: int | None = None,
    questions_file: str | None = None,
    bad_lines: int = 0,
    llm: bool = False,
) -> dict[str, Any]:
    """Ask every question (the first `limit`), write `out_dir/results.jsonl` (one line per
    question, written as it is answered) and `out_dir/report.json`; return the report.
    An exception from one question is recorded in its row (`error`) and the run goes on;
    a missing index fails at once (from `bot.info()`). On Ctrl-C the report of the
    questions done so far is written (`counts.interrupted`) and the interrupt re-raised."""
    from tqdm import tqdm

    if k < 1:
        raise ValueError("k must be at least 1")
    config = run_config(bot, k, use_as_of)  # opens the index: fails early if there is none
    todo = list(questions[:limit] if limit else questions)
    config.update(questions_file=questions_file, questions=len(todo), limit=limit)
    out_dir.mkdir(parents=True, exist_ok=True)
    texts: dict[str, str | None] = {}

    def article_text(aid: str) -> str | None:
        if aid not in texts:
            art = bot.article(aid)
            texts[aid] = art.text if art is not None else None
        return texts[aid]

    # Load the model and build the retriever now, so the first question's latency is not
    # the one-off start-up cost.
    bot.embedder.embed_query("warm-up")
    _ = bot.retriever
    rows: list[dict[str, Any]] = []
    interrupted = False
    bar = tqdm(total=len(todo), desc="eval", unit="q", file=sys.stderr, disable=not progress,
               dynamic_ncols=True)
    try:
        with (out_dir / "results.jsonl").open("w", encoding="utf-8") as fh:
            for q in todo:
                as_of = q.date if use_as_of else None
                try:
                    t0 = time.perf_counter()
                    choices = q.choices or ()
                    if llm:  # only when asked: Assistant-likes without `llm` still work
                        answer = bot.ask(q.question, k=k, as_of=as_of, choices=choices,
                                         llm=True)
                    else:
                        answer = bot.ask(q.question, k=k, as_of=as_of, choices=choices)
                    latency = (time.perf_counter() - t0) * 1000
                    # The short answer is scored as a plain question would get it.
                    plain = bot.ask(q.question, k=k, as_of=as_of) if q.choices else answer
                    scored = score_question(q, answer, article_text, bot.embedder, plain,
                                            bot.settings.answer.confident_at)
                    row = result_row(q, answer, latency, scored,
                                     as_of.isoformat() if as_of else None)
                except Exception as exc:  # noqa: BLE001 - one bad question must not end the run
                    row = result_row(q, None, None, {}, as_of.isoformat() if as_of else None,
                                     error=f"{type(exc).__name__}: {exc}")
                rows.append(row)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                fh.flush()
                bar.update(1)
                bar.set_postfix(_running(rows), refresh=False)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        bar.close()
        report = {
            "schema": SCHEMA_VERSION,
            "config": config,
            "counts": {
                "questions": len(todo),
                "evaluated": len(rows),
                "errors": sum(bool(r["error"]) for r in rows),
                "bad_lines": bad_lines,
                "interrupted": interrupted,
            },
            "metrics": aggregate(rows, k),
            "curves": curves(rows, k),
            "choice_methods": dict(Counter(r["choice_method"] for r in rows
                                           if r["choice_method"])),
        }
        (out_dir / "report.json").write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return report


def _running(rows: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Progress-bar postfix: running Hit@10 (gold, else supporting) and MC accuracy."""
    ok = [r for r in rows if not r["error"]]
    post: dict[str, str] = {}
    for label, key in (("hit@10", "gold_hit@10"), ("hit@10(sup)", "supporting_hit@10")):
        value = m.mean(r["scores"].get(key) for r in ok)
        if value is not None:
            post[label] = f"{value:.2f}"
            break
    mc = m.mean(r["scores"].get("choice_correct") for r in ok)
    if mc is not None:
        post["mc"] = f"{mc:.2f}"
    errors = len(rows) - len(ok)
    if errors:
        post["errors"] = str(errors)
    return post
