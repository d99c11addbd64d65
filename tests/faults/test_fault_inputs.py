"""Bad input, through the real command line in its own process: each gets a clear message
naming what is wrong, and nothing already indexed is lost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.faults.harness import assert_intact, bot, run_cli, write_corpus

GOOD = {
    "a.txt": "title: Harbour of Vellmar reopens\n\nThe harbour of Vellmar reopened on Monday.",
    "b.md": "# Quarry strike ends in Ostrava\n\nWorkers at the Ostrava quarry ended a strike.",
    "c.html": "<html><head><title>Bridge in Tarvik</title></head><body><article><p>The new "
              "bridge in Tarvik opened to cyclists on Sunday after two years of work, the "
              "town council said.</p></article></body></html>",
    "d.json": json.dumps({"id": "d", "title": "Orchard frost in Kelm",
                          "text": "Frost hit the orchards of Kelm overnight."}),
    "e.jsonl": json.dumps({"id": "e", "title": "Ferry fares in Dunmore",
                           "text": "Ferry fares in Dunmore rise in May."}) + "\n",
    "f.txt": "title: Library of Pessa extends hours\n\nThe Pessa library now opens at seven.",
    "g.txt": "title: Tram line to Oberau\n\nA tram line to Oberau is planned for 2027.",
}


def test_a_50_mb_article_among_7_good_files(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in GOOD.items():
        (docs / name).write_text(text, encoding="utf-8")
    huge = docs / "huge.txt"
    with huge.open("w") as f:  # 50 MB of sentences, made here, never committed
        line = "The committee discussed the budget for the coming year in great detail. "
        for _ in range(50 * 1024 * 1024 // len(line)):
            f.write(line)
    code, out, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(docs), timeout=600)
    assert code == 1
    errors = [line for line in err.splitlines() if line.strip()]
    assert len(errors) == 1, err
    assert str(huge) in errors[0] and "NEWSQA_INGEST__MAX_ARTICLE_MB" in errors[0]
    assert "7 added" in out
    b = bot(tmp_path / "home")
    assert b.info()["articles"] == 7
    for title in ("Harbour of Vellmar reopens", "Bridge in Tarvik", "Tram line to Oberau"):
        assert any(p.title == title for p in b.retriever.retrieve(title, 10))


def test_latin1_and_utf16_files_are_read(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    text = "title: Café in Zürich closes\n\nThe café near the Münster closed after 90 years."
    (docs / "latin1.txt").write_bytes(text.encode("latin-1"))
    (docs / "utf16.txt").write_bytes(text.replace("Zürich", "Genève").replace("Münster", "lac")
                                     .encode("utf-16"))
    (docs / "binary.txt").write_bytes(bytes(range(256)) * 8)
    code, out, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(docs))
    assert code == 1 and "2 added" in out
    assert "binary.txt" in err and "cannot decode" in err and "Traceback" not in err
    titles = {p.title for p in bot(tmp_path / "home").retriever.retrieve("café closed", 10)}
    assert titles == {"Café in Zürich closes", "Café in Genève closes"}


def test_folder_with_nothing_readable_warns_and_exits_1(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "photo.png").write_bytes(b"\x89PNG")
    code, out, err = run_cli(tmp_path / "home", "ingest", "--quiet", str(docs))
    assert code == 1
    assert "warning" in err and "no article files in this folder" in err and str(docs) in err


def test_bad_home_and_settings_exit_2_with_their_name(tmp_path: Path) -> None:
    a_file = tmp_path / "not-a-folder"
    a_file.write_text("x")
    write_corpus(tmp_path / "a.jsonl", "alpha", 2)
    code, _, err = run_cli(a_file, "ingest", "--quiet", str(tmp_path / "a.jsonl"))
    assert code == 2 and "NEWSQA_HOME" in err and "is a file" in err
    assert "Traceback" not in err and err.count("\n") == 1
    home = tmp_path / "home"
    code, _, err = run_cli(home, "info", NEWSQA_RETRIEVAL='{"top_k": 5,}')
    assert code == 2 and "NEWSQA_RETRIEVAL" in err and "JSON" in err and "Traceback" not in err
    code, _, err = run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"),
                           NEWSQA_RETRIEVAL__TOPK="5")
    assert code == 0
    assert "NEWSQA_RETRIEVAL__TOPK is not a newsqa setting" in err
    assert "did you mean NEWSQA_RETRIEVAL__TOP_K?" in err


def test_empty_index_says_what_to_run(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code, _, err = run_cli(home, "ask", "Who won?")
    assert code == 2 and "Nothing is indexed yet: run `newsqa ingest PATH`" in err
    recs = write_corpus(tmp_path / "a.jsonl", "alpha", 2)
    run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"))
    code, out, _ = run_cli(home, "remove", *(r["id"] for r in recs))
    assert code == 0 and "2 article(s) removed" in out
    code, _, err = run_cli(home, "ask", "Who won?")  # emptied again
    assert code == 2 and "Nothing is indexed yet: run `newsqa ingest PATH`" in err


def test_remove_takes_out_exactly_the_named_articles(tmp_path: Path) -> None:
    home = tmp_path / "home"
    recs = write_corpus(tmp_path / "a.jsonl", "alpha", 6)
    run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"))
    code, out, err = run_cli(home, "remove", "alpha-1", "alpha-4", "no-such-id")
    assert code == 1 and "2 article(s) removed" in out and "no-such-id" in err
    assert_intact(home, [r for r in recs if r["id"] not in ("alpha-1", "alpha-4")])


def test_check_finds_and_repairs_a_damaged_index(tmp_path: Path) -> None:
    home = tmp_path / "home"
    recs = write_corpus(tmp_path / "a.jsonl", "alpha", 8, words=400)
    run_cli(home, "ingest", "--quiet", str(tmp_path / "a.jsonl"))
    b = bot(home)
    b.open()
    # Damage it as a crashed or foreign writer could: chunks of one article gone, an
    # orphan chunk left from an article whose record is gone, keyword index behind.
    owners = b.store.chunk_owners()
    lost = sorted(c for c, a in owners.items() if a == "alpha-2")
    b.store._chunks.delete(ids=lost[:1])
    b.store._articles.delete(ids=["alpha-5"])
    code, out, _ = run_cli(home, "check")
    assert code == 1
    assert "incomplete article(s)" in out and "alpha-2" in out and "orphan chunk" in out
    assert "newsqa check --repair" in out
    code, out, err = run_cli(home, "check", "--repair")
    assert code == 0, err
    assert "repaired" in out and "indexed again" in out
    assert_intact(home, recs)  # alpha-2 and alpha-5 re-read from their file
    code, out, _ = run_cli(home, "ingest", "--verify", "--quiet", str(tmp_path / "a.jsonl"))
    assert code == 0 and "check: consistent" in out


def test_lxml_html_clean_is_a_direct_dependency() -> None:
    from tests.conftest import ROOT

    deps = (ROOT / "pyproject.toml").read_text()
    for dep in ("lxml_html_clean", "charset-normalizer", "filelock"):
        assert f'"{dep}>=' in deps
    import lxml_html_clean  # noqa: F401  (HTML parsing fails without it)

