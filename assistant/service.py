"""The Python API: one `Assistant` wires settings to embedder, store, retriever and
answerer. The CLI and the chat UI are thin layers over it.

    from assistant.settings import load_settings
    from assistant.service import Assistant
    bot = Assistant(load_settings())
    bot.ingest(["seeds/"])
    print(bot.ask("Where are remaining IS cells?").text)
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from assistant.answer import Answer, Answerer
from assistant.errors import EmptyQuestion, ScopeError
from assistant.extractive import ExtractiveAnswerer
from assistant.followup import FOCUS_PASSAGES, context_questions, refers_back
from assistant.pruning import IndexPruning
from assistant.question import Question, analyse
from assistant.settings import Settings
from assistant.sources.agreement import agreement
from index.article import Article
from index.errors import IndexNotFound
from index.lock import Holder, WriterLock
from index.manifest import Manifest
from index.record import SourceCount
from index.scope import Scope
from index.space import INCOMPLETE
from index.store import Store

if TYPE_CHECKING:
    from assistant.llm.answerer import LLMAnswerer, TokenCallback
    from assistant.llm.prompt import Turn
    from assistant.watch.watcher import Watcher
    from index.catalog import Catalog
    from index.check import CheckReport
    from index.embed import CachedEmbedder, Embedder
    from index.keyword import KeywordIndex
    from index.retrieve import Passage, Retriever


T = TypeVar("T")
log = logging.getLogger(__name__)

NOTHING_INDEXED = "Nothing is indexed yet: run `newsqa ingest PATH`"


class Assistant(IndexPruning):
    """Question answering over the indexed articles. Heavy parts load on first use."""

    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self._embedder = embedder
        self._ask_embedder: CachedEmbedder | None = None
        self.store = Store(settings.store, settings.chroma_dir)
        self.lock = WriterLock(settings.home)
        # Asks run on several threads at once. `_lazy` guards building the shared parts;
        # `_writing` is held by whatever writes in this process (ingest, removal, repair)
        # and by `follow`, so the two never swap the store under each other.
        self._lazy = threading.RLock()
        self._writing = threading.RLock()
        self._following = threading.Lock()
        self._followed = time.monotonic()
        self._retriever: Retriever | None = None
        self._keyword: KeywordIndex | None = None
        self._answerer: Answerer | None = None
        self._llm: LLMAnswerer | None = None
        self._watcher: Watcher | None = None
        self._sources: tuple[tuple[int, str], list[SourceCount]] | None = None
        self._opened = False

    def _shared(self, name: str, build: Callable[[], T],
                fresh: Callable[[T], bool] = lambda _: True) -> T:
        """The part kept in attribute `name`, built on first use (or when no longer
        `fresh`) by one thread while the others wait: asks run on several threads."""
        value: T | None = getattr(self, name)
        if value is None or not fresh(value):
            with self._lazy:
                value = getattr(self, name)
                if value is None or not fresh(value):
                    value = build()
                    setattr(self, name, value)
        return value

    @property
    def embedder(self) -> Embedder:
        def build() -> Embedder:
            from index.embed import make_embedder

            return make_embedder(self.settings.embedding, self.settings.model_dir)

        return self._shared("_embedder", build)

    @property
    def ask_embedder(self) -> CachedEmbedder:
        """The embedder of asks: `embedder` behind a per-process LRU of vectors (setting
        embedding.ask_cache), shared by retrieval and answering. Ingest bypasses it."""
        def build() -> CachedEmbedder:
            from index.embed import CachedEmbedder

            return CachedEmbedder(self.embedder, self.settings.embedding.ask_cache)

        return self._shared("_ask_embedder", build,
                            fresh=lambda cached: cached.embedder is self.embedder)

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
            raise IndexNotFound(NOTHING_INDEXED + f" (data home: {self.settings.home})")
        manifest = self.store.open(self.expected_manifest())
        self._opened = True
        if (self.settings.home / INCOMPLETE).exists():
            log.warning("the last ingest into %s stopped half-way through a batch (the disk "
                        "was full); answers may miss those articles until `newsqa check "
                        "--repair` mends the index", self.settings.home)
        return manifest

    def open_if_indexed(self) -> bool:
        """Open the index unless this process has; False when nothing is indexed yet."""
        if self._opened:
            return True
        try:
            self.open()
        except IndexNotFound:
            return False
        return True

    @property
    def watcher(self) -> Watcher:
        """The watched questions of this data home (`assistant.watch`)."""
        def build() -> Watcher:
            from assistant.watch.watcher import Watcher

            return Watcher(self)

        return self._shared("_watcher", build)

    # -- ask --------------------------------------------------------------------------
    @property
    def keyword(self) -> KeywordIndex:
        """The BM25 index beside the vectors (loaded once, synced with the store)."""
        def build() -> KeywordIndex:
            from index.keyword import KeywordIndex

            return KeywordIndex(self._keyword_folder(self.store.base()))

        return self._shared("_keyword", build)

    @property
    def retriever(self) -> Retriever:
        """Built once per index state; ingest resets it so new articles are found."""
        return self._shared("_retriever", self._new_retriever)

    def _new_retriever(self) -> Retriever:
        if not self._opened:
            self.open()
        if self.settings.retrieval.mode == "dense":
            from index.retrieve import DenseRetriever

            return DenseRetriever(self.store, self.ask_embedder)
        from index.hybrid import HybridRetriever

        self.keyword.sync(self.store)
        return HybridRetriever(self.ask_embedder, self.keyword, self.store,
                               self.settings.retrieval)

    @property
    def answerer(self) -> Answerer:
        def build() -> Answerer:
            reader = None
            if self.settings.answer.short_answers:
                from assistant.reader.model import shipped
                from assistant.reader.span import SpanReader

                reader = SpanReader(scorer=shipped(self.settings.answer.span_model))
            return ExtractiveAnswerer(self.ask_embedder, self.settings.answer, reader)

        return self._shared("_answerer", build)

    def _read_quotes(self, question: Question, answer: Answer) -> Answer:
        """An LLM answer's short answer, weighed by the reader over its verified quotes
        (`assistant.llm.short`)."""
        reader = getattr(self.answerer, "reader", None)
        if reader is None:
            return answer
        from assistant.llm.short import weigh_short_answer

        return weigh_short_answer(question, answer, reader)

    @property
    def llm_configured(self) -> bool:
        """Whether an LLM endpoint is set (NEWSQA_ANSWER__LLM__URL)."""
        return bool(self.settings.answer.llm.url)

    @property
    def llm_answerer(self) -> LLMAnswerer:
        """The LLM answerer (`assistant.llm.answerer`), loaded on first use; raises SettingsError
        when no LLM is configured."""
        def build() -> LLMAnswerer:
            from assistant.llm.answerer import LLMAnswerer

            return LLMAnswerer(self.settings.answer.llm, self.answerer)

        return self._shared("_llm", build)

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
        scope: Scope | None = None,
    ) -> Answer:
        """Answer `question` from the articles (published on or before `as_of`, if given).
        `history` holds the earlier user questions of the conversation, oldest first.
        With quiz `choices`, the answer also picks one (`Answer.choice`, rule in
        `assistant.choice`) and quotes a sentence naming it when the articles have one.
        With `llm`, the configured LLM writes the answer (`assistant.llm.answerer`), seeing the
        earlier `turns`; `on_token` receives its reply as it streams. `scope` narrows
        the articles further (dates, sources; see `resolve_scope`)."""
        question = " ".join(question.split())
        if not question:
            raise EmptyQuestion("the question is empty; type what you want to know")
        t0 = time.perf_counter()
        self._follow_writers()
        analysed = analyse(question)  # once, for every stage of the answer
        context = context_questions(analysed, history)
        query = " ".join([*context, question])
        k = k or self.settings.retrieval.top_k
        focus: list[Passage] = []
        copies: dict[str, list[Passage]] = {}
        # "Who leads ...?" with no as-of date means now: the newest reports preferred.
        recent = (date.today() if as_of is None and analysed.present
                  and self.settings.retrieval.recency_now else None)
        if context and refers_back(analysed):
            passages, focus = self._focused(query, " ".join(context), k, as_of, scope)
        else:
            passages, copies = self._retrieve(query, k, as_of, scope, recent)
        if not passages and self.store.counts()[0] == 0:
            raise IndexNotFound(NOTHING_INDEXED + f" (data home: {self.settings.home})")
        t1 = time.perf_counter()
        if llm and not choices:
            # focus passages already come first in `passages`
            answer = self.llm_answerer.answer(question, passages, query=query, history=turns,
                                              on_token=on_token)
            if analysed.kind != "factoid":
                # As the extractive answerer: no phrase answers "why ...?", the model's
                # (or its fallback's) included.
                answer = replace(answer, short_answer=None, alternatives=())
            elif answer.answerer == "llm":
                answer = self._read_quotes(analysed, answer)
        else:
            answer = self.answerer.answer(analysed, focus or passages, query=query)
        if focus and not (llm and not choices):
            answer = (self.answerer.answer(analysed, passages, query=query)
                      if answer.abstained else replace(answer, retrieved=tuple(passages)))
        if choices:
            answer = self._choose(analysed, list(choices), answer, passages, query, as_of,
                                  scope)
        answer = agreement(self._with_copies(answer, copies), analysed)
        answer.timings_ms.update(retrieve=(t1 - t0) * 1000,
                                 total=(time.perf_counter() - t0) * 1000)
        return replace(answer, as_of=as_of or answer.as_of, question_kind=analysed.kind)

    def _retrieve(self, query: str, k: int, as_of: date | None, scope: Scope | None = None,
                  recent: date | None = None
                  ) -> tuple[list[Passage], dict[str, list[Passage]]]:
        """The `k` best passages, each text once (`assistant.sources.copies.distinct`: a copy in
        another article gives its place to the next passage), and the copies dropped."""
        from assistant.sources.copies import SPARE, distinct

        # A few more than k in the same call (the ranking is the same, only cut later), so
        # that a dropped copy seldom costs a second retrieval.
        ranked = self._ranked(query, k + SPARE, as_of, scope, recent)
        passages, copies = distinct(ranked)
        if len(passages) < k and len(ranked) == k + SPARE:  # not enough left: look further
            dropped = sum(len(v) for v in copies.values())
            passages, copies = distinct(self._ranked(query, k + dropped + SPARE, as_of,
                                                     scope, recent))
        return passages[:k], {c: v for c, v in copies.items()
                              if c in {p.chunk_id for p in passages[:k]}}

    def _ranked(self, query: str, k: int, as_of: date | None, scope: Scope | None,
                recent: date | None) -> list[Passage]:
        retriever = self.retriever
        try:
            return retriever.retrieve(query, k, as_of, scope, recent=recent)
        except Exception:
            # Another process swapped in a rebuilt index (`ingest --rebuild`) and dropped
            # the collections this one had open: follow it and ask again.
            if not self.store.moved():
                raise
            self.follow()
            return self.retriever.retrieve(query, k, as_of, scope, recent=recent)

    def _with_copies(self, answer: Answer, copies: dict[str, list[Passage]]) -> Answer:
        """Each citation with the other articles of its story (`assistant.sources.copies`)."""
        from assistant.sources.copies import cited_stories, with_copies

        stories = cited_stories(answer)
        if not copies and not stories:
            return answer
        return with_copies(answer, copies, self._story_members(stories))

    def _story_members(self, stories: list[str]) -> dict[str, list[Article]]:
        """The articles of these stories: by the home's band table (indexed; only stories
        of several articles cost a read), else through the store (a Chroma server)."""
        if not stories:
            return {}
        if self.settings.store.chroma_url:
            return self.store.story_members(stories)
        from index.bands import BandTable

        ids = BandTable(self.settings.home).members(stories)
        found = self.store.article_records([a for group in ids.values() for a in group])
        return {s: [found[a] for a in group if a in found] for s, group in ids.items()}

    def _focused(
        self, query: str, context: str, k: int, as_of: date | None, scope: Scope | None
    ) -> tuple[list[Passage], list[Passage]]:
        """(passages, focus passages) for a follow-up that refers back: the passages of
        the articles the conversation was about come first (`assistant.followup`, rule 4).
        """
        focus_ids = {p.article_id for p in
                     self.retriever.retrieve(context, FOCUS_PASSAGES, as_of, scope)}
        pool = self.retriever.retrieve(query, 3 * k, as_of, scope)
        focus = [p for p in pool if p.article_id in focus_ids][:k]
        rest = [p for p in pool if p.article_id not in focus_ids]
        return (focus + rest)[:k], focus

    def _choose(
        self, analysed: Question, choices: list[str], answer: Answer, passages: list[Passage],
        query: str, as_of: date | None, scope: Scope | None,
    ) -> Answer:
        from assistant.choice import OWN_PASSAGES, WEIGHTS, option_query, pick_choice

        question = analysed.text

        own: dict[str, list[Passage]] = {}

        def retrieve(q: str) -> list[Passage]:
            own[q] = self.retriever.retrieve(q, OWN_PASSAGES, as_of, scope)
            return own[q]

        reader = None
        if WEIGHTS["reader"] and isinstance(self.answerer, ExtractiveAnswerer):
            reader = self.answerer.option_support(analysed, passages, choices, query)
        pick = pick_choice(analysed, choices, answer, self.ask_embedder, retrieve=retrieve,
                           reader=reader)
        option = choices[pick.index]
        if pick.method == "evidence":
            seen = {p.chunk_id for p in passages}
            own_passages = own.get(option_query(question, option), [])
            extra = [p for p in own_passages if p.chunk_id not in seen]
            answer = replace(self.answerer.answer(analysed, passages + extra, query,
                                                  prefer=option),
                             retrieved=answer.retrieved)
        return replace(answer, choices=tuple(choices), choice=pick.index,
                       choice_method=pick.method, choice_scores=tuple(pick.scores))

    # -- inspection -------------------------------------------------------------------
    def check(self, repair: bool = False, wait: bool = True,
              on_wait: Callable[[Holder], None] | None = None) -> CheckReport:
        """`IndexWriting.check`, and the reader's span model: a file that cannot be used
        (missing, corrupt, foreign, or not the one its record names) is a finding, named
        with what to do."""
        report = super().check(repair=repair, wait=wait, on_wait=on_wait)
        problem = self.reader_problem()
        if problem is not None:
            report.problems.append(problem)
        return report

    def warm(self) -> None:
        """Load everything an ask uses before the first one: the embedding model, the
        reader (spaCy, the span model) and, when there is one, the index, each with one
        call, so the first question costs what the next ones do (`newsqa serve` calls
        this before it says it is ready). No index yet is not an error here."""
        self.ask_embedder.embed_query("Who leads the council?")
        warm_reader = getattr(getattr(self.answerer, "reader", None), "warm", None)
        if warm_reader is not None:
            warm_reader()
        with contextlib.suppress(IndexNotFound):
            self.ask("Who leads the council?")

    def reader_problem(self) -> str | None:
        """What is wrong with the reader's span model, with what to do (loads it, checks
        its sha256 and its inputs and outputs); None when it is sound or short answers
        are off (NEWSQA_ANSWER__SHORT_ANSWERS=false)."""
        if not self.settings.answer.short_answers:
            return None
        from assistant.reader.model import shipped

        failure = shipped(self.settings.answer.span_model).problem()
        return None if failure is None else failure.advice()

    def article(self, article_id: str) -> Article | None:
        """The stored article (its text is what citation offsets refer to)."""
        if not self._opened:
            self.open()
        return self.store.articles([article_id]).get(article_id)

    def sources(self) -> list[SourceCount]:
        """The indexed sources with article counts and date ranges (read once per index
        state: a filtered ask resolves its source names against them)."""
        if not self._opened:
            self.open()
        store = self.store
        key = (id(store), store.generation())
        cached = self._sources
        if cached is None or cached[0] != key:
            cached = self._sources = (key, self._catalog().sources())
        return cached[1]

    def story_count(self) -> int:
        """How many stories the indexed articles make (a story's copies count once)."""
        if not self._opened:
            self.open()
        return self._catalog().story_count()

    def _catalog(self) -> Catalog:
        """The data home's article catalog, brought in line with the store (what changed
        since it last was, from the change log): counts without reading every record."""
        from index.catalog import Catalog

        catalog = Catalog(self.settings.home)
        catalog.sync(self.store)
        return catalog

    def resolve_scope(self, since: date | None = None, until: date | None = None,
                      sources: Sequence[str] = ()) -> Scope | None:
        """A Scope from a user's filter, source names matched without regard to case;
        None when nothing is filtered. ScopeError names an unknown source (listing the
        known ones) or a date range that is empty."""
        if since and until and since > until:
            raise ScopeError(f"the start date {since} (since) is after the end date {until} "
                             "(until); swap them")
        names: list[str] = []
        if sources:
            known = {s.name.casefold(): s.name for s in self.sources() if s.name}
            for wanted in sources:
                name = known.get(wanted.strip().casefold())
                if name is None:
                    listed = ", ".join(sorted(known.values())[:20]) or "none"
                    raise ScopeError(f"no articles from source {wanted!r}; indexed sources: "
                                     f"{listed} (see `newsqa info`)")
                names.append(name)
        scope = Scope(since=since, until=until, sources=tuple(dict.fromkeys(names)))
        return scope or None

    def info(self) -> dict[str, Any]:
        """Size and provenance of the index."""
        manifest = self.store.manifest() if self._opened else self.store.open()
        self._opened = True
        # Counted from the catalog: counting an embedded store's chunks loads its vector
        # index (at 900k chunks, 1.9 s and 2 GB for `newsqa info`).
        articles, chunks = self._catalog().counts()
        if chunks is None:  # records written before they counted their chunks
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
