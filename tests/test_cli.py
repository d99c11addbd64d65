"""The `newsqa` command: one clear line and an exit code for every error, JSON output."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from assistant.service import Assistant
from tests.conftest import SEED_FILE, make_settings, run_cli
from tests.fakes import FakeEmbedder
from ui import cli


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """CLI runs against a temporary home with the fake embedder."""
    home = tmp_path / "home"

    def fake_open(args):  # type: ignore[no-untyped-def]
        settings = make_settings(args.home or home)
        if args.chroma_url:
            settings.store.chroma_url = args.chroma_url
        return Assistant(settings, embedder=FakeEmbedder())

    monkeypatch.setattr(cli, "_open", fake_open)
    return home


def test_ask_before_ingest_names_the_command_to_run(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "ask", "Where are remaining IS cells?")
    assert code == 2
    assert "newsqa ingest" in err and "Traceback" not in err
    assert err.count("\n") == 1


def test_ingest_then_ask_json_several_questions(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    assert code == 0 and "1 added" in out
    code, out, _ = run_cli(capsys, "ask", "--json", "-k", "3",
                       "Where are remaining IS cells?", "What is the price of bananas in Peru?")
    assert code == 0
    first, second = (json.loads(line) for line in out.strip().splitlines())
    assert first["question"] == "Where are remaining IS cells?"
    assert not first["abstained"] and first["citations"]
    assert len(first["retrieved"]) <= 3
    assert second["abstained"] and second["citations"] == []


def test_plain_ask_prints_sources_with_quotes(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    code, out, _ = run_cli(capsys, "ask", "Where", "are", "remaining", "IS", "cells?")
    assert code == 0
    assert "Sources:" in out and "[1]" in out and "(2024-12-10)" in out


def test_empty_question_is_an_error(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run_cli(capsys, "ask", "  ")
    assert code == 2 and "question is empty" in err


def test_unknown_file_type_fails_with_exit_code(home: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG")
    code, out, err = run_cli(capsys, "ingest", "--quiet", str(bad), str(SEED_FILE))
    assert code == 1
    assert "photo.png" in err and "unsupported file type" in err
    assert "1 added" in out


def test_info_reports_counts_and_model(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    code, out, _ = run_cli(capsys, "info")
    assert code == 0
    assert "articles: 1" in out and "embedding_model: fake-hash@test" in out


def test_bad_setting_is_named(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("NEWSQA_HOME", str(tmp_path))
    monkeypatch.setenv("NEWSQA_RETRIEVAL__TOP_K", "lots")
    code, _, err = run_cli(capsys, "info")
    assert code == 2
    assert "NEWSQA_RETRIEVAL__TOP_K" in err and "Traceback" not in err


def test_bad_as_of_date_is_a_usage_error(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as exc:
        cli.main(["ask", "--as-of", "yesterday", "q"])
    assert exc.value.code == 2
    assert "not a date" in capsys.readouterr().err


def test_ingest_folder_twice_says_nothing_new(home: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    d = tmp_path / "docs"
    d.mkdir()
    shutil.copy(SEED_FILE, d)
    run_cli(capsys, "ingest", "--quiet", str(d))
    code, out, _ = run_cli(capsys, "ingest", "--quiet", str(d))
    assert code == 0 and "nothing new to embed" in out


def test_ask_with_quiz_options(home: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run_cli(capsys, "ingest", "--quiet", str(SEED_FILE))
    code, out, _ = run_cli(capsys, "ask", "--json", "--choice", "Sahara", "--choice",
                           "Badia desert", "In which desert did IS cells stay intact?")
    assert code == 0
    data = json.loads(out)
    assert data["choice_text"] == "Badia desert" and data["choices"] == ["Sahara", "Badia desert"]


def test_ask_says_how_a_quiz_option_was_picked_when_no_quote_names_it() -> None:
    from assistant.answer import Answer

    base = Answer(question="q", text="Quoted text [1]", abstained=False,
                  choices=("IS", "HTS", "Boko Haram"), choice=2)
    shown = cli.format_answer(replace(base, choice_method="exclusion"))
    assert '"which is not" question' in shown and "support least is Boko Haram" in shown
    shown = cli.format_answer(replace(base, choice_method="similarity"))
    assert "closest by meaning: Boko Haram" in shown
    assert "Boko Haram" not in cli.format_answer(replace(base, choice_method="evidence"))


def test_short_answer_is_printed_first_on_its_own_line() -> None:
    from dataclasses import replace

    from assistant.answer import Answer, Citation, ShortAnswer

    quote = "Here, the organization called itself the Al-Nusra Front."
    c = Citation(n=1, article_id="a1", title="IS in Syria", date=None, url=None, quote=quote,
                 start=100, end=100 + len(quote), chunk_id="a1:0")
    answer = Answer(question="What did it call itself?", text=f"{quote} [1]", abstained=False,
                    citations=(c,))
    at = 100 + quote.index("Al-Nusra Front")
    with_short = replace(answer, short_answer=ShortAnswer(
        text="Al-Nusra Front", n=1, article_id="a1", start=at, end=at + 14, score=3.0))
    lines = cli.format_answer(with_short).splitlines()
    assert lines[0] == "Answer: Al-Nusra Front [1]"
    assert lines[1] == f"{quote} [1]"
    assert not cli.format_answer(answer).startswith("Answer:")


def test_a_quote_of_speech_is_printed_with_its_own_quotation_marks_only() -> None:
    from assistant.answer import Answer, Citation

    speech = '"There are still various cells," he said. "And they pose a threat."'
    curly = "“We will rebuild the harbour,” the mayor said."
    plain = "The ferry crossed at noon."
    cites = tuple(Citation(n=i, article_id="a1", title="T", date=None, url=None, quote=q,
                           start=0, end=len(q), chunk_id="a1:0")
                  for i, q in enumerate((speech, curly, plain), 1))
    shown = cli.format_answer(Answer(question="q", text="x [1] y [2] z [3]", abstained=False,
                                     citations=cites))
    assert f"    {speech}  [chars" in shown and '""' not in shown
    assert f"    {curly}  [chars" in shown and "\"“" not in shown
    assert f'    "{plain}"  [chars' in shown


def test_output_cut_short_by_the_reader_is_no_error(tmp_path: Path) -> None:
    # `newsqa ask ... | head -1`: head exits after one line; newsqa must stop quietly,
    # not print a BrokenPipeError traceback.
    import subprocess
    import sys

    code = ("import sys; from ui import cli\n"
            "def talk(args):\n"
            "    for _ in range(10000):\n"
            "        print('a long answer line ' * 20)\n"
            "    return 0\n"
            "cli.COMMANDS['info'] = talk\n"
            "sys.exit(cli.main(['--home', sys.argv[1], 'info']))\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=Path(__file__).resolve().parents[1])
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.readline()
    proc.stdout.close()  # the reader goes away
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in err and "BrokenPipe" not in err
