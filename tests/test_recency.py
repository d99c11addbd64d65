"""Without an as-of date, "now" is the date of the recency prior for a question about a
present state (issue 32, point 1): of two equally relevant reports, the newer one comes
first; with the setting off (an archive), or for a question about no present state,
neither is preferred by date. Nothing is filtered out either way."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder

TEXT = "Floods in the valley of Arnsdorf: the toll stands at {n} dead, officials said."


def _bot(tmp_path: Path, now_prior: bool) -> Assistant:
    today = date.today()
    # the older report has the smaller id, so a tie keeps it first
    rows = [{"id": "a-old", "title": "Floods", "date": (today - timedelta(days=300)).isoformat(),
             "text": TEXT.format(n=12)},
            {"id": "b-new", "title": "Floods", "date": (today - timedelta(days=2)).isoformat(),
             "text": TEXT.format(n=18)}]
    path = tmp_path / "floods.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    bot = Assistant(make_settings(tmp_path / "home",
                                  retrieval={"recency_now": now_prior}),
                    embedder=FakeEmbedder())
    assert bot.ingest([path]).ok
    return bot


@pytest.mark.parametrize(("now_prior", "question", "first"), [
    (True, "How many are dead in the Arnsdorf floods now?", "b-new"),
    (False, "How many are dead in the Arnsdorf floods now?", "a-old"),
    (True, "How many died in the Arnsdorf floods?", "a-old"),  # no present state asked
])
def test_the_newer_report_first_without_an_as_of_date(tmp_path: Path, now_prior: bool,
                                                      question: str, first: str) -> None:
    bot = _bot(tmp_path, now_prior)
    passages = list(bot.ask(question, k=2).retrieved)
    assert {p.article_id for p in passages} == {"a-old", "b-new"}  # nothing filtered
    scores = {p.article_id: p.score for p in passages}
    assert scores["a-old"] == pytest.approx(scores["b-new"], abs=0.01)  # equally relevant
    # With the prior, the newer report wins the tie; without it, the tie stays as the
    # rankings left it, the older report first.
    assert passages[0].article_id == first
