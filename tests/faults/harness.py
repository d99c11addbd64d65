"""What the fault tests share: the real `newsqa` command line in a separate process (with
the fake embedder, optionally slowed down so that runs overlap or can be killed midway),
corpora, and the checks a user would make afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from assistant.service import Assistant
from tests.conftest import ROOT, make_settings
from tests.fakes import FakeEmbedder

# `newsqa` with FakeEmbedder; NQ_EMBED_DELAY (seconds per embedding call) slows it down,
# NQ_DELETE_DELAY (seconds per store deletion) and NQ_PRUNE_BATCH (articles per deletion)
# a prune, NQ_ASK_DELAY (seconds per watched question asked) a re-check of the watches.
FAKE_CLI = """
import os, sys, time
sys.path.insert(0, {root!r})
import assistant.pruning
from assistant.service import Assistant
from assistant.settings import load_settings
from index.store import Store
from tests.fakes import FakeEmbedder
from ui import cli

class Slow(FakeEmbedder):
    def embed_documents(self, texts):
        time.sleep(float(os.environ.get("NQ_EMBED_DELAY", "0")))
        return super().embed_documents(texts)

_delete = Store.delete
def slow_delete(self, ids, *args, **kwargs):
    time.sleep(float(os.environ.get("NQ_DELETE_DELAY", "0")))
    return _delete(self, ids, *args, **kwargs)
Store.delete = slow_delete

import assistant.watch.watcher
_ask = assistant.watch.watcher.Watcher._ask
def slow_ask(self, question, scope):
    time.sleep(float(os.environ.get("NQ_ASK_DELAY", "0")))
    return _ask(self, question, scope)
assistant.watch.watcher.Watcher._ask = slow_ask
assistant.pruning.PRUNE_BATCH = int(os.environ.get("NQ_PRUNE_BATCH", "500"))

def _open(args):
    overrides = {{"home": args.home}} if args.home else {{}}
    return Assistant(load_settings(**overrides), embedder=Slow())

cli._open = _open
sys.exit(cli.main(sys.argv[1:]))
"""


def cli_env(home: Path, delay: float = 0.0, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    env.update(NEWSQA_HOME=str(home), HF_HUB_OFFLINE="1", NQ_EMBED_DELAY=str(delay),
               NEWSQA_EMBEDDING__BATCH_SIZE="1", NEWSQA_INGEST__STORE_BATCH="8",
               PYTHONUNBUFFERED="1")
    env.update(extra)  # may override the defaults above
    return env


def start_cli(home: Path, *argv: str, delay: float = 0.0, **extra: str) -> subprocess.Popen[str]:
    """`newsqa ARGV...` in its own process (fake embedder), stdout/stderr piped."""
    return subprocess.Popen(
        [sys.executable, "-c", FAKE_CLI.format(root=str(ROOT)), *argv], cwd=ROOT,
        env=cli_env(home, delay, **extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def run_cli(home: Path, *argv: str, delay: float = 0.0, timeout: float = 300,
            **extra: str) -> tuple[int, str, str]:
    proc = start_cli(home, *argv, delay=delay, **extra)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def write_corpus(path: Path, prefix: str, n: int, words: int = 60) -> list[dict[str, str]]:
    """`n` articles with distinct titles (made of words no other article uses)."""
    recs = []
    for i in range(n):
        title = f"{prefix} report {i}: {_word(prefix, i)} {_word(prefix + 'x', i)} council"
        body = " ".join(f"The {_word(prefix, i)} committee met in town {i} about item {j}."
                        for j in range(words // 10))
        recs.append({"id": f"{prefix}-{i}", "title": title, "text": body,
                     "url": f"https://news.example.com/{prefix}/{i}"})
    path.write_text("".join(json.dumps(r) + "\n" for r in recs), encoding="utf-8")
    return recs


def _word(prefix: str, i: int) -> str:
    """A made-up word unique to (prefix, i), so each title is findable by keywords."""
    letters = "bcdfghjklmnpqrstvwz"
    n = sum(map(ord, prefix)) * 7919 + i * 104729 + 12345
    out = ""
    for _ in range(7):
        out += letters[n % len(letters)] + "aeiou"[n % 5]
        n //= 5
    return out


def bot(home: Path) -> Assistant:
    """A fresh assistant on `home`, as a new `newsqa ask` process would open it."""
    return Assistant(make_settings(home), embedder=FakeEmbedder())


def wait_for_articles(home: Path, at_least: int, timeout: float = 60) -> int:
    """Poll (as a reader, no lock) until `at_least` articles are indexed."""
    deadline = time.time() + timeout
    n = 0
    while time.time() < deadline:
        time.sleep(0.3)
        if (home / "chroma" / "chroma.sqlite3").exists():
            try:
                n = bot(home).info()["articles"]
            except Exception:  # collections not created yet
                n = 0
            if n >= at_least:
                return n
    return n


def assert_intact(home: Path, expected: Sequence[dict[str, str]]) -> None:
    """What a user checks: every expected article is there exactly once and found by its
    title in the top 10; no orphan chunk; vectors = chunks = keyword entries."""
    b = bot(home)
    b.open()
    records = b.store.records()
    assert set(records) == {r["id"] for r in expected}, (
        f"missing {sorted({r['id'] for r in expected} - set(records))[:5]}, "
        f"extra {sorted(set(records) - {r['id'] for r in expected})[:5]}")
    report = b.check()
    assert report.ok, report.lines()
    articles, chunks = b.store.counts()
    assert chunks == report.chunks == len(b.keyword) == sum(r.chunks for r in records.values())
    ids = [c.id for c, _ in b.store.iter_chunks()]
    assert len(ids) == len(set(ids))  # no duplicates
    for r in expected:
        found = [p.article_id for p in b.retriever.retrieve(r["title"], 10)]
        assert r["id"] in found, f"{r['title']!r} not found by its title"
