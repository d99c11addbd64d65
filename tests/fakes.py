"""A tiny deterministic embedder for tests where the model does not matter: hashed
keywords, so texts sharing words are similar and nothing is loaded."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from assistant.sentence import keywords


class FakeEmbedder:
    """Bag of hashed keywords in 128 dims, L2-normalised."""

    def __init__(self, dimension: int = 128, model_id: str = "fake-hash@test") -> None:
        self._dim = dimension
        self._model_id = model_id
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._dim

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, dtype=np.float32)
        for w in keywords(text):
            h = int.from_bytes(hashlib.md5(w.encode()).digest()[:4], "little")
            v[h % self._dim] += 1.0
        v[0] += 0.01  # never all-zero
        return v / np.linalg.norm(v)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def token_ids(self, text: str) -> list[int]:
        return [hash(w) % 30000 for w in text.split()]
