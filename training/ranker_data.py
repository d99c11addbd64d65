"""Distant supervision for the span model (`training/train_span.py`; made for the
sentence-window ranker of issue 20, part 1, hence the name).

For every answerable question of a slice (non-empty `supporting_ids`, gold answers), the
passages are retrieved as of the question's date exactly as `newsqa ask` retrieves them
(k=10, hybrid), and every sentence window the reader could read (a sentence and the next
one, `quote.Sentence.read_end`) is written out with its label: 1 when the window holds a
gold answer as whole words (`evaluation.metrics.contains`), else 0. The windows the
current answerer hands the reader (keyword shortlist, then sentence embeddings, top
`reader_windows`) are flagged `baseline`, so a model can be compared with them.

    .venv/bin/python training/ranker_data.py --home /var/tmp/h23 --slice rtqa-2023

writes bench/out/ranker-rtqa-2023.jsonl.gz (never committed). The check year's windows
may be written, to be scored (`train_span.py --eval rtqa-2024`); training on them is
refused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from paths import OUT, SHARED

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def collect(home: Path, slice_: str, limit: int | None) -> Path:
    from assistant.evaluation.case import load_questions
    from assistant.evaluation.metrics import contains
    from assistant.extractive import ExtractiveAnswerer
    from assistant.question import analyse
    from assistant.sentence import keywords
    from assistant.service import Assistant
    from assistant.settings import load_settings

    qs = [q for q in load_questions(SHARED / slice_ / "questions.jsonl").questions
          if q.supporting_ids and q.answers][:limit]
    bot = Assistant(load_settings(home=home))
    answerer = bot.answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    out = OUT / f"ranker-{slice_}.jsonl.gz"
    OUT.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n_win = n_pos = n_hit = n_base = 0
    with gzip.open(out, "wt", encoding="utf-8") as f:
        for i, q in enumerate(qs):
            analysed = analyse(q.question)
            passages = bot.retriever.retrieve(q.question, 10, q.date)
            cands = answerer.candidates(passages)
            base: set[int] = set()
            prior = np.zeros(len(cands))
            if cands:
                # The shortlist's prior (`ExtractiveAnswerer.shortlist`) over every window.
                asked = set(analysed.keywords)
                overlap = np.array([len(asked & keywords(c.text)) / max(len(asked), 1)
                                    for c in cands])
                prior = overlap - 0.02 * np.array([c.rank for c in cands])
                keep, lex = answerer.shortlist(analysed, cands, q.question)
                rel, _ = answerer.score(q.question, [cands[j] for j in keep], lex)
                top = np.argsort(-rel, kind="stable")[: answerer.settings.reader_windows]
                base = {int(keep[j]) for j in top}
            windows: list[dict[str, Any]] = []
            for j, c in enumerate(cands):
                text = c.text_to(c.read_end)
                windows.append({"text": text, "head_chars": len(c.text), "rank": c.rank,
                                "prior": round(float(prior[j]), 4),
                                "label": int(bool(contains(text, q.answers))),
                                "head_label": int(bool(contains(c.text, q.answers))),
                                "baseline": int(j in base)})
            n_win += len(windows)
            pos = sum(w["label"] for w in windows)
            n_pos += pos
            n_hit += pos > 0
            n_base += any(w["label"] and w["baseline"] for w in windows)
            f.write(json.dumps({"id": q.id, "question": q.question, "answers": q.answers,
                                "date": str(q.date), "windows": windows}) + "\n")
            if i % 100 == 0:
                print(f"  {i}/{len(qs)} {time.perf_counter() - t0:.0f}s", file=sys.stderr)
    n = len(qs)
    print(f"{slice_}: {n} questions, {n_win} windows ({n_win / max(n, 1):.0f} per question), "
          f"{n_pos} positive; answer in some window {n_hit / max(n, 1):.3f}, "
          f"in the baseline's {answerer.settings.reader_windows} windows {n_base / max(n, 1):.3f}; "
          f"{time.perf_counter() - t0:.0f}s -> {out}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--slice", required=True)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args()
    collect(args.home, args.slice, args.limit)


if __name__ == "__main__":
    main()
