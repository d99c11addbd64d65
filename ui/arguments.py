"""The `newsqa` command line's arguments: every command, flag and help text (`ui.cli` runs
them). `tests/test_readme.py` checks the README's synopsis against this parser."""

from __future__ import annotations

import argparse
import re
from datetime import date
from pathlib import Path
from typing import Any


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2024-12-10") from None


_AGE = re.compile(r"^\s*(\d+)\s*([dw])\s*$", re.IGNORECASE)


def _age(value: str) -> float:
    """Days of an age: `180d` (days) or `12w` (weeks), at least a day."""
    m = _AGE.match(value)
    days = int(m.group(1)) * (7 if m.group(2).lower() == "w" else 1) if m else 0
    if not 1 <= days <= 36_500:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an age like 180d (days) or 12w (weeks)"
            + (", from 1d to 36500d (100 years)" if m is not None else ""))
    return float(days)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsqa",
        description="Ask questions over news articles; every answer cites the exact source text.",
    )
    parser.add_argument("--home", type=Path, help="data home (default: $NEWSQA_HOME or per-user)")
    parser.add_argument("--chroma-url", help="use a Chroma server (`chroma run`) at this URL")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="index article files, folders, web pages or feeds "
                       "(incremental)")
    p.add_argument("paths", nargs="+", metavar="PATH_OR_URL",
                   help=".txt .md .html .json .jsonl files or folders, or .gz of these; "
                        "http(s) article pages; RSS, Atom or JSON feeds (their items are "
                        "fetched)")
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

    p = sub.add_parser("follow", help="poll feeds and index their new items")
    p.add_argument("feeds", nargs="*", metavar="FEED",
                   help="RSS, Atom or JSON Feed URLs (also NEWSQA_FOLLOW__FEEDS)")
    p.add_argument("--every", metavar="INTERVAL",
                   help="time between polls: 30s, 15m, 2h (default "
                        "NEWSQA_FOLLOW__EVERY_MINUTES, 15m)")
    p.add_argument("--once", action="store_true", help="poll once and exit (for cron)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("show", help="print a stored article (what citations point into)")
    p.add_argument("id", metavar="ID", help="article id, as in `ask` and `ask --json`")
    p.add_argument("--json", action="store_true",
                   help="{id, title, date, url, source, text}; text[start:end] is a "
                        "citation's quote")
    p.add_argument("--around", metavar="START:END",
                   help="show chars START:END (a citation's span) in context")

    p = sub.add_parser("remove", help="remove articles from the index by id")
    p.add_argument("ids", nargs="+", metavar="ID",
                   help="article ids (shown by `ask`, the chat's sources and `ask --json`)")
    p.add_argument("--no-wait", action="store_true",
                   help="if another writer is running, exit 2 at once instead of waiting")

    p = sub.add_parser("prune", help="remove articles older than an age (retention)")
    p.add_argument("--older-than", type=_age, metavar="AGE",
                   help="180d (days) or 12w (weeks): remove articles published longer ago "
                        "(undated ones: indexed longer ago); default "
                        "NEWSQA_INGEST__KEEP_DAYS")
    p.add_argument("--dry-run", action="store_true",
                   help="only count what would be removed; change nothing")
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
    p.add_argument("--since", type=_date, metavar="YYYY-MM-DD",
                   help="only articles published on or after this day")
    p.add_argument("--until", type=_date, metavar="YYYY-MM-DD",
                   help="only articles published on or before this day")
    p.add_argument("--source", action="append", default=[], metavar="NAME",
                   help="only articles from this source (repeat for several; names as "
                        "`newsqa info` lists them, any case)")
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
    p.add_argument("--auth", metavar="USER:PASSWORD",
                   help="require a login; this one is an editor (may upload and remove)")
    p.add_argument("--users-file", type=Path, metavar="PATH",
                   help="chat logins with roles (reader, editor), written by `newsqa users "
                        "add` (or NEWSQA_SERVE__USERS_FILE)")
    p.add_argument("--api-token", metavar="TOKEN",
                   help="the JSON API's write token: `Authorization: Bearer TOKEN` may push, "
                        "ask and read (or set NEWSQA_SERVE__API_TOKEN, which keeps it out "
                        "of `ps`)")
    p.add_argument("--read-token", metavar="TOKEN",
                   help="a read-only API token: may ask and read, not push (or "
                        "NEWSQA_SERVE__READ_TOKEN)")
    p.add_argument("--llm", action="store_true",
                   help="answer with the configured LLM by default (NEWSQA_ANSWER__LLM__URL)")
    p.add_argument("--follow", action="append", default=[], metavar="FEED",
                   help="poll this feed and index its new items (repeat for several; also "
                        "NEWSQA_FOLLOW__FEEDS)")
    p.add_argument("--every", metavar="INTERVAL",
                   help="time between polls of --follow feeds: 30s, 15m, 2h")

    p = sub.add_parser("users", help="add or remove a chat login (reader or editor) in the "
                       "users file that `newsqa serve` reads")
    p.add_argument("action", choices=["add", "remove"])
    p.add_argument("name", metavar="NAME", help="the login's user name")
    p.add_argument("--role", choices=["reader", "editor"],
                   help="for add: reader (ask and read) or editor (also upload and remove)")
    p.add_argument("--file", type=Path, metavar="PATH",
                   help="the users file (default: NEWSQA_SERVE__USERS_FILE); the password is "
                        "asked for, or read from stdin's first line")

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
    _add_watch(sub)
    return parser


def _add_watch(sub: Any) -> None:
    p = sub.add_parser("watch", help="watch a question: asked again after every write that "
                       "could change its answer, each change recorded")
    actions = p.add_subparsers(dest="watch_action", required=True, metavar="ACTION")
    a = actions.add_parser("add", help="watch a question (asked now, then after each write)")
    a.add_argument("question", nargs="+", help="the question")
    a.add_argument("--since", type=_date, metavar="YYYY-MM-DD",
                   help="only articles published on or after this day")
    a.add_argument("--until", type=_date, metavar="YYYY-MM-DD",
                   help="only articles published on or before this day")
    a.add_argument("--source", action="append", default=[], metavar="NAME",
                   help="only articles from this source (repeat for several)")
    a.add_argument("--json", action="store_true", help="print the watch as JSON")
    ls = actions.add_parser("list", help="the watches with their current answers")
    ls.add_argument("--json", action="store_true", help="one JSON object per watch per line")
    c = actions.add_parser("changes", help="what changed, newest first")
    c.add_argument("id", nargs="?", help="one watch's changes (default: every watch's)")
    c.add_argument("--json", action="store_true", help="one JSON object per change per line")
    c.add_argument("--limit", type=int, default=50, metavar="N", help="at most N (default 50)")
    r = actions.add_parser("remove", help="stop watching (its changes go too)")
    r.add_argument("id", help="the watch's id (`newsqa watch list`)")
    actions.add_parser("check", help="re-check the watches now: those that what was "
                       "indexed since the last re-check could affect")
