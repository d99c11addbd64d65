"""Human-readable output of an evaluation: the headline table, and `report.md` with PNG
plots (Hit@k curve, latency histogram, confidence) and the worst failures (the comparison
of runs is `assistant.evaluation.compare`).

Plots are drawn off-screen (`assistant.evaluation.figure`), so this works on a headless
machine and inside the chat server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.evaluation.figure import new_figure

# (metric key, label, kind, key of its n) of the headline table; kind picks the format.
HEADLINE: tuple[tuple[str, str, str, str], ...] = (
    ("gold_hit@10", "Hit@10 (gold)", "rate", "gold_n"),
    ("gold_mrr@10", "MRR@10 (gold)", "rate", "gold_n"),
    ("supporting_hit@10", "Hit@10 (supporting)", "rate", "supporting_n"),
    ("supporting_mrr@10", "MRR@10 (supporting)", "rate", "supporting_n"),
    ("support@10", "Answer support@10", "rate", "support_n"),
    ("cited_support", "Answer in cited quotes", "rate", "support_n"),
    ("contains", "Answer contains gold", "rate", "answer_n"),
    ("short_exact_match", "Short answer EM (all)", "rate", "short_n"),
    ("short_f1", "Short answer F1 (all)", "rate", "short_n"),
    ("short_exact_match_answerable", "Short answer EM (answerable)", "rate",
     "short_n_answerable"),
    ("short_f1_answerable", "Short answer F1 (answerable)", "rate", "short_n_answerable"),
    ("plain_cited_support", "Answer in quotes, plain (answerable)", "rate",
     "short_n_answerable"),
    ("precision_at_30", "Short answer precision at coverage 0.30", "rate", "confidence_n"),
    ("stated_precision", "Stated as \"Answer:\": precision", "rate", "confidence_n"),
    ("stated_coverage", "Stated as \"Answer:\": coverage", "rate", "confidence_n"),
    ("confidence_ece", "Confidence ECE (10 bins)", "rate", "confidence_n"),
    ("mc_accuracy", "MC accuracy", "rate", "mc_n"),
    ("abstain_unanswerable", "Abstains when unanswerable", "rate", "unanswerable_n"),
    ("abstain_answerable", "Abstains when answerable (wrong)", "rate", "answerable_n"),
    ("citation_integrity", "Citation integrity", "rate", "quotes_n"),
    ("latency_p50_ms", "Latency p50 (ms)", "ms", ""),
    ("latency_p95_ms", "Latency p95 (ms)", "ms", ""),
)
# Every metric in report.md, grouped, with the n it was computed over.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("Retrieval vs gold_ids", "gold_n",
     ("gold_hit@1", "gold_hit@5", "gold_hit@10", "gold_mrr@10")),
    ("Retrieval vs supporting_ids", "supporting_n",
     ("supporting_hit@1", "supporting_hit@5", "supporting_hit@10", "supporting_mrr@10")),
    ("Answer support", "support_n", ("support@1", "support@5", "support@10", "cited_support")),
    ("Answers", "answer_n", ("exact_match", "f1", "contains")),
    ("Short answers (all)", "short_n",
     ("short_exact_match", "short_f1", "short_answered")),
    ("Short answers (answerable)", "short_n_answerable",
     ("short_exact_match_answerable", "short_f1_answerable", "short_answered_answerable",
      "plain_cited_support")),
    ("Short answers located verbatim", "short_verbatim_n", ("short_verbatim",)),
    ("Short-answer confidence (answerable)", "confidence_n",
     ("confidence_ece", "precision_at_10", "precision_at_30", "precision_at_50",
      "stated_coverage", "stated_precision")),
    ("Multiple choice", "mc_n", ("mc_accuracy",)),
    ("Abstention (unanswerable)", "unanswerable_n", ("abstain_unanswerable",)),
    ("Abstention (answerable)", "answerable_n", ("abstain_answerable",)),
    ("Citations", "quotes_n", ("citation_integrity",)),
    ("Latency", "", ("latency_p50_ms", "latency_p95_ms", "latency_mean_ms")),
)
MC_REFERENCE = (("GPT-3 + web search", 0.730), ("RAG + web search", 0.570),
                ("GPT-3 closed-book", 0.467), ("chance", 0.25))
# The published free-text baselines on the rtqa-2022 questions: (system, all questions
# EM, F1, answerable questions EM, F1), scored with SQuAD normalisation.
FREE_TEXT_REFERENCE = (("GPT-3 + web search", 0.415, 0.504, 0.572, 0.656),
                       ("RAG (BART reader) + web search", 0.262, 0.322, 0.390, 0.465),
                       ("GPT-3 closed-book", 0.164, 0.230, 0.207, 0.274))
WORST = 10


def fmt(value: Any, kind: str = "rate") -> str:
    """A metric value for a table: rates with 3 decimals, milliseconds rounded, n/a."""
    if value is None:
        return "n/a"
    if kind == "ms" or (kind == "auto" and isinstance(value, float) and value > 1.0):
        return f"{value:.0f}"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def metric_kind(key: str) -> str:
    """How a metric is formatted: milliseconds for `*_ms`, else a rate."""
    return "ms" if key.endswith("_ms") else "rate"


def headline(report: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, formatted value) rows of the headline table, with the n behind each."""
    met = report["metrics"]
    rows = []
    for key, label, kind, n_key in HEADLINE:
        n = f" (n={met.get(n_key, 0)})" if n_key else ""
        rows.append((label + n, fmt(met.get(key), kind)))
    return rows


def text_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A plain aligned table for the terminal."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))
    return "\n".join(lines)


def md_table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A Markdown table (pipes in cells escaped)."""
    def cell(x: object) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# -- plots (on `figure.new_figure`) ---------------------------------------------------
def plot_hit_curve(report: dict[str, Any], path: Path) -> Path | None:
    """Hit@n (gold, supporting) and answer support@n for n = 1..k; None if nothing to plot."""
    cur = report.get("curves") or {}
    ns = cur.get("n") or []
    series: list[tuple[str, list[float | None]]] = []
    for key, label in (("gold_hit", "Hit@n vs gold_ids"),
                       ("supporting_hit", "Hit@n vs supporting_ids"),
                       ("support", "answer in top-n chunks")):
        ys = cur.get(key) or []
        if any(y is not None for y in ys):
            series.append((label, ys))
    if not ns or not series:
        return None
    fig = new_figure()
    ax = fig.add_subplot()
    for label, ys in series:
        ax.plot(ns, [float("nan") if y is None else y for y in ys], marker="o", label=label)
    ax.set_xlabel("n (articles for Hit@n, chunks for support)")
    ax.set_ylabel("fraction of questions")
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ns)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Retrieval by cutoff")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_latency(latencies: Sequence[float], path: Path) -> Path | None:
    """Histogram of per-question latency with p50/p95 lines; None for no latencies."""
    from assistant.evaluation.metrics import percentile

    if not latencies:
        return None
    fig = new_figure()
    ax = fig.add_subplot()
    ax.hist(latencies, bins=min(40, max(5, len(latencies) // 3)), color="#4c72b0")
    for q, style in ((50, "--"), (95, ":")):
        v = percentile(latencies, q)
        if v is not None:
            ax.axvline(v, color="black", linestyle=style, label=f"p{q} = {v:.0f} ms")
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.legend()
    ax.set_title("Latency of ask()")
    fig.tight_layout()
    fig.savefig(path)
    return path


# -- report.md --------------------------------------------------------------------------
def failure_points(row: dict[str, Any]) -> int:
    """How badly a question went: 2 for a missed gold/supporting article (within the
    retrieved), 2 for a wrong abstention either way, 1 for a wrong option, 1 for an answer
    without the gold string. Errors score highest."""
    if row.get("error"):
        return 10
    s = row["scores"]
    pts = 0
    if (row["gold_ids"] and s.get("gold_rank") is None) or (
        not row["gold_ids"] and row["supporting_ids"] and s.get("supporting_rank") is None
    ):
        pts += 2
    if (row["answerable"] is False and not row["abstained"]) or (
        row["answerable"] is True and row["abstained"]
    ):
        pts += 2
    if s.get("choice_correct") == 0.0:
        pts += 1
    if s.get("contains") == 0.0:
        pts += 1
    return pts


def worst_failures(rows: Sequence[dict[str, Any]], n: int = WORST) -> list[dict[str, Any]]:
    """The `n` rows with the most failure points (ties: lower F1 first, then file order)."""
    scored = [(failure_points(r), i, r) for i, r in enumerate(rows)]
    scored = [t for t in scored if t[0] > 0]
    scored.sort(key=lambda t: (-t[0], t[2]["scores"].get("f1") or 0.0, t[1]))
    return [r for _, _, r in scored[:n]]


def _short(text: str | None, limit: int = 300) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _failure_md(i: int, row: dict[str, Any]) -> list[str]:
    expected = ("abstain" if row["answerable"] is False and not row["answers"]
                else "; ".join(row["answers"]) or "n/a")
    lines = [f"### {i}. `{row['id']}` — {_short(row['question'], 200)}", ""]
    if row.get("error"):
        return lines + [f"- **error**: {row['error']}", ""]
    got = "(abstained)" if row["abstained"] else _short(row["answer"])
    lines.append(f"- **expected**: {expected}")
    if row["choices"]:
        pc = row["predicted_choice"]
        picked = row["choices"][pc] if pc is not None else "none"
        lines.append(f"- **picked option**: {picked} (scores {row['choice_scores']}, "
                     f"{row['choice_method']})")
    lines.append(f"- **got**: {got}")
    short = row.get("short_answer")
    lines.append(f"- **short answer**: {short['text'] if short else 'none'}")
    gold = ", ".join(row["gold_ids"]) or "none"
    sup = ", ".join(row["supporting_ids"]) or "none"
    lines.append(f"- **gold ids**: {gold}; **supporting ids**: {sup}")
    lines.append("- **retrieved** (rank, article, score, title):")
    wanted = set(row["gold_ids"]) | set(row["supporting_ids"])
    seen: set[str] = set()
    for r in row["retrieved"]:
        if r["article_id"] in seen:
            continue
        seen.add(r["article_id"])
        mark = " **(gold)**" if r["article_id"] in wanted else ""
        lines.append(f"  {r['rank']}. `{r['article_id']}` {r['score']:.3f} "
                     f"{_short(r.get('title'), 90)}{mark}")
        if len(seen) >= 5:
            break
    lines.append("")
    return lines


def write_markdown(report: dict[str, Any], rows: Sequence[dict[str, Any]], out_dir: Path) -> Path:
    """Write `report.md` and its PNG plots into `out_dir`; returns the report path."""
    cfg, met, counts = report["config"], report["metrics"], report["counts"]
    hit_png = plot_hit_curve(report, out_dir / "hit_at_k.png")
    lat = [r["latency_ms"] for r in rows if r.get("latency_ms") is not None]
    lat_png = plot_latency(lat, out_dir / "latency.png")
    from assistant.evaluation.calibration import plot_precision_coverage, plot_reliability

    extra = [(title, png) for title, png in (
        ("Reliability of the short answer's confidence",
         plot_reliability(rows, out_dir / "reliability.png")),
        ("Precision at coverage",
         plot_precision_coverage(rows, out_dir / "precision_coverage.png")),
    ) if png is not None]
    idx = cfg.get("index", {})
    lines = [
        "# newsqa evaluation", "",
        f"- questions: `{cfg.get('questions_file')}`: {counts['evaluated']} evaluated of "
        f"{counts['questions']} ({counts['errors']} errors, {counts['bad_lines']} bad lines"
        + (", **interrupted**" if counts.get("interrupted") else "") + ")",
        f"- index: {idx.get('articles')} articles, {idx.get('chunks')} chunks, "
        f"model `{idx.get('embedding_model')}`, chunks {idx.get('chunk_size')}/"
        f"{idx.get('chunk_overlap')} tokens",
        f"- retrieval: k={cfg['k']}, mode={cfg['retrieval'].get('mode')}, "
        f"as-of dates {'used' if cfg['use_as_of'] else 'ignored'}; answer: "
        + ", ".join(f"{k}={v}" for k, v in cfg["answer"].items()),
        f"- newsqa {cfg['package_version']} (commit {(cfg.get('git_commit') or '?')[:10]}), "
        f"multiple-choice rule {cfg['choice_rule']}, {cfg['timestamp']}", "",
        "## Summary", "",
        md_table(headline(report), ("metric", "value")), "",
    ]
    if met.get("mc_n"):
        ref = [(name, f"{v:.3f}") for name, v in MC_REFERENCE]
        lines += ["Published multiple-choice accuracy on the rtqa-2022 questions (for scale; "
                  "those systems saw each question's own search results):", "",
                  md_table([("this run", fmt(met.get("mc_accuracy"))), *ref],
                           ("system", "MC accuracy")), ""]
    if met.get("short_n"):
        free = [(name, f"{a:.3f} / {b:.3f}", f"{c:.3f} / {d:.3f}")
                for name, a, b, c, d in FREE_TEXT_REFERENCE]
        lines += ["Short answers, exact match / token F1. Normalisation: SQuAD's (lower case, "
                  "punctuation removed, a/an/the dropped, whitespace collapsed) plus every "
                  "Unicode punctuation character removed. Each question is asked without "
                  "its options for this. Published free-text baselines on the rtqa-2022 "
                  "questions for scale (scored the same way; they saw each question's own "
                  "search results):", "",
                  md_table([("this run",
                             f"{fmt(met.get('short_exact_match'))} / "
                             f"{fmt(met.get('short_f1'))} (n={met.get('short_n')})",
                             f"{fmt(met.get('short_exact_match_answerable'))} / "
                             f"{fmt(met.get('short_f1_answerable'))} "
                             f"(n={met.get('short_n_answerable')})"), *free],
                           ("system", "all questions", "answerable questions")), ""]
    lines += ["## All metrics", ""]
    table = []
    for section, n_key, keys in SECTIONS:
        n = str(met.get(n_key, "")) if n_key else str(counts["evaluated"] - counts["errors"])
        for key in keys:
            table.append((section, key, fmt(met.get(key), metric_kind(key)), n))
    lines += [md_table(table, ("group", "metric", "value", "n")), ""]
    if hit_png or lat_png or extra:
        lines += ["## Plots", ""]
        if hit_png:
            lines += [f"![Hit@k curve]({hit_png.name})", ""]
        if lat_png:
            lines += [f"![Latency histogram]({lat_png.name})", ""]
        lines += [line for title, png in extra for line in (f"![{title}]({png.name})", "")]
    worst = worst_failures(rows)
    lines += ["## Worst failures", ""]
    if not worst:
        lines += ["None: every question was answered as expected.", ""]
    for i, row in enumerate(worst, start=1):
        lines += _failure_md(i, row)
    path = out_dir / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
