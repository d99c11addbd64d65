"""Retrieval: find the passages most relevant to a query. Built on llama-index's
retrievers; results are converted to our own `Passage` type at this boundary."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.record import chunk_from_metadata, date_key
from index.scope import Scope
from index.store import Store

if TYPE_CHECKING:
    from index.embed import Embedder


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: `text` sits at `start:end` of its article's stored text."""

    chunk_id: str
    article_id: str
    text: str
    start: int
    end: int
    score: float
    title: str
    date: date | None
    url: str | None
    source: str | None
    # The story its article belongs to (`index.story`): copies of one article share it.
    story: str = ""

    @property
    def group(self) -> str:
        """The story id, or the article id where none was recorded (older indexes)."""
        return self.story or self.article_id


class Retriever(Protocol):
    """Anything that ranks passages for a query (dense, keyword, hybrid, reranked)."""

    def retrieve(self, query: str, top_k: int, as_of: date | None = None,
                 scope: Scope | None = None, recent: date | None = None) -> list[Passage]:
        """The `top_k` best passages, best first; with `as_of`, none published after it;
        with `scope`, only passages of articles inside it; with `recent` (and no
        `as_of`), those published close to that day preferred, none left out."""
        ...


def passage_from_row(chunk: Any, meta: dict[str, Any], score: float) -> Passage:
    """Convert a stored row (see `Store.rows`) to a Passage."""
    return Passage(
        chunk_id=chunk.id,
        article_id=chunk.article_id,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        title=str(meta.get("title", "")),
        date=date.fromisoformat(meta["date"]) if meta.get("date") else None,
        url=meta.get("url"),
        source=meta.get("source"),
        story=str(meta.get("story") or ""),
    )


def passage_from_node(node: Any, score: float) -> Passage:
    """Convert a llama-index node (as stored by `Store.write`) to a Passage."""
    return passage_from_row(chunk_from_metadata(node.node_id, node.get_content(), node.metadata),
                            node.metadata, score)


def as_of_filters(as_of: date | None, scope: Scope | None = None) -> Any:
    """llama-index metadata filters: published on or before `as_of` (undated articles are
    kept: their date is unknown, not known to be later), and inside `scope`."""
    if as_of is None and not scope:
        return None
    from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters

    filters: list[Any] = []
    if as_of is not None:  # undated articles have date key 0, so they are kept
        filters.append(
            MetadataFilter(key="date_key", value=date_key(as_of), operator=FilterOperator.LTE))
    keys = scope.key_range() if scope else None
    if keys is not None:
        filters += [MetadataFilter(key="date_key", value=keys[0], operator=FilterOperator.GTE),
                    MetadataFilter(key="date_key", value=keys[1], operator=FilterOperator.LTE)]
    if scope and scope.sources:
        filters.append(MetadataFilter(key="source", value=list(scope.sources),
                                      operator=FilterOperator.IN))
    return MetadataFilters(filters=filters)


def disable_llm() -> None:
    """No LLM unless one is configured: llama-index would otherwise reach for OpenAI.
    Its notice goes to stdout, which would corrupt `--json` output, so it is swallowed."""
    import contextlib
    import io

    from llama_index.core import Settings as LlamaSettings

    with contextlib.redirect_stdout(io.StringIO()):
        LlamaSettings.llm = None


class DenseRetriever:
    """Embedding similarity over the Chroma store, through llama-index's VectorIndexRetriever.
    Scores are cosine similarities."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        from llama_index.core import VectorStoreIndex

        disable_llm()
        self.embedder = embedder
        self._index = VectorStoreIndex.from_vector_store(
            store.vector_store(), embed_model=llama_embedding(embedder)
        )

    def retrieve(self, query: str, top_k: int, as_of: date | None = None,
                 scope: Scope | None = None, recent: date | None = None) -> list[Passage]:
        # Dense only (mode="dense", an ablation): no date prior, so `recent` is ignored.
        return self.search(query, self.embedder.embed_query(query), top_k, as_of, scope)

    def search(
        self, query: str, vector: np.ndarray, top_k: int, as_of: date | None = None,
        scope: Scope | None = None,
    ) -> list[Passage]:
        """Like `retrieve`, with the query vector already computed."""
        from llama_index.core.schema import QueryBundle

        retriever = self._index.as_retriever(similarity_top_k=top_k,
                                             filters=as_of_filters(as_of, scope))
        bundle = QueryBundle(query_str=query, embedding=vector.tolist())
        # The Chroma integration reports exp(-distance); with cosine space that maps back to
        # cosine similarity = 1 + ln(score).
        return [
            passage_from_node(n.node, 1.0 + math.log(max(n.score or 1e-12, 1e-12)))
            for n in retriever.retrieve(bundle)
        ]


@functools.cache
def _llama_embedding_class() -> type:
    """Built on first use, so importing this module does not import llama-index."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class LlamaEmbedding(BaseEmbedding):  # type: ignore[misc]
        """Lets llama-index components call our Embedder."""

        _embedder: Any = PrivateAttr()

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._embedder.embed_query(query).tolist()  # type: ignore[no-any-return]

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._embedder.embed_documents([text])[0].tolist()  # type: ignore[no-any-return]

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._embedder.embed_documents(texts).tolist()  # type: ignore[no-any-return]

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return LlamaEmbedding


def llama_embedding(embedder: Embedder) -> Any:
    """Our Embedder as a llama-index BaseEmbedding."""
    obj = _llama_embedding_class()(model_name=embedder.model_id)
    obj._embedder = embedder
    return obj
