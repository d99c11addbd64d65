"""Train and measure a sentence-window ranker (issue 20, part 1): a cross-encoder over
(question, window) fine-tuned from the first layers of the packaged all-MiniLM-L6-v2, with
torch on CPU, exported to int8 ONNX and scored with ONNX Runtime, as the answerer would
run it. Not adopted: no variant beat today's choice of windows on the year it was not
trained on (docs/benchmarks.md, 2026-12-06), so nothing ships; this script reruns the
attempt.

Data: bench/ranker_data.py's windows of the training slices (distant supervision: a window
holding a gold answer is a positive, the other windows of the same retrieved passages are
hard negatives). Each step takes `--groups` questions; each contributes one positive and
`--group - 1` negatives drawn at random, and the loss is the softmax cross-entropy of the
positive among its group (a listwise loss, as the reader's conditional logit). A share of
the training questions (`--holdout`, chosen by a seeded hash of the id) is kept out to
watch the recall; `--eval` slices are only scored, never trained on.

Recall@8 is how often some window among the 8 the reader would parse holds a gold answer:
"baseline" is today's choice (keywords, then sentence embeddings); "ranker@K" scores the
K windows with the best keyword prior and keeps the 8 it ranks highest.

    .venv/bin/python bench/ranker_data.py --home H22 --slice rtqa-2022   # and H23
    .venv/bin/python bench/ranker_synthetic.py --slices rtqa-2023 --questions 20000
    .venv/bin/python bench/train_ranker.py --train rtqa-2023 --eval rtqa-2022 \
        [--synthetic 3000] [--layers 3] [--epochs 3] [--lr 1e-4]

writes bench/out/ranker.onnx and ranker.report.json (the run's settings, data counts,
seed, times and recalls). Never train or tune on rtqa-2024; score it with `--eval
rtqa-2024` once, for a model about to be adopted.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import math
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from harness import OUT

BASE = "all-MiniLM-L6-v2"
BATCH = 32


@functools.lru_cache(maxsize=4)
def pair_tokenizer(max_length: int, strategy: str = "only_second") -> Any:
    """The base model's tokenizer for (question, window) pairs: the window is cut to fit
    `max_length` tokens, the question is not (unless it alone is too long)."""
    from index.embed import load_tokenizer, model_dir

    tok = load_tokenizer(model_dir(BASE), None)
    tok.enable_truncation(max_length=max_length, strategy=strategy)
    return tok


class OnnxScorer:
    """The exported model in ONNX Runtime: one logit per (question, window) pair, as the
    answerer would have run it (no torch)."""

    def __init__(self, path: Path, max_length: int) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.max_length = max_length
        self.session = ort.InferenceSession(str(path), options,
                                            providers=["CPUExecutionProvider"])

    def scores(self, question: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0, dtype=np.float32)
        ids, mask, types = tensors(pair_tokenizer(self.max_length),
                                   [(question, t) for t in texts], numpy=True)
        out = np.zeros(len(texts), dtype=np.float32)
        for lo in range(0, len(texts), BATCH):
            part = slice(lo, lo + BATCH)
            out[part] = self.session.run(None, {"input_ids": ids[part],
                                                "attention_mask": mask[part],
                                                "token_type_ids": types[part]})[0]
        return out


def load(slice_: str) -> list[dict[str, Any]]:
    path = OUT / f"ranker-{slice_}.jsonl.gz"
    if not path.is_file():
        make = (f"bench/ranker_synthetic.py --slices {slice_.removeprefix('synthetic-')}"
                .replace("+", " ") if slice_.startswith("synthetic-")
                else f"bench/ranker_data.py --slice {slice_}")
        sys.exit(f"{path} is missing: run {make} first")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def held_out(qid: str, seed: int, share: float) -> bool:
    h = hashlib.sha256(f"{seed}:{qid}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 < share


def base_encoder(layers: int) -> Any:
    """The first `layers` layers of the packaged base model, in torch (training only)."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    from index.embed import model_dir

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    return AutoModel.from_pretrained(str(model_dir(BASE)), num_hidden_layers=layers,
                                     attn_implementation="eager")


def quantize(fp32: Path, out: Path) -> None:
    """Dynamic int8 of an exported fp32 model (MatMul and the embedding table's Gather,
    which keeps the file small); the fp32 file is removed."""
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=False,
                         reduce_range=False, op_types_to_quantize=["MatMul", "Gather"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    finally:
        root.setLevel(level)
    fp32.unlink()


def build_model(layers: int, seed: int) -> Any:
    """The base encoder with a fresh head, its weights drawn from `seed` (so a run's
    seed fixes the whole model, not only the batches)."""
    import torch

    torch.manual_seed(seed)
    bert = base_encoder(layers)

    class Scorer(torch.nn.Module):
        """Mean of the token vectors (the base model was trained to pool that way), then
        a linear head: one logit per pair."""

        def __init__(self) -> None:
            super().__init__()
            self.bert = bert
            self.head = torch.nn.Linear(bert.config.hidden_size, 1)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
            return self.head(pooled).squeeze(-1)

    return Scorer()


def encode_pairs(tok: Any, pairs: list[tuple[str, str]]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[Any]]:
    """Token ids, attention mask and token types of the pairs, padded to the longest, and
    the encodings (for character offsets)."""
    try:
        enc = tok.encode_batch(pairs)
    except Exception:  # a question longer than max_length: cut both
        enc = pair_tokenizer(tok.truncation["max_length"], "longest_first").encode_batch(pairs)
    width = max(len(e.ids) for e in enc)
    ids = np.zeros((len(enc), width), dtype=np.int64)
    types = np.zeros_like(ids)
    mask = np.zeros_like(ids)
    for r, e in enumerate(enc):
        n = len(e.ids)
        ids[r, :n] = e.ids
        types[r, :n] = e.type_ids
        mask[r, :n] = 1
    return ids, mask, types, enc


def tensors(tok: Any, pairs: list[tuple[str, str]], numpy: bool = False
            ) -> tuple[Any, Any, Any]:
    """Token ids, attention mask and token types of the pairs, padded to the longest."""
    ids, mask, types, _ = encode_pairs(tok, pairs)
    if numpy:
        return ids, mask, types
    import torch

    return torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types)


class Optimiser:
    """The training loop's shared half, for the window ranker and the span scorer: AdamW
    (weight decay 0.01), a learning rate warmed up linearly over the first 10% of `total`
    steps and decayed linearly after, gradients clipped at 1.0, and the mean loss printed
    every 25 steps."""

    def __init__(self, model: Any, *, lr: float, total: int) -> None:
        import torch

        self.model, self.total = model, total
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        warm = max(1, total // 10)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt,
            lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(total - warm, 1))))
        self.losses: list[float] = []
        self.t0 = time.perf_counter()

    def step(self, loss: Any, epoch: int) -> None:
        """Back-propagate one batch's `loss` and update the model."""
        import torch

        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad()
        self.losses.append(float(loss.detach()))
        if len(self.losses) % 25 == 0:
            print(f"  epoch {epoch + 1} step {len(self.losses)}/{self.total} loss "
                  f"{np.mean(self.losses[-25:]):.3f} {time.perf_counter() - self.t0:.0f}s",
                  file=sys.stderr, flush=True)

    def record(self) -> dict[str, Any]:
        """Steps, seconds and the last 25 steps' mean loss, for the run's report."""
        return {"steps": len(self.losses), "train_seconds": round(time.perf_counter() - self.t0),
                "final_loss": round(float(np.mean(self.losses[-25:])), 4)}


def train(model: Any, rows: list[dict[str, Any]], args: argparse.Namespace, *, epochs: int,
          lr: float, group: int) -> dict[str, Any]:
    """Fine-tune `model` in place on the questions of `rows` that have both a positive
    and a negative window; returns what to record about the run."""
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    tok = pair_tokenizer(args.max_length)
    groups = [r for r in rows if any(w["label"] for w in r["windows"])
              and not all(w["label"] for w in r["windows"])]
    model.train()
    optimiser = Optimiser(model, lr=lr, total=math.ceil(len(groups) / args.groups) * epochs)
    for epoch in range(epochs):
        order = list(range(len(groups)))
        rng.shuffle(order)
        for lo in range(0, len(order), args.groups):
            pairs: list[tuple[str, str]] = []
            sizes: list[int] = []
            for gi in order[lo:lo + args.groups]:
                g = groups[gi]
                pos = [w for w in g["windows"] if w["label"]]
                neg = [w for w in g["windows"] if not w["label"]]
                chosen = [rng.choice(pos), *rng.sample(neg, min(len(neg), group - 1))]
                pairs += [(g["question"], w["text"]) for w in chosen]
                sizes.append(len(chosen))
            ids, mask, types = tensors(tok, pairs)
            logits = model(ids, mask, types)
            loss = torch.zeros(())
            at = 0
            for n in sizes:
                loss = loss - torch.log_softmax(logits[at:at + n], 0)[0]
                at += n
            optimiser.step(loss / len(sizes), epoch)
    model.eval()
    return {"questions": len(groups), "epochs": epochs, "windows_per_group": group, "lr": lr,
            **optimiser.record()}


def export(model: Any, args: argparse.Namespace, out: Path) -> None:
    """fp32 ONNX, checked against torch, then dynamic int8 (MatMul and the embedding
    table's Gather, which keeps the file small)."""

    import torch

    tok = pair_tokenizer(args.max_length)
    sample = tensors(tok, [("who won?", "A short window."),
                           ("which team did he join?", "He joined the Buffalo Bills " * 9)])
    fp32 = out.with_suffix(".fp32.onnx")
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, sample, str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["score"], opset_version=17, dynamo=False,
                          external_data=False, do_constant_folding=True,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "score": {0: "batch"}})
        expected = model(*sample).numpy()
    quantize(fp32, out)
    import onnxruntime as ort

    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input_ids": sample[0].numpy(), "attention_mask": sample[1].numpy(),
               "token_type_ids": sample[2].numpy()})[0]
    print(f"  int8 vs torch on the sample: {got} vs {expected}", file=sys.stderr)


def recall(rows: list[dict[str, Any]], score: Any, ks: tuple[int, ...], reads: int = 8
           ) -> dict[str, float]:
    """Share of questions with a gold answer in some window the reader would parse."""
    hits: dict[str, list[float]] = {"baseline": [], "any window": []}
    hits.update({f"ranker@{k}": [] for k in ks})
    hits.update({f"prior@{k}": [] for k in ks})
    for r in rows:
        ws = r["windows"]
        if not ws:
            for v in hits.values():
                v.append(0.0)
            continue
        hits["baseline"].append(float(any(w["label"] and w["baseline"] for w in ws)))
        hits["any window"].append(float(any(w["label"] for w in ws)))
        prior = np.array([w["prior"] for w in ws])
        order = np.argsort(-prior, kind="stable")
        top = order[:max(ks)]
        s = score(r["question"], [ws[i]["text"] for i in top])
        for k in ks:
            pool = top[:k]
            best = pool[np.argsort(-s[:k], kind="stable")[:reads]]
            hits[f"ranker@{k}"].append(float(any(ws[i]["label"] for i in best)))
            hits[f"prior@{k}"].append(float(any(ws[i]["label"] for i in pool)))
    return {k: round(float(np.mean(v)), 3) for k, v in hits.items()}


def add_training_arguments(ap: argparse.ArgumentParser, *, train: list[str], layers: int,
                           max_length: int, epochs: int) -> None:
    """The options this script and bench/train_span.py share (their defaults differ)."""
    ap.add_argument("--train", nargs="+", default=train)
    ap.add_argument("--eval", nargs="*", default=[])
    ap.add_argument("--layers", type=int, default=layers)
    ap.add_argument("--max-length", type=int, default=max_length)
    ap.add_argument("--epochs", type=int, default=epochs)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--synthetic", type=int, default=0,
                    help="pre-train first on this many of bench/ranker_synthetic.py's questions, "
                    "made from the --train slices' articles")
    ap.add_argument("--limit", type=int, help="questions per slice (smoke runs)")


def training_rows(args: argparse.Namespace
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(questions to train on, questions held out to watch) of the --train slices; exits
    on the check year."""
    if "rtqa-2024" in args.train:
        sys.exit("rtqa-2024 is the check year: never train on it (score it with --eval)")
    rows = [r for s in args.train for r in load(s)[:args.limit]]
    return ([r for r in rows if not held_out(r["id"], args.seed, args.holdout)],
            [r for r in rows if held_out(r["id"], args.seed, args.holdout)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_training_arguments(ap, train=["rtqa-2022", "rtqa-2023"], layers=3, max_length=96,
                           epochs=2)
    ap.add_argument("--groups", type=int, default=2, help="questions per step")
    ap.add_argument("--group", type=int, default=16, help="windows per question")
    ap.add_argument("--ks", type=int, nargs="+", default=[16, 24, 32, 48])
    ap.add_argument("--synthetic-group", type=int, default=8)
    ap.add_argument("--out", type=Path, default=OUT / "ranker.onnx")
    args = ap.parse_args()
    train_rows, watch = training_rows(args)
    print(f"training on {len(train_rows)} questions of {', '.join(args.train)} "
          f"({sum(len(r['windows']) for r in train_rows)} windows), watching {len(watch)}",
          file=sys.stderr)
    model = build_model(args.layers, args.seed)
    pretrain: dict[str, Any] = {}
    if args.synthetic:
        # Made from the training slices' own articles only (bench/ranker_synthetic.py).
        synthetic = load("synthetic-" + "+".join(args.train))[:args.synthetic]
        print(f"pre-training on {len(synthetic)} synthetic questions", file=sys.stderr)
        pretrain = train(model, synthetic, args, epochs=1, lr=args.lr,
                         group=args.synthetic_group)
    record = train(model, train_rows, args, epochs=args.epochs, lr=args.lr, group=args.group)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(model, args, args.out)
    about = {"train_slices": args.train, "holdout_share": args.holdout, "seed": args.seed,
             "layers": args.layers, "max_length": args.max_length, "lr": args.lr,
             "groups_per_step": args.groups, "threads": args.threads,
             "pretraining": pretrain and {
                 "script": "bench/ranker_synthetic.py", "source": "recurring names in the "
                 "articles of the training slices' corpora", **pretrain},
             "windows": sum(len(r["windows"]) for r in train_rows),
             "positives": sum(w["label"] for r in train_rows for w in r["windows"]), **record}
    scorer = OnnxScorer(args.out, args.max_length)
    results = {"watch": recall(watch, scorer.scores, tuple(args.ks))}
    for s in args.eval:
        results[s] = recall(load(s)[:args.limit], scorer.scores, tuple(args.ks))
    report = {"model": {"base": BASE, **about,
                        "sha256": hashlib.sha256(args.out.read_bytes()).hexdigest()},
              "recall_at_8": results, "size_mb": round(args.out.stat().st_size / 1e6, 1)}
    print(json.dumps(report, indent=2))
    (args.out.with_suffix(".report.json")).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
