"""Roles on a shared server (ui/auth.py, ui/userfile.py, ui/guard.py): readers ask and
read, editors also upload and remove; the read token asks and reads, the write token also
pushes; tokens and passwords are not interchangeable; health says only "ok" to strangers.
Against a real server on loopback (fake embedder), driven by raw HTTP and Gradio calls."""

from __future__ import annotations

import io
import json
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.errors import SettingsError
from assistant.service import Assistant
from tests.conftest import free_port, make_settings, run_cli
from tests.fakes import FakeEmbedder
from ui.auth import make_access
from ui.server import launch
from ui.userfile import hash_password, parse_users, password_matches, read_users
from ui.users import add_user

WRITE, READ = "write-t0ken-for-tests", "read-t0ken-for-tests"
PASSWORDS = {"alice": "alice-reads-news", "eddie": "eddie-edits-news"}
HARBOUR = {"id": "harbour", "title": "Harbour reopens", "date": "2025-03-01",
           "text": "The old harbour reopened to fishing boats after repairs to the northern "
                   "pier were finished ahead of the spring season."}
QUESTION = {"question": "When did the old harbour reopen?"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, Any, str]]:
    root = tmp_path_factory.mktemp("roles")
    users = root / "users"
    add_user(users, "alice", "reader", PASSWORDS["alice"], rounds=4)  # fast hashes for tests
    add_user(users, "eddie", "editor", PASSWORDS["eddie"], rounds=4)
    bot = Assistant(make_settings(root / "home"), embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True,
                  api_token=WRITE, read_token=READ, users_file=users)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, headers=bearer(WRITE), timeout=60) as client:
        assert wait(client, push(client, [HARBOUR]))["state"] == "done"
    yield bot, demo, url
    demo.close()
    demo.worker.stop()


@pytest.fixture(scope="module")
def server(served: tuple[Assistant, Any, str]) -> tuple[Assistant, str]:
    return served[0], served[2]


@pytest.fixture(scope="module")
def events(served: tuple[Assistant, Any, str]) -> dict[str, int]:
    """The chat's event ids by handler name: what the page sends as `fn_index`."""
    return {getattr(f.fn, "__name__", ""): i for i, f in served[1].fns.items()}


def push(client: httpx.Client, articles: list[dict[str, Any]]) -> str:
    r = client.post("/api/articles", json={"articles": articles})
    assert r.status_code == 202, r.text
    return str(r.json()["job_id"])


def wait(client: httpx.Client, job_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(f"/api/jobs/{job_id}", headers=bearer(WRITE)).json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.1)


def indexed(bot: Assistant, article_id: str) -> bool:
    return bot.article(article_id) is not None


@contextmanager
def chat_login(url: str, user: str, password: str) -> Iterator[httpx.Client]:
    """A browser's session: Gradio's login form, then its cookie on every request."""
    with httpx.Client(base_url=url, timeout=60) as client:
        r = client.post("/login", data={"username": user, "password": password})
        assert r.status_code == 200, r.text
        yield client


def gradio_event(client: httpx.Client, fn_index: int, data: list[Any]) -> list[Any]:
    """Run a chat event the way the page does (queue/join, then its event stream) and
    return its last output: a raw call, whatever the page shows or hides."""
    session = f"test-{time.monotonic_ns()}"
    r = client.post("/gradio_api/queue/join", json={
        "data": data, "fn_index": fn_index, "session_hash": session, "event_data": None})
    assert r.status_code == 200, r.text
    last: list[Any] = []
    with client.stream("GET", "/gradio_api/queue/data",
                       params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data:"):
                continue
            msg = json.loads(line[5:])
            output = msg.get("output") or {}
            if output.get("data") is not None:
                last = output["data"]
            if msg.get("msg") == "process_completed":
                assert msg.get("success"), msg
                return last
    raise AssertionError("the event stream ended without a result")


# -- the JSON API ----------------------------------------------------------------------------
def test_the_read_token_asks_and_reads_but_cannot_push(server: tuple[Assistant, str]) -> None:
    bot, url = server
    with httpx.Client(base_url=url, headers=bearer(READ), timeout=60) as api:
        answer = api.post("/api/ask", json=QUESTION)
        assert answer.status_code == 200
        assert answer.json()["citations"][0]["title"] == "Harbour reopens"
        assert api.get("/api/articles/harbour").json()["title"] == "Harbour reopens"
        assert api.get("/api/sources").status_code == 200
        before = len(api.get("/api/jobs").json())
        sneaky = {**HARBOUR, "id": "sneaky", "text": "Pushed with the read token."}
        refused = api.post("/api/articles", json={"articles": [sneaky]})
        assert refused.status_code == 403
        error = refused.json()["error"]
        assert "read" in error and "NEWSQA_SERVE__API_TOKEN" in error and READ not in error
        assert len(api.get("/api/jobs").json()) == before  # no job was queued
    assert not indexed(bot, "sneaky")


def test_the_write_token_pushes(server: tuple[Assistant, str]) -> None:
    bot, url = server
    with httpx.Client(base_url=url, headers=bearer(WRITE), timeout=60) as api:
        record = {**HARBOUR, "id": "pier", "text": "The northern pier was repaired."}
        assert wait(api, push(api, [record]))["state"] == "done"
    assert indexed(bot, "pier")


def test_a_chat_login_on_the_api_keeps_its_role(server: tuple[Assistant, str]) -> None:
    bot, url = server
    reader, editor = ("alice", PASSWORDS["alice"]), ("eddie", PASSWORDS["eddie"])
    body = {"articles": [{**HARBOUR, "id": "by-login", "text": "Sent with a login."}]}
    assert httpx.post(url + "/api/ask", json=QUESTION, auth=reader, timeout=60
                      ).status_code == 200
    refused = httpx.post(url + "/api/articles", json=body, auth=reader, timeout=60)
    assert refused.status_code == 403 and "editor" in refused.json()["error"]
    accepted = httpx.post(url + "/api/articles", json=body, auth=editor, timeout=60)
    assert accepted.status_code == 202
    with httpx.Client(base_url=url, timeout=60) as api:
        assert wait(api, accepted.json()["job_id"])["state"] == "done"
    assert indexed(bot, "by-login")


def test_tokens_and_passwords_are_not_interchangeable(server: tuple[Assistant, str]) -> None:
    from gradio_client import Client

    url = server[1]
    for user in ("eddie", "anyone"):  # a token is not a chat password ...
        for token in (WRITE, READ):
            r = httpx.post(url + "/login", data={"username": user, "password": token},
                           timeout=30)
            assert r.status_code == 400, (user, token)
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises several types
        Client(url + "/", auth=("eddie", WRITE), verbose=False)
    # ... not even on the API as Basic auth, and a password is not a bearer token.
    assert httpx.post(url + "/api/ask", json=QUESTION, auth=("eddie", WRITE),
                      timeout=30).status_code == 401
    r = httpx.post(url + "/api/ask", json=QUESTION, headers=bearer(PASSWORDS["eddie"]),
                   timeout=30)
    assert r.status_code == 401 and PASSWORDS["eddie"] not in r.text
    # The right password does open the chat: its /ask answers.
    client = Client(url + "/", auth=("alice", PASSWORDS["alice"]), verbose=False)
    answer = client.predict(question=QUESTION["question"], api_name="/ask")
    assert answer["citations"][0]["title"] == "Harbour reopens"


def test_health_without_credentials_says_only_ok(server: tuple[Assistant, str]) -> None:
    url = server[1]
    for headers in ({}, bearer("wrong"), bearer(PASSWORDS["eddie"])):
        r = httpx.get(url + "/api/health", headers=headers, timeout=30)
        assert r.status_code == 200 and r.json() == {"status": "ok", "ready": True}
    for headers in (bearer(READ), bearer(WRITE)):
        details = httpx.get(url + "/api/health", headers=headers, timeout=30).json()
        assert details["articles"] >= 1 and details["store"].endswith("chroma")
        assert set(details) >= {"status", "jobs", "follow", "embedding_model"}
    basic = httpx.get(url + "/api/health", auth=("alice", PASSWORDS["alice"]), timeout=30)
    assert basic.json()["articles"] >= 1


# -- the chat: Gradio's own routes, called raw --------------------------------------------
def test_a_reader_cannot_upload_or_remove_even_with_raw_gradio_calls(
        server: tuple[Assistant, str], events: dict[str, int]) -> None:
    bot, url = server
    story = b"Ferry timetable\n\nThe ferry to the islands now leaves every hour."
    with chat_login(url, "eddie", PASSWORDS["eddie"]) as editor:
        staged = editor.post("/gradio_api/upload", files={"files": ("ferry.txt", story)})
        assert staged.status_code == 200  # an editor's file, to be named by a reader
    with chat_login(url, "alice", PASSWORDS["alice"]) as reader:
        sent = reader.post("/gradio_api/upload", files={"files": ("news.txt", story)})
        assert sent.status_code == 403
        assert "reader" in sent.json()["error"] and "editor" in sent.json()["error"]
        # The page hides the controls; the handlers refuse anyway.
        removed = gradio_event(reader, events["remove"], ["harbour"])
        assert "alice** is a reader" in removed[0] and "remove articles" in removed[0]
        assert indexed(bot, "harbour")
        file = {"path": staged.json()[0], "orig_name": "ferry.txt",
                "meta": {"_type": "gradio.FileData"}}
        uploaded = gradio_event(reader, events["upload"], [[file]])
        assert "alice** is a reader" in uploaded[0] and "add articles" in uploaded[0]
        watched = gradio_event(reader, events["watch"],
                               [["When did the old harbour reopen?"], "", "", []])
        assert "alice** is a reader" in watched[0] and "watch questions" in watched[0]
        assert bot.watcher.watches() == []
        page = reader.get("/article/harbour")  # reading is a reader's right
        assert page.status_code == 200 and "Harbour reopens" in page.text
    time.sleep(0.5)  # a job, had one been queued, would have started by now
    assert not any("ferry" in json.dumps(j) for j in httpx.get(
        url + "/api/jobs", headers=bearer(WRITE), timeout=30).json())


def test_an_editor_uploads_and_removes_through_the_chat(
        server: tuple[Assistant, str], events: dict[str, int]) -> None:
    bot, url = server
    story = (b"date 2025-04-02\ntitle: Ferry timetable\n\nThe ferry to the islands now "
             b"leaves every hour from the old harbour.")
    with chat_login(url, "eddie", PASSWORDS["eddie"]) as editor:
        staged = editor.post("/gradio_api/upload", files={"files": ("ferry.txt", story)})
        assert staged.status_code == 200
        file = {"path": staged.json()[0], "orig_name": "ferry.txt",
                "meta": {"_type": "gradio.FileData"}}
        uploaded = gradio_event(editor, events["upload"], [[file]])
        assert "✓ **ferry.txt**: 1 article(s) read, 1 added" in uploaded[0]
        found = bot.ask("How often does the ferry to the islands leave?").citations
        assert found and found[0].title == "Ferry timetable"
        gone = found[0].article_id
        removed = gradio_event(editor, events["remove"], [gone])
        assert "✓ Removed article" in removed[0]
    assert not indexed(bot, gone)


def test_the_page_shows_editing_to_editors_only(server: tuple[Assistant, str],
                                                events: dict[str, int]) -> None:
    url = server[1]
    for user, shown in (("alice", False), ("eddie", True)):
        with chat_login(url, user, PASSWORDS[user]) as client:
            status, _, remove_box, upload_box, *watching = gradio_event(
                client, events["on_load"], [])
            assert "indexed" in status
            assert remove_box["visible"] is shown and upload_box["visible"] is shown, user
            # the Watch button and the Stop watching controls
            assert len(watching) == 3 and all(w["visible"] is shown for w in watching), user


# -- the users file ----------------------------------------------------------------------------
@pytest.mark.parametrize(("line", "says"), [
    ("alice:reader", "line 2: expected NAME:ROLE:BCRYPT-HASH"),
    ("alice:admin:" + hash_password("long enough", 4).decode(), "line 2: user 'alice' has "
     "the role 'admin', which is not reader or editor"),
    ("alice:reader:hunter2-plain", "line 2: the password of user 'alice' is not a bcrypt "
     "hash, and plain-text passwords are not accepted"),
    ("al ice:reader:" + hash_password("long enough", 4).decode(), "line 2: the user name"),
])
def test_a_bad_users_file_line_is_named(tmp_path: Path, line: str, says: str) -> None:
    path = tmp_path / "users"
    path.write_text(f"# comment\n{line}\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        make_access(None, None, users_file=path)
    message = str(err.value)
    assert f"users file {path}, {says}" in message
    assert "hunter2" not in message  # the line is never echoed: it may hold a password
    if "plain-text" in says or "expected" in says:
        assert "newsqa users add" in message and f"--file {path}" in message


def test_a_user_twice_and_a_missing_file_are_named(tmp_path: Path) -> None:
    hashed = hash_password("long enough", 4).decode()
    with pytest.raises(SettingsError, match="line 3: user 'bob' is listed twice .first on line 1"):
        parse_users(f"bob:reader:{hashed}\n\nbob:editor:{hashed}\n", tmp_path / "u")
    with pytest.raises(SettingsError, match="does not exist; create it with `newsqa users add"):
        make_access(None, None, users_file=tmp_path / "missing")


def test_serve_with_a_bad_users_file_exits_2_naming_the_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_settings(tmp_path)  # clears the developer's own NEWSQA_* variables
    bad = tmp_path / "users"
    bad.write_text("eddie:editor:plain-password\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "--home", str(tmp_path / "home"), "serve", "--users-file",
                           str(bad), "--port", str(free_port()))
    assert code == 2
    assert f"users file {bad}, line 1: the password of user 'eddie'" in err
    assert "plain-password" not in err


def test_users_add_stores_only_a_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "users"
    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    code, out, _ = run_cli(capsys, "users", "add", "alice", "--role", "reader",
                           "--file", str(path))
    assert code == 0 and f"added alice (reader) in {path}" in out
    text = path.read_text(encoding="utf-8")
    assert "correct horse" not in text and stat.S_IMODE(path.stat().st_mode) == 0o600
    user = read_users(path)["alice"]
    assert user.role == "reader" and password_matches("correct horse battery", user.hashed)
    assert "hashed" not in repr(user) and user.hashed.decode() not in repr(user)
    monkeypatch.setattr("sys.stdin", io.StringIO("another password\n"))
    code, out, _ = run_cli(capsys, "users", "add", "alice", "--role", "editor",
                           "--file", str(path))
    assert code == 0 and "updated alice (editor)" in out
    assert read_users(path)["alice"].role == "editor"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    code, _, err = run_cli(capsys, "users", "add", "bob", "--role", "reader",
                           "--file", str(path))
    assert code == 2 and "shorter than 8 characters" in err
    code, _, err = run_cli(capsys, "users", "add", "bob", "--file", str(path))
    assert code == 2 and "--role reader" in err
    assert run_cli(capsys, "users", "remove", "alice", "--file", str(path))[0] == 0
    assert read_users(path) == {}
