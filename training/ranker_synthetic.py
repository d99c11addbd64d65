"""Self-supervised training questions for the span model's pre-training (issue 20:
recurring spans, as in Splinter; made for the window ranker, hence the name), from the
articles of the training years' corpora.

In an article, a name (a run of capitalised words) that recurs in several sentences is
masked in one of them; the masked sentence, turned into a question ("Which ... ?"), is the
question, and the other windows (a sentence and the next one) of the same article are the
candidates: those naming it are positives, the others negatives. No labels are needed, so
every article of the training years gives questions; none of the check year's is read.

    .venv/bin/python training/ranker_synthetic.py --slices rtqa-2023 --questions 20000

writes bench/out/ranker-synthetic-rtqa-2023.jsonl.gz (named by its slices) in
training/ranker_data.py's format; `training/train_span.py --synthetic` reads the file of
exactly its training slices, so no other year's articles reach the model. rtqa-2024's
articles are refused.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from typing import Any

from paths import OUT, SHARED

NAME = re.compile(r"\b[A-Z][a-zA-Z'’.-]+(?:\s+(?:of\s+|de\s+|al-)?[A-Z][a-zA-Z'’.-]+)*")
COMMON = {"The", "A", "An", "In", "On", "But", "And", "He", "She", "It", "They", "We", "I",
          "This", "That", "These", "Those", "His", "Her", "Their", "Its", "Our", "At", "As",
          "For", "If", "When", "While", "After", "Before", "Mr", "Mrs", "Ms", "Dr", "So",
          "There", "What", "Who", "Why", "How", "Some", "Many", "More", "Most", "Monday",
          "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday", "AP", "CNN"}


def names(sentence: str) -> set[str]:
    out = set()
    for m in NAME.finditer(sentence):
        text = m.group().rstrip(".")
        first = text.split()[0]
        if len(text) >= 4 and first not in COMMON and not (m.start() == 0 and " " not in text):
            out.add(text)
    return out


def questions_of(text: str, rng: random.Random, per_article: int) -> list[dict[str, Any]]:
    from assistant.sentence import split_sentences

    spans = [(s, e) for s, e in split_sentences(text) if e - s >= 25]
    if len(spans) < 6:
        return []
    sents = [text[s:e] for s, e in spans]
    windows = [text[s:spans[i + 1][1]] if i + 1 < len(spans) else text[s:e]
               for i, (s, e) in enumerate(spans)]
    found = [names(s) for s in sents]
    recurring = {n for n in set().union(*found) if sum(n in f for f in found) >= 2}
    out = []
    for name in rng.sample(sorted(recurring), min(per_article, len(recurring))):
        # Questions are short: a masked sentence of at most 40 words.
        short = [i for i, f in enumerate(found) if name in f and len(sents[i].split()) <= 40]
        if not short:
            continue
        at = rng.choice(short)
        asked = sents[at].replace(name, "which", 1).rstrip(" .\"”") + "?"
        rows = [{"text": w, "label": int(name in w), "prior": 0.0, "rank": 0,
                 "head_chars": len(sents[i]), "baseline": 0}
                for i, w in enumerate(windows) if abs(i - at) > 1]
        if any(r["label"] for r in rows) and not all(r["label"] for r in rows):
            out.append({"id": f"syn-{name}-{at}", "question": asked, "answers": [name],
                        "windows": rows})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--slices", nargs="+", default=["rtqa-2022", "rtqa-2023"])
    ap.add_argument("--questions", type=int, default=20000)
    ap.add_argument("--per-article", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if "rtqa-2024" in args.slices:
        sys.exit("rtqa-2024 is the check year: never train on it")
    rng = random.Random(args.seed)
    articles: list[str] = []
    for s in args.slices:
        with gzip.open(SHARED / s / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            articles += [json.loads(line)["text"] for line in f]
    rng.shuffle(articles)
    out_path = OUT / f"ranker-synthetic-{'+'.join(args.slices)}.jsonl.gz"
    n = 0
    with gzip.open(out_path, "wt", encoding="utf-8") as f:
        for text in articles:
            for q in questions_of(text, rng, args.per_article):
                f.write(json.dumps(q) + "\n")
                n += 1
            if n >= args.questions:
                break
    print(f"{n} synthetic questions from {len(articles)} articles of "
          f"{', '.join(args.slices)} -> {out_path}")


if __name__ == "__main__":
    main()
