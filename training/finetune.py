"""Fine-tuning the packaged all-MiniLM-L6-v2 on (question, sentence window) pairs, with
torch on CPU: what `training/train_span.py` (the reader's span model) builds on.

* the training data: `training/ranker_data.py`'s labelled windows of a slice's answerable
  questions and `training/ranker_synthetic.py`'s self-supervised questions, read from
  bench/out/ (`load`), with the seeded held-out share every run watches (`held_out`,
  `training_rows`, which refuses the check year, rtqa-2024);
* the base model in torch (`base_encoder`) and its tokenizer for pairs (`pair_tokenizer`,
  `encode_pairs`);
* the training loop's optimiser (`Optimiser`) and the int8 export (`quantize`).

The window ranker tried on 2026-12-06 (a cross-encoder choosing the windows the reader
reads; not adopted, nothing shipped) was built on the same code, which is why the data
files are named `ranker-*`; its script and its feature measurement were removed once its
results were recorded in docs/benchmarks.md: `git show c8a2bee:bench/train_ranker.py`,
`git show c8a2bee:bench/ranker_feature.py`.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from paths import OUT

BASE = "all-MiniLM-L6-v2"


@functools.lru_cache(maxsize=4)
def pair_tokenizer(max_length: int, strategy: str = "only_second") -> Any:
    """The base model's tokenizer for (question, window) pairs: the window is cut to fit
    `max_length` tokens, the question is not (unless it alone is too long)."""
    from index.embed import load_tokenizer, model_dir

    tok = load_tokenizer(model_dir(BASE), None)
    tok.enable_truncation(max_length=max_length, strategy=strategy)
    return tok


def load(slice_: str) -> list[dict[str, Any]]:
    """The questions and labelled windows of a slice (`ranker_data.py`), or of the
    self-supervised questions of some slices' articles (`synthetic-S1+S2`,
    `ranker_synthetic.py`), from bench/out/."""
    path = OUT / f"ranker-{slice_}.jsonl.gz"
    if not path.is_file():
        make = (f"training/ranker_synthetic.py --slices {slice_.removeprefix('synthetic-')}"
                .replace("+", " ") if slice_.startswith("synthetic-")
                else f"training/ranker_data.py --home H --slice {slice_}")
        sys.exit(f"{path} is missing: run {make} first")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def held_out(qid: str, seed: int, share: float) -> bool:
    """Whether question `qid` is in the `share` a run with `seed` holds out to watch (a
    hash of both: the same ids in every run with the same seed)."""
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


class Optimiser:
    """The training loop's shared half (the span scorer's; the window ranker's too): AdamW
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


def training_rows(args: argparse.Namespace
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(questions to train on, questions held out to watch) of the --train slices; exits
    on the check year."""
    if "rtqa-2024" in args.train:
        sys.exit("rtqa-2024 is the check year: never train on it (score it with --eval)")
    rows = [r for s in args.train for r in load(s)[:args.limit]]
    return ([r for r in rows if not held_out(r["id"], args.seed, args.holdout)],
            [r for r in rows if held_out(r["id"], args.seed, args.holdout)])
