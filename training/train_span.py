"""Train the reader's span model (issue 20, part 2; shipped as `assistant/reader/span.onnx`):
the packaged all-MiniLM-L6-v2 with a start/end head over (question, sentence window)
pairs, fine-tuned with torch on CPU, exported to int8 ONNX and run with ONNX Runtime, as
the reader runs it.

A candidate answer's score is `start[first token] + end[last token]` minus the same for
the [CLS] token (the "no answer here" reading), so scores of different windows compare.
`bench/span_feature.py` measures it as a feature of the reader's conditional logit.

Data (distant supervision):
* `training/ranker_data.py`'s windows of the training slices: a window holding a gold
  answer as whole words is a positive, every occurrence of the answer in it a target
  span; the other windows of the same retrieved passages are negatives (target: [CLS]).
* optional pre-training (`--synthetic N`) on `training/ranker_synthetic.py`'s recurring
  names (Splinter): a name masked in one sentence of an article ("... which ...?") is the
  question, and the windows of the same article naming it hold the target spans. Made
  from the training slices' own articles, no labels.

Each step takes `--batch` pairs: per question, `--pos` positive and `--neg` negative
windows drawn at random; the loss is the cross-entropy of the target starts and ends
(marginal over the answer's occurrences), over the window's tokens and [CLS]. The base
model, optimiser, export and data loading are `training/finetune.py`'s.

    .venv/bin/python training/train_span.py --train rtqa-2023 --synthetic 12000 \
        --out bench/out/span23/span.onnx

writes span.onnx and span.report.json (settings, data counts, seed, times). Never train
or tune on rtqa-2024 (refused). To ship a run's model as the reader's
(`assistant/reader/span.onnx`, with its provenance `span.json`, which the checksum test
reads):

    .venv/bin/python training/train_span.py --ship bench/out/span23/span.onnx
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from finetune import (
    BASE,
    Optimiser,
    base_encoder,
    load,
    pair_tokenizer,
    quantize,
    training_rows,
)
from finetune import encode_pairs as encode
from paths import OUT, ROOT

from assistant.reader.model import SpanModel, token_span

NEG = -1e4


def answer_spans(text: str, answers: list[str]) -> list[tuple[int, int]]:
    """Character spans of the answers in `text`, as whole words, ignoring case."""
    out = []
    for a in answers:
        a = a.strip()
        if not a:
            continue
        for m in re.finditer(r"(?<!\w)" + re.escape(a) + r"(?!\w)", text, re.IGNORECASE):
            out.append((m.start(), m.end()))
    return out


def build_model(layers: int, seed: int) -> Any:
    """The base encoder with a fresh head, its weights drawn from `seed` (so a run's
    seed fixes the whole model, not only the batches)."""
    import torch

    torch.manual_seed(seed)
    bert = base_encoder(layers)

    class SpanModel(torch.nn.Module):
        """Token vectors, then a linear head: a start and an end logit per token."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 2)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any
                    ) -> tuple[Any, Any]:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            logits = self.head(hidden)
            return logits[..., 0], logits[..., 1]

    return SpanModel()


def examples(rows: list[dict[str, Any]], rng: random.Random, pos: int, neg: int
             ) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """(question, window, answer spans) for one pass: per question, up to `pos` windows
    with the answer and `neg` without (spans empty)."""
    out = []
    for r in rows:
        good = [(w["text"], sp) for w in r["windows"] if w["label"]
                if (sp := answer_spans(w["text"], r["answers"]))]
        bad = [w["text"] for w in r["windows"] if not w["label"]]
        if not good:
            continue
        for text, sp in rng.sample(good, min(pos, len(good))):
            out.append((r["question"], text, sp))
        for text in rng.sample(bad, min(neg, len(bad))):
            out.append((r["question"], text, []))
    rng.shuffle(out)
    return out


def targets(enc: Any, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    """Target start and end tokens of one pair ([CLS] = 0 when none survive)."""
    starts, ends = [], []
    for s, e in spans:
        t = token_span(enc.offsets, enc.sequence_ids, s, e)
        if t:
            starts.append(t[0])
            ends.append(t[1])
    return (starts or [0]), (ends or [0])


def train(model: Any, rows: list[dict[str, Any]], args: argparse.Namespace, *, epochs: int,
          lr: float) -> dict[str, Any]:
    """Fine-tune `model` in place; returns what to record about the run."""
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    tok = pair_tokenizer(args.max_length)
    passes = [examples(rows, rng, args.pos, args.neg) for _ in range(epochs)]
    optimiser = Optimiser(model, lr=lr,
                          total=sum(math.ceil(len(p) / args.batch) for p in passes))
    model.train()
    for epoch, batch_rows in enumerate(passes):
        for lo in range(0, len(batch_rows), args.batch):
            part = batch_rows[lo:lo + args.batch]
            ids, mask, types, enc = encode(tok, [(q, t) for q, t, _ in part])
            start, end = model(torch.from_numpy(ids), torch.from_numpy(mask),
                               torch.from_numpy(types))
            # Candidates: the window's tokens (type 1, not the last [SEP]) and [CLS].
            valid = torch.from_numpy((types == 1) & (mask == 1))
            valid[:, 0] = True
            for r, e in enumerate(enc):
                valid[r, len(e.ids) - 1] = False
            start = start.masked_fill(~valid, NEG)
            end = end.masked_fill(~valid, NEG)
            loss = torch.zeros(())
            for r, (e, (_, _, spans)) in enumerate(zip(enc, part, strict=True)):
                ts, te = targets(e, spans)
                loss = loss - (torch.logsumexp(start[r, ts], 0) - torch.logsumexp(start[r], 0))
                loss = loss - (torch.logsumexp(end[r, te], 0) - torch.logsumexp(end[r], 0))
            optimiser.step(loss / len(part), epoch)
    model.eval()
    return {"questions": len(rows), "pairs": sum(len(p) for p in passes),
            "positive_pairs": sum(bool(x[2]) for p in passes for x in p), "epochs": epochs,
            "lr": lr, **optimiser.record()}


def export(model: Any, args: argparse.Namespace, out: Path) -> None:
    """fp32 ONNX, then dynamic int8 (MatMul and the embedding table's Gather)."""

    import torch

    tok = pair_tokenizer(args.max_length)
    ids, mask, types, _ = encode(tok, [("who won?", "A short window."),
                                       ("which team?", "He joined the Buffalo Bills " * 9)])
    sample = (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
    fp32 = out.with_suffix(".fp32.onnx")
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, sample, str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["start", "end"], opset_version=17, dynamo=False,
                          external_data=False, do_constant_folding=True,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "start": axes, "end": axes})
        expected = model(*sample)[0].numpy()
    quantize(fp32, out)
    import onnxruntime as ort

    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    print(f"  int8 vs torch start logits, max difference {np.abs(got - expected).max():.3f}",
          file=sys.stderr)


def exact_match(rows: list[dict[str, Any]], scorer: SpanModel) -> dict[str, float]:
    """How often the best-scoring span of the positive windows of a question, among every
    span of up to 8 tokens, is a gold answer (a sanity check of the head, not the reader's
    metric: the reader scores its own candidates)."""
    right = []
    for r in rows:
        wins = [w["text"] for w in r["windows"] if w["baseline"]] or \
               [w["text"] for w in r["windows"][:8]]
        if not wins:
            continue
        best, text = -math.inf, ""
        for (start, end, e), w in zip(scorer.logits(r["question"], wins), wins, strict=True):
            n = len(e.ids)
            idx = [i for i in range(n) if e.sequence_ids[i] == 1]
            null = start[0] + end[0]
            for i in idx:
                for j in idx:
                    if i <= j < i + 8 and start[i] + end[j] - null > best:
                        best = float(start[i] + end[j] - null)
                        text = w[e.offsets[i][0]:e.offsets[j][1]]
        gold = {a.lower().strip() for a in r["answers"]}
        right.append(float(text.lower().strip() in gold))
    return {"em_top_span": round(float(np.mean(right)), 3), "n": len(right)}


def ship(model: Path) -> None:
    """Copy a trained model into the package with its provenance."""
    import shutil

    report_path = model.with_suffix(".report.json")
    if not model.is_file() or not report_path.is_file():
        sys.exit(f"{model} or its report is missing: train it with training/train_span.py first")
    report = json.loads(report_path.read_text(encoding="utf-8"))
    about = report["model"]
    if "rtqa-2024" in about["train_slices"]:
        sys.exit("a model trained on rtqa-2024 cannot ship: it is the check year")
    pre = about.get("pretraining") or {}
    command = (f"training/train_span.py --train {' '.join(about['train_slices'])} "
               f"--layers {about['layers']} --max-length {about['max_length']} "
               f"--epochs {about['epochs']} --lr {about['lr']} --seed {about['seed']}"
               + (f" --synthetic {pre['questions']}" if pre else ""))
    target = ROOT / "assistant" / "reader"
    shutil.copyfile(model, target / "span.onnx")
    record = {"script": command, "base": about["base"], "seed": about["seed"],
              "train_slices": about["train_slices"], "layers": about["layers"],
              "max_length": about["max_length"], "questions": about["questions"],
              "pairs": about["pairs"], "positive_pairs": about["positive_pairs"],
              "epochs": about["epochs"], "train_seconds": about["train_seconds"],
              "threads": about["threads"], "pretraining": pre,
              "size_mb": report["size_mb"],
              "sha256": hashlib.sha256((target / "span.onnx").read_bytes()).hexdigest()}
    (target / "span.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--train", nargs="+", default=["rtqa-2023"],
                    help="slices to train on (never rtqa-2024, the check year)")
    ap.add_argument("--eval", nargs="*", default=[], help="slices only scored")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--max-length", type=int, default=160)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--holdout", type=float, default=0.1,
                    help="share of the questions held out to watch")
    ap.add_argument("--synthetic", type=int, default=0,
                    help="pre-train first on this many of training/ranker_synthetic.py's "
                    "questions, made from the --train slices' articles")
    ap.add_argument("--limit", type=int, help="questions per slice (smoke runs)")
    ap.add_argument("--batch", type=int, default=16, help="pairs per step")
    ap.add_argument("--pos", type=int, default=2, help="positive windows per question")
    ap.add_argument("--neg", type=int, default=2, help="negative windows per question")
    ap.add_argument("--save-pretrained", action="store_true",
                    help="also export the model after pre-training (pretrained.onnx)")
    ap.add_argument("--out", type=Path, default=OUT / "span" / "span.onnx")
    ap.add_argument("--ship", type=Path, metavar="RUN/span.onnx",
                    help="train nothing: copy this trained model into the package")
    args = ap.parse_args()
    if args.ship:
        ship(args.ship)
        return
    train_rows, watch = training_rows(args)
    print(f"training on {len(train_rows)} questions of {', '.join(args.train)}, "
          f"watching {len(watch)}", file=sys.stderr)
    model = build_model(args.layers, args.seed)
    pretrain: dict[str, Any] = {}
    if args.synthetic:
        synthetic = load("synthetic-" + "+".join(args.train))[:args.synthetic]
        print(f"pre-training on {len(synthetic)} synthetic questions", file=sys.stderr)
        saved = args.pos, args.neg
        args.pos, args.neg = 1, 1
        pretrain = train(model, synthetic, args, epochs=1, lr=args.lr * 2)
        args.pos, args.neg = saved
        if args.save_pretrained:
            # The self-supervised model alone: no question of any slice reached it.
            first = args.out.with_name("pretrained.onnx")
            first.parent.mkdir(parents=True, exist_ok=True)
            export(model, args, first)
            model.train()
            first.with_suffix(".report.json").write_text(json.dumps({"model": {
                "base": BASE, "train_slices": [], "corpora": args.train, "seed": args.seed,
                "layers": args.layers, "max_length": args.max_length, **pretrain,
                "sha256": hashlib.sha256(first.read_bytes()).hexdigest()}}, indent=2))
    record = train(model, train_rows, args, epochs=args.epochs, lr=args.lr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(model, args, args.out)
    scorer = SpanModel(args.out)
    results = {"watch": exact_match(watch, scorer)}
    for s in args.eval:
        results[s] = exact_match(load(s)[:args.limit], scorer)
    report = {"model": {"base": BASE, "train_slices": args.train, "seed": args.seed,
                        "layers": args.layers, "max_length": args.max_length,
                        "threads": args.threads, "holdout_share": args.holdout,
                        "pretraining": pretrain and {
                            "script": "training/ranker_synthetic.py",
                            "source": "recurring names in the training slices' articles",
                            **pretrain},
                        **record, "sha256": hashlib.sha256(args.out.read_bytes()).hexdigest()},
              "top_span": results, "size_mb": round(args.out.stat().st_size / 1e6, 1)}
    print(json.dumps(report, indent=2))
    args.out.with_suffix(".report.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
