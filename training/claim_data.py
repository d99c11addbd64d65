"""Training pairs for the LLM claim check's model (issue 35, point 1), FactCC-style: each
an article sentence (the evidence) and a claim made from it by one edit, labelled
supported (0) or not (1). Made from the training years' articles, rtqa-2022 and
rtqa-2023, never rtqa-2024; articles that the claim-check benchmark pairs cite
(bench/claim_pairs*.jsonl) are left out, so the benchmark's evidence was never seen.

Supported: the sentence itself; a clause of it (the part before a comma, or without a
parenthetical between commas); adjectives and adverbs dropped; number words and digits
exchanged; the sentence read with its neighbour as the evidence.
Not supported: a negation added ("not" after an auxiliary, "never" before a verb, "no
longer", "failed to") or taken away; a number, a date or a name of the same entity type
swapped for another the same article states (or a shifted number); two names of the same
type exchanged in the sentence (roles); a word replaced by its opposite
(`assistant.llm.consistency.OPPOSITES`); a clause from another article added.

    .venv/bin/python training/claim_data.py --per-article 2 --out bench/out/claim-data.jsonl.gz

Writes one JSON object per line: evidence, claim, label, edit, article id, slice.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from paths import OUT, ROOT, SHARED

from assistant.llm.consistency import OPPOSITES
from assistant.sentence import split_sentences

SLICES = ("rtqa-2022", "rtqa-2023")
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}
_AUX = frozenset("is are was were has have had will would can could should may might must "
                 "does do did".split())
_SWAPPABLE = ("PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "EVENT")
_OPP = {a: b for x, y in OPPOSITES for a, b in ((x, y), (y, x))}


def _benchmark_articles() -> set[str]:
    out: set[str] = set()
    for path in (ROOT / "bench").glob("claim_pairs*.jsonl"):
        out.update(json.loads(line)["article_id"] for line in path.read_text().splitlines()
                   if line.strip())
    return out


def _sentences(text: str) -> list[str]:
    out = []
    for s, e in split_sentences(text):
        sent = text[s:e].strip()
        words = sent.split()
        if 10 <= len(words) <= 45 and sent.endswith(".") and '"' not in sent \
                and "“" not in sent and "(AP)" not in sent:
            out.append(sent)
    return out


def _negated(doc: Any, rng: random.Random) -> tuple[str, str] | None:
    """A negation added: after the first auxiliary, or before the first past-tense verb."""
    for t in doc:
        if t.lower_ in _AUX and t.i + 1 < len(doc) and doc[t.i + 1].lower_ not in (
                "not", "n't", "never"):
            word = rng.choice(["not", "never", "no longer"])
            return _splice(doc, t.i + 1, t.i + 1, word), "negation_added"
        if t.tag_ in ("VBD", "VBZ") and t.i > 0:
            word = rng.choice(["never", "failed to"])
            if word == "failed to":
                return None
            return _splice(doc, t.i, t.i, word), "negation_added"
    return None


def _splice(doc: Any, start: int, end: int, insert: str) -> str:
    """The doc's text with tokens [start, end) replaced by `insert`."""
    left = doc[:start].text_with_ws if start else ""
    right = doc[end:].text if end < len(doc) else ""
    middle = insert + (" " if right and insert else "")
    return (left + middle + right).replace("  ", " ").strip()


def _edits(doc: Any, article_ents: dict[str, list[str]], other: str,
           rng: random.Random) -> list[tuple[str, int, str]]:
    """(claim, label, edit) made from one parsed sentence."""
    text = doc.text
    out: list[tuple[str, int, str]] = [(text, 0, "same")]
    # supported: a clause, modifiers dropped, numbers spelled or written
    parts = [p.strip() for p in re.split(r",\s+", text.rstrip("."))]
    if len(parts) >= 2 and len(parts[0].split()) >= 6:
        out.append((parts[0] + ".", 0, "clause"))
    paren = re.sub(r",\s+[^,]{3,60},\s+", " ", text, count=1)
    if paren != text and len(paren.split()) >= 6:
        out.append((paren, 0, "clause"))
    dropped = [t.text_with_ws for t in doc if not (t.tag_ in ("JJ", "RB") and not t.ent_type_)]
    if len(dropped) < len(doc) and len(dropped) >= 6:
        out.append(("".join(dropped).replace("  ", " ").strip(), 0, "dropped_modifier"))
    for w, d in _NUMBER_WORDS.items():
        if re.search(rf"\b{w}\b", text):
            out.append((re.sub(rf"\b{w}\b", d, text, count=1), 0, "number_form"))
            break
    # not supported
    if (neg := _negated(doc, rng)) is not None:
        out.append((neg[0], 1, neg[1]))
    for t in doc:
        if t.lower_ in ("not", "n't", "never") and t.i > 0:
            removed = _splice(doc, t.i, t.i + 1, "")
            out.append((removed.replace(" n't", "").replace("ca ", "can "), 1,
                        "negation_removed"))
            break
    ents = [e for e in doc.ents]
    for e in rng.sample(ents, len(ents)):
        if e.label_ in ("CARDINAL", "MONEY", "PERCENT", "QUANTITY"):
            m = re.search(r"\d+(?:[.,]\d+)?", e.text)
            if m:
                n = float(m.group(0).replace(",", ""))
                new = rng.choice([n * 2, n + rng.randint(1, 9), max(0.0, n - rng.randint(1, 5)),
                                  n * 10])
                shown = f"{new:,.0f}" if new == int(new) else f"{new:.1f}"
                if shown != m.group(0):
                    claim = text[:e.start_char] + e.text.replace(m.group(0), shown, 1) + \
                        text[e.end_char:]
                    out.append((claim, 1, "number_swap"))
                    break
    for label, edit in (("DATE", "date_swap"), *((lab, "name_swap") for lab in _SWAPPABLE)):
        mine = [e for e in ents if e.label_ == label]
        others = [x for x in article_ents.get(label, []) if all(x != e.text for e in mine)]
        if mine and others:
            e = rng.choice(mine)
            claim = text[:e.start_char] + rng.choice(others) + text[e.end_char:]
            out.append((claim, 1, edit))
            break
    for label in _SWAPPABLE:
        same = [e for e in ents if e.label_ == label]
        if len(same) >= 2 and same[0].text != same[1].text:
            a, b = same[0], same[1]
            claim = (text[:a.start_char] + b.text + text[a.end_char:b.start_char] + a.text
                     + text[b.end_char:])
            out.append((claim, 1, "role_swap"))
            break
    for t in doc:
        if t.lower_ in _OPP and not t.ent_type_:
            out.append((_splice(doc, t.i, t.i + 1, _OPP[t.lower_]), 1, "antonym"))
            break
    tail = " ".join(other.rstrip(".").split()[:rng.randint(5, 10)])
    if tail:
        joint = rng.choice(["after", "because", "as", "while", "prompting"])
        out.append((text.rstrip(".") + f", {joint} {tail[0].lower() + tail[1:]}.", 1,
                    "unsupported_addition"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--per-article", type=int, default=2, help="sentences per article")
    ap.add_argument("--articles", type=int, default=4000, help="articles, both slices")
    ap.add_argument("--seed", type=int, default=35)
    ap.add_argument("--out", type=Path, default=OUT / "claim-data.jsonl.gz")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    skip = _benchmark_articles()
    articles = []
    for slice_ in SLICES:
        with gzip.open(SHARED / slice_ / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
            articles += [(slice_, json.loads(line)) for line in fh]
    rng.shuffle(articles)
    articles = [(s, a) for s, a in articles if a["id"] not in skip][:args.articles]
    from assistant.reader.mention import nlp

    nlp_ = nlp()
    pool = [s for _, a in articles[:400] for s in _sentences(a["text"])[:3]]
    counts: Counter[str] = Counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(args.out, "wt", encoding="utf-8") as out:
        for n, (slice_, a) in enumerate(articles):
            sents = _sentences(a["text"])
            if not sents:
                continue
            docs = list(nlp_.pipe(sents))
            article_ents: dict[str, list[str]] = {}
            for d in docs:
                for e in d.ents:
                    article_ents.setdefault(e.label_, []).append(e.text)
            heading = f"{a.get('title') or ''} ({a.get('date') or ''})"
            for i in rng.sample(range(len(docs)), min(args.per_article, len(docs))):
                for claim, label, edit in _edits(docs[i], article_ents, rng.choice(pool), rng):
                    if claim == docs[i].text and edit != "same":
                        continue
                    # The evidence as an answer's citation shows it, whatever the label (so
                    # its length says nothing): the sentence, half the time with the one
                    # before or after it, half the time with the article's title and date.
                    evidence = docs[i].text
                    if rng.random() < 0.5:
                        j = rng.choice([k for k in (i - 1, i + 1) if 0 <= k < len(docs)]
                                       or [i])
                        if j != i:
                            evidence = (docs[j].text + " " + evidence if j < i
                                        else evidence + " " + docs[j].text)
                    if rng.random() < 0.5:
                        evidence = evidence + " " + heading
                    out.write(json.dumps({"evidence": evidence, "claim": claim,
                                          "label": label, "edit": edit, "article": a["id"],
                                          "slice": slice_}, ensure_ascii=False) + "\n")
                    counts[edit] += 1
            if n % 500 == 0:
                print(f"{n} articles, {sum(counts.values())} pairs", file=sys.stderr)
    print(json.dumps({"articles": len(articles), "pairs": sum(counts.values()),
                      "by_edit": dict(counts), "seed": args.seed}, indent=1))


if __name__ == "__main__":
    main()
