"""Every command in the README runs as written: each `newsqa ...` example in its code
blocks is run against the seed index (fake embedder), or, where it needs a server, an LLM
or the benchmark data, parsed by the real command-line parser; every flag of the
synopsis exists. The README stays a user's page (at most 300 lines) and every file or
document it names exists."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from assistant.service import Assistant
from tests.conftest import make_settings
from tests.fakes import FakeEmbedder
from ui import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _code_lines() -> list[str]:
    """The `newsqa ...` lines of the README's indented code blocks, `$ ` prompts removed."""
    out = []
    for line in README.splitlines():
        if not line.startswith("    "):
            continue
        text = line.strip().removeprefix("$ ")
        if text.startswith("newsqa "):
            out.append(text)
    return out


COMMANDS = _code_lines()
SYNOPSIS = [c for c in COMMANDS if "[" in c or "..." in c]
EXAMPLES = [c for c in COMMANDS if c not in SYNOPSIS]
# Examples that need what a unit test does not have: they are parsed, not run.
NOT_RUN = {
    "../shared/bench": "needs the benchmark data and ~20 minutes",
    " serve": "starts a server",
    " push ": "needs a running server",
    "--llm": "needs an LLM endpoint",
    "--chroma-url": "needs a Chroma server",
}


def _argv(command: str) -> list[str]:
    return shlex.split(command)[1:]


def _help(subcommand: str) -> str:
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return str(sub.choices[subcommand].format_help())  # type: ignore[attr-defined]


def test_the_readme_is_a_users_page() -> None:
    assert len(README.splitlines()) <= 300
    assert "./scripts/run.sh" in README and "./scripts/test.sh" in README
    assert len(SYNOPSIS) >= 7 and len(EXAMPLES) >= 5


@pytest.mark.parametrize("command", SYNOPSIS)
def test_every_flag_of_the_synopsis_exists(command: str) -> None:
    words = _argv(command)
    subcommand = next(w for w in words if not w.startswith("-") and w.isalpha())
    helptext = _help(subcommand)
    for flag in re.findall(r"(?<![\w-])(--?[a-z][\w-]*)", command):
        if flag in ("--home", "--chroma-url"):  # global options, before the command
            assert flag in cli.build_parser().format_help()
        else:
            assert flag in helptext, f"{flag} of `{command}` is not a flag of {subcommand}"


@pytest.mark.parametrize("command", EXAMPLES)
def test_every_example_runs_as_written(command: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    argv = _argv(command)
    skip = next((why for key, why in NOT_RUN.items() if key in f" {command} "), None)
    if skip:
        cli.build_parser().parse_args(argv)  # the flags and their values are accepted
        return
    home = tmp_path / "home"

    def fake_open(args):  # type: ignore[no-untyped-def]
        return Assistant(make_settings(home), embedder=FakeEmbedder())

    monkeypatch.setattr(cli, "_open", fake_open)
    monkeypatch.chdir(ROOT)
    if argv[0] != "ingest":
        assert cli.main(["ingest", "--quiet", "seeds/"]) == 0
    argv = [str(tmp_path / a) if i and argv[i - 1] == "--out" else a
            for i, a in enumerate(argv)]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 0, f"`{command}` exited {code}: {err}"
    assert "Traceback" not in err


def test_every_path_and_link_the_readme_names_exists() -> None:
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    paths = re.findall(r"`((?:assistant|index|ui|bench|scripts|seeds|tests|docs)/[\w./-]*)`",
                       README)
    named = [p for p in links if not p.startswith("http")] + paths
    assert named
    missing = [p for p in named if not (ROOT / p).exists()]
    assert not missing
