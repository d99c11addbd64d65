"""`newsqa watch add|list|changes|remove|check`: watched questions from the terminal.

    newsqa watch add "Who leads the Harbour Authority?" [--since D] [--until D] [--source S]
    newsqa watch list [--json]
    newsqa watch changes [ID] [--json] [--limit N]
    newsqa watch remove ID
    newsqa watch check          # re-check now (writes re-check by themselves)

The watches live in the data home (`assistant.watch.store`), shared with `newsqa serve`:
a watch added here shows in the chat's Watched panel and in /api/watches.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.service import Assistant
    from assistant.watch.record import Change, Watch


def run_watch(args: argparse.Namespace, bot: Assistant) -> int:
    """Run one `newsqa watch` action."""
    watcher = bot.watcher
    action = args.watch_action
    if action == "add":
        watch, new = watcher.add(" ".join(args.question), since=args.since,
                                 until=args.until, sources=args.source)
        if args.json:
            print(json.dumps(watch.to_json(), ensure_ascii=False))
        else:
            print(("watching" if new else "already watched") + f": {_line(watch)}")
    elif action == "list":
        watches = watcher.watches()
        for watch in watches:
            print(json.dumps(watch.to_json(), ensure_ascii=False) if args.json
                  else _line(watch))
        if not watches and not args.json:
            print('no watches; add one: newsqa watch add "Who leads the Harbour Authority?"')
    elif action == "changes":
        changes = watcher.changes(args.id, limit=max(1, args.limit))
        for change in changes:
            print(json.dumps(change.to_json(), ensure_ascii=False) if args.json
                  else _change(change))
        if not changes and not args.json:
            print("no changes yet")
    elif action == "remove":
        watcher.remove(args.id)
        print(f"stopped watching {args.id}")
    else:
        print(watcher.recheck().summary())
    return 0


def _line(watch: Watch) -> str:
    scope = ", ".join(x for x in (f"since {watch.since}" if watch.since else "",
                                  f"until {watch.until}" if watch.until else "",
                                  ("from " + " or ".join(watch.sources)) if watch.sources
                                  else "") if x)
    return (f"{watch.id}  {watch.question}" + (f" [{scope}]" if scope else "")
            + f"  -> {watch.answer.label() if watch.answer else 'no answer yet'}; "
            f"{watch.changes} change(s)")


def _change(change: Change) -> str:
    lines = [f"{change.at}  {change.watch_id}  {change.question}",
             f"    {change.summary()}"]
    old = {c.article_id for c in change.old.citations}
    for c in change.new.citations:
        if c.article_id not in old:
            meta = ", ".join(x for x in (c.source, c.date) if x)
            lines.append(f"    [{c.n}] {c.title}" + (f" ({meta})" if meta else "")
                         + f": {c.quote}")
    return "\n".join(lines)
