"""The `newsqa` command line. Heavy libraries load only when a command needs them, so
`newsqa ask` starts quickly. Errors are one line and a non-zero exit code:
0 success, 1 done but some input failed, 2 error (nothing done), 130 interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.answer import Answer
    from assistant.service import Assistant
    from index.lock import Holder

EXIT_OK, EXIT_PARTIAL, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def offline_environment() -> None:
    """Nothing may reach the network at run time: models come from installed packages."""
    for key, value in (
        ("HF_HUB_OFFLINE", "1"),
        ("TRANSFORMERS_OFFLINE", "1"),
        ("ANONYMIZED_TELEMETRY", "False"),
        ("GRADIO_ANALYTICS_ENABLED", "False"),
        ("TOKENIZERS_PARALLELISM", "false"),
    ):
        os.environ.setdefault(key, value)


class _Stderr(logging.Handler):
    """`newsqa: warning: ...` on whatever sys.stderr is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"newsqa: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


def configure_logging() -> None:
    """Warnings of newsqa's own packages reach stderr as `newsqa: warning: ...`; they
    still propagate, so an embedding application's handlers see them too."""
    for name in ("assistant", "index", "ui"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, _Stderr) for h in logger.handlers):
            logger.addHandler(_Stderr(logging.WARNING))


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-12-10") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsqa",
        description="Ask questions over news articles; every answer cites the exact source text.",
    )
    parser.add_argument("--home", type=Path, help="data home (default: $NEWSQA_HOME or per-user)")
    parser.add_argument("--chroma-url", help="use a Chroma server (`chroma run`) at this URL")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index article files or folders (incremental)")
    p.add_argument("paths", nargs="+", type=Path,
                   help=".txt .md .html .json .jsonl files or folders, or .gz of these")
    p.add_argument("--prune", action="store_true", help="drop articles whose file is gone")
    p.add_argument("--rebuild", action="store_true",
                   help="build a new index of PATHS only (after changing model or chunking); "
                        "it replaces the old one when complete")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--follow-symlinks", action="store_true",
                   help="also read links inside folders that point outside the paths given")
    p.add_argument("--no-wait", action="store_true",
                   help="if another writer is running, exit 2 at once instead of waiting")
    p.add_argument("--verify", action="store_true",
                   help="afterwards, check and repair the whole index (as `newsqa check "
                        "--repair`)")

    p = sub.add_parser("remove", help="remove articles from the index by id")
    p.add_argument("ids", nargs="+", metavar="ID",
                   help="article ids (shown by `ask`, the chat's sources and `ask --json`)")
    p.add_argument("--no-wait", action="store_true",
                   help="if another writer is running, exit 2 at once instead of waiting")

    p = sub.add_parser("check", help="compare articles, chunks, vectors and keyword index")
    p.add_argument("--repair", action="store_true",
                   help="delete orphan chunks, re-index incomplete articles, rebuild the "
                        "keyword index")
    p.add_argument("--no-wait", action="store_true",
                   help="with --repair: if another writer is running, exit 2 at once")

    p = sub.add_parser("ask", help="answer questions with cited quotes")
    p.add_argument("question", nargs="+",
                   help="the question; quote each one to ask several in one call")
    p.add_argument("--json", action="store_true", help="one JSON object per question per line")
    p.add_argument("-k", type=int, metavar="N", help="passages to retrieve (default from settings)")
    p.add_argument("--as-of", type=_date, metavar="YYYY-MM-DD",
                   help="answer as of this day: ignore articles published after it")
    p.add_argument("--choice", action="append", default=[], metavar="OPTION",
                   help="a quiz option (repeat for each); the answer picks one and quotes "
                        "the evidence for it")
    p.add_argument("--llm", action="store_true",
                   help="let the configured LLM write the answer (NEWSQA_ANSWER__LLM__URL); "
                        "its quotes are checked against the articles")

    sub.add_parser("info", help="what is indexed, with which model, where")

    p = sub.add_parser("serve", help="open the browser chat (Gradio)")
    p.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require this login")
    p.add_argument("--api-token", metavar="TOKEN",
                   help="require `Authorization: Bearer TOKEN` on the JSON API (/api) and "
                        "accept TOKEN as the chat login's password (or set "
                        "NEWSQA_SERVE__API_TOKEN, which keeps it out of `ps`)")
    p.add_argument("--llm", action="store_true",
                   help="answer with the configured LLM by default (NEWSQA_ANSWER__LLM__URL)")

    p = sub.add_parser("push", help="send article files to a running server (newsqa serve)")
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE",
                   help="what `ingest` reads: .txt .md .html .json .jsonl files or folders, "
                        "or .gz of these")
    p.add_argument("--url", required=True,
                   help="the server, e.g. http://127.0.0.1:7860 (its /api is used)")
    p.add_argument("--token", help="the server's API token (default: "
                   "$NEWSQA_SERVE__API_TOKEN)")
    p.add_argument("--batch", type=int, default=500, metavar="N",
                   help="articles per request (default 500)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("eval", help="score the assistant on a question file")
    p.add_argument("questions", nargs="?", type=Path,
                   help="questions .jsonl (default: seeds/questions.jsonl)")
    p.add_argument("--out", type=Path, help="output folder for results and report")
    p.add_argument("-k", type=int, metavar="N", help="passages to retrieve")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N questions")
    p.add_argument("--no-as-of", action="store_true",
                   help="ignore the questions' dates (no 'as of' filtering)")
    p.add_argument("--compare", nargs="+", type=Path, metavar="DIR",
                   help="compare earlier eval output folders instead of running")
    p.add_argument("--llm", action="store_true",
                   help="answer with the configured LLM (quote outcomes go in the results)")
    return parser


def _questions(words: list[str]) -> list[str]:
    """`ask Where are IS cells?` is one question; `ask "Q1?" "Q2?"` are two."""
    if len(words) > 1 and all(" " in w for w in words):
        return words
    return [" ".join(words)]


def format_answer(answer: Answer) -> str:
    """Human-readable answer: the short answer first, then the quotes and sources."""
    lines = []
    if answer.short_answer is not None and not answer.abstained:
        lines.append(f"Answer: {answer.short_answer.text} [{answer.short_answer.n}]")
    lines.append(answer.text)
    if answer.choices and answer.choice is not None and answer.choice_method != "evidence":
        picked = answer.choices[answer.choice]
        if answer.choice_method == "exclusion":
            lines.append(f"(Read as a \"which is not\" question: the option the articles "
                         f"support least is {picked})")
        else:
            lines.append(f"(No option is named in the articles; closest by meaning: {picked})")
    if answer.answerer != "extractive":  # only LLM answers carry a note
        from ui.render import llm_note

        lines.append(f"({llm_note(answer)})")
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            meta = ", ".join(x for x in (c.date.isoformat() if c.date else None, c.url) if x)
            lines.append(f"[{c.n}] {c.title}" + (f" ({meta})" if meta else ""))
            lines.append(f'    "{c.quote}"  [chars {c.start}-{c.end} of {c.article_id}]')
    return "\n".join(lines)


def _open(args: argparse.Namespace) -> Assistant:
    from assistant.service import Assistant
    from assistant.settings import load_settings

    overrides: dict[str, Any] = {}
    if args.home:
        overrides["home"] = args.home
    settings = load_settings(**overrides)
    if args.chroma_url:
        settings.store.chroma_url = args.chroma_url
    return Assistant(settings)


def _waiting(holder: Holder) -> None:
    print(f"newsqa: {holder.describe()}; waiting for it to finish (Ctrl-C to stop) ...",
          file=sys.stderr, flush=True)


def cmd_ingest(args: argparse.Namespace) -> int:
    bot = _open(args)
    report = bot.ingest(args.paths, prune=args.prune, rebuild=args.rebuild,
                        progress=not args.quiet, wait=not args.no_wait, on_wait=_waiting,
                        follow_symlinks=args.follow_symlinks)
    from index.errors import NothingReadable

    for failure in report.failures:
        kind = "warning" if isinstance(failure, NothingReadable) else "skipped"
        print(f"newsqa: {kind}: {failure}", file=sys.stderr)
    print(report.summary())
    code = EXIT_OK if report.ok else EXIT_PARTIAL
    if args.verify:
        check = bot.check(repair=True, wait=not args.no_wait, on_wait=_waiting)
        for line in check.lines():
            print(f"check: {line}")
        code = max(code, EXIT_OK if not check.lost else EXIT_PARTIAL)
    return code


def cmd_remove(args: argparse.Namespace) -> int:
    bot = _open(args)
    removed = bot.remove(args.ids, wait=not args.no_wait, on_wait=_waiting)
    for aid in args.ids:
        if aid not in removed:
            print(f"newsqa: skipped: {aid}: no such article in the index", file=sys.stderr)
    print(f"{len(removed)} article(s) removed")
    return EXIT_OK if len(removed) == len(set(args.ids)) else EXIT_PARTIAL


def cmd_check(args: argparse.Namespace) -> int:
    bot = _open(args)
    report = bot.check(repair=args.repair, wait=not args.no_wait, on_wait=_waiting)
    for line in report.lines():
        print(line)
    if args.repair:
        return EXIT_OK if not report.lost else EXIT_PARTIAL
    return EXIT_OK if report.ok else EXIT_PARTIAL


def cmd_ask(args: argparse.Namespace) -> int:
    questions = _questions(args.question)
    if any(not q.strip() for q in questions):
        raise _UsageError(
            'the question is empty; try: newsqa ask "Where are remaining IS cells?"'
        )
    if args.k is not None and args.k < 1:
        raise _UsageError("-k must be at least 1")
    bot = _open(args)
    _check_llm(args, bot)
    for i, q in enumerate(questions):
        answer = bot.ask(q, k=args.k, as_of=args.as_of, choices=args.choice, llm=args.llm)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            if len(questions) > 1:
                print(("\n" if i else "") + f"Q: {q}")
            print(format_answer(answer), flush=True)
    return EXIT_OK


def _check_llm(args: argparse.Namespace, bot: Assistant) -> None:
    if args.llm and not bot.llm_configured:
        raise _UsageError(
            "--llm needs an LLM endpoint: set NEWSQA_ANSWER__LLM__URL, e.g. "
            "http://127.0.0.1:8765/v1 after starting scripts/llm-server.sh")


def cmd_info(args: argparse.Namespace) -> int:
    bot = _open(args)
    for key, value in bot.info().items():
        print(f"{key}: {value}")
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.server import serve

    bot = _open(args)
    _check_llm(args, bot)
    serve(bot, host=args.host, port=args.port, auth=args.auth, llm=args.llm,
          api_token=args.api_token)
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from ui.push import push

    if args.batch < 1:
        raise _UsageError("--batch must be at least 1")
    token = args.token if args.token is not None else os.environ.get("NEWSQA_SERVE__API_TOKEN")
    return push(args.paths, args.url, token=token, batch=args.batch,
                progress=not args.quiet)


def cmd_eval(args: argparse.Namespace) -> int:
    from assistant.evaluation.command import run_eval_command

    def open_checked(args: argparse.Namespace) -> Assistant:
        bot = _open(args)
        _check_llm(args, bot)
        return bot

    return run_eval_command(args, open_checked)


class _UsageError(Exception):
    pass


COMMANDS = {
    "ingest": cmd_ingest, "ask": cmd_ask, "info": cmd_info, "serve": cmd_serve, "eval": cmd_eval,
    "remove": cmd_remove, "check": cmd_check, "push": cmd_push,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsqa` console script."""
    offline_environment()
    configure_logging()
    args = build_parser().parse_args(argv)
    from assistant.errors import AssistantError
    from index.errors import IndexNotFound, NewsIndexError

    try:
        return COMMANDS[args.command](args)
    except IndexNotFound as exc:
        message = str(exc)
        _fail(message if "newsqa ingest" in message
              else f"{message}. Index some articles first: newsqa ingest PATH")
    except (NewsIndexError, AssistantError, _UsageError) as exc:
        _fail(str(exc))
    except KeyboardInterrupt:
        message = ("the index is consistent; rerun the same command to finish"
                   if args.command == "ingest" else "stopped")
        print(f"\nnewsqa: interrupted: {message}.", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_ERROR


def _fail(message: str) -> None:
    print(f"newsqa: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
