"""How well an LLM answer's claim check (`assistant.llm.verify`) keeps faithful sentences
and drops unfaithful ones (issue 35), on the hand-written pairs of
bench/claim_pairs.jsonl: a claim, the article sentence it cites (by article id and
offsets into ../shared/bench/rtqa-*/corpus.jsonl.gz, never copied here), its label
(supported / contradicted / not_stated) and its type (paraphrase, synonym, clause,
dropped_modifier, reorder, neighbour; negation_added, negation_removed, antonym,
name_swap, number_swap, date_swap, place_swap, role_swap, unsupported_addition).

Each pair goes through the production path: the cited sentence with the two before and
after it is one passage (as retrieval would give it, titled and dated), the claim is one
answer sentence citing the cited sentence's id, and `verify` keeps it (shown as a
verified LLM sentence) or drops it. Close words are the answer embedder's
(all-MiniLM-L6-v2), as `newsqa ask --llm` uses it; `--no-meaning` measures the words-only
check, `--word-at` another threshold.

    .venv/bin/python bench/claim_check.py                      # both years
    .venv/bin/python bench/claim_check.py --slice rtqa-2022 --sweep

Prints, per type, how many were kept; the rate of faithful claims kept and of unfaithful
ones shown as verified (and of polarity flips among them); the cost per claim (median);
writes bench/out/claim_check.json. Measurements only.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.llm import wording  # noqa: E402
from assistant.llm.prompt import number_passages  # noqa: E402
from assistant.llm.reply import Draft, DraftSentence  # noqa: E402
from assistant.llm.verify import verify  # noqa: E402
from assistant.sentence import split_sentences  # noqa: E402
from index.retrieve import Passage  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
PAIRS = ROOT / "bench" / "claim_pairs.jsonl"
FAITHFUL = ("paraphrase", "synonym", "clause", "dropped_modifier", "reorder", "neighbour")
POLARITY = ("negation_added", "negation_removed")


def articles(slices: set[str], ids: set[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for slice_ in sorted(slices):
        with gzip.open(SHARED / slice_ / "corpus.jsonl.gz", "rt", encoding="utf-8") as fh:
            for line in fh:
                if any(i in line[:80] for i in ids):
                    a = json.loads(line)
                    if a["id"] in ids:
                        out[a["id"]] = a
    return out


def passage(article: dict[str, Any], start: int, end: int) -> tuple[Passage, int]:
    """The cited sentence with two sentences either side, as one passage, and the
    1-based number of the cited sentence in it."""
    text = article["text"]
    spans = list(split_sentences(text))
    # The sentence that overlaps the cited span most (splitters differ at the edges).
    overlap = [min(e, end) - max(s, start) for s, e in spans]
    at = max(range(len(spans)), key=overlap.__getitem__) if spans else None
    if at is None or overlap[at] <= 0:
        raise SystemExit(f"{article['id']}: no sentence at {start}")
    lo, hi = max(0, at - 2), min(len(spans), at + 3)
    p_start, p_end = spans[lo][0], spans[hi - 1][1]
    day = date.fromisoformat(article["date"]) if article.get("date") else None
    p = Passage(chunk_id=f"{article['id']}:0", article_id=article["id"],
                text=text[p_start:p_end], start=p_start, end=p_end, score=0.5,
                title=article.get("title") or "", date=day, url=None, source=None)
    # The cited sentence's number as `number_passages` numbers the passage's sentences.
    cited = at - lo + 1
    return p, cited


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=Path, default=PAIRS,
                    help="pair file (default bench/claim_pairs.jsonl, the development set; "
                         "bench/claim_pairs_check.jsonl is the held-out check set)")
    ap.add_argument("--slice", action="append", help="only pairs of this slice (repeatable)")
    ap.add_argument("--no-meaning", action="store_true", help="the words-only check")
    ap.add_argument("--word-at", type=float, default=None,
                    help=f"close-word cosine (default {wording.WORD_AT})")
    ap.add_argument("--sweep", action="store_true",
                    help="also report the rates at thresholds 0.4-0.8 (vectors cached)")
    args = ap.parse_args()
    pairs = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.strip()]
    if args.slice:
        pairs = [p for p in pairs if p["slice"] in set(args.slice)]
    found = articles({p["slice"] for p in pairs}, {p["article_id"] for p in pairs})

    embed = None
    if not args.no_meaning:
        from assistant.settings import Settings
        from index.embed import make_embedder

        settings = Settings()
        embedder = make_embedder(settings.embedding, settings.model_dir)
        cache: dict[str, Any] = {}

        def embed(texts: Sequence[str]) -> np.ndarray:
            todo = [t for t in dict.fromkeys(texts) if t not in cache]
            if todo:
                cache.update(zip(todo, embedder.embed_documents(todo), strict=True))
            return np.stack([cache[t] for t in texts])

    meaning = wording.Meaning(embed=embed) if embed is not None else None
    word_at = [args.word_at] if args.word_at is not None else [wording.WORD_AT]
    if args.sweep:
        word_at += [0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8]
    thresholds = word_at
    results: dict[float, Any] = {}
    for at in thresholds:
        wording.WORD_AT = at
        kept_by_type: dict[str, Counter[str]] = defaultdict(Counter)
        costs: list[float] = []
        rows = []
        for pair in pairs:
            article = found[pair["article_id"]]
            assert article["text"][pair["start"]:pair["end"]], pair["id"]
            p, cited = passage(article, pair["start"], pair["end"])
            numbered = number_passages([p], 1, 10**6)
            draft = Draft(short_answer="", format="json", sentences=(
                DraftSentence(text=pair["claim"], ids=(f"1.{cited}",), quotes=()),))
            t0 = time.perf_counter()
            checked = (verify(draft, numbered, "", meaning) if meaning is not None
                       else verify(draft, numbered, ""))  # (runs on older code too)
            costs.append((time.perf_counter() - t0) * 1000)
            kept = bool(checked.sentences)
            sent = numbered[0].sentences[cited - 1]
            path = None
            if kept:
                c = checked.citations[0]
                path = ("cited" if (c.start, c.end) == (sent.start, sent.end) else
                        "widened" if c.start <= sent.start and sent.end <= c.end else
                        "re-cited")
            kept_by_type[pair["type"]]["kept" if kept else "dropped"] += 1
            reason = next((c.reason for c in checked.checks if c.reason), None)
            rows.append({"id": pair["id"], "type": pair["type"], "label": pair["label"],
                         "kept": kept, "path": path, "reason": reason,
                         "claim": pair["claim"]})
        faithful = [r for r in rows if r["type"] in FAITHFUL]
        unfaithful = [r for r in rows if r["type"] not in FAITHFUL]
        polarity = [r for r in rows if r["type"] in POLARITY]
        results[at] = {
            "n": len(rows),
            "faithful_kept": round(sum(r["kept"] for r in faithful) / max(1, len(faithful)), 3),
            "faithful_n": len(faithful),
            "unfaithful_verified": round(sum(r["kept"] for r in unfaithful)
                                         / max(1, len(unfaithful)), 3),
            "unfaithful_n": len(unfaithful),
            "polarity_flips_verified": sum(r["kept"] for r in polarity),
            "polarity_n": len(polarity),
            "by_type": {t: dict(c) for t, c in sorted(kept_by_type.items())},
            "cost_ms_p50": round(statistics.median(costs), 2),
            "cost_ms_p95": round(statistics.quantiles(costs, n=20)[-1], 2),
            "rows": rows,
        }
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "claim_check.json").write_text(json.dumps(
        {"meaning": not args.no_meaning, "slices": args.slice or "all",
         "results": {str(k): v for k, v in results.items()}}, indent=1,
        ensure_ascii=False))
    for at, r in results.items():
        print(f"word_at {at}: "
              f"faithful kept {r['faithful_kept']:.3f} (n={r['faithful_n']}), "
              f"unfaithful verified {r['unfaithful_verified']:.3f} (n={r['unfaithful_n']}), "
              f"polarity flips verified {r['polarity_flips_verified']}/{r['polarity_n']}, "
              f"cost p50 / p95 {r['cost_ms_p50']} / {r['cost_ms_p95']} ms")
    first = results[thresholds[0]]
    paths = Counter((r["type"] in FAITHFUL, r["path"]) for r in first["rows"] if r["kept"])
    print("kept as cited / widened to a neighbour / re-cited elsewhere: faithful "
          + " / ".join(str(paths[(True, k)]) for k in ("cited", "widened", "re-cited"))
          + ", unfaithful "
          + " / ".join(str(paths[(False, k)]) for k in ("cited", "widened", "re-cited")))
    print("type: kept / dropped")
    for t, c in first["by_type"].items():
        print(f"  {t:22s} {c.get('kept', 0):4d} / {c.get('dropped', 0)}")


if __name__ == "__main__":
    main()
