"""The `newsqa` command line. Heavy libraries load only when a command needs them, so
`newsqa ask` starts quickly. Errors are one line and a non-zero exit code:
0 success, 1 done but some input failed, 2 error (nothing done), 130 interrupted."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ui.arguments import build_parser

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


def _questions(words: list[str]) -> list[str]:
    """`ask Where are IS cells?` is one question; `ask "Q1?" "Q2?"` are two."""
    if len(words) > 1 and all(" " in w for w in words):
        return words
    return [" ".join(words)]


QUOTE_MARKS = "\"'“”„‘’‚«»"  # straight and curly


def quoted(text: str) -> str:
    """`text` between quotation marks, unless it already starts or ends with one (a
    quote of speech: `"There are cells," he said.`), which would print them doubled."""
    marked = bool(text) and (text[0] in QUOTE_MARKS or text[-1] in QUOTE_MARKS)
    return text if marked else f'"{text}"'


def format_answer(answer: Answer, confident_at: float | None = None) -> str:
    """Human-readable answer: the short answer first (stated at confidence `confident_at`
    or more, default the setting's default, else "Not sure; the articles suggest X [n] or
    Y [m]"), then the quotes and sources."""
    from assistant.answer import CONFIDENT_AT

    lines = []
    if answer.differ and not answer.abstained:
        lines.append("Sources differ: " + " · ".join(s.label() for s in answer.differ))
    elif answer.confident(CONFIDENT_AT if confident_at is None else confident_at):
        assert answer.short_answer is not None
        lines.append(f"Answer: {answer.short_answer.shown()} [{answer.short_answer.n}]")
    elif answer.short_answer is not None and not answer.abstained:
        from ui.render import hedge

        lines.append("Not sure; the articles suggest "
                     + " or ".join(f"{a.shown()} [{a.n}]" for a in hedge(answer)))
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
            lines.append(f"    {quoted(c.quote)}  [chars {c.start}-{c.end} of {c.article_id}]")
            if c.also:
                lines.append("    also published by: " + "; ".join(x.label() for x in c.also))
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


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")


def is_url(arg: str) -> bool:
    """Whether an ingest argument is a URL (any scheme: a wrong one is named later) rather
    than a path; an existing file or folder of that name stays a path."""
    return bool(_SCHEME.match(arg)) and not Path(arg).exists()


def cmd_ingest(args: argparse.Namespace) -> int:
    urls = [a for a in args.paths if is_url(a)]
    paths = [Path(a) for a in args.paths if not is_url(a)]
    if urls and (args.rebuild or args.prune):
        raise _UsageError("--rebuild and --prune take files and folders, not URLs; ingest "
                          "the URLs in a separate run")
    bot = _open(args)
    reports = []
    if paths:
        reports.append(bot.ingest(paths, prune=args.prune, rebuild=args.rebuild,
                                  progress=not args.quiet, wait=not args.no_wait,
                                  on_wait=_waiting, follow_symlinks=args.follow_symlinks))
    if urls:
        report, fetched = bot.ingest_urls(urls, progress=not args.quiet,
                                          wait=not args.no_wait, on_wait=_waiting)
        reports.append(report)
    from index.errors import NothingReadable

    for report in reports:
        for failure in report.failures:
            kind = "warning" if isinstance(failure, NothingReadable) else "skipped"
            print(f"newsqa: {kind}: {failure}", file=sys.stderr)
    if urls:
        print(f"web: {fetched.report.summary(fetched.requests)}")
    for report in reports:
        print(report.summary())
    _rechecked(bot)
    code = EXIT_OK if all(r.ok for r in reports) else EXIT_PARTIAL
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
    _rechecked(bot)
    return EXIT_OK if len(removed) == len(set(args.ids)) else EXIT_PARTIAL


def cmd_prune(args: argparse.Namespace) -> int:
    bot = _open(args)
    days = args.older_than if args.older_than is not None else bot.settings.ingest.keep_days
    if days is None:
        raise _UsageError("how old? give an age, e.g. newsqa prune --older-than 180d, or "
                          "set NEWSQA_INGEST__KEEP_DAYS")
    report = bot.prune(days, dry_run=args.dry_run, wait=not args.no_wait, on_wait=_waiting)
    print("\n".join(report.lines()))
    _rechecked(bot)
    return EXIT_OK


def _rechecked(bot: Assistant) -> None:
    """After a write: what re-checking the watched questions found, when there are any."""
    done = bot.last_recheck
    if done is not None:
        print(done.summary())
        for change in done.changes:
            print(f"  {change.question}: {change.summary()}")


def cmd_check(args: argparse.Namespace) -> int:
    bot = _open(args)
    report = bot.check(repair=args.repair, wait=not args.no_wait, on_wait=_waiting)
    for line in report.lines():
        print(line)
    if args.repair:  # a problem beside the index (the reader's model) is not repaired
        return EXIT_OK if not report.lost and not report.problems else EXIT_PARTIAL
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
    scope = bot.resolve_scope(args.since, args.until, args.source)
    for i, q in enumerate(questions):
        answer = bot.ask(q, k=args.k, as_of=args.as_of, choices=args.choice, llm=args.llm,
                         scope=scope)
        if args.json:
            print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        else:
            if len(questions) > 1:
                print(("\n" if i else "") + f"Q: {q}")
            print(format_answer(answer, bot.settings.answer.confident_at), flush=True)
            if scope and answer.abstained:
                print(f"(Only articles {scope.describe()} were searched.)", flush=True)
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
        if key == "articles":  # near-duplicates grouped at ingest: a story's copies count once
            stories = bot.story_count()
            print(f"stories: {stories} ({value - stories} article(s) are copies of another)")
    sources = bot.sources()
    if sources:
        print(f"sources: {len(sources)}")
        for src in sources:
            span = (f"{src.first.isoformat()} to {src.last.isoformat()}" if src.first and
                    src.last else "undated")
            print(f"  {src.name or '(no source)'}: {src.articles:,} article(s), {span}")
    return EXIT_OK


def cmd_follow(args: argparse.Namespace) -> int:
    from ui.follow import feed_list, follow_in_terminal

    bot = _open(args)
    feeds = feed_list(args.feeds, bot.settings.follow.feeds)
    if not feeds:
        raise _UsageError("no feeds to follow: give feed URLs, e.g. newsqa follow "
                          "https://example.com/rss.xml, or set NEWSQA_FOLLOW__FEEDS")
    every = _every(args.every, bot.settings.follow.every_minutes)
    return follow_in_terminal(bot, feeds, every, once=args.once, progress=not args.quiet)


def _every(value: str | None, minutes: float) -> float:
    from ui.follow import parse_interval

    if value is None:
        return minutes * 60
    try:
        return parse_interval(value)
    except ValueError as exc:
        raise _UsageError(f"--every: {exc}") from None


def cmd_show(args: argparse.Namespace) -> int:
    from ui.article import SpanError, article_json, format_article, parse_span

    bot = _open(args)
    article = bot.article(args.id.strip())
    if article is None:
        raise _UsageError(f"no article {args.id!r} in the index; ids are shown by `newsqa "
                          "ask` ([chars A-B of ID]) and `ask --json` (citations[].article_id)")
    try:
        span = parse_span(args.around, article) if args.around else None
    except SpanError as exc:
        raise _UsageError(f"--around: {exc}") from None
    if args.json:
        print(json.dumps(article_json(article), ensure_ascii=False))
    else:
        print(format_article(article, span))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.follow import feed_list
    from ui.server import serve

    bot = _open(args)
    _check_llm(args, bot)
    feeds = feed_list(args.follow, bot.settings.follow.feeds)
    serve(bot, host=args.host, port=args.port, auth=args.auth, llm=args.llm,
          api_token=args.api_token, feeds=feeds,
          every_s=_every(args.every, bot.settings.follow.every_minutes),
          read_token=args.read_token, users_file=args.users_file)
    return EXIT_OK


def cmd_push(args: argparse.Namespace) -> int:
    from ui.push import push

    if args.batch < 1:
        raise _UsageError("--batch must be at least 1")
    token = args.token if args.token is not None else os.environ.get("NEWSQA_SERVE__API_TOKEN")
    return push(args.paths, args.url, token=token, batch=args.batch,
                progress=not args.quiet)


def cmd_users(args: argparse.Namespace) -> int:
    from ui.users import cmd_users as run

    return run(args)


def cmd_watch(args: argparse.Namespace) -> int:
    from ui.watch_cli import run_watch

    return run_watch(args, _open(args))


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
    "remove": cmd_remove, "prune": cmd_prune, "check": cmd_check, "push": cmd_push,
    "follow": cmd_follow, "show": cmd_show, "users": cmd_users, "watch": cmd_watch,
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
    except BrokenPipeError:
        # The reader of our output went away (`newsqa ask ... | head`): not an error of
        # ours, and no traceback; stdout is pointed at devnull so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    return EXIT_ERROR


def _fail(message: str) -> None:
    print(f"newsqa: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
