"""LLM answers as a user meets them: `newsqa ask --llm`, the chat's "Answer with" choice
and its streaming, the notes on fallbacks and dropped quotes (fake OpenAI server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.answer import Answer, QuoteCheck
from assistant.llm.reply import preview
from assistant.service import Assistant
from tests.conftest import SEED_FILE, make_settings
from tests.fake_llm import FakeLLMServer, Reply, Request, json_reply
from tests.fakes import FakeEmbedder
from ui import chat, cli, render

Q = "Who was the commander of the Al-Nusra Front?"
JOLANI = "Its commander, Abu Mohammed al-Jolani"


def _script(req: Request) -> Reply:
    sid = next((i for i, t in req.sentences().items() if "Jolani" in t), "1.1")
    return json_reply("Abu Mohammed al-Jolani", [
        {"text": "Abu Mohammed al-Jolani commanded it.", "ids": [sid], "quotes": []},
        {"text": "He lives in Paris.", "ids": [],
         "quotes": [{"passage": 1, "quote": "al-Jolani moved to Paris in 2020"}]},
    ], chunk_chars=4)


@pytest.fixture
def seeded(tmp_path: Path) -> Assistant:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    bot.ingest([SEED_FILE])
    return bot


def _handler(demo, name: str):  # type: ignore[no-untyped-def]
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def test_chat_streams_then_shows_the_verified_answer_with_a_drop_marker(
        seeded: Assistant) -> None:
    with FakeLLMServer(_script) as srv:
        seeded.settings.answer.llm.url = srv.url
        respond = _handler(chat.build_app(seeded, llm=True), "respond")
        steps = list(respond(Q, [], [], 8, "", chat.LLM_MODE))
    final = steps[-1][0][-1]["content"]
    streamed = [s[0][-1]["content"] for s in steps[:-1]]
    assert any("Checking every quote" in m for m in streamed)  # tokens shown before checking
    assert "Paris" in "".join(streamed) and "Paris" not in final  # replaced by verified text
    assert "al\\-Jolani commanded it" in final and "**\\[1\\]**" in final
    assert "⚠ 1 of 2 quotes" in final and "dropped" in final
    assert 'class="nq-card"' in steps[-1][1] and steps[-1][2] == [Q]


def test_chat_quotes_only_mode_never_calls_the_llm(seeded: Assistant) -> None:
    with FakeLLMServer(_script) as srv:
        seeded.settings.answer.llm.url = srv.url
        respond = _handler(chat.build_app(seeded), "respond")
        list(respond(Q, [], [], 8, "", chat.QUOTES_ONLY))
        assert srv.requests == []


def test_chat_follow_up_sends_earlier_turns(seeded: Assistant) -> None:
    with FakeLLMServer(_script) as srv:
        seeded.settings.answer.llm.url = srv.url
        respond = _handler(chat.build_app(seeded, llm=True), "respond")
        first = list(respond(Q, [], [], 8, "", chat.LLM_MODE))[-1]
        list(respond("Where was it founded?", first[0], first[2], 8, "", chat.LLM_MODE))
        sent = srv.requests[-1].messages
    assert sent[1] == {"role": "user", "content": Q}
    assert sent[2]["role"] == "assistant" and "al-Jolani commanded it. [1]" in sent[2]["content"]
    assert "Sources" not in sent[2]["content"]


def test_chat_shows_a_small_note_when_the_llm_is_down(seeded: Assistant) -> None:
    seeded.settings.answer.llm.url = "http://127.0.0.1:9/v1"
    respond = _handler(chat.build_app(seeded, llm=True), "respond")
    final = list(respond(Q, [], [], 8, "", chat.LLM_MODE))[-1][0][-1]["content"]
    assert "LLM answer not used: the LLM endpoint is unreachable" in final
    assert "Traceback" not in final and "**\\[1\\]**" in final


def test_answer_with_choice_only_when_an_llm_is_configured(seeded: Assistant) -> None:
    def radio(demo) -> dict:  # type: ignore[no-untyped-def]
        return next(b for b in demo.config["components"]
                    if b.get("props", {}).get("elem_id") == "nq-answer-with")["props"]

    assert radio(chat.build_app(seeded))["visible"] is False
    seeded.settings.answer.llm.url = "http://127.0.0.1:9/v1"
    props = radio(chat.build_app(seeded, llm=True))
    assert props["visible"] is True and props["value"] == chat.LLM_MODE


def test_cli_ask_llm_json_and_text(seeded: Assistant, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(cli, "_open", lambda args: seeded)
    with FakeLLMServer(_script) as srv:
        seeded.settings.answer.llm.url = srv.url
        assert cli.main(["ask", "--llm", "--json", Q]) == 0
        data = json.loads(capsys.readouterr().out)
        assert cli.main(["ask", "--llm", Q]) == 0
        text = capsys.readouterr().out
    assert data["answerer"] == "llm" and data["fallback_reason"] is None
    assert [q["outcome"] for q in data["quote_checks"]] == ["exact", "dropped"]
    assert data["short_answer"]["text"] == "Abu Mohammed al-Jolani"
    assert "commanded it. [1]" in text and "could not be verified" in text


def test_cli_llm_without_endpoint_names_the_setting(seeded: Assistant, monkeypatch,  # type: ignore[no-untyped-def]
                                                    capsys) -> None:
    monkeypatch.setattr(cli, "_open", lambda args: seeded)
    assert cli.main(["ask", "--llm", Q]) == 2
    err = capsys.readouterr().err
    assert "NEWSQA_ANSWER__LLM__URL" in err and "llm-server.sh" in err


def test_llm_settings_from_the_environment(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from assistant.settings import load_settings

    settings = make_settings(tmp_path)  # clears the developer's NEWSQA_* variables
    assert settings.answer.llm.url is None and settings.answer.llm.temperature == 0
    for key, value in {"URL": "http://127.0.0.1:8765/v1", "MODEL": "m", "API_KEY": "",
                       "TIMEOUT_S": "5", "MAX_TOKENS": "64", "TEMPERATURE": "0.2"}.items():
        monkeypatch.setenv(f"NEWSQA_ANSWER__LLM__{key}", value)
    llm = load_settings().answer.llm
    assert (llm.url, llm.model, llm.api_key.get_secret_value(), llm.timeout_s,
            llm.max_tokens, llm.temperature) == ("http://127.0.0.1:8765/v1", "m", "", 5.0, 64,
                                                 0.2)
    monkeypatch.setenv("NEWSQA_ANSWER__LLM__API_KEY", "sk-secret")
    assert "sk-secret" not in str(load_settings().answer.model_dump(mode="json"))
    from assistant.errors import SettingsError

    monkeypatch.setenv("NEWSQA_ANSWER__LLM__URL", "127.0.0.1:8765")
    with pytest.raises(SettingsError, match="NEWSQA_ANSWER__LLM__URL: .*http"):
        load_settings()
    monkeypatch.setenv("NEWSQA_ANSWER__LLM__URL", "")
    assert load_settings().answer.llm.url is None
    monkeypatch.setenv("NEWSQA_ANSWER__LLM__TIMEOUT_S", "-1")
    with pytest.raises(SettingsError, match="NEWSQA_ANSWER__LLM__TIMEOUT_S"):
        load_settings()


def test_preview_reads_partial_json_and_plain_replies() -> None:
    assert preview('{"short_answer": "B-52", "sentences": [{"text": "Heavy bom') == (
        "B-52", ["Heavy bom"])
    assert preview("SHORT: B-52\nSENTENCE: Bombers flew [1.2]") == ("B-52", ["Bombers flew"])


def test_llm_note_wording() -> None:
    base = Answer("q", "t", False)
    assert render.llm_note(base) == ""
    fell = Answer("q", "t", False, answerer="extractive-fallback",
                  fallback_reason="the LLM endpoint timed out")
    assert render.llm_note(fell).startswith("LLM answer not used: the LLM endpoint timed out")
    ok = Answer("q", "t", False, answerer="llm", quote_checks=(
        QuoteCheck("exact", "a", 1, 1, n=1), QuoteCheck("repaired", "b", 1, 1, n=2)))
    assert "1 near quote replaced" in render.llm_note(ok) and "⚠" not in render.llm_note(ok)


def test_eval_llm_records_quote_outcomes_and_integrity(seeded: Assistant, monkeypatch,  # type: ignore[no-untyped-def]
                                                       capsys, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "_open", lambda args: seeded)
    qfile = tmp_path / "q.jsonl"
    qfile.write_text("\n".join(json.dumps({"id": f"q{i}", "question": q, "answers": [a]})
                               for i, (q, a) in enumerate([(Q, "Abu Mohammed al-Jolani"),
                                                           ("Who leads HTS?", "al-Jolani")])))
    with FakeLLMServer(_script) as srv:
        seeded.settings.answer.llm.url = srv.url
        code = cli.main(["eval", str(qfile), "--llm", "--out", str(tmp_path / "out"), "-k", "5"])
    assert code == 0, capsys.readouterr().err
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").open()]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert all(r["answerer"] == "llm" for r in rows)
    assert [c["outcome"] for c in rows[0]["quote_checks"]] == ["exact", "dropped"]
    metrics = report.get("metrics", report)
    flat = json.dumps(metrics)
    assert '"llm_answered": 2' in flat and '"llm_quotes_dropped": 2' in flat
    assert '"citation_integrity": 1.0' in flat
