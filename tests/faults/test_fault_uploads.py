"""Chat uploads never delete: two users uploading files of the same name keep both sets
of articles; removing is an explicit action."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from tests.faults.harness import assert_intact, write_corpus
from ui import chat


def _handler(demo, name: str):  # type: ignore[no-untyped-def]
    return next(f.fn for f in demo.fns.values() if getattr(f.fn, "__name__", "") == name)


def _gradio_file(home: Path, user: str, name: str, text: str) -> Path:
    """An uploaded file as Gradio leaves it: in its cache, under the user's file name."""
    d = home / "tmp" / user
    d.mkdir(parents=True, exist_ok=True)
    f = d / name
    f.write_text(text, encoding="utf-8")
    return f


def test_same_name_uploads_from_two_users_keep_both(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bot = Assistant(make_settings(home), embedder=FakeEmbedder())
    upload = _handler(chat.build_app(bot), "upload")
    one = write_corpus(tmp_path / "one.jsonl", "userone", 5)
    two = write_corpus(tmp_path / "two.jsonl", "usertwo", 5)
    results: list[str] = []

    def user(name: str, src: Path) -> None:
        f = _gradio_file(home, name, "news.jsonl", src.read_text())
        results.append(list(upload([str(f)]))[-1][0])

    threads = [threading.Thread(target=user, args=("u1", tmp_path / "one.jsonl")),
               threading.Thread(target=user, args=("u2", tmp_path / "two.jsonl"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert all("5 added" in r for r in results), results
    assert len(list((home / "uploads").iterdir())) == 2
    assert_intact(home, one + two)
    # the first user uploads their file again, unchanged: nothing is removed or re-embedded
    f = _gradio_file(home, "u1", "news.jsonl", (tmp_path / "one.jsonl").read_text())
    again = list(upload([str(f)]))[-1][0]
    assert "5 unchanged" in again and "0 chunk(s) embedded" in again
    # ... then a new version of it with only one article: the others stay (no removal)
    f = _gradio_file(home, "u1", "news.jsonl", json.dumps(one[0]) + "\n")
    list(upload([str(f)]))
    assert_intact(home, one + two)
    assert len(list((home / "uploads").iterdir())) == 3


def test_unicode_file_name_is_accepted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bot = Assistant(make_settings(home), embedder=FakeEmbedder())
    upload = _handler(chat.build_app(bot), "upload")
    f = _gradio_file(home, "u1", "новости.txt",
                     "title: Мост открыт\n\nНовый мост в городе открыли в понедельник.")
    message = list(upload([str(f)]))[-1][0]
    assert "новости.txt" in message and "1 added" in message
    (saved,) = (home / "uploads").iterdir()
    assert saved.name.endswith("-новости.txt")


def test_remove_in_the_chat_is_the_way_articles_leave(tmp_path: Path) -> None:
    home = tmp_path / "home"
    bot = Assistant(make_settings(home), embedder=FakeEmbedder())
    demo = chat.build_app(bot)
    upload, remove = _handler(demo, "upload"), _handler(demo, "remove")
    recs = write_corpus(tmp_path / "a.jsonl", "alpha", 3)
    list(upload([str(_gradio_file(home, "u1", "a.jsonl", (tmp_path / "a.jsonl").read_text()))]))
    message, status, box = remove("alpha-1")
    assert "Removed article" in message and "alpha" in message and box == ""
    assert "**2** articles" in status
    assert "No article with id" in remove("alpha-1")[0]
    assert "Type the id" in remove("  ")[0]
    assert_intact(home, [recs[0], recs[2]])
    # the upload still holds the other two articles, so its file stays
    assert len(list((home / "uploads").iterdir())) == 1
    remove("alpha-0")
    remove("alpha-2")
    assert list((home / "uploads").iterdir()) == []  # nothing left in it: file deleted too
    assert "Nothing is indexed yet" in chat.render.error_markdown(
        _raises(lambda: bot.ask("alpha report")))


def _raises(fn):  # type: ignore[no-untyped-def]
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("no error")
