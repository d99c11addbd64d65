"""Ablations of the answer rules on identical retrievals: the multiple-choice rule, and
with --plain the sentence choice of questions asked without their options.

Retrieval is run ONCE per question (as of its date: the top 10 passages and the answer
built from them, plus the top 5 for "question + option") and cached; every rule variant is
then replayed on the same passages with the code in `assistant/choice.py`, so differences
are the rule's alone. `newsqa eval` remains the end-to-end number.

    .venv/bin/python bench/mc_rule.py --home /tmp/rtqa22 --slice rtqa-2022
    .venv/bin/python bench/mc_rule.py --home /tmp/rtqa24 --slice rtqa-2024

Variants: "evidence-v3" (passage text only, highest score always wins), "+ titles" (the
article title is read in front of each passage), "evidence-v4" (+ titles + the exclusion
rule for "which is not" questions; the default). Output: a Markdown table on stdout and
bench/out/mc-rule-<slice>.json; the retrieval cache is bench/out/mc-cache-<slice>.pkl
(git-ignored; --refresh rebuilds it).

--plain answers each answerable question (one with a supporting article) without its
options with `ExtractiveAnswerer`, with and without the "names something new" ranking
bonus (`W_NEW`), and reports the share whose answer string is inside the cited quotes
(`contains_any`, as `newsqa eval` computes cited_support), abstentions and quotes per
answer (bench/out/answer-rule-<slice>.json):

    .venv/bin/python bench/mc_rule.py --home /tmp/rtqa22 --slice rtqa-2022 --plain
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness import OUT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
MAIN_K = 10


def dump(home: Path, slice_name: str, limit: int | None) -> list[dict[str, Any]]:
    """Retrieve once per question; the rows hold Passage and Answer objects."""
    import assistant.choice as ch
    from assistant.evaluation.case import load_questions
    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    bot.open()
    rows = []
    questions = load_questions(SHARED / slice_name / "questions.jsonl").questions[:limit]
    for q in questions:
        if not q.choices or q.gold_choice is None:
            continue
        as_of = q.date
        main = bot.retriever.retrieve(q.question, MAIN_K, as_of)
        own = [bot.retriever.retrieve(ch.option_query(q.question, c), ch.OWN_PASSAGES, as_of)
               for c in q.choices]
        rows.append({
            "question": q.question, "choices": list(q.choices), "gold": q.gold_choice,
            "supported": bool(q.supporting_ids), "main": main, "own": own,
            "answer": bot.answerer.answer(q.question, main, query=q.question),
        })
    return rows


@contextmanager
def variant(titles: bool, exclusion: bool) -> Iterator[None]:
    """Switch the rule's title reading and exclusion handling off, temporarily."""
    import assistant.choice as ch

    saved = ch.matchable_text, ch.is_exclusion
    if not titles:
        ch.matchable_text = lambda p: p.text  # type: ignore[assignment]
    if not exclusion:
        ch.is_exclusion = lambda q: False  # type: ignore[assignment]
    try:
        yield
    finally:
        ch.matchable_text, ch.is_exclusion = saved


def replay(
    rows: list[dict[str, Any]], embedder: Any, is_exclusion: Callable[[str], bool]
) -> dict[str, Any]:
    """Accuracy of the current rule over the cached retrievals; `is_exclusion` (the
    unpatched test) only labels the questions for the report."""
    import assistant.choice as ch

    exclusion = {r["question"]: is_exclusion(r["question"]) for r in rows}
    ok: Counter[str] = Counter()
    n: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    t0 = time.perf_counter()
    for r in rows:
        own = {ch.option_query(r["question"], c): o for c, o in zip(r["choices"], r["own"],
                                                                    strict=True)}
        retrieve: Callable[[str], Any] = own.__getitem__
        pick = ch.pick_choice(r["question"], r["choices"], r["answer"], embedder,
                              retrieve=retrieve, reader=r.get("reader"))
        methods[pick.method] += 1
        for key in ("all", "supported" if r["supported"] else "unsupported"):
            n[key] += 1
            ok[key] += pick.index == r["gold"]
        if exclusion[r["question"]]:
            n["exclusion"] += 1
            ok["exclusion"] += pick.index == r["gold"]
    return {
        "accuracy": {k: ok[k] / n[k] for k in n}, "n": dict(n), "methods": dict(methods),
        "ms_per_question": (time.perf_counter() - t0) * 1000 / max(len(rows), 1),
    }


def plain(rows: list[dict[str, Any]], embedder: Any, settings: Any, slice_name: str
          ) -> dict[str, dict[str, float]]:
    """Sentence choice of the answerable questions asked plainly, with and without the
    names-something-new bonus."""
    import assistant.extractive as ex
    from assistant.evaluation import metrics
    from assistant.evaluation.case import load_questions

    answers = {q.question: q.answers for q in
               load_questions(SHARED / slice_name / "questions.jsonl").questions}
    rows = [r for r in rows if r["supported"]]
    default = ex.W_NEW
    results: dict[str, dict[str, float]] = {}
    for name, w_new in (("relevance only", 0.0),
                        (f"+ names-something-new bonus {default} (default)", default)):
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
        n = max(len(rows), 1)
        results[name] = {"answer_in_quotes": inside / n, "abstained": abstained / n,
                         "quotes_per_answer": quotes / n,
                         "ms_per_answer": (time.perf_counter() - t0) * 1000 / n}
    ex.W_NEW = default
    print(f"\n{slice_name}: {len(rows)} answerable questions, asked without options\n")
    print("| sentence choice | answer in quotes | abstained | quotes per answer |")
    print("|---|---|---|---|")
    for name, res in results.items():
        print(f"| {name} | {res['answer_in_quotes']:.3f} | {res['abstained']:.3f} | "
              f"{res['quotes_per_answer']:.2f} |")
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--home", type=Path, required=True, help="data home with the slice indexed")
    ap.add_argument("--slice", default="rtqa-2022",
                    choices=["rtqa-2022", "rtqa-2023", "rtqa-2024"])
    ap.add_argument("--limit", type=int, help="only the first N questions")
    ap.add_argument("--refresh", action="store_true", help="rebuild the retrieval cache")
    ap.add_argument("--reader", type=float, nargs="*", default=[],
                    help="also replay evidence-v4 + the reader's option scores at these "
                         "weights (issue 10, item 7)")
    ap.add_argument("--span-model", type=Path,
                    help="read the options with this span model instead of the shipped one "
                         "(a year's scores out of sample: bench/out/span22/span.onnx for "
                         "rtqa-2023)")
    ap.add_argument("--plain", action="store_true",
                    help="the sentence choice of plain questions instead of the quiz rule")
    args = ap.parse_args()
    if args.span_model and not args.span_model.is_file():
        sys.exit(f"{args.span_model} is missing: train it with training/train_span.py")
    out = OUT
    out.mkdir(parents=True, exist_ok=True)
    cache = out / f"mc-cache-{args.slice}{f'-{args.limit}' if args.limit else ''}.pkl"
    if cache.exists() and not args.refresh:
        rows = pickle.loads(cache.read_bytes())
    else:
        t0 = time.perf_counter()
        rows = dump(args.home, args.slice, args.limit)
        cache.write_bytes(pickle.dumps(rows))
        print(f"retrieved {len(rows)} questions in {time.perf_counter() - t0:.0f}s",
              file=sys.stderr)

    import assistant.choice as ch
    from assistant.settings import load_settings
    from index.embed import make_embedder

    is_exclusion = ch.is_exclusion  # before `variant` patches it
    settings = load_settings(home=args.home)
    embedder = make_embedder(settings.embedding, settings.model_dir)
    if args.plain:
        found = plain(rows, embedder, settings, args.slice)
        (out / f"answer-rule-{args.slice}.json").write_text(json.dumps(found, indent=1))
        return
    results = {}
    for name, titles, exclusion in (("evidence-v3", False, False), ("+ titles", True, False),
                                    ("evidence-v4 (default)", True, True)):
        with variant(titles, exclusion):
            results[name] = replay(rows, embedder, is_exclusion)
    if args.reader:
        from assistant.extractive import ExtractiveAnswerer
        from assistant.question import analyse
        from assistant.reader.model import SpanModel
        from assistant.reader.span import SpanReader

        scorer = SpanModel(args.span_model) if args.span_model else None
        answerer = ExtractiveAnswerer(embedder, settings.answer, SpanReader(scorer=scorer))
        t0 = time.perf_counter()
        for r in rows:
            r["reader"] = answerer.option_support(analyse(r["question"]), r["main"],
                                                  r["choices"], r["question"])
        print(f"reader option scores: {(time.perf_counter() - t0) * 1000 / len(rows):.0f} "
              "ms per question", file=sys.stderr)
        saved = ch.WEIGHTS["reader"]
        for weight in args.reader:
            ch.WEIGHTS["reader"] = weight
            results[f"evidence-v4 + reader x{weight}"] = replay(rows, embedder, is_exclusion)
        ch.WEIGHTS["reader"] = saved
    (out / f"mc-rule-{args.slice}.json").write_text(json.dumps(results, indent=1))
    first = next(iter(results.values()))["n"]
    print(f"\n{args.slice}: {first['all']} questions ({first.get('supported', 0)} with a "
          f"supporting article, {first.get('exclusion', 0)} exclusion questions)\n")
    print("| rule | MC accuracy | supported | unsupported | exclusion q. | methods |")
    print("|---|---|---|---|---|---|")
    for name, res in results.items():
        acc = res["accuracy"]
        print(f"| {name} | {acc['all']:.4f} | {acc.get('supported', 0):.4f} | "
              f"{acc.get('unsupported', 0):.4f} | {acc.get('exclusion', 0):.3f} | "
              f"{', '.join(f'{k} {v}' for k, v in sorted(res['methods'].items()))} |")


if __name__ == "__main__":
    main()
