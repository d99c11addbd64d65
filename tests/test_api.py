"""The JSON API at /api on the chat server (ui/api.py), its auth (ui/auth.py) and the
start-up output, against servers started in-process with the fake embedder."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from ui.jobs import Job, JobStore
from ui.server import launch, startup_lines

TOKEN = "t0ken-for-tests"
RIGHT = {"Authorization": f"Bearer {TOKEN}"}
WRONG = {"Authorization": "Bearer not-the-token"}
HARBOUR = {"id": "harbour", "title": "Harbour reopens", "date": "2025-03-01",
           "text": "The old harbour reopened to fishing boats after repairs to the northern "
                   "pier were finished ahead of the spring season."}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(home: Path, **serve: Any) -> tuple[Assistant, Any, str]:
    bot = Assistant(make_settings(home, serve={"max_body_mb": 1, "max_question_chars": 200,
                                               **serve}), embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True)
    return bot, demo, f"http://127.0.0.1:{port}"


def stop(demo: Any) -> None:
    demo.close()
    demo.worker.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, str]]:
    bot, demo, url = start(tmp_path_factory.mktemp("api") / "home", api_token=TOKEN)
    with httpx.Client(base_url=url, headers=RIGHT, timeout=60) as client:
        accepted = client.post("/api/articles", json={"articles": [HARBOUR]}).json()
        assert wait(client, accepted["job_id"])["state"] == "done"
    yield bot, url
    stop(demo)


@pytest.fixture(scope="module")
def api(server: tuple[Assistant, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server[1], headers=RIGHT, timeout=60) as client:
        yield client


def wait(client: httpx.Client, job_id: str, seconds: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while True:
        job = client.get(f"/api/jobs/{job_id}").json()
        if job["state"] in ("done", "failed") or time.monotonic() > deadline:
            return dict(job)
        time.sleep(0.1)


def ask_json(text: str) -> dict[str, Any]:
    return {"question": text}


# -- auth -------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/api/ask", {"question": "When did the harbour reopen?"}),
    ("POST", "/api/articles", {"articles": [{"text": "Sneaked in without a token."}]}),
    ("GET", "/api/jobs/0123456789abcdef0123456789abcdef", None),
    ("GET", "/api/jobs", None),
    ("GET", "/api/articles/harbour", None),
    ("GET", "/api/sources", None),
])
def test_every_route_but_health_needs_the_token(server: tuple[Assistant, str], method: str,
                                                path: str, body: Any) -> None:
    bot, url = server
    for headers in ({}, WRONG, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}):
        r = httpx.request(method, url + path, json=body, headers=headers, timeout=30)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in r.json()["error"] and TOKEN not in r.text
    right = httpx.request(method, url + path, json=body, headers=RIGHT, timeout=30)
    assert right.status_code in (200, 202, 404) and right.status_code != 401
    assert "Sneaked" not in json.dumps(bot.info())


def test_health_without_the_token_says_only_ok(server: tuple[Assistant, str]) -> None:
    for headers in ({}, WRONG):
        r = httpx.get(server[1] + "/api/health", headers=headers, timeout=30)
        # nothing about the store, feeds or jobs
        assert r.status_code == 200 and r.json() == {"status": "ok", "ready": True}
    r = httpx.get(server[1] + "/api/health", headers=RIGHT, timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["articles"] >= 1 and body["chunks"] >= 1
    assert body["embedding_model"] == "fake-hash@test" and body["store"].endswith("chroma")
    assert body["jobs"] == {"queued": 0, "running": 0}


def test_the_chat_and_its_ask_endpoint_refuse_the_token_as_password(
        server: tuple[Assistant, str]) -> None:
    from gradio_client import Client

    url = server[1]
    call = httpx.post(f"{url}/gradio_api/call/ask", json={"data": ["Who?"]}, timeout=30)
    assert call.status_code == 401
    assert httpx.get(f"{url}/config", timeout=30).status_code == 401
    # the chat's events (questions, uploads) go through these; all need the login
    join = httpx.post(f"{url}/gradio_api/queue/join", json={"data": [], "fn_index": 0,
                                                            "session_hash": "x"}, timeout=30)
    assert join.status_code == 401
    sent = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"Hi there.")},
                      timeout=30)
    assert sent.status_code == 401
    for password in ("not-the-token", TOKEN):  # a token is not a password
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises several types
            Client(url + "/", auth=("anyone", password), verbose=False)
    login = httpx.post(f"{url}/login", data={"username": "anyone", "password": TOKEN},
                       timeout=30)
    assert login.status_code == 400
    why = httpx.get(f"{url}/gradio_api/login_check", timeout=30)  # the login page's message
    assert why.status_code == 401 and "no chat logins" in why.json()["detail"]["auth_message"]


def test_a_chat_login_asks_through_the_ask_endpoint(tmp_path: Path) -> None:
    from gradio_client import Client

    bot, demo, url = start(tmp_path / "home", auth="reader:s3cret-pw", api_token=TOKEN)
    try:
        client = Client(url + "/", auth=("reader", "s3cret-pw"), verbose=False)
        long = client.predict(question="why " * 60, api_name="/ask")
        assert set(long) == {"error"} and "NEWSQA_SERVE__MAX_QUESTION_CHARS" in long["error"]
    finally:
        stop(demo)


# -- ask --------------------------------------------------------------------------------
def test_ask_returns_the_object_of_newsqa_ask_json(server: tuple[Assistant, str],
                                                   api: httpx.Client) -> None:
    bot, _ = server
    q = "When did the old harbour reopen?"
    r = api.post("/api/ask", json={"question": q, "k": 2, "as_of": "2025-12-31"})
    assert r.status_code == 200
    expected = bot.ask(q, k=2, as_of=__import__("datetime").date(2025, 12, 31)).to_json()
    assert r.json() == expected
    assert r.json()["citations"][0]["title"] == "Harbour reopens"


def test_a_batch_answers_in_order_and_one_bad_item_gets_an_error(api: httpx.Client) -> None:
    r = api.post("/api/ask", json={"questions": [
        ask_json("When did the old harbour reopen?"), {"question": "   "},
        {"question": "Why?", "k": 0}, "not an object", ask_json("What reopened?")]})
    assert r.status_code == 200
    answers = r.json()["answers"]
    assert len(answers) == 5
    assert answers[0]["citations"] and answers[4]["citations"]
    assert set(answers[1]) == {"error"} and "empty" in answers[1]["error"]
    assert "item 2" in answers[2]["error"] and "'k'" in answers[2]["error"]
    assert "item 3" in answers[3]["error"]


def test_ask_bad_input_is_a_json_error_naming_the_problem(api: httpx.Client) -> None:
    long = api.post("/api/ask", json=ask_json("why " * 60))
    assert long.status_code == 422
    assert "NEWSQA_SERVE__MAX_QUESTION_CHARS" in long.json()["error"]
    assert "200" in long.json()["error"]
    typo = api.post("/api/ask", json={"questoin": "Who?"})
    assert typo.status_code == 422 and "'questoin'" in typo.json()["error"]
    date = api.post("/api/ask", json={"question": "Who?", "as_of": "31/12/2024"})
    assert date.status_code == 422 and "as_of" in date.json()["error"]
    llm = api.post("/api/ask", json={"question": "Who?", "llm": True})
    assert llm.status_code == 422 and "NEWSQA_ANSWER__LLM__URL" in llm.json()["error"]


def test_malformed_json_and_wrong_content_type(api: httpx.Client) -> None:
    for path in ("/api/ask", "/api/articles"):
        bad = api.post(path, content=b'{"question": "Who?"', headers={
            "Content-Type": "application/json"})
        assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]
        form = api.post(path, data={"question": "Who?"})
        assert form.status_code == 415
        assert "application/json" in form.json()["error"]
        assert "application/x-www-form-urlencoded" in form.json()["error"]


def test_unknown_routes_and_crashes_are_json_not_html(server: tuple[Assistant, str],
                                                      api: httpx.Client,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    missing = api.get("/api/nothing-here")
    assert missing.status_code == 404 and "/api/docs" in missing.json()["error"]
    method = api.delete("/api/health")
    assert method.status_code == 405 and "DELETE" in method.json()["error"]
    bot, _ = server

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database exploded at 0xdeadbeef")

    monkeypatch.setattr(bot, "ask", broken)
    crash = api.post("/api/ask", json=ask_json("Who?"))
    assert crash.status_code == 500 and crash.headers["content-type"] == "application/json"
    assert "server log" in crash.json()["error"] and "0xdeadbeef" not in crash.text
    assert "Traceback" not in crash.text


def test_docs_are_served_at_api_docs(server: tuple[Assistant, str]) -> None:
    url = server[1]
    docs = httpx.get(url + "/api/docs", timeout=30)
    assert docs.status_code == 200 and "/api/openapi.json" in docs.text
    spec = httpx.get(url + "/api/openapi.json", timeout=30).json()
    assert set(spec["paths"]) == {"/ask", "/articles", "/articles/{article_id}", "/sources",
                                  "/jobs", "/jobs/{job_id}", "/health", "/watches",
                                  "/watches/{watch_id}", "/watches/changes",
                                  "/watches/changes.atom", "/watches/{watch_id}/changes",
                                  "/watches/{watch_id}/changes.atom"}
    assert spec["servers"] == [{"url": "/api"}]
    assert {"AskRequest", "ArticlesBody", "JobView"} <= set(spec["components"]["schemas"])


# -- articles and jobs -------------------------------------------------------------------
def test_a_record_without_text_is_named_and_the_good_ones_are_indexed(
        server: tuple[Assistant, str], api: httpx.Client) -> None:
    bot, _ = server
    articles = [
        {"id": "ferry", "title": "Ferry strike ends", "date": "2025-04-02",
         "text": "The ferry crews ended their strike after the council raised wages."},
        {"id": "no-text", "title": "Only a title"},
        {"id": "bad-date", "text": "Some text.", "date": "April 2025"},
        {"id": 7, "title": "Bridge opens", "text": "The new bridge over the river opened."},
    ]
    r = api.post("/api/articles", json={"articles": articles})
    assert r.status_code == 202
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, "text"), (2, "date")]
    assert "record 1" in body["rejected"][0]["error"]
    job = wait(api, body["job_id"])
    assert job["state"] == "done" and job["articles_done"] == job["articles_total"] == 2
    assert job["added"] == 2 and job["chunks_embedded"] >= 2 and job["started"]
    assert any("record 1" in e for e in job["errors"])  # the refusals stay with the job
    found = api.post("/api/ask", json=ask_json("Why did the ferry crews end their strike?"))
    assert found.json()["citations"][0]["title"] == "Ferry strike ends"
    assert {"ferry", "7"} <= set(bot.store.records()) and "no-text" not in bot.store.records()


def test_ndjson_is_accepted_and_a_bad_line_is_named(api: httpx.Client) -> None:
    lines = (json.dumps({"id": "mill", "text": "The old mill was turned into a library."})
             + "\n{not json\n\n")
    r = api.post("/api/articles", content=lines.encode(),
                 headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 202 and r.json()["accepted"] == 1
    assert "line 2" in r.json()["rejected"][0]["error"]
    assert wait(api, r.json()["job_id"])["state"] == "done"


def test_empty_too_many_and_too_big_bodies_are_refused(server: tuple[Assistant, str],
                                                       api: httpx.Client) -> None:
    bot, _ = server
    before = bot.info()["articles"]
    empty = api.post("/api/articles", json={"articles": []})
    assert empty.status_code == 422 and "no articles" in empty.json()["error"]
    many = api.post("/api/articles", json={"articles": [{"text": "a"}] * 10_001})
    assert many.status_code == 413
    assert "10,000" in many.json()["error"] and "NEWSQA_SERVE__MAX_ARTICLES" in many.json()["error"]
    big = api.post("/api/articles", json={"articles": [{"text": "word " * 300_000}]})
    assert big.status_code == 413 and "NEWSQA_SERVE__MAX_BODY_MB" in big.json()["error"]
    none_good = api.post("/api/articles", json={"articles": [{"title": "x"}, {"text": " "}]})
    assert none_good.status_code == 422 and len(none_good.json()["rejected"]) == 2
    assert bot.info()["articles"] == before  # nothing half-accepted


def test_unknown_job_id_is_404_json(api: httpx.Client) -> None:
    for job_id in ("0123456789abcdef0123456789abcdef", "..%2F..%2Fwriter.lock", "x"):
        r = api.get(f"/api/jobs/{job_id}")
        assert r.status_code == 404 and r.json()["error"]
        assert "job_id" in r.json()["error"] or "no such route" in r.json()["error"]


def test_two_pushes_at_once_are_both_indexed_without_duplicates(
        server: tuple[Assistant, str], api: httpx.Client) -> None:
    bot, _ = server
    shared = [{"id": f"same-{i}", "text": f"Shared story {i} about the town fair."}
              for i in range(10)]
    pushes = [shared + [{"id": f"{who}-{i}", "text": f"{who} story {i} about the fair."}
                        for i in range(10)] for who in ("left", "right")]
    answers: list[dict[str, Any]] = []

    def send(articles: list[dict[str, str]]) -> None:
        answers.append(api.post("/api/articles", json={"articles": articles}).json())

    threads = [threading.Thread(target=send, args=(p,)) for p in pushes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    jobs = [wait(api, a["job_id"]) for a in answers]
    assert [j["state"] for j in jobs] == ["done", "done"]
    assert sorted(j["added"] for j in jobs) == [10, 20]
    ids = [i for i in bot.store.records() if i.startswith(("same-", "left-", "right-"))]
    assert len(ids) == len(set(ids)) == 30


# -- restart and start-up ----------------------------------------------------------------
def test_a_job_left_running_is_finished_after_a_restart(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    home = tmp_path / "home"
    store = JobStore(home)
    job_id = store.new_id()
    path = store.write_records(job_id, [HARBOUR])
    store.save(Job(job_id, "running", "api", "1 article(s)", (str(path),), articles_total=1,
                   started="2026-01-01T00:00:00Z", owner="999999999:0"))
    bot = Assistant(make_settings(home), embedder=FakeEmbedder())
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False)
    try:
        out = capsys.readouterr().out
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            job = wait(client, job_id)
            health = client.get("/api/health").json()
    finally:
        stop(demo)
    assert job["state"] == "done" and job["resumed"] == 1 and job["added"] == 1
    assert health["articles"] == 1
    lines = out.strip().splitlines()
    assert lines[0].startswith(f"newsqa: chat at http://127.0.0.1:{port}/")
    assert "/api/docs" in lines[0]
    assert lines[1].startswith(("newsqa: index: empty: upload articles",  # job not run yet
                                "newsqa: index: 1 article(s), 1 chunk(s)"))
    assert lines[2] == "newsqa: auth: off (no login, no API token)"
    assert "1 interrupted ingest job(s) resumed" in lines[3]
    assert "share" not in out and "Running on" not in out and len(lines) == 4


def test_startup_lines_say_size_and_auth(fake_bot: Assistant) -> None:
    from ui.auth import make_access

    lines = startup_lines(fake_bot, "http://127.0.0.1:7860/",
                               make_access("reader:pw", "tok"), [])
    assert lines[0] == ("newsqa: chat at http://127.0.0.1:7860/  (JSON API: "
                        "http://127.0.0.1:7860/api, docs http://127.0.0.1:7860/api/docs)")
    assert "empty" in lines[1] and "newsqa ingest" in lines[1]
    assert lines[2] == "newsqa: auth: chat login on; API token required"
    assert "tok" not in "".join(lines).replace("token", "")


def test_with_only_a_chat_login_the_api_takes_that_login(tmp_path: Path) -> None:
    bot, demo, url = start(tmp_path / "home", auth="reader:s3cret")
    try:
        body = {"articles": [HARBOUR]}
        for auth in (None, ("reader", "wrong"), ("other", "s3cret")):
            r = httpx.post(url + "/api/articles", json=body, auth=auth, timeout=30)
            assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
            assert "curl -u" in r.json()["error"]
        assert httpx.post(url + "/api/ask", json=ask_json("Who?"), headers=RIGHT,
                          timeout=30).status_code == 401  # no token is set: none works
        ok = httpx.post(url + "/api/articles", json=body, auth=("reader", "s3cret"), timeout=30)
        assert ok.status_code == 202
        assert httpx.get(url + "/api/health", timeout=30).status_code == 200
    finally:
        stop(demo)


def test_access_checks() -> None:
    from ui.auth import make_access

    both = make_access("reader:pw", "tok")
    assert both.api_ok("Bearer tok") and both.api_ok("bearer  tok ")
    assert both.api_ok("Basic " + __import__("base64").b64encode(b"reader:pw").decode())
    assert not both.api_ok("Bearer tok2") and not both.api_ok(None)
    assert not both.api_ok("Basic !!!") and not both.api_ok("tok")
    assert both.login_ok("reader", "pw") and not both.login_ok("anyone", "tok")
    assert not both.login_ok("reader", "tok") and not both.login_ok("other", "pw")
    assert not both.api_ok("Bearer pw")  # a password is not a token
    assert repr(both) == "Access(login=set, token=set, read_token=None, users=None)"
    nothing = make_access(None, "  ")
    assert not nothing.on and nothing.api_ok(None) and nothing.gradio_auth() is None


@pytest.mark.parametrize("variable, value", [
    ("NEWSQA_SERVE__ASK_THREADS", "-1"),
    ("NEWSQA_SERVE__ASK_THREADS", "many"),
    ("NEWSQA_SERVE__MAX_ARTICLES", "0"),
    ("NEWSQA_SERVE__MAX_BODY_MB", "-5"),
    ("NEWSQA_EMBEDDING__ASK_CACHE", "-1"),
    ("NEWSQA_ANSWER__EMBEDDED_SENTENCES", "0"),
])
def test_a_bad_serving_setting_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        variable: str, value: str) -> None:
    from assistant.errors import SettingsError
    from assistant.settings import load_settings

    make_settings(tmp_path)  # clears the developer's own NEWSQA_* variables
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings(home=tmp_path / "home")


def test_an_article_id_with_slashes_opens(server: tuple[Assistant, str],
                                          api: httpx.Client) -> None:
    record = {**HARBOUR, "id": "world/2025/harbour"}
    accepted = api.post("/api/articles", json={"articles": [record]}).json()
    assert wait(api, accepted["job_id"])["state"] == "done"
    got = api.get("/api/articles/world%2F2025%2Fharbour")
    assert got.status_code == 200 and got.json()["id"] == "world/2025/harbour"
    page = api.get("/article/world%2F2025%2Fharbour?span=0:9")
    assert page.status_code == 200 and '<mark id="quote">The old h</mark>' in page.text
