"""The learned half of the LLM claim check: how likely a claim's evidence does NOT say it.

A small cross-encoder, the packaged all-MiniLM-L6-v2's first layers with a logistic head,
fine-tuned by `training/train_claim.py` on FactCC-style pairs made from the training
years' articles (a sentence, and a claim made from it by one edit: a negation added or
taken away, a number, date or name swapped, two names exchanged, an opposite, a clause
added; or a faithful clause, a modifier dropped, the neighbour sentence read too). Shipped
as int8 ONNX (`claim.onnx` beside this module, with its provenance and sha256 in
`claim.json`) and run with ONNX Runtime: no torch, no download.

`assistant.llm.claim.contradiction` drops a claim the model reads as unsupported with
probability at least `UNSUPPORTED_AT`, after the symbolic checks
(`assistant.llm.consistency`) have passed it: the model catches what has no word-level
cue. A model file that is missing, or not the file its record names, is never used: one
warning, and the symbolic checks alone decide.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_FILE = "claim.onnx"
RECORD_FILE = "claim.json"
BASE = "all-MiniLM-L6-v2"
MAX_LENGTH = 128  # claim and evidence, in word pieces; the evidence is cut, not the claim
# Chosen on the development pairs (bench/claim_pairs.jsonl, `bench/claim_check.py
# --sweep-model`): docs/benchmarks.md, 2026-12-07 (sixth).
UNSUPPORTED_AT = 0.5
# At or below this, a claim's words missing from its quotes do not drop it (a paraphrase
# the model reads as plainly supported); -1: never.
SUPPORTED_AT = -1.0


class ClaimModel:
    """The shipped claim model, loaded on first use; thread-safe."""

    def __init__(self, path: Path, verify: bool = True) -> None:
        self.path = path
        self.verify = verify  # against the sha256 in claim.json (off: a training run's)
        self._lock = threading.Lock()
        self._parts: tuple[Any, Any] | None = None

    def _open(self) -> tuple[Any, Any]:
        import onnxruntime as ort

        from index.embed import load_tokenizer, model_dir

        data = self.path.read_bytes()
        if self.verify:
            record = json.loads(self.path.with_suffix(".json").read_text(encoding="utf-8"))
            if hashlib.sha256(data).hexdigest() != record.get("sha256"):
                raise ValueError(f"{self.path} is not the file {RECORD_FILE} records")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = 1
        options.add_session_config_entry("session.force_spinning_stop", "1")
        session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        tok = load_tokenizer(model_dir(BASE), None)
        tok.enable_truncation(max_length=MAX_LENGTH, strategy="only_second")
        return session, tok

    def unsupported(self, claim: str, evidence: str) -> float:
        """P(the evidence does not support the claim)."""
        with self._lock:
            if self._parts is None:
                self._parts = self._open()
        session, tok = self._parts
        enc = tok.encode(claim, evidence)
        feed = {"input_ids": np.array([enc.ids], dtype=np.int64),
                "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([enc.type_ids], dtype=np.int64)}
        logit = float(session.run(None, feed)[0][0])
        return 1.0 / (1.0 + np.exp(-logit))


@functools.cache
def shipped() -> ClaimModel | None:
    """The shipped model, checked once; None (with one warning) when it cannot be used."""
    path = Path(str(resources.files("assistant.llm").joinpath(MODEL_FILE)))
    model = ClaimModel(path)
    try:
        model.unsupported("A check.", "A check.")
    except Exception as exc:  # noqa: BLE001 - any failure: the symbolic checks decide alone
        log.warning("the LLM claim check's model %s cannot be used (%s): claims are "
                    "checked by words alone; reinstall the package (pip install -e .) or "
                    "rebuild it with training/train_claim.py", path, exc)
        return None
    return model
