"""kill -9 in the middle of an ingest: the index still opens and answers, and the same
ingest finishes the job without duplicates."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from assistant.service import Assistant
from tests.conftest import ROOT, make_settings
from tests.fakes import FakeEmbedder

SLOW_INGEST = """
import sys, time
sys.path.insert(0, {root!r})
from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

class Slow(FakeEmbedder):
    def embed_documents(self, texts):
        time.sleep(0.3)
        return super().embed_documents(texts)

settings = make_settings({home!r}, embedding={{"batch_size": 1}}, ingest={{"store_batch": 8}})
Assistant(settings, embedder=Slow()).ingest([{corpus!r}])
"""


def test_kill_9_mid_ingest_leaves_a_usable_index(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("\n".join(
        json.dumps({"id": f"a{i}", "title": f"Story {i}",
                    "text": f"Harbour number {i} in the town of Port{i} flooded on Monday. " * 40})
        for i in range(40)) + "\n")
    home = tmp_path / "home"
    script = SLOW_INGEST.format(root=str(ROOT), home=str(home), corpus=str(corpus))
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    settings = make_settings(home)
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline and done < 3:  # wait until a few articles are complete
        time.sleep(0.5)
        if (home / "chroma" / "chroma.sqlite3").exists():
            try:
                done = Assistant(settings, embedder=FakeEmbedder()).info()["articles"]
            except Exception:  # collections not created yet
                done = 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)

    bot = Assistant(settings, embedder=FakeEmbedder())
    partial = bot.info()["articles"]
    assert 0 < partial < 40
    assert bot.ask("Which harbour flooded?").citations
    report = bot.ingest([corpus])
    assert report.unchanged == partial and report.added == 40 - partial
    ids = [c.id for c, _ in bot.store.iter_chunks()]
    assert len(ids) == len(set(ids))
    records = bot.store.records()
    assert len(records) == 40
    per_article: dict[str, int] = {}
    for cid in ids:
        per_article[cid.split(":")[0]] = per_article.get(cid.split(":")[0], 0) + 1
    assert all(per_article[a] == r.chunks for a, r in records.items())
