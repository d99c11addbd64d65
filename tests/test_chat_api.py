"""The chat server's `/ask` API through gradio_client, against servers started by the
tests, plus the chat's input and upload helpers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from assistant.errors import SettingsError
from assistant.service import Assistant
from tests.conftest import ROOT, hold_writer_lock, make_settings
from tests.fakes import FakeEmbedder
from ui import chat, forms, render, server
from ui.auth import parse_login
from ui.upload import accept_upload, check_upload, safe_filename

Q1 = "Where are remaining IS cells?"
Q2 = "Who attacks the truffle hunters there?"

ARTICLES = {
    "syria.txt": (
        "date 2024-12-10\ntitle: IS cells in Syria\nurl: https://example.org/syria\n\n"
        "Despite all this several IS cells and camps stayed intact, especially in the Badia "
        "desert, along Syria's border with Iraq. Wieland said that they often carried out "
        "attacks on the rural population, especially against those hunting for truffles."
    ),
    "port.txt": (
        "date 2025-03-01\ntitle: Harbour reopens\n\n"
        "The old harbour reopened to fishing boats after repairs to the northern pier were "
        "finished ahead of the spring season."
    ),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(bot: Assistant, auth: str | None = None):  # type: ignore[no-untyped-def]
    port = free_port()
    demo = server.launch(bot, host="127.0.0.1", port=port, auth=auth, block=False, quiet=True)
    return demo, f"http://127.0.0.1:{port}/"


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, str]]:
    """A chat server over two small articles, with the fake embedder."""
    root = tmp_path_factory.mktemp("chat-api")
    articles = root / "articles"
    articles.mkdir()
    for name, text in ARTICLES.items():
        (articles / name).write_text(text, encoding="utf-8")
    bot = Assistant(make_settings(root / "home"), embedder=FakeEmbedder())
    assert bot.ingest([articles]).ok
    (root / "home" / "uploads").mkdir()
    (root / "home" / "uploads" / "secret.txt").write_text("uploaded text", encoding="utf-8")
    demo, url = _serve(bot)
    yield bot, url
    demo.close()


@pytest.fixture(scope="module")
def client(fake_server: tuple[Assistant, str]):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(fake_server[1], verbose=False)


# -- /ask through gradio_client -----------------------------------------------------------
def test_ask_returns_the_json_of_newsqa_ask(fake_server: tuple[Assistant, str],
                                            client) -> None:  # type: ignore[no-untyped-def]
    bot, _ = fake_server
    result = client.predict(question=Q1, api_name="/ask")
    assert result == bot.ask(Q1).to_json()
    assert set(result) == {"question", "question_kind", "answer", "abstained", "citations",
                           "retrieved", "relevance", "query", "as_of", "short_answer",
                           "answerer", "fallback_reason", "quote_checks", "alternatives", "differ"}
    assert not result["abstained"] and "Badia desert" in result["answer"]
    c = result["citations"][0]
    assert c["n"] == 1 and c["title"] == "IS cells in Syria" and c["date"] == "2024-12-10"
    assert bot.article(c["article_id"]).text[c["start"]:c["end"]] == c["quote"]  # type: ignore[union-attr]


def test_ask_takes_k_as_of_and_history(client) -> None:  # type: ignore[no-untyped-def]
    result = client.predict(Q2, 1, "2024-12-31", [Q1], api_name="/ask")
    assert result["query"] == f"{Q1} {Q2}"
    assert result["as_of"] == "2024-12-31" and len(result["retrieved"]) == 1
    assert result["retrieved"][0]["title"] == "IS cells in Syria"
    as_text = client.predict(question=Q2, history=f"{Q1}\n", api_name="/ask")
    assert as_text["query"] == f"{Q1} {Q2}"
    as_json = client.predict(question=Q2, history=json.dumps([Q1]), api_name="/ask")
    assert as_json["query"] == f"{Q1} {Q2}"
    early = client.predict(question="When did the harbour reopen?", as_of="2024-12-31",
                           api_name="/ask")
    assert all(r["title"] != "Harbour reopens" for r in early["retrieved"])


def test_ask_errors_are_json_not_tracebacks(client) -> None:  # type: ignore[no-untyped-def]
    bad_date = client.predict(question=Q1, as_of="10/12/2024", api_name="/ask")
    assert set(bad_date) == {"error"} and "YYYY-MM-DD" in bad_date["error"]
    empty = client.predict(question="  ", api_name="/ask")
    assert "Type a question" in empty["error"]
    bad_k = client.predict(question=Q1, k=0, api_name="/ask")
    assert "between 1 and 100" in bad_k["error"]
    assert not client.predict(question=Q1, api_name="/ask")["abstained"]  # still serving


def test_use_via_api_lists_ask_only(client) -> None:  # type: ignore[no-untyped-def]
    api = client.view_api(return_format="dict", print_info=False)
    assert list(api["named_endpoints"]) == ["/ask"]
    params = [p["parameter_name"] for p in api["named_endpoints"]["/ask"]["parameters"]]
    assert params == ["question", "k", "as_of", "history", "choices", "llm", "since", "until",
                      "sources"]


def test_data_home_files_are_not_served(fake_server: tuple[Assistant, str]) -> None:
    bot, url = fake_server
    home = Path(bot.settings.home).resolve()
    for path in (home / "uploads" / "secret.txt", *sorted((home / "chroma").rglob("*"))[:1]):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=10)
        assert err.value.code == 403


def test_empty_index_tells_what_to_do(tmp_path: Path) -> None:
    from gradio_client import Client

    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    demo, url = _serve(bot)
    try:
        client = Client(url, verbose=False)
        for _ in range(2):  # the server keeps running after the error
            result = client.predict(question=Q1, api_name="/ask")
            assert "newsqa ingest" in result["error"] and "Traceback" not in result["error"]
    finally:
        demo.close()


def test_auth_turns_on_login(tmp_path: Path) -> None:
    from gradio_client import Client

    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    demo, url = _serve(bot, auth="reader:s3cret")
    try:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises several types
            Client(url, verbose=False)
        client = Client(url, auth=("reader", "s3cret"), verbose=False)
        assert "error" in client.predict(question=Q1, api_name="/ask")
    finally:
        demo.close()


@pytest.mark.integration
def test_ask_equals_cli_json_on_the_seed(seed_bot: Assistant) -> None:
    """The same object `newsqa ask --json` prints, with the real model and the seed."""
    from gradio_client import Client

    demo, url = _serve(seed_bot)
    try:
        result = Client(url, verbose=False).predict(question=Q1, api_name="/ask")
    finally:
        demo.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSQA_")}
    out = subprocess.run(
        [sys.executable, "-m", "ui.cli", "--home", str(seed_bot.settings.home), "ask", "--json",
         Q1], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    printed = json.loads(out.strip().splitlines()[-1])
    # scores may differ in the last rounded digit between processes (threaded ONNX sums)
    scores = [r.pop("score") for r in result["retrieved"]]
    assert scores == pytest.approx([r.pop("score") for r in printed["retrieved"]], abs=1e-3)
    assert result == printed
    assert "Badia desert" in result["answer"]


# -- helpers --------------------------------------------------------------------------------
def test_parse_as_of() -> None:
    assert forms.parse_as_of(" 2024-12-10 ") == date(2024, 12, 10)
    assert forms.parse_as_of("") is None and forms.parse_as_of(None) is None
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        forms.parse_as_of("2024-13-40")


def test_parse_history() -> None:
    assert forms.parse_history(None) == [] and forms.parse_history("") == []
    assert forms.parse_history(["a?", " ", "b?"]) == ["a?", "b?"]
    assert forms.parse_history("a?\n\n b? \n") == ["a?", "b?"]
    assert forms.parse_history('["a?", "b?"]') == ["a?", "b?"]
    messages = [{"role": "user", "content": "a?"}, {"role": "assistant", "content": "x"}]
    assert forms.parse_history(messages) == ["a?"]


def test_parse_k_and_auth() -> None:
    assert forms.parse_k(None) is None and forms.parse_k("") is None
    assert forms.parse_k(5.0) == 5 and forms.parse_k("3") == 3
    with pytest.raises(ValueError):
        forms.parse_k(0)
    assert parse_login("u:p:w") == ("u", "p:w") and parse_login(None) is None
    with pytest.raises(SettingsError):
        parse_login("nopassword")


@pytest.mark.parametrize(("name", "safe"), [
    ("news.txt", "news.txt"),
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\evil.md", "evil.md"),
    (".hidden.json", "hidden.json"),
    ("my article (1).jsonl.gz", "my_article_1_.jsonl.gz"),
    ("ünïcode.html", "ünïcode.html"),
    ("новости.txt", "новости.txt"),
    ("a\x00b\u202e.txt", "a_b_.txt"),
    ("", "upload.txt"),
])
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


def test_accept_upload_saves_inside_the_data_home_and_removes_the_temp_file(
    tmp_path: Path,
) -> None:
    uploads = tmp_path / "home" / "uploads"
    tmp = tmp_path / "gradio-tmp"
    tmp.mkdir()
    ok = tmp / "article.txt"
    ok.write_text("Title\n\nSome text about the harbour.", encoding="utf-8")
    name, dest, _ = accept_upload(ok, uploads, max_mb=1)
    assert name == "article.txt" and dest is not None and dest.parent == uploads
    assert dest.name.endswith("-article.txt") and dest.is_file()
    assert not os.access(dest, os.X_OK) and not ok.exists()

    script = tmp / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    name, dest, message = accept_upload(script, uploads, max_mb=1)
    assert dest is None and "rejected" in message and ".txt" in message
    assert not script.exists() and not (uploads / "run.sh").exists()

    big = tmp / "big.txt"
    big.write_bytes(b"x" * (2 * 1024 * 1024))
    _, dest, message = accept_upload(big, uploads, max_mb=1)
    assert dest is None and "over the 1 MB limit" in message and not big.exists()
    saved = [p.name for p in uploads.iterdir()]
    assert len(saved) == 1 and saved[0].endswith("-article.txt")


def test_check_upload_accepts_every_ingest_format(tmp_path: Path) -> None:
    f = tmp_path / "x"
    f.write_text("text")
    for name in ("a.txt", "a.md", "a.html", "a.htm", "a.json", "a.jsonl", "a.jsonl.gz",
                 "A.TXT"):
        assert check_upload(f, name, 1) is None, name
    for name in ("a.pdf", "a.exe", "a.py", "a", "a.gz"):
        assert check_upload(f, name, 1) is not None, name


# -- the chat handlers, called directly ----------------------------------------------------
def _handler(demo, name: str):  # type: ignore[no-untyped-def]
    fns = [f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name]
    assert fns, f"no handler {name}"
    return fns[0]


def test_chat_turns_failures_into_messages(tmp_path: Path) -> None:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded at 0xdeadbeef")

    bot.ask = broken  # type: ignore[method-assign]
    respond = _handler(chat.build_app(bot), "respond")
    chat_, _, questions, box = list(respond(Q1, [], [], 8, ""))[-1]
    reply = chat_[-1]["content"]
    assert chat_[-2] == {"role": "user", "content": Q1} and box == "" and questions == []
    assert "still running" in reply and "0xdeadbeef" not in reply and "Traceback" not in reply
    bad_date = list(respond(Q1, [], [], 8, "31.12.2024"))[-1][0][-1]["content"]
    assert "YYYY-MM-DD" in bad_date and "Published up to" in bad_date


def test_an_ask_sent_before_a_new_chat_writes_nothing(fake_server: tuple[Assistant, str]
                                                       ) -> None:
    # The page sends the count of new chats it knew; the server's count moved on: the
    # ask's chat is the old conversation and must not come back into the emptied chat.
    bot, _ = fake_server
    app = chat.build_app(bot)
    respond, new_chat = _handler(app, "respond"), _handler(app, "new_chat")
    resets = chat.Resets()
    old = [{"role": "user", "content": Q1}, {"role": "assistant", "content": "…"}]
    assert new_chat(resets)[0] == [] and new_chat(resets)[-1] == 2 == resets.count
    assert list(respond(Q2, old, [Q1], 8, "", chat.QUOTES_ONLY, "", "", [], resets, 1)) == []
    steps = list(respond(Q1, [], [], 8, "", chat.QUOTES_ONLY, "", "", [], resets, 2))
    assert steps and "Badia desert" in steps[-1][0][-1]["content"]  # sent after: answered


def test_chat_streams_and_passes_history(fake_server: tuple[Assistant, str]) -> None:
    bot, _ = fake_server
    respond = _handler(chat.build_app(bot), "respond")
    steps = list(respond(Q1, [], [], 8, ""))  # one step per quoted sentence
    assert len(steps) == len(render.answer_parts(bot.ask(Q1)))
    assert "Badia desert" in steps[-1][0][-1]["content"]
    assert "Sources:" in steps[-1][0][-1]["content"]
    assert 'class="nq-card"' in steps[-1][1] and steps[-1][2] == [Q1]
    follow = list(respond(Q2, steps[-1][0], steps[-1][2], 8, ""))[-1]
    assert follow[2] == [Q1, Q2] and len(follow[0]) == 4


def test_upload_handler_indexes_and_reports(tmp_path: Path) -> None:
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    upload = _handler(chat.build_app(bot), "upload")
    cache = tmp_path / "home" / "tmp" / "abc123"
    cache.mkdir(parents=True)
    good, bad = cache / "harbour news.txt", cache / "tool.exe"
    good.write_text(ARTICLES["port.txt"], encoding="utf-8")
    bad.write_bytes(b"MZ")
    steps = list(upload([str(good), str(bad)]))
    # The worker indexes it: the chat shows the job's state, then what it did.
    assert "**harbour\\_news.txt**: queued for indexing" in steps[0][0] \
        or "**harbour\\_news.txt**: indexing" in steps[0][0] or len(steps) == 2
    message, status, cleared = steps[-1]
    assert "✗ **tool.exe** rejected" in message and ".txt" in message
    assert "✓ **harbour\\_news.txt**: 1 article(s) read, 1 added" in message
    assert "ask about the new articles now" in message
    assert status == "**1** article · **1** chunk indexed" and cleared is None
    assert not good.exists() and not bad.exists()
    assert bot.ask("When did the old harbour reopen?").citations[0].title == "Harbour reopens"
    jobs = list((tmp_path / "home" / "jobs").glob("*.json"))
    assert len(jobs) == 1 and json.loads(jobs[0].read_text())["state"] == "done"


def test_upload_shows_the_job_state_while_a_writer_holds_the_lock(tmp_path: Path) -> None:
    """A terminal ingest holds the writer lock: the upload is queued/waiting, not lost, and
    the chat keeps answering meanwhile."""
    bot = Assistant(make_settings(tmp_path / "home"), embedder=FakeEmbedder())
    seed = tmp_path / "syria.txt"
    seed.write_text(ARTICLES["syria.txt"], encoding="utf-8")
    assert bot.ingest([seed]).ok
    upload = _handler(chat.build_app(bot), "upload")
    cache = tmp_path / "home" / "tmp" / "def456"
    cache.mkdir(parents=True)
    good = cache / "port.txt"
    good.write_text(ARTICLES["port.txt"], encoding="utf-8")
    release = hold_writer_lock(bot.settings.home)
    steps = upload([str(good)])
    first = next(steps)[0]
    assert "**port.txt**: queued for indexing… Waiting: another ingest is running" in first
    assert not bot.ask(Q1).abstained  # asks go on while the upload waits
    release.set()
    last = list(steps)[-1][0]
    assert "✓ **port.txt**: 1 article(s) read, 1 added" in last
