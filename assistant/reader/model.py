"""The learned span scorer: how strongly a small fine-tuned transformer reads a candidate
as the answer to the question, in its window.

The model is the packaged all-MiniLM-L6-v2 (its 6 layers and tokenizer) with a start/end
head, fine-tuned by `bench/train_span.py` on question/window pairs, shipped as int8 ONNX
(`span.onnx` beside this module) and run with ONNX Runtime: no torch, no download. It
reads each (question, window) pair once; a candidate's score is the start logit of its
first token plus the end logit of its last, minus the same for [CLS] (the model's "no
answer in this window"), so scores of different windows compare. The reader uses the
score as one feature of its conditional logit (`span.FEATURES`, "span"), not as the
answer itself: on rtqa-2022, a year the model never saw, its best candidate alone is
right for 0.393 of answerable questions, the hand features alone 0.341, both 0.461 (2-fold
CV; docs/benchmarks.md, 2026-12-07).
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import AssistantError

MODEL_FILE = "span.onnx"
BASE = "all-MiniLM-L6-v2"
MAX_LENGTH = 160  # question and window, in word pieces; the window is cut, not the question
READS_KEPT = 256  # windows' reads kept (a few asks' worth)
# One core for the model: it reads the windows while spaCy parses them on the other, and
# two threads per run only fight spaCy for the cores (bench/warm_ask.py, rtqa-2024, 2-core
# machine, medians of 3 runs: the reader 92.7-92.9 -> 78.5 ms at p50, the ask 136.5-138.0
# -> 124.0 ms; docs/benchmarks.md).
THREADS = 1


class SpanScorer(Protocol):
    """Scores character spans of windows as answers to a question."""

    def prefetch(self, question: str, texts: Sequence[str]) -> None:
        """A hint that `score` will be asked about these windows: the model may start
        reading them now (the reader then finds its candidates meanwhile)."""
        ...

    def score(self, question: str, texts: Sequence[str],
              spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[float | None]]:
        """Per window, per (start, end) character span of it: its score (higher: more
        likely the answer); None where the window was cut before the span."""
        ...


def model_path() -> Path:
    """Where the shipped model file is."""
    return Path(str(resources.files("assistant.reader").joinpath(MODEL_FILE)))


def checksum(path: Path | None = None) -> str:
    """The sha256 of the model file (the shipped one by default)."""
    return hashlib.sha256((path or model_path()).read_bytes()).hexdigest()


class SpanModel:
    """The shipped span scorer (`SpanScorer`) in ONNX Runtime. Loading takes a few
    hundred milliseconds, so it starts in a background thread at construction and the
    first `score` waits for it."""

    def __init__(self, path: Path | None = None, *, threads: int = THREADS) -> None:
        self.path = path or model_path()
        self.threads = threads
        self._loaded: tuple[Any, Any, Any] | None = None
        # Each window's read, by (question, window text): started by `prefetch`, reused by
        # `score` and by a second reading of the same windows (the quiz options' scores
        # after the answer's), as MentionFinder keeps spaCy's parses. Asks may run on
        # several threads; the last READS_KEPT reads are kept.
        self._reads: OrderedDict[tuple[str, str], Future[Any]] = OrderedDict()
        self._reads_lock = threading.Lock()
        self._error: Exception | None = None
        # Not a daemon: a process that exits while ONNX Runtime is still loading the model
        # (an ask that fails fast, e.g. on a full disk) waits for it, instead of aborting
        # ("terminate called without an active exception") as a daemon thread in native
        # code at interpreter shutdown does.
        self._thread = threading.Thread(target=self._load, name="newsqa-span-model")
        self._thread.start()

    def _load(self) -> None:
        try:
            import onnxruntime as ort

            from index.embed import load_tokenizer, model_dir

            if not self.path.is_file():
                raise AssistantError(
                    f"the reader's span model {self.path} is missing: reinstall the "
                    "package (pip install -e .), or rebuild it with bench/train_span.py")
            options = ort.SessionOptions()
            options.log_severity_level = 3
            options.intra_op_num_threads = self.threads
            # As the embedder's session: threads left spinning after a run hold the
            # cores that spaCy parses on.
            options.add_session_config_entry("session.force_spinning_stop", "1")
            session = ort.InferenceSession(str(self.path), options,
                                           providers=["CPUExecutionProvider"])
            pair = load_tokenizer(model_dir(BASE), None)
            pair.enable_truncation(max_length=MAX_LENGTH, strategy="only_second")
            both = load_tokenizer(model_dir(BASE), None)
            both.enable_truncation(max_length=MAX_LENGTH, strategy="longest_first")
            self._loaded = (session, pair, both)
        except Exception as exc:  # reported to the caller of `score`, not lost in a thread
            self._error = exc

    def _parts(self) -> tuple[Any, Any, Any]:
        self._thread.join()
        if self._loaded is None:
            if isinstance(self._error, AssistantError):
                raise self._error
            raise AssistantError(f"the reader's span model {self.path} could not be "
                                 f"loaded ({self._error}): reinstall the package") \
                from self._error
        return self._loaded

    def prefetch(self, question: str, texts: Sequence[str]) -> None:
        """Start reading the windows on the model's own thread: ONNX Runtime runs without
        the GIL, so the reader's spaCy parse goes on meanwhile (warm ask figures in
        docs/benchmarks.md, 2026-12-07)."""
        self._futures(question, texts)

    def logits(self, question: str, texts: Sequence[str]
               ) -> list[tuple[np.ndarray, np.ndarray, Any]]:
        """Per window: the start and end logit of each word piece, and the window's
        encoding (its `offsets` and `sequence_ids` place characters)."""
        out = []
        for text, future in zip(texts, self._futures(question, texts), strict=True):
            try:
                out.append(future.result())
            except Exception:
                with self._reads_lock:  # not kept: the next ask tries again
                    self._reads.pop((question, text), None)
                raise
        return out

    def _futures(self, question: str, texts: Sequence[str]) -> list[Future[Any]]:
        with self._reads_lock:
            out = []
            for text in texts:
                key = (question, text)
                future = self._reads.get(key)
                if future is None:
                    future = self._reads[key] = _runner().submit(self._read, question, text)
                else:
                    self._reads.move_to_end(key)
                out.append(future)
            while len(self._reads) > READS_KEPT:
                self._reads.popitem(last=False)
        return out

    def _read(self, question: str, text: str) -> tuple[np.ndarray, np.ndarray, Any]:
        """One window read alone: the int8 model quantises its activations over the whole
        batch, so in a batch a window's scores would depend on its neighbours (the
        reader's choice changed for 28 of 195 rtqa-2022 questions between batches of 10
        and 8 windows). Alone, a window scores the same in any ask, at about the same
        cost (8 windows: p50 65 -> 73 ms, p95 113 -> 104 ms)."""
        session, pair, both = self._parts()
        try:
            e = pair.encode(question, text)
        except Exception:  # a question longer than MAX_LENGTH alone: cut both
            e = both.encode(question, text)
        ids = np.array([e.ids], dtype=np.int64)
        start, end = session.run(None, {
            "input_ids": ids, "attention_mask": np.ones_like(ids),
            "token_type_ids": np.array([e.type_ids], dtype=np.int64)})
        return start[0], end[0], e

    def score(self, question: str, texts: Sequence[str],
              spans: Sequence[Sequence[tuple[int, int]]]) -> list[list[float | None]]:
        if not texts:
            return []
        out: list[list[float | None]] = []
        for (start, end, e), wanted in zip(self.logits(question, texts), spans, strict=True):
            null = float(start[0] + end[0])
            row: list[float | None] = []
            for s, t in wanted:
                at = token_span(e.offsets, e.sequence_ids, s, t)
                row.append(None if at is None else float(start[at[0]] + end[at[1]]) - null)
            out.append(row)
        return out


def token_span(offsets: Sequence[tuple[int, int]], sequence: Sequence[int | None],
               start: int, end: int) -> tuple[int, int] | None:
    """First and last word piece of the window (sequence 1) overlapping [start, end)."""
    first = last = None
    for i, ((a, b), s) in enumerate(zip(offsets, sequence, strict=True)):
        if s == 1 and a < end and b > start:
            if first is None:
                first = i
            last = i
    return None if first is None or last is None else (first, last)


@functools.cache
def _runner() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsqa-span-model")


@functools.cache
def shipped() -> SpanModel:
    """The shipped model, loaded once per process."""
    return SpanModel()
