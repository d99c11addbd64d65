"""Nothing lost when resources run out or input is hostile: a compressed bomb, a full
disk, links that leave the folder, valid JSON holding U+2028, JSON nested 10,000 deep, a
truncated .gz, a question in another language. Each test asserts what a user would see:
the good articles are indexed and answerable, each bad case is named, no traceback."""

from __future__ import annotations

import gzip
import json
import os
import resource
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.errors import DiskFull
from tests.faults.harness import bot, run_cli, write_corpus

GOOD = {"id": "good-1", "title": "Lighthouse keeper retires",
        "text": "The lighthouse keeper of Vardholm retired after forty years on the island."}


def _ids(home: Path) -> set[str]:
    b = bot(home)
    b.open()
    return set(b.store.records())


def _peak_child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


# -- 1. a compressed bomb ---------------------------------------------------------------
def test_a_gzip_bomb_line_is_skipped_while_it_streams_and_the_good_record_is_kept(
    tmp_path: Path,
) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=1) as f:
        f.write((json.dumps(GOOD) + "\n").encode())
        f.write(b'{"id": "huge", "text": "')
        block = b"a" * (1 << 20)
        for _ in range(300):  # a 300 MB line in a ~1 MB file
            f.write(block)
        f.write(b'"}\n')
        f.write((json.dumps({**GOOD, "id": "good-2", "title": "After the bomb"}) + "\n")
                .encode())
    assert bomb.stat().st_size < 2 * 1024 * 1024
    t0 = time.monotonic()
    code, _, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(bomb),
                           NEWSQA_INGEST__MAX_ARTICLE_MB="5")
    assert code == 1, err
    assert "article too large" in err and "NEWSQA_INGEST__MAX_ARTICLE_MB" in err
    assert "bomb.jsonl.gz:2" in err and "Traceback" not in err
    assert time.monotonic() - t0 < 60
    assert _peak_child_rss_mb() < 1500  # never held the 300 MB line
    assert _ids(tmp_path / "home") == {"good-1", "good-2"}


def test_an_upload_over_its_decompressed_limit_is_refused_by_name(tmp_path: Path) -> None:
    from ui.upload import accept_upload

    src = tmp_path / "news.jsonl.gz"
    with gzip.open(src, "wb", compresslevel=1) as f:
        for _ in range(12):
            f.write(b"x" * (1 << 20))
    uploads = tmp_path / "uploads"
    name, dest, message = accept_upload(src, uploads, max_mb=20, max_unpacked_mb=10)
    assert dest is None and "NEWSQA_SERVE__MAX_UPLOAD_UNPACKED_MB" in message
    assert "once decompressed" in message and not list(uploads.glob("*"))


# -- 3. links that leave the folder ------------------------------------------------------
def test_a_link_out_of_the_folder_is_named_and_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "private" / "passwd.txt"
    outside.parent.mkdir()
    outside.write_text("root daemon bin: the accounts of this machine, never to be indexed.")
    drop = tmp_path / "drop"
    drop.mkdir()
    write_corpus(drop / "news.jsonl", "alpha", 2)
    (drop / "passwd.txt").symlink_to(outside)
    (drop / "elsewhere").symlink_to(outside.parent, target_is_directory=True)
    home = tmp_path / "home"
    code, _, err = run_cli(home, "ingest", "--quiet", str(drop))
    assert code == 1
    assert "passwd.txt: a link to" in err and "--follow-symlinks" in err
    assert "elsewhere: a link to" in err
    texts = _texts(home)
    assert len(texts) == 2 and not any("root daemon" in t for t in texts)

    code, _, err = run_cli(home, "ingest", "--quiet", "--follow-symlinks", str(drop))
    assert code == 0, err
    assert any("root daemon" in t for t in _texts(home))


def _texts(home: Path) -> list[str]:
    b = bot(home)
    b.open()
    return [a.text for a in b.store.articles(list(b.store.records())).values()]


def test_a_link_given_on_the_command_line_is_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.txt"
    target.write_text("Harbour news\n\nThe harbour of Kessel reopened after the storm.")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    code, _, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(link))
    assert code == 0, err
    assert bot(tmp_path / "home").info()["articles"] == 1


# -- 4. valid JSON split in two ----------------------------------------------------------
SEPARATORS = "\u2028\u2029\x85\x0b\x0c"


def test_line_separators_inside_json_strings_keep_the_record_whole(tmp_path: Path) -> None:
    text = ("The ferry to Lundholm resumed service.\u2028Its captain thanked the crew."
            "\u2029Tickets\x85cost\x0bten\x0ccrowns.")
    path = tmp_path / "news.jsonl"
    line = json.dumps({"id": "ferry", "title": "Ferry resumes", "text": text},
                      ensure_ascii=False)
    # json.dumps escapes \x0b and \x0c; producers that write them raw are read too.
    line = line.replace("\\u000b", "\x0b").replace("\\f", "\x0c")
    path.write_text(line + "\n", encoding="utf-8")
    assert all(ch in path.read_text(encoding="utf-8") for ch in SEPARATORS)  # raw, unescaped
    home = tmp_path / "home"
    code, _, err = run_cli(home, "ingest", "--quiet", str(path))
    assert code == 0 and "invalid JSON" not in err, err
    b = bot(home)
    b.open()
    assert b.store.articles(["ferry"])["ferry"].text == text
    answer = b.ask("Who did the captain of the Lundholm ferry thank?")
    assert not answer.abstained and answer.citations[0].article_id == "ferry"


def test_line_separators_inside_ndjson_bodies_are_kept() -> None:
    from ui.api_model import article_items

    text = "Market day\u2028moved to Friday\x85this\x0bweek."
    body = (json.dumps({"id": "market", "text": text}, ensure_ascii=False)
            .replace("\\u000b", "\x0b") + "\n"
            + json.dumps({"id": "second", "text": "Another record."}) + "\n").encode()
    items = article_items(body, ndjson=True)
    assert [i["id"] for i in items] == ["market", "second"] and items[0]["text"] == text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from tests.test_api import start, stop

    _, demo, url = start(tmp_path_factory.mktemp("deep") / "home")
    yield url
    stop(demo)


def test_line_separators_survive_a_push_to_the_api(server: str) -> None:
    text = "The ferry to Lundholm resumed service.\u2028Its captain thanked the crew."
    body = json.dumps({"id": "ferry-api", "title": "Ferry resumes", "text": text},
                      ensure_ascii=False) + "\n"
    r = httpx.post(server + "/api/articles", content=body.encode(),
                   headers={"Content-Type": "application/x-ndjson"}, timeout=30)
    assert r.status_code == 202 and r.json()["accepted"] == 1, r.text
    deadline = time.monotonic() + 60
    while (job := httpx.get(f"{server}/api/jobs/{r.json()['job_id']}").json())["state"] \
            not in ("done", "failed") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job["state"] == "done" and job["added"] == 1, job
    answer = httpx.post(server + "/api/ask", timeout=30,
                        json={"question": "Who did the captain of the Lundholm ferry thank?"})
    quotes = [c["quote"] for c in answer.json()["citations"]]
    assert any("\u2028" in q or "captain thanked" in q for q in quotes), quotes


# -- 5. JSON nested 10,000 deep ----------------------------------------------------------
DEEP = "[" * 10_000 + "]" * 10_000


@pytest.mark.parametrize(("path", "body", "kind"), [
    ("/api/ask", DEEP, "application/json"),
    ("/api/ask", '{"question": ' + DEEP + "}", "application/json"),
    ("/api/articles", '{"articles": ' + DEEP + "}", "application/json"),
    ("/api/articles", '{"text": ' + DEEP + "}\n", "application/x-ndjson"),
])
def test_json_nested_10000_deep_is_a_400_with_a_message(server: str, path: str, body: str,
                                                        kind: str) -> None:
    r = httpx.post(server + path, content=body.encode(), headers={"Content-Type": kind},
                   timeout=30)
    assert r.status_code in (400, 422), r.text
    assert "nested more than" in r.json()["error"]


def test_a_deeply_nested_record_in_a_file_is_named_and_the_rest_indexed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "news.jsonl"
    path.write_text('{"text": ' + DEEP + "}\n" + json.dumps(GOOD) + "\n")
    code, _, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(path))
    assert code == 1 and "news.jsonl:1" in err and "nested more than" in err
    assert "Traceback" not in err and bot(tmp_path / "home").info()["articles"] == 1


# -- 6. a truncated .gz ------------------------------------------------------------------
def test_a_truncated_gzip_keeps_the_records_before_the_break(tmp_path: Path) -> None:
    records = write_corpus(tmp_path / "all.jsonl", "trunc", 40, words=200)
    whole = gzip.compress((tmp_path / "all.jsonl").read_bytes())
    cut = tmp_path / "news.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 3 // 4])
    home = tmp_path / "home"
    code, _, err = run_cli(home, "ingest", "--quiet", str(cut))
    assert code == 1 and "the file breaks after line" in err and "complete record" in err
    indexed = _ids(home)
    reported = int(err.split("the ")[-1].split(" complete record")[0])
    assert len(indexed) == reported >= 20
    assert indexed == {r["id"] for r in records[: len(indexed)]}  # the first ones, whole


# -- 7. a question in another language ---------------------------------------------------
@pytest.mark.integration
def test_a_german_question_is_told_only_english_is_understood(seed_bot: Any,
                                                              real_embedder: Any) -> None:
    from assistant.service import Assistant

    # Its own assistant on the seed index: the shared one's vector cache stays as it was.
    own = Assistant(seed_bot.settings, embedder=real_embedder)
    answer = own.ask("Wo sind die verbleibenden IS-Zellen?")
    assert answer.abstained and "English" in answer.text
    english = own.ask("Where are remaining IS cells?")
    assert not english.abstained and "English" not in english.text


# -- 2. a full disk ----------------------------------------------------------------------
def _tmpfs(folder: Path, mb: int) -> bool:
    """Mount a tmpfs of `mb` MB at `folder` when this process may (root in CI)."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={mb}m", "tmpfs", str(folder)],
                          capture_output=True)
    return done.returncode == 0


def test_a_full_disk_stops_ingest_with_a_message_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    home = tmp_path / "home"
    records = write_corpus(tmp_path / "news.jsonl", "disk", 4000, words=400)
    mounted = _tmpfs(home, 40)
    try:
        if mounted:
            print("disk-full test: a real 40 MB tmpfs")
            t0 = time.monotonic()
            code, _, err = run_cli(home, "ingest", "--quiet", str(tmp_path / "news.jsonl"),
                                   NEWSQA_EMBEDDING__BATCH_SIZE="16",
                                   NEWSQA_INGEST__STORE_BATCH="128", timeout=240)
            assert time.monotonic() - t0 < 180
        else:
            print("disk-full test: ENOSPC injected at the storage boundary (no tmpfs here)")
            code, err = _inject_full_disk(home, tmp_path / "news.jsonl", monkeypatch)
        assert code != 0, err
        assert f"the disk of the data home {home} is full" in err and "MB free" in err
        assert "Traceback" not in err and "chromadb" not in err
        for argv in (("info",), ("check",), ("ask", "What did the disk committee discuss?")):
            code, out, err = run_cli(home, *argv)
            assert "Traceback" not in err and "chromadb" not in err, (argv, err)
            assert code in (0, 1), (argv, err)
        if mounted:  # free space: the same command finishes the job
            subprocess.run(["mount", "-o", "remount,size=400m", str(home)], check=True)
        else:
            monkeypatch.undo()
        code, _, err = run_cli(home, "check", "--repair")
        assert code == 0, err
        code, _, err = run_cli(home, "ingest", "--quiet", str(tmp_path / "news.jsonl"),
                               NEWSQA_EMBEDDING__BATCH_SIZE="16",
                               NEWSQA_INGEST__STORE_BATCH="128", timeout=600)
        assert code == 0, err
        assert _ids(home) == {r["id"] for r in records}  # every article, none twice
        b = bot(home)
        report = b.check()
        assert report.ok, report.lines()
        assert b.store.counts()[1] == report.chunks == len(b.keyword)
        for r in records[::400]:  # findable by its title
            assert r["id"] in [p.article_id for p in b.retriever.retrieve(r["title"], 10)]
        assert not (home / "incomplete-write").exists()
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(home)], capture_output=True)


def _inject_full_disk(home: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
                      ) -> tuple[int, str]:
    """Without a tmpfs: the store write fails with ENOSPC after 3 batches, in process."""
    from index import store as store_module

    real = store_module.Store.write
    calls = {"n": 0}

    def write(self: Any, *args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError(28, "No space left on device")
        real(self, *args, **kwargs)

    monkeypatch.setattr(store_module.Store, "write", write)
    b = bot(home)
    try:
        b.ingest([corpus])
    except DiskFull as exc:
        return 2, f"newsqa: error: {exc}"
    return 0, ""
