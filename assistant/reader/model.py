"""The learned span scorer: how strongly a small fine-tuned transformer reads a candidate
as the answer to the question, in its window.

The model is the packaged all-MiniLM-L6-v2 (its 6 layers and tokenizer) with a start/end
head, fine-tuned by `training/train_span.py` on question/window pairs, shipped as int8 ONNX
(`span.onnx` beside this module) and run with ONNX Runtime: no torch, no download. It
reads each (question, window) pair once; a candidate's score is the start logit of its
first token plus the end logit of its last, minus the same for [CLS] (the model's "no
answer in this window"), so scores of different windows compare. The reader uses the
score as one feature of its conditional logit (`span.FEATURES`, "span"), not as the
answer itself: on rtqa-2022, a year the model never saw, its best candidate alone is
right for 0.393 of answerable questions, the hand features alone 0.341, both 0.461 (2-fold
CV; docs/benchmarks.md, 2026-12-07).

The file is checked when it loads, on the load thread (no ask waits for it): its sha256
against the record beside it (`span.json`, which `training/train_span.py --ship` writes, or a
training run's `span.report.json`), then its inputs and outputs. A model that is missing,
corrupt, foreign (another model's inputs or outputs) or not the recorded file is never
used: it is named once per process in a warning (`ModelUnavailable.advice`), and the
reader answers without it, so asks come with their verified quotes and no short answer
(the reader's weights and confidence were fitted with the model's score; without it a
"fact" would be stated at a confidence it does not have). `newsqa check` names it too.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from assistant.errors import AssistantError

log = logging.getLogger(__name__)

MODEL_FILE = "span.onnx"
RECORD_FILE = "span.json"  # its provenance and sha256, beside it (training/train_span.py --ship)
PATH_SETTING = "NEWSQA_ANSWER__SPAN_MODEL"
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
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


class ModelUnavailable(AssistantError):
    """The span model cannot be used: missing, corrupt, foreign or not the file its record
    names. The reader answers without it (quotes only, no short answer)."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"the reader's span model {path} {reason}")

    def advice(self) -> str:
        """The problem, what it costs and what to do, in one line (the warning and
        `newsqa check`)."""
        return (f"{self}: asks answer with their quotes but no short answer. Reinstall the "
                "package (pip install -e .) to restore the shipped model, or rebuild it "
                "with training/train_span.py (README, \"The reader's span model\"); "
                f"{PATH_SETTING} names the model file to use (unset: the shipped one), "
                "and NEWSQA_ANSWER__SHORT_ANSWERS=false answers with quotes only without "
                "this warning")


def recorded_sha256(path: Path) -> tuple[str, Path] | None:
    """The sha256 the model file's record gives, and the record: `span.json` beside it
    (`training/train_span.py --ship`), else `span.report.json` (a training run). None: no
    readable record."""
    for record, key in ((path.with_suffix(".json"), ("sha256",)),
                        (path.with_suffix(".report.json"), ("model", "sha256"))):
        try:
            value: Any = json.loads(record.read_text(encoding="utf-8"))
            for k in key:
                value = value[k]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value):
            return value, record
    return None


def verified_bytes(path: Path, verify: bool) -> bytes:
    """The model file's bytes; with `verify`, only when their sha256 is the one its record
    gives (ModelUnavailable otherwise). The bytes checked are the bytes loaded."""
    if not path.is_file():
        raise ModelUnavailable(path, "is missing")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelUnavailable(path, f"cannot be read ({exc.strerror or exc})") from exc
    if not verify:
        return data
    recorded = recorded_sha256(path)
    if recorded is None:
        raise ModelUnavailable(
            path, f"has no record of its sha256 to check it against ({RECORD_FILE} beside "
            "it, as training/train_span.py --ship writes, or span.report.json, as training "
            "writes)")
    actual = hashlib.sha256(data).hexdigest()
    if actual != recorded[0]:
        raise ModelUnavailable(
            path, f"is not the file its record names (its sha256 is {actual[:16]}..., "
            f"{recorded[1].name} records {recorded[0][:16]}...): changed or damaged")
    return data


def signature_problem(session: Any) -> str | None:
    """Why an ONNX Runtime session is not a span model (None: it is one): the inputs
    INPUTS (batch x word pieces, int64) and two outputs, the start and end logits (batch
    x word pieces), checked on a 4-piece input."""
    inputs = [i.name for i in session.get_inputs()]
    outputs = session.get_outputs()
    wanted = (f"a span model takes {', '.join(INPUTS)} and gives the start and end logits "
              "of each word piece")
    if sorted(inputs) != sorted(INPUTS) or len(outputs) != 2:
        return (f"is not a span model: it takes {', '.join(inputs) or 'no input'} and gives "
                f"{len(outputs)} output(s), where {wanted}")
    ids = np.array([[101, 2040, 102, 102]], dtype=np.int64)
    try:
        got = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                 "token_type_ids": np.zeros_like(ids)})
    except Exception as exc:
        return f"is not a span model: it fails on a test input ({_first_line(exc)})"
    if any(np.shape(o) != ids.shape or not np.issubdtype(np.asarray(o).dtype, np.floating)
           for o in got):
        return (f"is not a span model: on 4 word pieces it gives outputs of shape "
                f"{' and '.join(str(np.shape(o)) for o in got)}, where {wanted}")
    return None


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:199] + "…"


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(problem: ModelUnavailable) -> None:
    """One warning per model file and problem per process."""
    key = (str(problem.path), problem.reason)
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    log.warning(problem.advice())


class SpanModel:
    """The shipped span scorer (`SpanScorer`) in ONNX Runtime. Loading takes a few
    hundred milliseconds, so it starts in a background thread at construction and the
    first `score` waits for it. With `verify` (the default for the shipped file), the
    file's sha256 must be the one its record gives (`verified_bytes`); every file must
    have a span model's inputs and outputs (`signature_problem`). A file that fails is
    warned about once (`ModelUnavailable.advice`) and `score` raises ModelUnavailable."""

    def __init__(self, path: Path | None = None, *, threads: int = THREADS,
                 verify: bool | None = None) -> None:
        self.path = path or model_path()
        self.threads = threads
        self.verify = path is None if verify is None else verify
        self.load_seconds: dict[str, float] = {}  # sha256 and load, measured
        self._loaded: tuple[Any, Any, Any] | None = None
        # Each window's read, by (question, window text): started by `prefetch`, reused by
        # `score` and by a second reading of the same windows (the quiz options' scores
        # after the answer's), as MentionFinder keeps spaCy's parses. Asks may run on
        # several threads; the last READS_KEPT reads are kept.
        self._reads: OrderedDict[tuple[str, str], Future[Any]] = OrderedDict()
        self._reads_lock = threading.Lock()
        self._error: ModelUnavailable | None = None
        # Not a daemon: a process that exits while ONNX Runtime is still loading the model
        # (an ask that fails fast, e.g. on a full disk) waits for it, instead of aborting
        # ("terminate called without an active exception") as a daemon thread in native
        # code at interpreter shutdown does.
        self._thread = threading.Thread(target=self._load, name="newsqa-span-model")
        self._thread.start()

    def _load(self) -> None:
        try:
            self._loaded = self._open()
        except ModelUnavailable as exc:
            self._error = exc
        except Exception as exc:  # reported to the caller of `score`, not lost in a thread
            self._error = ModelUnavailable(self.path, f"could not be loaded "
                                                      f"({_first_line(exc)})")
            self._error.__cause__ = exc
        if self._error is not None:
            _warn_once(self._error)

    def _open(self) -> tuple[Any, Any, Any]:
        t0 = time.perf_counter()
        data = verified_bytes(self.path, self.verify)
        t1 = time.perf_counter()
        import onnxruntime as ort

        from index.embed import load_tokenizer, model_dir

        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.intra_op_num_threads = self.threads
        # As the embedder's session: threads left spinning after a run hold the
        # cores that spaCy parses on.
        options.add_session_config_entry("session.force_spinning_stop", "1")
        try:
            session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelUnavailable(self.path, "could not be loaded by ONNX Runtime: not a "
                                   f"valid model file ({_first_line(exc)})") from exc
        problem = signature_problem(session)
        if problem is not None:
            raise ModelUnavailable(self.path, problem)
        pair = load_tokenizer(model_dir(BASE), None)
        pair.enable_truncation(max_length=MAX_LENGTH, strategy="only_second")
        both = load_tokenizer(model_dir(BASE), None)
        both.enable_truncation(max_length=MAX_LENGTH, strategy="longest_first")
        self.load_seconds = {"read_and_sha256": t1 - t0, "total": time.perf_counter() - t0}
        return session, pair, both

    def problem(self) -> ModelUnavailable | None:
        """Why the model cannot be used, once it has loaded (waits for it); None: it
        loaded and passed its checks."""
        self._thread.join()
        return self._error

    @property
    def failure(self) -> ModelUnavailable | None:
        """`problem`, without waiting: None while the model is still loading."""
        return None if self._thread.is_alive() else self._error

    def _parts(self) -> tuple[Any, Any, Any]:
        self._thread.join()
        if self._loaded is None:
            error = self._error or ModelUnavailable(self.path, "could not be loaded")
            raise ModelUnavailable(error.path, error.reason) from error.__cause__
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


def shipped(path: Path | None = None) -> SpanModel:
    """The reader's model: the shipped file, or `path` (setting answer.span_model), loaded
    once per process with its sha256 checked against its record."""
    return _verified((path or model_path()).expanduser().resolve())


@functools.cache
def _verified(path: Path) -> SpanModel:
    return SpanModel(path, verify=True)
