"""Tests of index.embed: the torch and ONNX backends of the packaged all-MiniLM-L6-v2.

Tests marked `integration` load the real model; each backend is loaded once per module and the
ONNX files are exported once into a temporary cache shared by the module."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from index import embed
from index.embed import Embedder, make_embedder, mean_pool
from index.errors import EmbedderUnavailable
from index.settings import EmbeddingSettings

ROOT = Path(__file__).resolve().parent.parent

QUERY = "Who won the men's singles final at Wimbledon?"
RELEVANT = (
    "Novak Djokovic beat Nick Kyrgios in four sets on Sunday to win the Wimbledon men's singles "
    "title, his seventh at the All England Club and 21st Grand Slam trophy overall."
)
UNRELATED = (
    "The central bank raised its benchmark interest rate by three quarters of a percentage point, "
    "the largest increase since 1994, as inflation hit a four-decade high."
)
LONG = " ".join(
    f"Paragraph {i}: lawmakers debated the budget bill late into the night while protesters "
    "gathered outside the parliament building in the rain." for i in range(40)
)  # ~900 tokens: truncated to max_seq_length by every backend in the same way
TEXTS = [
    QUERY, RELEVANT, UNRELATED, LONG, "", "Hi.", "COVID-19 vaccines: 95% effective?",
    "Émigrés in Zürich — naïve café façades.", "Apple must adopt USB-C chargers in the EU by 2024.",
    "The James Webb Space Telescope released its first full-colour images of distant galaxies.",
]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1))


# ---------------------------------------------------------------- unit tests (no model) -----


def test_import_is_cheap() -> None:
    code = (
        "import sys, index.embed; heavy = [m for m in ('torch', 'sentence_transformers', "
        "'onnxruntime', 'transformers', 'tokenizers') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_mean_pool_ignores_padding_and_normalises() -> None:
    hidden = np.array([[[1.0, 0.0], [3.0, 0.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]])
    pooled = mean_pool(hidden, mask)
    assert pooled.dtype == np.float32
    np.testing.assert_allclose(pooled, [[1.0, 0.0]], atol=1e-6)


def test_unknown_model_says_what_to_do() -> None:
    with pytest.raises(EmbedderUnavailable, match="all-MiniLM-L6-v2"):
        embed.model_dir("bert-base-uncased")


def test_export_runs_once_under_concurrency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def fake_export(source: Path, out: Path) -> None:
        calls.append(1)
        out.write_bytes(b"half")
        time.sleep(0.3)  # another thread arrives while this one holds the lock
        with out.open("ab") as handle:
            handle.write(b"-whole")

    monkeypatch.setattr(embed, "_export_fp32", fake_export)
    target = tmp_path / "m" / "model.onnx"
    threads = [
        threading.Thread(target=embed.ensure_onnx, args=(tmp_path, target), kwargs={"int8": False})
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert target.read_bytes() == b"half-whole"
    assert not list(target.parent.glob(".*.tmp"))


def test_failed_export_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def crashing_export(source: Path, out: Path) -> None:
        out.write_bytes(b"half")
        raise RuntimeError("killed halfway")

    monkeypatch.setattr(embed, "_export_fp32", crashing_export)
    target = tmp_path / "model.onnx"
    with pytest.raises(EmbedderUnavailable, match="backend"):
        embed.ensure_onnx(tmp_path, target, int8=False)
    assert list(tmp_path.iterdir()) == [tmp_path / "model.onnx.lock"]


# ---------------------------------------------------------- integration (real model) --------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="module")
def torch_embedder(cache_dir: Path) -> Embedder:
    return make_embedder(EmbeddingSettings(backend="torch"), cache_dir)


@pytest.fixture(scope="module")
def onnx_embedder(cache_dir: Path) -> Embedder:
    # A small batch so that one call spans several batches of different lengths.
    return make_embedder(EmbeddingSettings(backend="onnx", batch_size=4), cache_dir)


@pytest.fixture(scope="module")
def int8_embedder(cache_dir: Path) -> Embedder:
    return make_embedder(EmbeddingSettings(backend="onnx-int8"), cache_dir)


@pytest.fixture(scope="module")
def reference(torch_embedder: Embedder) -> np.ndarray:
    return torch_embedder.embed_documents(TEXTS)


BACKENDS = ["torch_embedder", "onnx_embedder", "int8_embedder"]


@pytest.mark.integration
@pytest.mark.parametrize("name", BACKENDS)
def test_shape_dtype_and_norm(name: str, request: pytest.FixtureRequest) -> None:
    embedder: Embedder = request.getfixturevalue(name)
    assert isinstance(embedder, Embedder)
    assert embedder.dimension == 384
    assert embedder.model_id == "all-MiniLM-L6-v2@" + name.replace("_embedder", "").replace(
        "int8", "onnx-int8"
    )
    docs = embedder.embed_documents(TEXTS)
    assert docs.shape == (len(TEXTS), 384) and docs.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-5)
    query = embedder.embed_query(QUERY)
    assert query.shape == (384,) and query.dtype == np.float32
    assert abs(float(np.linalg.norm(query)) - 1.0) < 1e-5
    # Alone or in a padded batch, a text gets the same vector; int8 only nearly so, as dynamic
    # quantisation scales activations per batch.
    assert float(query @ docs[0]) > (0.98 if "int8" in name else 0.9999)
    assert embedder.embed_documents([]).shape == (0, 384)


@pytest.mark.integration
def test_onnx_fp32_agrees_with_torch(onnx_embedder: Embedder, reference: np.ndarray) -> None:
    cos = cosines(onnx_embedder.embed_documents(TEXTS), reference)
    assert cos.min() > 0.999, cos


@pytest.mark.integration
def test_int8_close_to_fp32_and_ranks_relevant_first(
    int8_embedder: Embedder, reference: np.ndarray
) -> None:
    cos = cosines(int8_embedder.embed_documents(TEXTS), reference)
    assert cos.mean() > 0.99 and cos.min() > 0.97, cos
    query = int8_embedder.embed_query(QUERY)
    relevant, unrelated = int8_embedder.embed_documents([RELEVANT, UNRELATED])
    assert float(query @ relevant) > float(query @ unrelated) + 0.3


@pytest.mark.integration
def test_export_is_reused(int8_embedder: Embedder, cache_dir: Path) -> None:
    folder = cache_dir / "all-MiniLM-L6-v2" / f"onnx-v{embed.EXPORT_VERSION}"
    files = [folder / "model.onnx", folder / "model-int8.onnx"]
    before = [f.stat().st_mtime_ns for f in files]
    again = make_embedder(EmbeddingSettings(backend="onnx-int8"), cache_dir)
    assert again.onnx_path == files[1]  # type: ignore[attr-defined]
    assert [f.stat().st_mtime_ns for f in files] == before
    assert not list(folder.glob(".*.tmp"))
    np.testing.assert_allclose(again.embed_query(QUERY), int8_embedder.embed_query(QUERY))


@pytest.mark.integration
def test_onnx_query_path_never_imports_torch(int8_embedder: Embedder, cache_dir: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from index.embed import make_embedder; "
        "from index.settings import EmbeddingSettings; "
        f"e = make_embedder(EmbeddingSettings(), Path({str(cache_dir)!r})); e.embed_query('hi'); "
        "print([m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.integration
@pytest.mark.parametrize("name", BACKENDS)
def test_token_ids_have_no_special_tokens_and_no_truncation(
    name: str, request: pytest.FixtureRequest
) -> None:
    embedder: Embedder = request.getfixturevalue(name)
    assert embedder.token_ids("hello world") == [7592, 2088]
    assert embedder.token_ids("") == []
    ids = embedder.token_ids(LONG)
    assert len(ids) > 512  # neither max_seq_length nor the tokenizer.json's 128 truncates
    assert not {0, 100, 101, 102} & set(ids)  # [PAD], [UNK], [CLS], [SEP]
