"""Where a following process's memory goes (issue 34, point 7), in one process: a copy of
a seed home takes 5 rtqa-2024 articles, then 10 rtqa-2024 questions, `--rounds` times
(`--no-asks`: the articles only). Every 20 rounds: RSS (anonymous and file-backed) and
spaCy's vocabulary size; at the end, the ask path's caches: entries, bytes per entry (a
sample's deep size) and what they hold at their caps.

    .venv/bin/python bench/ask_memory.py --home /tmp/seedhome --rounds 160
    .venv/bin/python bench/ask_memory.py --home /tmp/seedhome --rounds 80 --no-asks

Results on stdout.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from follow_bench import records
from serve_bench import load_questions


def memory() -> dict[str, int]:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) // 1024
    return out


def deep(o: Any, seen: set[int]) -> int:
    """Bytes of an object and what it holds (tuples, dataclasses, arrays)."""
    if id(o) in seen:
        return 0
    seen.add(id(o))
    n = sys.getsizeof(o)
    if isinstance(o, tuple | list):
        n += sum(deep(x, seen) for x in o)
    elif hasattr(o, "__dataclass_fields__"):
        n += sum(deep(getattr(o, f), seen) for f in o.__dataclass_fields__)
    elif hasattr(o, "nbytes"):
        n += int(o.nbytes)
    return n


def caches() -> list[str]:
    from assistant.reader import span
    from assistant.reader.mention import MentionFinder
    from index.embed import CachedEmbedder

    lines = []
    for o in gc.get_objects():
        if isinstance(o, MentionFinder | CachedEmbedder):
            entries = list((o._cache if isinstance(o, MentionFinder) else o._vectors).items())
            cap = o.cache_size if isinstance(o, MentionFinder) else o.size
            sample = entries[:300]
            per = sum(deep(v, set()) + sys.getsizeof(k) for k, v in sample) / max(len(sample), 1)
            lines.append(f"{type(o).__name__}: {len(entries)} entries, ~{per:,.0f} B each; "
                         f"at its cap of {cap:,}: ~{per * cap / 1e6:,.0f} MB")
    lines.append(f"normalised mention texts: {span._normalized.cache_info()}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, required=True, help="a seed home (copied)")
    parser.add_argument("--rounds", type=int, default=160)
    parser.add_argument("--no-asks", action="store_true")
    args = parser.parse_args()
    from assistant.reader.mention import nlp
    from assistant.service import Assistant
    from assistant.settings import load_settings

    base = Path(tempfile.mkdtemp(prefix="ask-memory-"))
    home = base / "home"
    shutil.copytree(args.home, home, ignore=shutil.ignore_patterns("*.lock*"))
    bot = Assistant(load_settings(home=home))
    bot.open()
    recs = records(args.rounds * 5)
    questions = load_questions("rtqa")
    asked = 0
    for r in range(args.rounds):
        batch = base / "in.jsonl"
        batch.write_text("".join(json.dumps({k: x[k] for k in ("id", "title", "date", "text")})
                                 + "\n" for x in recs[r * 5:(r + 1) * 5]))
        bot.ingest([batch], drop_missing=False)
        for _ in range(0 if args.no_asks else 10):
            bot.ask(questions[asked % len(questions)])
            asked += 1
        if r % 20 == 19:
            gc.collect()
            vocab = nlp().vocab if asked else None
            print(f"round {r + 1}: {(r + 1) * 5} articles, {asked} asks, {memory()}"
                  + (f", spaCy lexemes {len(vocab)}" if vocab is not None else ""), flush=True)
    print("\n".join(caches()))
    shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
