"""Settings a user sets are recognised (nested sections included), misspelled ones are
named, and docs/settings.md says what the code does."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.settings import load_settings, setting_names, settings_table
from ui import cli

DOC = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def _info(home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
          **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cli.main(["--home", str(home), "info"])
    return capsys.readouterr().err


def test_documented_nested_variables_draw_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _info(tmp_path / "home", monkeypatch, capsys,
                NEWSQA_ANSWER__LLM__URL="http://127.0.0.1:9/v1",
                NEWSQA_ANSWER__LLM__STRUCTURED="json_object",
                NEWSQA_RETRIEVAL__TOP_K="5")
    assert "warning" not in err
    settings = load_settings(home=tmp_path / "home")
    assert settings.answer.llm.url == "http://127.0.0.1:9/v1"  # and it is used
    assert settings.answer.llm.structured == "json_object"


def test_misspelled_nested_variable_is_named_with_the_right_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _info(tmp_path / "home", monkeypatch, capsys, NEWSQA_ANSWER__LLM__URLL="x")
    assert ("newsqa: warning: NEWSQA_ANSWER__LLM__URLL is not a newsqa setting and is "
            "ignored; did you mean NEWSQA_ANSWER__LLM__URL?") in err


def test_every_setting_has_a_name_and_a_description() -> None:
    names = setting_names()
    assert "NEWSQA_ANSWER__LLM__URL" in names and "NEWSQA_ANSWER__LLM" in names
    assert len(names) == len(set(names))
    rows = settings_table().splitlines()[2:]
    assert all(row.count(" | ") >= 2 and not row.endswith("|  |") for row in rows)


def test_settings_doc_matches_the_code() -> None:
    """docs/settings.md embeds `settings_table()` through cog; regenerate it with
    `.venv/bin/cog -r docs/settings.md` after changing a setting."""
    from cogapp import Cog

    assert Cog().main(["cog", "--check", str(DOC)]) == 0, (
        "docs/settings.md is stale: run .venv/bin/cog -r docs/settings.md")
    assert settings_table() in DOC.read_text()


@pytest.mark.parametrize(("variable", "value"), [
    ("NEWSQA_INGEST__STORE_BATCH", "0"),
    ("NEWSQA_INGEST__STORE_BATCH", "many"),
    ("NEWSQA_EMBEDDING__BATCH_SIZE", "0"),
])
def test_a_bad_batch_size_is_named_with_what_it_must_be(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str) -> None:
    from assistant.errors import SettingsError

    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=f"{variable}: (Input should be greater than or "
                                            "equal to 1|Input should be a valid integer)"):
        load_settings(home=tmp_path / "home")
