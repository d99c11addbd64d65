"""Warm ask latency per stage, in process (issue 12, point 3).

Opens an existing data home (read only: nothing is written to it), warms it up, then asks
the first N questions of a benchmark slice as of their dates (as `newsqa eval` does,
plain questions without the quiz options) and reports p50/p95 of every stage:

  retrieve.query_embedding   the question's vector (retrieval)
  retrieve.dense             nearest chunks in Chroma (ids and distances)
  retrieve.bm25              keyword search
  retrieve.rows              chunk text, metadata and vectors of the final top-k
  retrieve                   all of retrieval (the above plus fusion and date filters)
  answer.sentence_embedding  every embedder call made while answering
  answer.reader              the short-answer reader
  answer.scoring             the rest of the answerer (splitting, scoring, choosing)
  answer                     all of the answerer
  total                      wall time of `Assistant.ask`
  total_without_reader       total minus the reader

Each run asks the same questions; the figures reported are the medians over runs of each
run's p50 and p95.

    .venv/bin/python bench/warm_ask.py --home /var/tmp/rtqa24 --slice rtqa-2024 -n 200 --runs 3

Python: `measure(home, slice, n, runs) -> dict` (used by bench/serve_bench.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

from harness import SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

STAGES = (
    "retrieve.query_embedding", "retrieve.dense", "retrieve.bm25", "retrieve.rows", "retrieve",
    "answer.sentence_embedding", "answer.reader", "answer.scoring", "answer",
    "total", "total_without_reader",
)


def questions_of(slice_name: str, n: int) -> list[tuple[str, date | None]]:
    """The first `n` questions of the slice with their dates (gold file for rtqa-2022,
    as bench/ingest_bench.py does)."""
    folder = SHARED / slice_name
    qfile = folder / "questions-gold.jsonl"
    if not qfile.exists():
        qfile = folder / "questions.jsonl"
    out: list[tuple[str, date | None]] = []
    with qfile.open(encoding="utf-8") as fh:
        for line in fh:
            if len(out) >= n:
                break
            row = json.loads(line)
            out.append((row["question"], date.fromisoformat(row["date"]) if row.get("date")
                        else None))
    return out


class StageClock:
    """Times calls of chosen methods of live objects, attributed to the stage (retrieve or
    answer) running at the time. It shadows the methods with instance attributes, and
    removes them on exit: nothing in the product is changed to be measured."""

    def __init__(self) -> None:
        self.phase = ""
        self.spent: dict[str, float] = {}
        self._depth = 0  # a timed call inside another (embed_query -> embed_documents)

    def reset(self) -> None:
        self.spent = {}

    def _add(self, name: str, seconds: float) -> None:
        self.spent[name] = self.spent.get(name, 0.0) + seconds * 1000

    def _wrap(self, obj: Any, method: str, name: Callable[[], str | None],
              phase: str | None = None) -> None:
        original = getattr(obj, method)

        def timed(*args: Any, **kwargs: Any) -> Any:
            outer = self.phase
            if phase is not None:  # a stage: sets the phase, times nothing itself
                self.phase = phase
                try:
                    return original(*args, **kwargs)
                finally:
                    self.phase = outer
            self._depth += 1
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self._depth -= 1
                label = name()
                if label and self._depth == 0:  # outermost timed call only
                    self._add(label, time.perf_counter() - t0)

        setattr(obj, method, timed)

    @contextlib.contextmanager
    def attached(self, bot: Any) -> Iterator[StageClock]:
        """Time `bot`'s retriever, answerer, embedder, store and keyword index."""
        targets: list[tuple[Any, str]] = []

        def wrap(obj: Any, method: str, name: Callable[[], str | None],
                 phase: str | None = None) -> None:
            if hasattr(obj, method):
                self._wrap(obj, method, name, phase)
                targets.append((obj, method))

        embed_name = lambda: ("retrieve.query_embedding" if self.phase == "retrieve"  # noqa: E731
                              else "answer.sentence_embedding" if self.phase == "answer"
                              else None)
        wrap(bot.embedder, "embed_query", embed_name)
        wrap(bot.embedder, "embed_documents", embed_name)
        wrap(bot.store, "nearest", lambda: "retrieve.dense")
        wrap(bot.store, "rows", lambda: "retrieve.rows")
        wrap(bot.keyword, "search", lambda: "retrieve.bm25")
        wrap(bot.retriever, "retrieve", lambda: None, phase="retrieve")
        wrap(bot.answerer, "answer", lambda: None, phase="answer")
        try:
            yield self
        finally:
            for obj, method in targets:
                with contextlib.suppress(AttributeError):
                    delattr(obj, method)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (as assistant.evaluation.metrics)."""
    from assistant.evaluation.metrics import percentile as pct

    got = pct(values, q)
    return float("nan") if got is None else got


def one_run(bot: Any, questions: list[tuple[str, date | None]], clock: StageClock,
            variants: dict[str, Variant]) -> dict[str, dict[str, list[float]]]:
    """Ask every question once per variant (interleaved, so every variant sees the same
    machine load); per variant and stage, the milliseconds of each ask."""
    per = {name: {s: [] for s in STAGES} for name in variants}  # type: ignore[var-annotated]
    for variant in variants.values():
        variant.reset()  # every run starts cold: no sentence is known from an earlier run
        reader = getattr(bot.answerer, "reader", None)
        if reader is not None:
            reader.finder.clear()  # nor any passage's parse
    for text, as_of in questions:
        for name, variant in variants.items():
            variant.apply(bot)
            clock.reset()
            t0 = time.perf_counter()
            answer = bot.ask(text, as_of=as_of)
            total = (time.perf_counter() - t0) * 1000
            spent = dict(clock.spent)
            reader = answer.timings_ms.get("reader", 0.0)
            answering = answer.timings_ms.get("answer", 0.0)
            spent.update({
                "retrieve": answer.timings_ms.get("retrieve", 0.0),
                "answer.reader": reader,
                "answer": answering,
                "answer.scoring": answering - reader - spent.get("answer.sentence_embedding",
                                                                 0.0),
                "total": total,
                "total_without_reader": total - reader,
            })
            for s in STAGES:
                per[name][s].append(spent.get(s, 0.0))
    return per


class Variant:
    """A way to answer, set on the live assistant before each of its asks: how many
    sentences are embedded per answer, and whether asks go through a vector cache (each
    variant has its own, emptied at the start of every run, so variants asked in turn
    never see each other's vectors and no run sees an earlier run's)."""

    def __init__(self, embedded_sentences: int | None = None, cache: bool = True,
                 span: bool = True) -> None:
        self.embedded_sentences = embedded_sentences
        self.cache = cache
        self.span = span  # False: the reader's span model is not run (its feature is 0)
        self._defaults: Any = None
        self._cached: Any = None

    def reset(self) -> None:
        if self._cached is not None:
            self._cached.clear()

    def hit_rate(self) -> float | None:
        c = self._cached
        return c.hits / (c.hits + c.misses) if c is not None and c.hits + c.misses else None

    def apply(self, bot: Any) -> None:
        from index.embed import CachedEmbedder

        answerer, retriever = bot.answerer, bot.retriever
        if self._defaults is None:
            self._defaults = answerer.settings
        count = self.embedded_sentences or self._defaults.embedded_sentences
        answerer.settings = self._defaults.model_copy(update={"embedded_sentences": count})
        if self.cache and self._cached is None:
            self._cached = CachedEmbedder(bot.embedder, bot.settings.embedding.ask_cache)
        embedder = self._cached if self.cache else bot.embedder
        answerer.embedder = embedder
        retriever.embedder = embedder
        if answerer.reader is not None:
            from assistant.reader.model import shipped

            answerer.reader.scorer = shipped() if self.span else _Unscored()

    def describe(self, bot: Any) -> dict[str, Any]:
        return {"embedded_sentences": self.embedded_sentences
                or bot.settings.answer.embedded_sentences, "cache": self.cache,
                "span_model": self.span}


class _Unscored:
    """No span model: what the reader costs without it (every span scores 0)."""

    def prefetch(self, question: str, texts: Any) -> None:
        pass

    def score(self, question: str, texts: Any, spans: Any) -> list[list[float | None]]:
        return [[0.0] * len(s) for s in spans]


def measure(home: Path | str, slice: str = "rtqa-2024", n: int = 200, runs: int = 3,
            bot: Any = None, variants: dict[str, Variant] | None = None) -> dict[str, Any]:
    """Warm ask latency per stage on the index in `home` (or of an already built `bot`):
    `{"stages": {stage: {"p50", "p95"}}, ...}` in milliseconds, medians over `runs` runs
    of the first `n` questions of `slice`. With `variants` (name -> Variant), each
    question is asked once per variant in turn, and `"variants"` holds each one's stages
    (`"stages"` is then the first variant's)."""
    from assistant.service import Assistant
    from assistant.settings import load_settings

    if bot is None:
        bot = Assistant(load_settings(home=Path(home)))
    variants = variants or {"current": Variant()}
    questions = questions_of(slice, n)
    if not questions:
        raise ValueError(f"no questions in slice {slice!r}")
    for text, as_of in questions[:5]:  # model, retriever, keyword index, reader loaded
        bot.ask(text, as_of=as_of)
    clock = StageClock()
    per_run: list[dict[str, dict[str, dict[str, float]]]] = []
    hits: dict[str, list[float]] = {name: [] for name in variants}
    answerer, retriever = bot.answerer, bot.retriever
    saved = answerer.settings, answerer.embedder, retriever.embedder

    def restore() -> None:  # the caller's assistant answers as before once measured
        answerer.settings, answerer.embedder, retriever.embedder = saved

    with clock.attached(bot), contextlib.ExitStack() as stack:
        stack.callback(restore)
        for _ in range(runs):
            per = one_run(bot, questions, clock, variants)
            per_run.append({name: {s: {"p50": statistics.median(v), "p95": percentile(v, 95)}
                                   for s, v in stages.items()} for name, stages in per.items()})
            for name, variant in variants.items():
                rate = variant.hit_rate()
                if rate is not None:
                    hits[name].append(rate)
    result: dict[str, Any] = {"variants": {}}
    for name, variant in variants.items():
        result["variants"][name] = {
            **variant.describe(bot),
            "cache_hit_rate": statistics.median(hits[name]) if hits[name] else None,
            "stages": {s: {q: statistics.median(r[name][s][q] for r in per_run)
                           for q in ("p50", "p95")} for s in STAGES},
        }
    first = next(iter(variants))
    result.update(home=str(home), slice=slice, questions=len(questions), runs=runs,
                  backend=bot.settings.embedding.backend,
                  stages=result["variants"][first]["stages"], per_run=per_run)
    return result


def table(result: dict[str, Any]) -> str:
    """The stages as a markdown table, one column pair per variant."""
    names = list(result["variants"])
    lines = [f"warm ask, {result['questions']} questions of {result['slice']}, median of "
             f"{result['runs']} runs ({result['backend']})", ""]
    for name in names:
        v = result["variants"][name]
        rate = v["cache_hit_rate"]
        lines.append(f"- {name}: {v['embedded_sentences']} sentences embedded, cache "
                     + (f"on (hit rate {rate:.2f} of texts)" if rate is not None else "off")
                     + ("" if v["span_model"] else ", no span model"))
    lines += ["", "| stage | " + " | ".join(f"{n} p50 | {n} p95" for n in names) + " |",
              "| --- |" + " ---: | ---: |" * len(names)]
    for s in STAGES:
        cells = [f"{result['variants'][n]['stages'][s]['p50']:.1f} | "
                 f"{result['variants'][n]['stages'][s]['p95']:.1f}" for n in names]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True, help="data home with an index")
    ap.add_argument("--slice", default="rtqa-2024")
    ap.add_argument("-n", type=int, default=200, help="questions per run")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, help="also write the result as JSON here")
    ap.add_argument("--variant", action="append", default=[],
                    metavar="NAME=[SENTENCES][:nocache][:nospan]",
                    help="compare ways to answer, interleaved: e.g. --variant before=24:nocache "
                         "--variant after=8 (default: the configured settings only)")
    args = ap.parse_args()
    variants: dict[str, Variant] = {}
    for spec in args.variant:
        name, _, rest = spec.partition("=")
        count, *flags = rest.split(":")
        unknown = set(flags) - {"nocache", "nospan"}
        if unknown:
            ap.error(f"unknown variant flag(s) {sorted(unknown)} in {spec!r}: use nocache, "
                     "nospan")
        variants[name] = Variant(int(count) if count else None, cache="nocache" not in flags,
                                 span="nospan" not in flags)
    result = measure(args.home, args.slice, args.n, args.runs, variants=variants or None)
    print(table(result))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
