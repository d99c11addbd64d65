"""Cut articles into passages with llama-index's SentenceSplitter, keeping each passage's
character span in the article text so citations can point at the exact place."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from index.article import Article
from index.settings import ChunkingSettings


@dataclass(frozen=True)
class Chunk:
    """A passage of an article: `article.text[start:end] == text`."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


def _import_nltk_lean() -> None:
    """Import nltk (the splitter's sentence tokenizer) without the optional scikit-learn,
    pandas and scipy.stats support it loads when they are installed: ~100 MB of memory
    and ~1 s per process that sentence splitting never uses. Those libraries import
    normally afterwards; only nltk's own wrappers of them stay off."""
    if "nltk" in sys.modules:
        return
    blocked = [m for m in ("sklearn", "pandas", "scipy.stats") if m not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import nltk  # noqa: F401
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


class Chunker:
    """Splits article text into token-bounded passages on sentence boundaries."""

    def __init__(self, settings: ChunkingSettings, token_ids: Callable[[str], list[int]]):
        _import_nltk_lean()
        from llama_index.core.node_parser import SentenceSplitter

        if settings.chunk_overlap >= settings.chunk_size:
            raise ValueError("chunk_overlap must be smaller than chunk_size")
        self.settings = settings
        # Counting in the embedding model's own tokens keeps every chunk inside the
        # model's window, so no chunk text is silently cut off at embedding time.
        self._splitter = SentenceSplitter(
            chunk_size=settings.chunk_size,
            chunk_overlap=settings.chunk_overlap,
            tokenizer=token_ids,
        )

    def chunk(self, article: Article) -> list[Chunk]:
        """Passages of the article in reading order, each with its span."""
        pieces = self._splitter.split_text(article.text)
        chunks: list[Chunk] = []
        cursor = 0
        for piece in pieces:
            if not piece.strip():
                continue
            start, end = locate(article.text, piece, cursor)
            chunks.append(
                Chunk(
                    id=f"{article.id}:{len(chunks)}",
                    article_id=article.id,
                    index=len(chunks),
                    text=article.text[start:end],
                    start=start,
                    end=end,
                )
            )
            # Overlap means the next chunk may begin before this one ends.
            cursor = start + 1
        return chunks


def locate(text: str, piece: str, cursor: int) -> tuple[int, int]:
    """Span of `piece` in `text` at or after `cursor`. The splitter may strip or re-join
    whitespace, so fall back to matching the piece's first and last words."""
    pos = text.find(piece, cursor)
    if pos < 0:
        pos = text.find(piece)
    if pos >= 0:
        return pos, pos + len(piece)
    words = piece.split()
    head = " ".join(words[:3])
    tail = " ".join(words[-3:])
    start = text.find(head, cursor)
    if start < 0:
        start = max(0, cursor)
    end = text.find(tail, start)
    end = end + len(tail) if end >= 0 else min(len(text), start + len(piece))
    return start, end
