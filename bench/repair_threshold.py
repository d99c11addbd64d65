"""Measure the quote-repair threshold of `assistant/llm/verify.py` (REPAIR_THRESHOLD).

Near copies of real sentences (what a model does when it misquotes: typos, a dropped or
swapped small word, lower case, a trimmed end) should be repaired; invented quotes (two
sentences spliced, a sentence of another article, a sentence with a fact swapped) should
not. Prints the score range of each kind and, for candidate thresholds, how many of each
would be repaired. Sentences: the seed article plus the first articles of rtqa-2022.

    python bench/repair_threshold.py [--articles 20]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re

from harness import ROOT, SHARED

from assistant.llm.verify import alignment_score
from assistant.sentence import split_sentences

CORPUS = SHARED / "rtqa-2022" / "corpus.jsonl.gz"
SMALL = {"the", "a", "an", "of", "in", "on", "to", "and", "for", "with", "at", "by"}


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text) if 60 <= e - s <= 240]


def typo(s: str, rnd: random.Random, n: int = 2) -> str:
    chars = list(s)
    for _ in range(n):
        i = rnd.randrange(1, len(chars) - 2)
        if chars[i].isalpha() and chars[i + 1].isalpha():
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def near_copies(s: str, rnd: random.Random) -> dict[str, str]:
    words = s.split()
    small = [i for i, w in enumerate(words) if w.lower() in SMALL]
    out = {"typos": typo(s, rnd), "lower": s.lower(), "trimmed": " ".join(words[:-2])}
    if small:
        i = rnd.choice(small)
        out["dropped word"] = " ".join(words[:i] + words[i + 1:])
        out["swapped small word"] = " ".join(words[:i] + ["the" if words[i] != "the" else "a"]
                                             + words[i + 1:])
    return out


def invented(s: str, other: str, foreign: str, rnd: random.Random) -> dict[str, str]:
    words, owords = s.split(), other.split()
    out = {"spliced": " ".join(words[: len(words) // 2] + owords[len(owords) // 2:]),
           "other article": foreign}
    nums = [i for i, w in enumerate(words) if re.fullmatch(r"\d[\d,.]*", w)]
    names = [i for i, w in enumerate(words) if i and w[:1].isupper()]
    if nums:
        i = rnd.choice(nums)
        out["number swapped"] = " ".join(words[:i] + [str(rnd.randint(2, 99))] + words[i + 1:])
    if names:
        i = rnd.choice(names)
        out["name swapped"] = " ".join(words[:i] + ["Smithson"] + words[i + 1:])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--articles", type=int, default=20)
    args = ap.parse_args()
    rnd = random.Random(7)
    texts = [(ROOT / "seeds" / "000_f4236742e42e32f8.txt").read_text(encoding="utf-8")]
    if CORPUS.exists():
        with gzip.open(CORPUS, "rt", encoding="utf-8") as f:
            for line in f:
                texts.append(json.loads(line)["text"])
                if len(texts) > args.articles:
                    break
    scores: dict[tuple[str, str], list[float]] = {}
    for k, text in enumerate(texts):
        sents = sentences(text)
        foreign_pool = sentences(texts[(k + 1) % len(texts)])
        for j, s in enumerate(sents[:8]):
            other = sents[(j + 3) % len(sents)]
            foreign = rnd.choice(foreign_pool) if foreign_pool else other
            for kind, q in near_copies(s, rnd).items():
                scores.setdefault(("near", kind), []).append(alignment_score(q, text))
            for kind, q in invented(s, other, foreign, rnd).items():
                scores.setdefault(("invented", kind), []).append(alignment_score(q, text))
    print(f"{'group':9} {'kind':20} {'n':>4} {'min':>6} {'median':>7} {'max':>6}")
    for (group, kind), xs in sorted(scores.items()):
        xs = sorted(xs)
        print(f"{group:9} {kind:20} {len(xs):4} {xs[0]:6.1f} {xs[len(xs) // 2]:7.1f} "
              f"{xs[-1]:6.1f}")
    print("\nthreshold  near repaired  spliced/other-article repaired  fact-swapped repaired")
    for t in (80, 85, 88, 90, 92, 95):
        near = [x for (g, _), xs in scores.items() if g == "near" for x in xs]
        bad = [x for (g, k), xs in scores.items() if g == "invented" and "swapped" not in k
               for x in xs]
        swap = [x for (g, k), xs in scores.items() if "swapped" in k and g == "invented"
                for x in xs]
        print(f"{t:9} {sum(x >= t for x in near) / len(near):14.3f} "
              f"{sum(x >= t for x in bad) / len(bad):30.3f} "
              f"{sum(x >= t for x in swap) / max(len(swap), 1):21.3f}")


if __name__ == "__main__":
    main()
