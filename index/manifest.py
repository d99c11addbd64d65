"""What built an index (embedding model, dimension, chunking, schema), and the check
that refuses to mix vectors or chunks made another way."""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import ModelMismatch

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    """What built the index. Vectors from another model are meaningless to compare."""

    embedding_model: str
    dimension: int
    chunk_size: int
    chunk_overlap: int
    title_in_embedding: bool
    schema: int = SCHEMA_VERSION

    def describe(self) -> str:
        return (
            f"model {self.embedding_model} ({self.dimension} dims), chunks of "
            f"{self.chunk_size} tokens with {self.chunk_overlap} overlap"
        )


def check_manifest(found: Manifest, expected: Manifest, strict_chunking: bool) -> None:
    """Raise ModelMismatch, saying what to do, when `found` cannot be read as `expected`
    (chunking only counts when `strict_chunking`)."""
    if (found.embedding_model, found.dimension) != (expected.embedding_model, expected.dimension):
        raise ModelMismatch(
            f"the index was built with {found.describe()}, but the configured model is "
            f"{expected.embedding_model} ({expected.dimension} dims). Re-index with "
            "`newsqa ingest --rebuild PATH...`, or set NEWSQA_EMBEDDING__BACKEND / "
            "NEWSQA_EMBEDDING__MODEL back to what built it."
        )
    if found.schema != expected.schema:
        raise ModelMismatch(
            f"the index has schema version {found.schema}, this version reads "
            f"{expected.schema}. Re-index with `newsqa ingest --rebuild PATH...`."
        )
    if strict_chunking and (
        (found.chunk_size, found.chunk_overlap, found.title_in_embedding)
        != (expected.chunk_size, expected.chunk_overlap, expected.title_in_embedding)
    ):
        raise ModelMismatch(
            f"the index was built with {found.describe()}, but chunking is now configured as "
            f"{expected.chunk_size} tokens with {expected.chunk_overlap} overlap. Mixing the two "
            "would make results uneven: re-index with `newsqa ingest --rebuild PATH...` or "
            "set NEWSQA_CHUNKING__* back."
        )
