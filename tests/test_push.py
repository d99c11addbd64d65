"""`newsqa push` (ui/push.py) against a running test server with an API token."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.service import Assistant
from tests.test_api import TOKEN, free_port, start, stop
from ui import cli

SYRIA = ("date 2024-12-10\ntitle: IS cells in Syria\n\nDespite all this several IS cells "
         "and camps stayed intact, especially in the Badia desert, along Syria's border.")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Assistant, str]]:
    bot, demo, url = start(tmp_path_factory.mktemp("push") / "home", api_token=TOKEN,
                           max_body_mb=0.05)
    yield bot, url
    stop(demo)


@pytest.fixture
def files(tmp_path: Path) -> Path:
    folder = tmp_path / "feed"
    folder.mkdir()
    (folder / "syria.txt").write_text(SYRIA, encoding="utf-8")
    records = [{"id": f"fair-{i}", "title": f"Fair day {i}",
                "text": f"On day {i} the town fair drew farmers from the valley."}
               for i in range(5)]
    (folder / "fair.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records),
                                       encoding="utf-8")
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(["push", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_push_sends_files_in_batches_and_waits_for_the_jobs(
        server: tuple[Assistant, str], files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot, url = server
    code, out, err = run(capsys, str(files), "--url", url, "--token", TOKEN, "--batch", "2")
    assert code == 0, err
    assert out.strip() == ("6 article(s) read, 6 accepted in 3 job(s): 6 added, 0 updated, "
                           "0 unchanged; 6 chunk(s) embedded")
    assert "pushing" in err  # the progress bar
    assert {"fair-0", "fair-4"} <= set(bot.store.records())
    assert bot.ask("Where are IS cells?").citations[0].title == "IS cells in Syria"
    again, out, _ = run(capsys, str(files / "fair.jsonl"), "--url", url + "/api/",
                        "--token", TOKEN, "--quiet")
    assert again == 0 and "5 unchanged" in out  # pushing twice adds nothing twice


def test_a_bad_record_is_named_and_the_rest_indexed(
        server: tuple[Assistant, str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, url = server
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"id": "mill", "text": "The mill became a library."}) + "\n"
                    + json.dumps({"id": "empty", "title": "No text"}) + "\n{oops\n",
                    encoding="utf-8")
    monkeypatch.setenv("NEWSQA_SERVE__API_TOKEN", TOKEN)
    code, out, err = run(capsys, str(feed), "--url", url, "--quiet")
    assert code == 1
    assert "1 article(s) read, 1 accepted in 1 job(s): 1 added" in out
    assert "feed.jsonl:2" in err and "no 'text'" in err and "feed.jsonl:3" in err
    assert "mill" in bot.store.records() and "empty" not in bot.store.records()


def test_a_batch_over_the_body_limit_is_split(server: tuple[Assistant, str], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bot, url = server
    feed = tmp_path / "long.jsonl"
    long_text = "The long report on the river dams. " * 600  # ~21 KB each; limit 50 KB
    feed.write_text("".join(json.dumps({"id": f"long-{i}", "text": long_text + str(i)}) + "\n"
                            for i in range(4)), encoding="utf-8")
    code, out, err = run(capsys, str(feed), "--url", url, "--token", TOKEN, "--quiet")
    assert code == 0, err
    assert "4 accepted" in out and "4 added" in out
    assert {f"long-{i}" for i in range(4)} <= set(bot.store.records())


@pytest.mark.parametrize(("token", "says"), [
    (None, "pass --token TOKEN or set NEWSQA_SERVE__API_TOKEN"),
    ("wrong", "refused the API token"),
])
def test_a_missing_or_wrong_token_says_what_to_pass(
        server: tuple[Assistant, str], files: Path, capsys: pytest.CaptureFixture[str],
        token: str | None, says: str) -> None:
    args: list[Any] = [str(files), "--url", server[1], "--quiet"]
    if token:
        args += ["--token", token]
    code, out, err = run(capsys, *args)
    assert code == 2 and says in err and out == ""


def test_an_unreachable_server_is_named(files: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, str(files), "--url", url, "--quiet")
    assert code == 2
    assert f"cannot reach the server at {url}/api" in err and "newsqa serve" in err
