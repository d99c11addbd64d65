"""The Python API: one `Assistant` wires settings to embedder, store, retriever and
answerer. The CLI and the chat UI are thin layers over it.

    from assistant.settings import load_settings
    from assistant.service import Assistant
    bot = Assistant(load_settings())
    bot.ingest(["seeds/"])
    print(bot.ask("Where are remaining IS cells?").text)
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.answer import Answer, Answerer
from assistant.errors import EmptyQuestion
from assistant.extractive import ExtractiveAnswerer
from assistant.followup import FOCUS_PASSAGES, context_questions, refers_back
from assistant.settings import Settings
from index.article import Article
from index.errors import IndexNotFound
from index.store import Manifest, Store

if TYPE_CHECKING:
    from assistant.llm import LLMAnswerer, TokenCallback
    from assistant.prompt import Turn
    from index.embed import Embedder
    from index.ingest import IngestReport
    from index.keyword import KeywordIndex
    from index.retrieve import Passage, Retriever


class Assistant:
    """Question answering over the indexed articles. Heavy parts load on first use."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self.store = Store(settings.store, settings.chroma_dir)
        self._retriever: Retriever | None = None
        self._keyword: KeywordIndex | None = None
        self._answerer: Answerer | None = None
        self._llm: LLMAnswerer | None = None
        self._opened = False

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            from index.embed import make_embedder

            self._embedder = make_embedder(self.settings.embedding, self.settings.model_dir)
        return self._embedder

    def expected_manifest(self) -> Manifest:
        """What an index built with the current settings records."""
        c = self.settings.chunking
        return Manifest(
            embedding_model=self.embedder.model_id,
            dimension=self.embedder.dimension,
            chunk_size=c.chunk_size,
            chunk_overlap=c.chunk_overlap,
            title_in_embedding=c.title_in_embedding,
        )

    def open(self) -> Manifest:
        """Open the existing index, checking it was built by the configured model."""
        if not self.store.exists():  # say so before paying for a model load
            raise IndexNotFound(f"no index at {self.store.location}")
        manifest = self.store.open(self.expected_manifest())
        self._opened = True
        return manifest

    # -- ingest -----------------------------------------------------------------------
    def ingest(
        self, paths: Iterable[str | Path], prune: bool = False, rebuild: bool = False,
        progress: bool = False,
    ) -> IngestReport:
        """Index new and changed articles under `paths` (files or folders)."""
        from index.chunk import Chunker
        from index.ingest import Ingestor

        if rebuild:
            self.store.reset()
            self._keyword = None
        self.store.open(self.expected_manifest(), create=True)
        self._opened = True
        ingestor = Ingestor(
            self.store,
            self.embedder,
            Chunker(self.settings.chunking, self.embedder.token_ids),
            title_in_embedding=self.settings.chunking.title_in_embedding,
            batch_chunks=self.settings.embedding.batch_size * 8,  # chunks per store write
            progress=progress,
            keyword=self.keyword,
        )
        report = ingestor.ingest([Path(p) for p in paths], prune=prune)
        self._retriever = None  # pick up the new articles on the next question
        return report

    # -- ask --------------------------------------------------------------------------
    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index beside the vectors (loaded once, synced with the store)."""
        if self._keyword is None:
            from index.keyword import KeywordIndex

            folder = self.settings.home / "keyword" / self.settings.store.collection
            self._keyword = KeywordIndex(folder)
        return self._keyword

    @property
    def retriever(self) -> Retriever:
        """Built once per index state; ingest resets it so new articles are found."""
        if self._retriever is None:
            if not self._opened:
                self.open()
            if self.settings.retrieval.mode == "dense":
                from index.retrieve import DenseRetriever

                self._retriever = DenseRetriever(self.store, self.embedder)
            else:
                from index.hybrid import HybridRetriever

                self.keyword.sync(self.store)
                self._retriever = HybridRetriever(
                    self.embedder, self.keyword, self.store, self.settings.retrieval
                )
        return self._retriever

    @property
    def answerer(self) -> Answerer:
        if self._answerer is None:
            self._answerer = ExtractiveAnswerer(self.embedder, self.settings.answer)
        return self._answerer

    @property
    def llm_configured(self) -> bool:
        """Whether an LLM endpoint is set (NEWSQA_ANSWER__LLM__URL)."""
        return bool(self.settings.answer.llm.url)

    @property
    def llm_answerer(self) -> LLMAnswerer:
        """The LLM answerer (`assistant.llm`), loaded on first use; raises SettingsError
        when no LLM is configured."""
        if self._llm is None:
            from assistant.llm import LLMAnswerer

            self._llm = LLMAnswerer(self.settings.answer.llm, self.answerer)
        return self._llm

    def ask(
        self,
        question: str,
        k: int | None = None,
        as_of: date | None = None,
        history: Sequence[str] = (),
        choices: Sequence[str] = (),
        llm: bool = False,
        turns: Sequence[Turn] = (),
        on_token: TokenCallback | None = None,
    ) -> Answer:
        """Answer `question` from the articles (published on or before `as_of`, if given).
        `history` holds the earlier user questions of the conversation, oldest first.
        With quiz `choices`, the answer also picks one (`Answer.choice`, rule in
        `assistant.choice`) and quotes a sentence naming it when the articles have one.
        With `llm`, the configured LLM writes the answer (`assistant.llm`), seeing the
        earlier `turns`; `on_token` receives its reply as it streams."""
        question = " ".join(question.split())
        if not question:
            raise EmptyQuestion("the question is empty; type what you want to know")
        t0 = time.perf_counter()
        context = context_questions(question, history)
        query = " ".join([*context, question])
        k = k or self.settings.retrieval.top_k
        focus: list[Passage] = []
        if context and refers_back(question):
            passages, focus = self._focused(query, " ".join(context), k, as_of)
        else:
            passages = self.retriever.retrieve(query, k, as_of)
        t1 = time.perf_counter()
        if llm and not choices:
            # focus passages already come first in `passages`
            answer = self.llm_answerer.answer(question, passages, query=query, history=turns,
                                              on_token=on_token)
        else:
            answer = self.answerer.answer(question, focus or passages, query=query)
        if focus and not (llm and not choices):
            answer = (self.answerer.answer(question, passages, query=query)
                      if answer.abstained else replace(answer, retrieved=tuple(passages)))
        if choices:
            answer = self._choose(question, list(choices), answer, passages, query, as_of)
        answer.timings_ms.update(retrieve=(t1 - t0) * 1000,
                                 total=(time.perf_counter() - t0) * 1000)
        if as_of is not None:
            answer = replace(answer, as_of=as_of)
        return answer

    def _focused(
        self, query: str, context: str, k: int, as_of: date | None
    ) -> tuple[list[Passage], list[Passage]]:
        """(passages, focus passages) for a follow-up that refers back: the passages of
        the articles the conversation was about come first (`assistant.followup`, rule 4).
        """
        focus_ids = {p.article_id for p in
                     self.retriever.retrieve(context, FOCUS_PASSAGES, as_of)}
        pool = self.retriever.retrieve(query, 3 * k, as_of)
        focus = [p for p in pool if p.article_id in focus_ids][:k]
        rest = [p for p in pool if p.article_id not in focus_ids]
        return (focus + rest)[:k], focus

    def _choose(
        self, question: str, choices: list[str], answer: Answer, passages: list[Passage],
        query: str, as_of: date | None,
    ) -> Answer:
        from assistant.choice import OWN_PASSAGES, option_query, pick_choice

        own: dict[str, list[Passage]] = {}

        def retrieve(q: str) -> list[Passage]:
            own[q] = self.retriever.retrieve(q, OWN_PASSAGES, as_of)
            return own[q]

        pick = pick_choice(question, choices, answer, self.embedder, retrieve=retrieve)
        option = choices[pick.index]
        if pick.method == "evidence":
            seen = {p.chunk_id for p in passages}
            own_passages = own.get(option_query(question, option), [])
            extra = [p for p in own_passages if p.chunk_id not in seen]
            answer = replace(self.answerer.answer(question, passages + extra, query,
                                                  prefer=option),
                             retrieved=answer.retrieved)
        return replace(answer, choices=tuple(choices), choice=pick.index,
                       choice_method=pick.method, choice_scores=tuple(pick.scores))

    # -- inspection -------------------------------------------------------------------
    def article(self, article_id: str) -> Article | None:
        """The stored article (its text is what citation offsets refer to)."""
        if not self._opened:
            self.open()
        return self.store.articles([article_id]).get(article_id)

    def info(self) -> dict[str, Any]:
        """Size and provenance of the index."""
        manifest = self.store.manifest() if self._opened else self.store.open()
        self._opened = True
        articles, chunks = self.store.counts()
        return {
            "articles": articles,
            "chunks": chunks,
            "embedding_model": manifest.embedding_model,
            "dimension": manifest.dimension,
            "chunk_size": manifest.chunk_size,
            "chunk_overlap": manifest.chunk_overlap,
            "data_home": str(self.settings.home),
            "store": self.store.location,
        }
