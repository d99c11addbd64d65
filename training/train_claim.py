"""Train the LLM claim check's model (issue 35, point 1; shipped as
`assistant/llm/claim.onnx`): the packaged all-MiniLM-L6-v2, its first `--layers` layers,
reading (claim, evidence) as one pair, mean-pooled, with a logistic head: the probability
that the evidence does NOT support the claim. Fine-tuned with torch on CPU on
`training/claim_data.py`'s pairs, exported to int8 ONNX and run with ONNX Runtime, as
`assistant/llm/entailment.py` runs it.

    .venv/bin/python training/claim_data.py --articles 1500 --out bench/out/claim-data.jsonl.gz
    .venv/bin/python training/train_claim.py --data bench/out/claim-data.jsonl.gz \
        --out bench/out/claim/claim.onnx
    .venv/bin/python training/train_claim.py --ship bench/out/claim/claim.onnx

writes claim.onnx and claim.report.json (settings, data counts, seed, times, held-out
accuracy by edit); `--ship` copies it into the package with its provenance
(`assistant/llm/claim.json`). The data never holds rtqa-2024, nor the articles the
claim-check benchmark cites.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import random
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from finetune import BASE, Optimiser, base_encoder, encode_pairs, pair_tokenizer, quantize
from paths import OUT, ROOT


def build_model(layers: int, seed: int) -> Any:
    """The base encoder's first layers with a fresh logistic head on the mean token
    vector, its weights drawn from `seed`."""
    import torch

    torch.manual_seed(seed)
    bert = base_encoder(layers)

    class ClaimModel(torch.nn.Module):
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

    return ClaimModel()


def load(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    if any(r["slice"] == "rtqa-2024" for r in rows):
        sys.exit("the data holds rtqa-2024, the check year: refused")
    return rows


def held_out(article: str, seed: int, share: float) -> bool:
    h = hashlib.sha256(f"{seed}:{article}".encode()).digest()
    return int.from_bytes(h[:4], "big") / 2**32 < share


def probabilities(model: Any, rows: list[dict[str, Any]], max_length: int,
                  batch: int = 64) -> np.ndarray:
    import torch

    tok = pair_tokenizer(max_length)
    out = []
    model.eval()
    with torch.inference_mode():
        for lo in range(0, len(rows), batch):
            part = rows[lo:lo + batch]
            ids, mask, types, _ = encode_pairs(tok, [(r["claim"], r["evidence"]) for r in part])
            logits = model(torch.from_numpy(ids), torch.from_numpy(mask),
                           torch.from_numpy(types))
            out.append(torch.sigmoid(logits).numpy())
    return np.concatenate(out) if out else np.zeros(0)


def train(model: Any, rows: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, Any]:
    import torch

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    tok = pair_tokenizer(args.max_length)
    total = args.epochs * math.ceil(len(rows) / args.batch)
    optimiser = Optimiser(model, lr=args.lr, total=total)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    model.train()
    for epoch in range(args.epochs):
        order = rows[:]
        rng.shuffle(order)
        for lo in range(0, len(order), args.batch):
            part = order[lo:lo + args.batch]
            ids, mask, types, _ = encode_pairs(tok, [(r["claim"], r["evidence"]) for r in part])
            logits = model(torch.from_numpy(ids), torch.from_numpy(mask),
                           torch.from_numpy(types))
            target = torch.tensor([float(r["label"]) for r in part])
            optimiser.step(loss_fn(logits, target), epoch)
    model.eval()
    return {"pairs": len(rows), "epochs": args.epochs, "lr": args.lr, **optimiser.record()}


def export(model: Any, args: argparse.Namespace, out: Path) -> None:
    """fp32 ONNX, then dynamic int8; checks int8 against torch on two pairs."""
    import onnxruntime as ort
    import torch

    tok = pair_tokenizer(args.max_length)
    ids, mask, types, _ = encode_pairs(tok, [("The cells attacked villagers.",
                                              "The cells often attacked the rural population."),
                                             ("He won.", "He lost the race on Sunday " * 5)])
    sample = (torch.from_numpy(ids), torch.from_numpy(mask), torch.from_numpy(types))
    fp32 = out.with_suffix(".fp32.onnx")
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, sample, str(fp32),
                          input_names=["input_ids", "attention_mask", "token_type_ids"],
                          output_names=["logit"], opset_version=17, dynamo=False,
                          external_data=False, do_constant_folding=True,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes,
                                        "token_type_ids": axes, "logit": {0: "batch"}})
        expected = model(*sample).numpy()
    quantize(fp32, out)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(
        None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
    print(f"  int8 vs torch logits, max difference {np.abs(got - expected).max():.3f}",
          file=sys.stderr)


def ship(model: Path) -> None:
    import shutil

    report = json.loads(model.with_suffix(".report.json").read_text())
    target = ROOT / "assistant" / "llm"
    shutil.copyfile(model, target / "claim.onnx")
    about = report["model"]
    record = {"script": (f"training/claim_data.py --articles {report['data']['articles']} "
                         f"--seed {report['data']['seed']}; training/train_claim.py "
                         f"--layers {about['layers']} --max-length {about['max_length']} "
                         f"--epochs {about['epochs']} --lr {about['lr']} "
                         f"--seed {about['seed']}"),
              "base": BASE, **{k: about[k] for k in ("layers", "max_length", "seed",
                                                     "epochs", "pairs", "train_seconds",
                                                     "threads")},
              "data": report["data"], "held_out": report["held_out"],
              "size_mb": report["size_mb"],
              "sha256": hashlib.sha256((target / "claim.onnx").read_bytes()).hexdigest()}
    (target / "claim.json").write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data", type=Path, default=OUT / "claim-data.jsonl.gz")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--holdout", type=float, default=0.1, help="share of articles held out")
    ap.add_argument("--out", type=Path, default=OUT / "claim" / "claim.onnx")
    ap.add_argument("--ship", type=Path, metavar="RUN/claim.onnx")
    args = ap.parse_args()
    if args.ship:
        ship(args.ship)
        return
    rows = load(args.data)
    train_rows = [r for r in rows if not held_out(r["article"], args.seed, args.holdout)]
    watch = [r for r in rows if held_out(r["article"], args.seed, args.holdout)]
    print(f"training on {len(train_rows)} pairs, watching {len(watch)}", file=sys.stderr)
    model = build_model(args.layers, args.seed)
    t0 = time.perf_counter()
    record = train(model, train_rows, args)
    seconds = time.perf_counter() - t0
    p = probabilities(model, watch, args.max_length)
    by_edit: dict[str, list[float]] = defaultdict(list)
    for r, q in zip(watch, p, strict=True):
        by_edit[r["edit"]].append(float((q >= 0.5) == bool(r["label"])))
    held = {"pairs": len(watch), "accuracy": round(float(np.mean(
        [(q >= 0.5) == bool(r["label"]) for r, q in zip(watch, p, strict=True)])), 4),
        "by_edit": {k: round(float(np.mean(v)), 3) for k, v in sorted(by_edit.items())}}
    print(json.dumps(held, indent=1), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    export(model, args, args.out)
    data_meta = {"articles": len({r["article"] for r in rows}), "pairs": len(rows),
                 "seed": 35, "slices": sorted({r["slice"] for r in rows})}
    report = {"model": {"base": BASE, "layers": args.layers, "max_length": args.max_length,
                        "seed": args.seed, "threads": args.threads,
                        "train_seconds": round(seconds), **record},
              "data": data_meta, "held_out": held,
              "size_mb": round(args.out.stat().st_size / 2**20, 1)}
    args.out.with_suffix(".report.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
