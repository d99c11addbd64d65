"""Benchmark the embedding backends of index.embed: throughput and quality, in one run.

Throughput: chunks/s (median of --repeats runs over the same sample of chunks from the first
articles of the corpus), also as CPU-seconds per 1000 chunks (less sensitive to other load on
the machine), and the ratio to bare `SentenceTransformer.encode` (batch 32, fp32).
Quality: cosine of each backend's vectors to the bare-encode vectors on that sample, and a
retrieval check: the gold articles of questions-gold.jsonl plus --distractors other articles are
chunked and embedded, and each question ranks articles by their best chunk (Hit@10, MRR@10).

The corpus is read where it lies (never copied). Writes bench/out/embed_backends.json.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/embed_backends.py [--throughput-chunks 1000] ...
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from harness import OUT

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from index.embed import make_embedder, model_dir  # noqa: E402
from index.settings import EmbeddingSettings  # noqa: E402

DATA = Path("/work/shared/bench/rtqa-2022")
CHUNK_CHARS = 1000  # ~200-240 MiniLM tokens, like the chunker's 240-token chunks


@dataclass
class Variant:
    name: str
    backend: str  # "st-bare" or an EmbeddingSettings backend
    batch_size: int
    max_seq_length: int = 256
    results: dict[str, Any] = field(default_factory=dict)


VARIANTS = [
    Variant("st-encode (reference)", "st-bare", 32),
    Variant("torch bs64", "torch", 64),
    Variant("onnx fp32 bs64", "onnx", 64),
    Variant("onnx-int8 bs1", "onnx-int8", 1),
    Variant("onnx-int8 bs2", "onnx-int8", 2),
    Variant("onnx-int8 bs4", "onnx-int8", 4),
    Variant("onnx-int8 bs8", "onnx-int8", 8),
    Variant("onnx-int8 bs16", "onnx-int8", 16),
    Variant("onnx-int8 bs32", "onnx-int8", 32),
    Variant("onnx-int8 bs64", "onnx-int8", 64),
    Variant("onnx-int8 bs128", "onnx-int8", 128),
    Variant("onnx-int8 bs64 msl128", "onnx-int8", 64, 128),
]
RETRIEVAL_DEFAULT = "onnx fp32 bs64,onnx-int8 bs64"


def read_corpus() -> list[dict[str, str]]:
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def chunk(article: dict[str, str]) -> Iterator[str]:
    """~CHUNK_CHARS pieces cut at paragraph or sentence ends, each led by the title."""
    pieces = re.split(r"\n\s*\n|\n|(?<=[.!?])\s+", article["text"])
    current = ""
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if current and len(current) + len(piece) + 1 > CHUNK_CHARS:
            yield f"{article['title']}\n{current}"
            current = ""
        current = f"{current} {piece}" if current else piece
    if current:
        yield f"{article['title']}\n{current}"


def make_encoder(v: Variant, cache: Path, threads: int) -> Callable[[list[str]], np.ndarray]:
    if v.backend != "st-bare":
        settings = EmbeddingSettings(
            backend=v.backend,  # type: ignore[arg-type]
            batch_size=v.batch_size, max_seq_length=v.max_seq_length, threads=threads,
        )
        return make_embedder(settings, cache).embed_documents
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads or os.cpu_count() or 1)
    model = SentenceTransformer(str(model_dir("all-MiniLM-L6-v2")), device="cpu")
    model.max_seq_length = v.max_seq_length

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(model.encode(
            texts, batch_size=v.batch_size, normalize_embeddings=True, show_progress_bar=False
        ), dtype=np.float32)

    return encode


def retrieval(
    vectors: np.ndarray, owners: np.ndarray, queries: np.ndarray, gold: list[set[int]]
) -> dict[str, float]:
    """Article-level Hit@10 and MRR@10, each article scored by its best chunk."""
    scores = queries @ vectors.T  # (questions, chunks)
    per_article = np.full((len(queries), int(owners.max()) + 1), -np.inf, dtype=np.float32)
    for q in range(len(queries)):
        np.maximum.at(per_article[q], owners, scores[q])
    top = np.argsort(-per_article, axis=1)[:, :10]
    hits, rr = [], []
    for q, golds in enumerate(gold):
        ranks = [r for r, a in enumerate(top[q]) if int(a) in golds]
        hits.append(1.0 if ranks else 0.0)
        rr.append(1.0 / (ranks[0] + 1) if ranks else 0.0)
    return {"hit@10": float(np.mean(hits)), "mrr@10": float(np.mean(rr))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--throughput-chunks", type=int, default=1000, help="chunks timed per run")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per variant (median)")
    ap.add_argument("--distractors", type=int, default=1000, help="non-gold articles in retrieval")
    ap.add_argument("--questions", type=int, default=0, help="questions used (0: all)")
    ap.add_argument("--variants", default="", help="comma-separated variant names (default all)")
    ap.add_argument("--retrieval", default=RETRIEVAL_DEFAULT, help="variants run on retrieval")
    ap.add_argument("--threads", type=int, default=0, help="model threads (0: all cores)")
    ap.add_argument("--cache-dir", type=Path, default=OUT / "onnx-cache")
    ap.add_argument("--out", type=Path, default=OUT / "embed_backends.json")
    args = ap.parse_args()
    wanted = {s.strip() for s in args.variants.split(",") if s.strip()}
    variants = [v for v in VARIANTS if not wanted or v.name in wanted or v.backend == "st-bare"]
    in_retrieval = {s.strip() for s in args.retrieval.split(",") if s.strip()}

    t0 = time.time()
    corpus = read_corpus()
    sample: list[str] = []
    for article in corpus:
        sample.extend(chunk(article))
        if len(sample) >= args.throughput_chunks:
            break
    sample = sample[: args.throughput_chunks]
    with open(DATA / "questions-gold.jsonl", encoding="utf-8") as handle:
        questions = [json.loads(line) for line in handle]
    questions = questions[: args.questions or None]
    gold_ids = {g for q in questions for g in q["gold_ids"]}
    others = [a for a in corpus if a["id"] not in gold_ids]
    pool = [a for a in corpus if a["id"] in gold_ids]
    pool += random.Random(0).sample(others, min(args.distractors, len(others)))
    position = {a["id"]: i for i, a in enumerate(pool)}
    r_chunks, r_owner = [], []
    for i, article in enumerate(pool):
        for text in chunk(article):
            r_chunks.append(text)
            r_owner.append(i)
    owners = np.array(r_owner)
    gold = [{position[g] for g in q["gold_ids"] if g in position} for q in questions]
    print(f"sample: {len(sample)} chunks; retrieval: {len(pool)} articles, {len(r_chunks)} chunks, "
          f"{len(questions)} questions", flush=True)

    # Every variant is loaded first and the timed runs go round-robin over the variants, so
    # that other load on the machine (this one is shared) hits all of them alike.
    encoders = []
    for v in variants:
        start = time.time()
        encoders.append(make_encoder(v, args.cache_dir, args.threads))
        v.results["load_s"] = time.time() - start
        encoders[-1](sample[:32])  # warm-up
        v.results.update(walls=[], cpus=[], loadavg=[])
    vectors: list[np.ndarray] = [np.empty(0)] * len(variants)
    for repeat in range(args.repeats):
        for i, (v, encode) in enumerate(zip(variants, encoders, strict=True)):
            v.results["loadavg"].append(os.getloadavg()[0])
            w, c = time.perf_counter(), time.process_time()
            vectors[i] = encode(sample)
            v.results["walls"].append(time.perf_counter() - w)
            v.results["cpus"].append(time.process_time() - c)
        print(f"repeat {repeat + 1}: " + ", ".join(
            f"{v.name} {len(sample) / v.results['walls'][-1]:.1f}/s" for v in variants
        ) + f" (elapsed {time.time() - t0:.0f} s)", flush=True)
    for v, vecs in zip(variants, vectors, strict=True):
        cos = (vecs * vectors[0]).sum(axis=1)
        v.results.update(
            chunks_per_s=len(sample) / statistics.median(v.results["walls"]),
            cpu_s_per_1000=1000 * statistics.median(v.results["cpus"]) / len(sample),
            cos_mean=float(cos.mean()), cos_min=float(cos.min()),
        )
    for v, encode in zip(variants, encoders, strict=True):
        if v.name not in in_retrieval:
            continue
        start = time.time()
        # Queries one at a time, as at question time.
        q_vecs = np.stack([encode([q["question"]])[0] for q in questions])
        v.results.update(retrieval(encode(r_chunks), owners, q_vecs, gold))
        v.results["retrieval_s"] = time.time() - start
        print(f"retrieval {v.name}: Hit@10 {v.results['hit@10']:.3f}, MRR@10 "
              f"{v.results['mrr@10']:.3f} (elapsed {time.time() - t0:.0f} s)", flush=True)

    base = variants[0].results["chunks_per_s"]
    lines = [
        "| variant | chunks/s | × st-encode | CPU-s/1000 chunks | cos mean | cos min "
        "| Hit@10 | MRR@10 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for v in variants:
        r = v.results
        hit = f"{r['hit@10']:.3f}" if "hit@10" in r else "–"
        mrr = f"{r['mrr@10']:.3f}" if "mrr@10" in r else "–"
        lines.append(
            f"| {v.name} | {r['chunks_per_s']:.1f} | {r['chunks_per_s'] / base:.2f} | "
            f"{r['cpu_s_per_1000']:.1f} | {r['cos_mean']:.4f} | {r['cos_min']:.4f} | "
            f"{hit} | {mrr} |"
        )
    table = "\n".join(lines)
    print("\n" + table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor(),
                    "python": platform.python_version()},
        "sample_chunks": len(sample), "repeats": args.repeats,
        "retrieval": {"articles": len(pool), "chunks": len(r_chunks), "questions": len(questions)},
        "variants": [asdict(v) for v in variants], "table": table,
        "total_s": time.time() - t0,
    }
    args.out.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {args.out} ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
