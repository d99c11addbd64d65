"""How well `assistant.question.kind` tells factoid, explanation and yes/no questions
apart (issue 31, point 1), on the hand-labelled sample bench/question_kinds.jsonl:

- 100 questions drawn at random (seed 31) from rtqa-2022 and rtqa-2023, referenced by id
  (their text is read from ../shared/bench, never copied here), each labelled by hand;
- 100 questions written in the style of chat users ("why are egg prices so high right
  now", "Is the ceasefire holding?"), with their labels.

A label says what a good answer looks like: one phrase (factoid: "What caused the
70-vehicle crash?" -> "a dust storm"), an account (explanation) or a yes or no.

    .venv/bin/python bench/question_kind.py

Prints the accuracy, the confusion matrix and every disagreement; writes
bench/out/question_kind.json. Measurements only.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from assistant.question.kind import question_kind  # noqa: E402

SHARED = ROOT.parent / "shared" / "bench"
SAMPLE = ROOT / "bench" / "question_kinds.jsonl"
KINDS = ("factoid", "explanation", "yesno")


def load() -> list[dict[str, str]]:
    """The labelled sample, with each rtqa question's text read from its slice."""
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines() if line.strip()]
    texts: dict[str, str] = {}
    for slice_ in sorted({r["slice"] for r in rows if "slice" in r}):
        for line in (SHARED / slice_ / "questions.jsonl").read_text().splitlines():
            q = json.loads(line)
            texts[q["id"]] = q["question"]
    for r in rows:
        r.setdefault("question", texts.get(r["id"], ""))
        if not r["question"]:
            raise SystemExit(f"{r['id']}: not found in {SHARED}")
    return rows


def main() -> None:
    rows = load()
    confusion: Counter[tuple[str, str]] = Counter()
    wrong = []
    for r in rows:
        got = question_kind(r["question"])
        confusion[(r["kind"], got)] += 1
        if got != r["kind"]:
            wrong.append({"id": r["id"], "question": r["question"], "label": r["kind"],
                          "got": got})
    right = sum(n for (label, got), n in confusion.items() if label == got)
    by_group = {}
    for group, pick in (("rtqa", lambda r: "slice" in r), ("chat", lambda r: "slice" not in r)):
        sub = [r for r in rows if pick(r)]
        ok = sum(question_kind(r["question"]) == r["kind"] for r in sub)
        by_group[group] = {"n": len(sub), "accuracy": round(ok / len(sub), 3)}
    result = {
        "n": len(rows), "accuracy": round(right / len(rows), 3), "groups": by_group,
        "labels": dict(Counter(r["kind"] for r in rows)),
        "confusion": {f"{label} -> {got}": confusion[(label, got)]
                      for label in KINDS for got in KINDS if confusion[(label, got)]},
        "wrong": wrong,
    }
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "question_kind.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"accuracy {result['accuracy']:.3f} on {len(rows)} ({by_group})")
    print("label -> classified:")
    for label in KINDS:
        print(f"  {label:12s}" + "".join(f"{got}={confusion[(label, got)]:<4d}"
                                         for got in KINDS))
    for w in wrong:
        print(f"  wrong: {w['label']} -> {w['got']}: {w['question']}")


if __name__ == "__main__":
    main()
