"""Chunk texts for the keyword-engine bench (`keyword_scale.py`): every article of
rtqa-2022/2023/2024 cut by the project's chunker (real texts), and marked synthetic
variants up to any size (new ids `syn<k>-...`, dates shifted by whole months, sentences
reordered), which measure cost only; quality figures come from the real part.

Cached as one .npz outside the repository (`--cache`), so each measurement reads it
in seconds: ids, article ids, date keys and texts."""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import time
from datetime import date
from pathlib import Path

import harness  # noqa: F401  (puts the repository on the path)
import numpy as np

YEARS = ("rtqa-2022", "rtqa-2023", "rtqa-2024")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def real_chunks(years: tuple[str, ...] = YEARS) -> dict[str, np.ndarray]:
    """Every article of `years` (shared articles once), chunked as ingest does."""
    from index.article import Article
    from index.chunk import Chunker
    from index.embed import load_tokenizer, model_dir
    from index.record import date_key
    from index.settings import ChunkingSettings

    tok = load_tokenizer(model_dir("all-MiniLM-L6-v2"), None)
    chunker = Chunker(ChunkingSettings(),
                      lambda t: list(tok.encode(t, add_special_tokens=False).ids))
    ids: list[str] = []
    arts: list[str] = []
    keys: list[int] = []
    texts: list[str] = []
    seen: set[str] = set()
    for year in years or YEARS:
        with gzip.open(harness.SHARED / year / "corpus.jsonl.gz", "rt") as f:
            for line in f:
                row = json.loads(line)
                if row["id"] in seen or not row.get("text"):
                    continue
                seen.add(row["id"])
                day = date.fromisoformat(row["date"]) if row.get("date") else None
                art = Article(id=row["id"], title=row.get("title") or "", text=row["text"],
                              date=day, source=None, url=row.get("url"))
                for c in chunker.chunk(art):
                    ids.append(c.id)
                    arts.append(c.article_id)
                    keys.append(date_key(day))
                    texts.append(c.text)
    return {"ids": np.array(ids), "articles": np.array(arts),
            "date_keys": np.array(keys, dtype=np.int32), "texts": np.array(texts, dtype=object)}


def synthetic(real: dict[str, np.ndarray], total: int, seed: int = 34) -> dict[str, np.ndarray]:
    """`real` followed by variants of it up to `total` chunks: copy k of article A is
    article `syn<k>-A`, dated k months later (undated stays undated), each chunk's
    sentences shuffled."""
    rng = random.Random(seed)
    n = len(real["ids"])
    ids, arts, keys, texts = [list(real[k]) for k in ("ids", "articles", "date_keys", "texts")]
    k = 0
    while len(ids) < total:
        k += 1
        for i in range(min(n, total - len(ids))):
            sentences = _SENTENCE.split(str(real["texts"][i]))
            rng.shuffle(sentences)
            art = f"syn{k}-{real['articles'][i]}"
            ids.append(f"{art}:{str(real['ids'][i]).rsplit(':', 1)[1]}")
            arts.append(art)
            key = int(real["date_keys"][i])
            if key:
                y, m = divmod(key // 100 % 100 - 1 + k, 12)
                key = (key // 10000 + y) * 10000 + (m + 1) * 100 + min(key % 100, 28)
            keys.append(key)
            texts.append(" ".join(sentences))
    return {"ids": np.array(ids), "articles": np.array(arts),
            "date_keys": np.array(keys, dtype=np.int32), "texts": np.array(texts, dtype=object)}


def load(cache: Path) -> dict[str, np.ndarray]:
    data = np.load(cache, allow_pickle=True)
    return {k: data[k] for k in data.files}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=Path("/tmp/kw/real.npz"))
    args = ap.parse_args()
    t = time.perf_counter()
    real = real_chunks()
    np.savez(args.cache, **real)
    print(f"{len(real['ids']):,} real chunks of {len(set(real['articles'])):,} articles "
          f"in {time.perf_counter() - t:.0f} s -> {args.cache}")


if __name__ == "__main__":
    main()
