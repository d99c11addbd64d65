"""Which sentence vectors does the extractive answerer need? (issue 12, point 3)

For the first N questions of a slice, on an existing index, as of their dates: retrieve
the passages, take every candidate sentence (`ExtractiveAnswerer.candidates`), and score
them with the answerer's rule (`W_SEM * cos + W_LEX * keywords + W_CTX * passage`) using
different semantic terms:

* exact: each sentence embedded alone (what the answerer does today), all candidates;
* shortlist M: exact, but only the M candidates the answerer's keyword/rank shortlist
  keeps (the others cannot win), for several M;
* late: "late chunking", each sentence's vector pooled from its chunk's forward pass
  (`OnnxEmbedder.embed_spans` on "title\\ntext", what ingest would store for free);
* late, then exact top M: late vectors pick M, those are embedded exactly.

Reported per strategy, over questions with gold answers: the share whose best-ranked
sentence window contains a gold answer (top1), whether any of the top three does (top3),
and the share that would abstain at `min_relevance`. Also the Pearson correlation of late
with exact cosines. A proxy: the full `newsqa eval` is the judge.

    .venv/bin/python bench/sentence_vectors.py --home /var/tmp/rtqa22 --slice rtqa-2022 -n 150
    .venv/bin/python bench/sentence_vectors.py --home /var/tmp/rtqa22 --encode-cost 1000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

SHARED = ROOT.parent / "shared" / "bench"
SHORTLISTS = (24, 12, 8, 6, 4)


def collect(home: Path, slice_name: str, n: int) -> list[dict[str, Any]]:
    """Per question: exact and late cosines of every candidate, keyword and passage terms,
    the shortlists' picks, the candidates' windows and the gold answers."""
    from assistant import extractive
    from assistant.question import analyse
    from assistant.sentence import normalize
    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    embedder: Any = bot.embedder
    answerer: Any = bot.answerer
    qfile = SHARED / slice_name / "questions-gold.jsonl"
    if not qfile.exists():
        qfile = SHARED / slice_name / "questions.jsonl"
    rows = [json.loads(line) for line in qfile.open(encoding="utf-8")][:n]
    out = []
    for row in rows:
        as_of = date.fromisoformat(row["date"]) if row.get("date") else None
        passages = bot.retriever.retrieve(row["question"], bot.settings.retrieval.top_k, as_of)
        cands = answerer.candidates(passages)
        if not cands or not row.get("answers"):
            continue
        q = analyse(row["question"])
        q_vec = embedder.embed_query(q.text)
        exact = embedder.embed_documents([c.text for c in cands]) @ q_vec
        spans: list[list[tuple[int, int]]] = [[] for _ in passages]
        where = []
        index = {id(p): i for i, p in enumerate(passages)}
        for c in cands:
            i = index[id(c.passage)]
            at = c.start - c.passage.start + len(c.passage.title) + 1
            where.append((i, len(spans[i])))
            spans[i].append((at, at + len(c.text)))
        _, pooled = embedder.embed_spans([f"{p.title}\n{p.text}" for p in passages], spans)
        late = np.array([pooled[i][j] @ q_vec for i, j in where])
        picks = {}
        for m in SHORTLISTS:
            answerer.settings = bot.settings.answer.model_copy(update={"embedded_sentences": m})
            picks[m] = answerer.shortlist(q, cands, q.text)[0]
        answerer.settings = bot.settings.answer
        out.append({
            "exact": exact, "late": late,
            "lex": np.array([extractive._overlap(set(q.keywords), set(),
                                                 extractive.keywords(c.text)) for c in cands]),
            "ctx": np.array([max(c.passage.score, 0.0) for c in cands]),
            "picks": picks,
            "windows": [normalize(c.window_text) for c in cands],
            "answers": [normalize(a) for a in row["answers"] if normalize(a)],
        })
    return out


def report(rows: list[dict[str, Any]], min_relevance: float) -> dict[str, Any]:
    from assistant.extractive import W_CTX, W_LEX, W_SEM

    exact_all = np.concatenate([r["exact"] for r in rows])
    late_all = np.concatenate([r["late"] for r in rows])
    slope, intercept = np.polyfit(late_all, exact_all, 1)

    def rate(semantic: Any) -> dict[str, float]:
        top1 = top3 = abstain = 0
        for r in rows:
            rel = W_SEM * semantic(r) + W_LEX * r["lex"] + W_CTX * r["ctx"]
            order = np.argsort(-rel, kind="stable")
            has = [any(a in r["windows"][i] for a in r["answers"]) for i in order[:3]]
            top1 += has[0]
            top3 += any(has)
            abstain += float(rel.max()) < min_relevance
        return {"top1": top1 / len(rows), "top3": top3 / len(rows),
                "abstain": abstain / len(rows)}

    def only(keep: np.ndarray, values: np.ndarray) -> np.ndarray:
        out = np.full_like(values, -1.0)  # not embedded: cannot win
        out[keep] = values[keep]
        return out

    def late_then_exact(m: int) -> Any:
        def semantic(r: dict[str, Any]) -> np.ndarray:
            mapped = slope * r["late"] + intercept
            rel = W_SEM * mapped + W_LEX * r["lex"] + W_CTX * r["ctx"]
            return only(np.argsort(-rel, kind="stable")[:m], r["exact"])
        return semantic

    def shortlisted(m: int) -> Any:
        return lambda r: only(r["picks"][m], r["exact"])

    strategies: dict[str, Any] = {"exact, all candidates": lambda r: r["exact"]}
    for m in SHORTLISTS:
        strategies[f"exact, shortlist {m}"] = shortlisted(m)
    strategies["late"] = lambda r: r["late"]
    strategies["late mapped to the exact scale"] = lambda r: slope * r["late"] + intercept
    for m in (4, 8):
        strategies[f"late, then exact top {m}"] = late_then_exact(m)
    return {
        "questions": len(rows),
        "candidates_per_question": len(exact_all) / len(rows),
        "pearson_late_exact": float(np.corrcoef(late_all, exact_all)[0, 1]),
        "late_to_exact": [float(slope), float(intercept)],
        "strategies": {name: rate(f) for name, f in strategies.items()},
    }


def encode_cost(home: Path, chunks: int) -> dict[str, float]:
    """Seconds to embed `chunks` stored chunks as ingest does ("title\ntext"), and to embed
    their candidate sentences (>= 25 characters, each distinct text once) exactly: what
    storing exact sentence vectors would add to ingest's model time."""
    import time

    from assistant.sentence import split_sentences
    from assistant.service import Assistant
    from assistant.settings import load_settings

    bot = Assistant(load_settings(home=home))
    bot.open()
    embedder = bot.embedder
    inputs: list[str] = []
    sentences: list[str] = []
    for chunk, meta in bot.store.iter_chunks():
        if len(inputs) >= chunks:
            break
        inputs.append(f"{meta.get('title', '')}\n{chunk.text}")
        sentences += [chunk.text[a:b] for a, b in split_sentences(chunk.text) if b - a >= 25]
    sentences = list(dict.fromkeys(sentences))
    embedder.embed_documents(inputs[:64])  # warm-up
    t0 = time.perf_counter()
    embedder.embed_documents(inputs)
    t_chunks = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder.embed_documents(sentences)
    t_sentences = time.perf_counter() - t0
    return {"chunks": len(inputs), "sentences": len(sentences), "chunk_seconds": t_chunks,
            "sentence_seconds": t_sentences, "sentences_over_chunks": t_sentences / t_chunks}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", type=Path, required=True)
    ap.add_argument("--slice", default="rtqa-2022")
    ap.add_argument("-n", type=int, default=150)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--encode-cost", type=int, metavar="CHUNKS",
                    help="instead: time embedding CHUNKS stored chunks vs their sentences")
    args = ap.parse_args()
    from assistant.settings import load_settings

    if args.encode_cost:
        cost = encode_cost(args.home, args.encode_cost)
        print(json.dumps(cost, indent=2))
        return

    rows = collect(args.home, args.slice, args.n)
    result = report(rows, load_settings(home=args.home).answer.min_relevance)
    print(f"{result['questions']} questions, {result['candidates_per_question']:.1f} candidate "
          f"sentences each; Pearson(late, exact) = {result['pearson_late_exact']:.3f}\n")
    print("| strategy | top1 | top3 | abstain |\n| --- | ---: | ---: | ---: |")
    for name, r in result["strategies"].items():
        print(f"| {name} | {r['top1']:.3f} | {r['top3']:.3f} | {r['abstain']:.3f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
