"""The browser chat (Gradio Blocks), a thin layer over `Assistant`.

* Chat: answers stream in sentence by sentence with [n] markers; the sources panel shows
  each citation's title, date, link and quote highlighted inside its passage, with the
  whole article one click away. Earlier questions of the chat are passed to `bot.ask` as
  `history` (see `assistant.followup` for how they shape retrieval).
* Controls: new chat, example questions, passages to use (k), "published up to" date,
  and "Answer with" (quotes only | LLM) when an LLM is configured: the LLM's reply
  streams in, then its verified version replaces it (`assistant.llm.answerer`), with a note when
  quotes were dropped or it fell back to quotes.
* Uploads: checked by type and size, copied under `<data home>/uploads` as
  `<content hash>-<safe name>` (two files of one name never replace each other, see
  `ui.upload`), then indexed as a job of the ingest worker (`ui.worker`), whose
  state the chat shows; an upload only adds or updates articles. Never executed and never
  served back.
* Remove: an article id (shown on each source card) and *Remove article*: the one
  explicit way to take articles out from the chat.
* Roles (`ui.auth`): with `may_edit`, uploads and removal are shown to editors only (on
  page load), and their handlers refuse anyone else, raw Gradio calls included.
* API: `/ask` (question, k, as_of, history) returns the JSON object of `newsqa ask --json`
  (the JSON API under `/api` is `ui.api`; `ui.server` serves both).

Never shared publicly, analytics off, loopback without login unless configured.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported

import logging  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gradio as gr  # noqa: E402

from assistant.answer import Answer  # noqa: E402
from assistant.errors import AssistantError  # noqa: E402
from assistant.service import Assistant  # noqa: E402
from index.article import Article  # noqa: E402
from index.errors import IndexNotFound, NewsIndexError  # noqa: E402
from index.parse import SUPPORTED  # noqa: E402
from ui import render  # noqa: E402
from ui.forms import parse_as_of, parse_history, parse_k, too_long  # noqa: E402
from ui.guard import not_an_editor, user_of  # noqa: E402
from ui.jobs import Job  # noqa: E402
from ui.stream import chat_turns, stream_llm_answer  # noqa: E402
from ui.upload import accept_upload, job_markdown  # noqa: E402
from ui.watch_panel import watch_button, watched_panel, wire  # noqa: E402
from ui.worker import IngestWorker  # noqa: E402

log = logging.getLogger(__name__)
EXPECTED = (AssistantError, NewsIndexError)  # told to the user; no traceback in the log

EXAMPLES = (
    "Where are remaining IS cells?",
    "Who attacks the truffle hunters there?",
    "Who leads HTS?",
)
UPLOAD_SLOTS = 8  # uploads shown at once (the worker indexes one job at a time anyway)
UPLOAD_POLL_S = 0.5  # how often an upload's status line is redrawn while it is indexed
STREAM_DELAY_S = 0.04  # pause between streamed sentences, so the answer visibly builds up
QUOTES_ONLY, LLM_MODE = "Quotes only", "LLM"  # the "Answer with" choice (LLM configured)
# A new answer's sources start at the top, not where the last one was scrolled to.
SCROLL_SOURCES_TOP = """() => { document.querySelectorAll('#nq-sources, #nq-sources *')
  .forEach(e => { if (e.scrollTop) e.scrollTop = 0; }); }"""

# -- input helpers (pure) ------------------------------------------------------------------
def _articles(bot: Assistant, answer: Answer) -> dict[str, Article]:
    out: dict[str, Article] = {}
    for c in answer.citations:
        if c.article_id not in out:
            try:
                art = bot.article(c.article_id)
            except Exception:  # the card still shows the passage
                log.exception("cannot load article %s", c.article_id)
                art = None
            if art is not None:
                out[c.article_id] = art
        if len(out) >= 5:
            break
    return out


def _status(bot: Assistant) -> str:
    try:
        return render.status_markdown(bot.info())
    except IndexNotFound:
        return render.status_markdown(None)
    except Exception as exc:
        log.exception("index status")
        return render.error_markdown(exc)


def _source_names(bot: Assistant) -> list[str]:
    """The sources for the filter's choices (none before anything is indexed)."""
    try:
        return [s.name for s in bot.sources() if s.name]
    except Exception:
        return []


@dataclass
class Resets:
    """How many new chats this browser session has started, kept on the server. An ask
    carries the count its page knew when it was sent; once they differ the ask was sent
    before the latest new chat, and it writes nothing: its chat is the old conversation.
    (Gradio's `cancels` alone misses an ask that has not reached the server yet.)"""

    count: int = 0


def build_app(bot: Assistant, llm: bool = False, worker: IngestWorker | None = None,
              may_edit: Callable[[str | None], bool] | None = None) -> gr.Blocks:
    """The chat page: chat and sources side by side, options and uploads below. With an
    LLM configured, an "Answer with" choice appears (`llm`: LLM is the default). Uploads
    are indexed by `worker` (one is started if not given). `may_edit(user)`: whether the
    logged-in `user` may upload and remove (None: everyone may, as with no login)."""
    if worker is None:
        worker = IngestWorker(bot)
        worker.start()
    home = Path(bot.settings.home)
    os.environ["GRADIO_TEMP_DIR"] = str(home / "tmp")  # uploads land inside the data home
    uploads = home / "uploads"
    max_mb = bot.settings.serve.max_upload_mb
    max_unpacked_mb = bot.settings.serve.max_upload_unpacked_mb
    max_chars = bot.settings.serve.max_question_chars
    confident_at = bot.settings.answer.confident_at

    def respond(message: str, chat: list[dict[str, Any]], questions: list[str], k: float,
                as_of: str, mode: str = QUOTES_ONLY, since: str = "", until: str = "",
                source: list[str] | None = None, resets: Resets | None = None,
                seen: float | None = None) -> Iterator[tuple[Any, ...]]:
        for step in _respond(message, chat, questions, k, as_of, mode, since, until, source):
            if resets is not None and resets.count != int(seen or 0):
                return  # a new chat began after this ask was sent (`Resets`)
            yield step

    def _respond(message: str, chat: list[dict[str, Any]], questions: list[str], k: float,
                 as_of: str, mode: str, since: str, until: str, source: list[str] | None,
                 ) -> Iterator[tuple[Any, ...]]:
        question = " ".join((message or "").split())
        if not question:
            yield chat, gr.skip(), questions, ""
            return
        chat = [*chat, {"role": "user", "content": question}]
        if len(question) > max_chars:
            yield [*chat, {"role": "assistant", "content": too_long(question, max_chars)}], \
                gr.skip(), questions, ""
            return
        try:
            day = parse_as_of(as_of)
        except ValueError as exc:
            text = f"{exc}. Fix the *Published up to* date or clear it, then ask again."
            yield [*chat, {"role": "assistant", "content": text}], gr.skip(), questions, ""
            return
        try:
            scope = bot.resolve_scope(parse_as_of(since), parse_as_of(until), source or [])
        except (ValueError, AssistantError, NewsIndexError) as exc:
            text = f"{exc}. Fix the *Filter* dates or sources, then ask again."
            yield [*chat, {"role": "assistant", "content": render.md_escape(text)}], \
                gr.skip(), questions, ""
            return
        if mode == LLM_MODE and bot.llm_configured:
            turns = chat_turns(chat[:-1])
            for item in stream_llm_answer(bot, question, parse_k(k), day, questions, turns,
                                          scope):
                if isinstance(item, str):
                    yield [*chat, {"role": "assistant", "content": item}], gr.skip(), \
                        questions, ""
                else:
                    md = render.answer_markdown(item, confident_at=confident_at) \
                        + render.llm_note_markdown(item)
                    yield ([*chat, {"role": "assistant", "content": md}],
                           render.sources_html(item, _articles(bot, item)),
                           [*questions, question], "")
            return
        try:
            answer = bot.ask(question, k=parse_k(k), as_of=day, history=list(questions),
                             scope=scope)
        except Exception as exc:
            if not isinstance(exc, EXPECTED):
                log.exception("question failed: %s", question)
            yield ([*chat, {"role": "assistant", "content": render.error_markdown(exc)}],
                   gr.skip(), questions, "")
            return
        questions = [*questions, question]
        steps = render.stream_markdown(answer, confident_at)
        for i, md in enumerate(steps):
            last = i == len(steps) - 1
            panel = render.sources_html(answer, _articles(bot, answer)) if last else gr.skip()
            yield [*chat, {"role": "assistant", "content": md}], panel, questions, ""
            if not last:
                time.sleep(STREAM_DELAY_S)

    def new_chat(resets: Resets) -> tuple[Any, ...]:
        resets.count += 1
        return [], render.EMPTY_SOURCES, [], "", resets.count

    def refused(request: gr.Request | None, what: str) -> str | None:
        """Why this user may not `what` (None: an editor, or no logins at all)."""
        if may_edit is None or may_edit(user_of(request)):
            return None
        log.warning("refused to %s: %s is not an editor", what, user_of(request))
        return not_an_editor(user_of(request), what)

    def upload(files: list[str] | str | None,
               request: gr.Request | None = None) -> Iterator[tuple[Any, ...]]:
        paths = [files] if isinstance(files, str) else list(files or [])
        if not paths:
            yield gr.skip(), gr.skip(), None
            return
        if (why := refused(request, "add articles")) is not None:
            for f in paths:  # Gradio's cached copy: not indexed, not kept
                Path(f).unlink(missing_ok=True)
            yield why, gr.skip(), None
            return
        lines: list[str] = []
        jobs: list[Job] = []
        for f in paths:
            name, dest, message = accept_upload(Path(f), uploads, max_mb, max_unpacked_mb)
            if dest is None:
                lines.append(message)
            else:  # indexed by the ingest worker; asks go on meanwhile
                jobs.append(worker.submit_files([dest], name))
        while jobs:
            jobs = [worker.job(j.id) or j for j in jobs]
            # a terminal ingest (or an earlier job) holds the writer lock: say whom we wait for
            holder = bot.lock.holder() if any(j.state == "queued" for j in jobs) else None
            yield "\n\n".join([*lines, *(job_markdown(j, holder) for j in jobs)]), \
                gr.skip(), None
            pending = [j for j in jobs if j.pending]
            if not pending:
                break
            worker.wait(pending[0].id, timeout=UPLOAD_POLL_S)
        if any(j.state == "done" and j.articles_done for j in jobs):
            lines = [*lines, *(job_markdown(j) for j in jobs),
                     "You can ask about the new articles now."]
        else:
            lines = [*lines, *(job_markdown(j) for j in jobs)]
        yield "\n\n".join(lines), _status(bot), None

    def remove(article_id: str, request: gr.Request | None = None) -> tuple[Any, ...]:
        if (why := refused(request, "remove articles")) is not None:
            return why, gr.skip(), gr.skip()
        aid = (article_id or "").strip()
        if not aid:
            return ("Type the id of the article to remove (each card under *Sources* shows "
                    "it).", gr.skip(), gr.skip())
        try:
            removed = bot.remove([aid])
        except Exception as exc:
            if not isinstance(exc, EXPECTED):
                log.exception("removing %s failed", aid)
            return render.error_markdown(exc), gr.skip(), gr.skip()
        if not removed:
            return (f"No article with id **{render.md_escape(aid)}** is indexed.", gr.skip(),
                    gr.skip())
        return (f"✓ Removed article **{render.md_escape(aid)}**: it is no longer quoted.",
                _status(bot), "")

    def ask_api(question: str, k: int | None = None, as_of: str | None = None,
                history: list[str] | str | None = None,
                choices: list[str] | str | None = None, llm: bool = False,
                since: str | None = None, until: str | None = None,
                sources: list[str] | str | None = None) -> dict[str, Any]:
        """Answer a question from the indexed articles, every sentence cited.

        Args:
            question: the question, e.g. "Where are remaining IS cells?"
            k: passages to retrieve (1-100); empty for the configured default
            as_of: "YYYY-MM-DD": ignore articles published after this day; empty for none
            history: earlier questions of the conversation, oldest first (list, JSON list or
                one per line), used to understand follow-ups
            choices: quiz options (list, JSON list or one per line); the answer then picks
                one ("choice", "choice_text") and quotes the evidence for it
            llm: let the configured LLM write the answer (quotes verified; "answerer" and
                "fallback_reason" say who wrote it)
            since: "YYYY-MM-DD": only articles published on or after this day
            until: "YYYY-MM-DD": only articles published on or before this day
            sources: only articles from these sources (list, JSON list or one per line)

        Returns:
            The JSON object `newsqa ask --json` prints (question, answer, abstained,
            citations, retrieved, query, as_of), or {"error": "..."} saying what to fix.
        """
        if len(str(question or "")) > max_chars:
            return {"error": too_long(str(question), max_chars)}
        try:
            scope = bot.resolve_scope(parse_as_of(since), parse_as_of(until),
                                      parse_history(sources, "sources"))
            answer = bot.ask(str(question or ""), k=parse_k(k), as_of=parse_as_of(as_of),
                             history=parse_history(history),
                             choices=parse_history(choices, "choices"),
                             llm=bool(llm), scope=scope)
            return answer.to_json()
        except ValueError as exc:
            return {"error": str(exc).replace("*", "")}
        except Exception as exc:
            if not isinstance(exc, EXPECTED):
                log.exception("/ask failed")
            return {"error": render.error_markdown(exc).replace("*", "").replace("`", "")}

    def on_load(request: gr.Request | None = None) -> tuple[Any, ...]:
        # Hidden from readers; the handlers refuse them anyway.
        shown = gr.update(visible=may_edit is None or may_edit(user_of(request)))
        return (_status(bot), gr.update(choices=_source_names(bot)), shown, shown, shown,
                shown, shown)

    top_k = bot.settings.retrieval.top_k
    # With roles, editing is hidden until the page load says this user is an editor.
    editing = may_edit is None
    with gr.Blocks(title="newsqa: ask the news", delete_cache=(900, 3600)) as demo:
        questions = gr.State([])
        resets = gr.State(Resets())
        seen = gr.Number(0, precision=0, visible=False, elem_id="nq-resets")
        with gr.Row(elem_id="nq-header"):
            gr.Markdown("# newsqa\nAsk about the indexed news articles. Every sentence of an "
                        "answer is quoted from an article and marked [n]; its source is on "
                        "the right.")
        with gr.Row(equal_height=True):
            with gr.Column(scale=3, min_width=380):
                chat = gr.Chatbot(
                    label="Chat", height=470, buttons=["copy"], feedback_options=None,
                    placeholder="Ask a question about the news, or pick an example below.",
                    elem_id="nq-chat",
                )
                with gr.Row(equal_height=True):
                    box = gr.Textbox(show_label=False, placeholder="Ask about the news…",
                                     scale=8, autofocus=True, elem_id="nq-question",
                                     max_lines=4, container=False)
                    ask = gr.Button("Ask", variant="primary", scale=0, min_width=90,
                                    elem_id="nq-ask")
                    new = gr.Button("New chat", variant="secondary", scale=0, min_width=120,
                                    elem_id="nq-new")
                watch_btn, watch_status = watch_button(editing)
                examples = gr.Examples([[q] for q in EXAMPLES], inputs=[box],
                                       label="Examples (click to ask)",
                                       api_visibility="private", elem_id="nq-examples")
            with gr.Column(scale=2, min_width=320):
                sources = gr.HTML(render.EMPTY_SOURCES, label="Sources", show_label=True,
                                  elem_id="nq-sources", container=True, min_height=600,
                                  max_height=600)
                with gr.Column(visible=editing, elem_id="nq-remove-box") as remove_box:
                    with gr.Row(equal_height=True):
                        remove_id = gr.Textbox(show_label=False, scale=5, container=False,
                                               placeholder="Article id (from a card) to remove",
                                               elem_id="nq-remove-id", max_lines=1)
                        remove_btn = gr.Button("Remove article", variant="stop", scale=0,
                                               min_width=150, elem_id="nq-remove")
                    remove_status = gr.Markdown(elem_id="nq-remove-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3):
                with gr.Row():
                    mode = gr.Radio([QUOTES_ONLY, LLM_MODE],
                                    value=LLM_MODE if llm else QUOTES_ONLY,
                                    label="Answer with", visible=bot.llm_configured,
                                    elem_id="nq-answer-with",
                                    info="LLM: written by the model, every quote checked")
                    k = gr.Slider(1, 20, value=min(max(top_k, 1), 20), step=1,
                                  label="Passages to use (k)", elem_id="nq-k")
                    as_of = gr.Textbox(label="Published up to (YYYY-MM-DD, optional)",
                                       placeholder="e.g. 2024-12-10", elem_id="nq-as-of")
                with gr.Accordion("Filter by date and source", open=False,
                                  elem_id="nq-filter"), gr.Row():
                    since = gr.Textbox(label="From (YYYY-MM-DD)", elem_id="nq-since",
                                       placeholder="e.g. 2024-01-01")
                    until = gr.Textbox(label="To (YYYY-MM-DD)", elem_id="nq-until",
                                       placeholder="e.g. 2024-12-31")
                    source = gr.Dropdown(choices=[], value=[], multiselect=True,
                                         label="Sources (any)", elem_id="nq-source",
                                         allow_custom_value=False)
                watched = watched_panel(bot, watch_btn, watch_status, editing)
                status = gr.Markdown(_status(bot), elem_id="nq-status")
            with gr.Column(scale=2, visible=editing, elem_id="nq-upload-box") as upload_box:
                files = gr.File(
                    label=f"Add articles (.txt .md .html .json .jsonl, or .gz; "
                          f"≤ {max_mb:g} MB each)",
                    file_count="multiple", file_types=[*SUPPORTED, ".gz"], height=150,
                    elem_id="nq-upload",
                )
                upload_status = gr.Markdown(elem_id="nq-upload-status")

        chat_io: dict[str, Any] = dict(
            inputs=[box, chat, questions, k, as_of, mode, since, until, source, resets, seen],
            outputs=[chat, sources, questions, box],
            show_progress="minimal", show_progress_on=[chat], api_visibility="private",
            concurrency_id="bot",
        )
        asks = [trigger(respond, **chat_io)
                for trigger in (box.submit, ask.click, examples.load_input_event.then)]
        for event in asks:
            event.then(None, js=SCROLL_SOURCES_TOP, api_visibility="private")
        # A new chat stops an answer still on its way (`Resets`; `cancels` saves its work
        # where it can): its next chunk would write the old conversation back.
        new.click(new_chat, resets, [chat, sources, questions, box, seen],
                  api_visibility="private", queue=False, cancels=asks).then(
            None, js=SCROLL_SOURCES_TOP, api_visibility="private")
        # Uploads only queue jobs for the ingest worker and show their state: their own
        # slots, so they never hold up a question.
        files.upload(upload, files, [upload_status, status, files], api_visibility="private",
                     concurrency_id="upload", concurrency_limit=UPLOAD_SLOTS)
        for trigger in (remove_btn.click, remove_id.submit):
            trigger(remove, remove_id, [remove_status, status, remove_id],
                    api_visibility="private", concurrency_id="remove")
        wire(watched, bot, questions, since, until, source, refused)
        demo.load(on_load, None, [status, source, remove_box, upload_box, watch_btn,
                                  watched.remove_id, watched.remove],
                  api_visibility="private", show_progress="hidden")
        gr.api(ask_api, api_name="ask", concurrency_id="bot")
    return demo


