"""Every command in the README runs as written: each `newsqa ...` example in its code
blocks is run against the seed index (fake embedder) and must exit as documented, with the
output it shows; one that needs a server, an LLM, a Chroma server or the benchmark data is
parsed by the real command-line parser instead (`ui.cli.build_parser`), and every flag of
a synopsis line must be a flag of its command. The README stays a user's page (at most 300
lines), and every file, document and anchor that it, `docs/` or `training/README.md`
names exists (their commands parse too).

The README's code blocks are indented by four spaces (no ``` fences), so one parser reads
them all."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from assistant.service import Assistant
from assistant.settings import load_settings
from tests.fakes import FakeEmbedder
from ui import cli

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
TRAINING = ROOT / "training" / "README.md"  # the recipe of the shipped model files
MAX_LINES = 300
GLOBAL_VALUED = ("--home", "--chroma-url")  # global options that take a value

# Examples that need what a unit test does not have: parsed by the real parser, not run.
NOT_RUN: dict[str, str] = {
    "../shared/bench/": "needs the benchmark data (../shared/bench) and ~20 minutes",
    "serve": "starts a server and blocks",
    "push": "needs a running server (newsqa serve)",
    "users": "asks for a password (tests/test_roles.py runs it with one on stdin)",
    "--llm": "needs an LLM endpoint (NEWSQA_ANSWER__LLM__URL)",
    "--chroma-url": "needs a Chroma server (chroma run)",
    "https://": "fetches from the network (tests/test_web.py serves feeds on loopback)",
}
# Paths that docs/ names on purpose although they are not in the tree.
NOT_IN_TREE: dict[str, str] = {
    "bench/rerank_e5.py": "one-off removed 2026-12-06; git show d17cfc6:bench/rerank_e5.py",
    "bench/sentence_vectors.py": "one-off removed 2026-12-06; git show d17cfc6:bench/...",
    "bench/answer_rule.py": "merged into bench/mc_rule.py --plain",
    "bench/train_ranker.py": "window ranker, not adopted; git show c8a2bee:bench/train_ranker.py",
    "bench/ranker_feature.py": "its score as a feature; git show c8a2bee:bench/ranker_feature.py",
    "bench/out/": "git-ignored benchmark output",
}


@dataclass(frozen=True)
class Command:
    """One `newsqa ...` line of a code block, with the output shown under a `$ ` prompt."""

    where: str  # file:line
    line: str  # as written, without the prompt
    output: tuple[str, ...] = ()

    @property
    def env(self) -> list[str]:
        """`NAME=value` words before `newsqa`."""
        words = shlex.split(self.line, comments=True)
        return words[: words.index("newsqa")]

    @property
    def argv(self) -> list[str]:
        """The words after `newsqa`, as `ui.cli.main` takes them."""
        words = shlex.split(self.line, comments=True)
        return words[words.index("newsqa") + 1:]

    @property
    def is_synopsis(self) -> bool:
        """A synopsis (`[--json] QUESTION...`) names flags; it is not runnable as written."""
        text = " ".join(self.argv)
        return "[" in text or "..." in text

    @property
    def subcommand(self) -> str:
        args = self.argv
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in GLOBAL_VALUED else 1
        assert i < len(args), f"{self.where}: `{self.line}` names no command"
        return args[i]

    @property
    def flags(self) -> list[str]:
        return re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", " ".join(self.argv))

    @property
    def exit_code(self) -> int:
        """0, or what a trailing `# exit N` comment documents."""
        found = re.search(r"#\s*exit (\d+)\s*$", self.line)
        return int(found.group(1)) if found else 0

    def __str__(self) -> str:  # the test id
        return f"{self.where} {self.line}"


def _commands(path: Path) -> list[Command]:
    """The `newsqa ...` lines of a file's indented code blocks (a `$ ` prompt, `NAME=value`
    words before the command and a trailing `\\` continuation allowed)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[Command] = []
    i = 0
    while i < len(lines):
        raw = lines[i]
        indent = len(raw) - len(raw.lstrip(" "))
        text = raw.strip()
        start = i
        i += 1
        if indent < 4:
            continue
        prompt = text.startswith("$ ")
        text = text.removeprefix("$ ")
        while text.endswith("\\") and i < len(lines):
            text = text[:-1] + lines[i].strip()
            i += 1
        words = text.split()
        if "newsqa" not in words or any(
                not re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", w) for w in words[:words.index("newsqa")]):
            continue
        shown: list[str] = []
        while prompt and i < len(lines) and lines[i].startswith(" " * indent) \
                and lines[i].strip() and not lines[i].strip().startswith("$ "):
            shown.append(lines[i].strip())
            i += 1
        out.append(Command(f"{path.name}:{start + 1}", text, tuple(shown)))
    return out


@cache
def _option_strings(subcommand: str | None, action: str | None = None) -> frozenset[str]:
    """The flags `newsqa [SUBCOMMAND [ACTION]] --help` lists, from the real parser."""
    parser = cli.build_parser()
    buffer = io.StringIO()
    words = [w for w in (subcommand, action) if w]
    with contextlib.redirect_stdout(buffer), pytest.raises(SystemExit):
        parser.parse_args([*words, "--help"])
    return frozenset(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", buffer.getvalue()))


def _actions(subcommand: str) -> set[str]:
    """The actions of a command that has its own (`newsqa watch add|list|...`)."""
    top = next(a for a in cli.build_parser()._actions
               if isinstance(a, argparse._SubParsersAction))
    return {name for a in top.choices[subcommand]._actions
            if isinstance(a, argparse._SubParsersAction) for name in a.choices}


def _subcommands() -> set[str]:
    usage = cli.build_parser().format_usage()
    found = re.search(r"\{([\w,]+)\}", usage)
    assert found, usage
    return set(found.group(1).split(","))


def _parse(command: Command) -> None:
    """The real parser accepts the command as written (flags, their values, the command)."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            cli.build_parser().parse_args(command.argv)
    except SystemExit:
        pytest.fail(f"{command.where}: `{command.line}` is refused: {err.getvalue()}")


README_COMMANDS = _commands(README)
SYNOPSIS = [c for c in README_COMMANDS if c.is_synopsis]
EXAMPLES = [c for c in README_COMMANDS if not c.is_synopsis]
DOC_COMMANDS = [c for doc in [*DOCS, TRAINING] for c in _commands(doc)]


def test_the_readme_is_a_users_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= MAX_LINES
    assert "\n    ./scripts/run.sh\n" in text and "\n    ./scripts/test.sh\n" in text
    assert "```" not in text, "one code-block style: indented by four spaces"
    assert {c.subcommand for c in README_COMMANDS} == _subcommands(), "every command shown"
    assert len(EXAMPLES) >= 5


def test_the_first_screen_says_how_long_and_where_the_data_lives() -> None:
    section = README.read_text(encoding="utf-8").split("\n## ")[1]
    assert section.startswith("Two commands on a fresh machine")
    said = " ".join(section.split())
    for fact in ("about two minutes the first time", "in the foreground",
                 "`~/.local/share/newsqa` on Linux", "`NEWSQA_HOME` moves it",
                 "about eight minutes"):
        assert fact in said, fact
    if sys.platform == "linux" and not os.environ.get("XDG_DATA_HOME"):
        from assistant.settings import default_home

        assert default_home() == Path("~/.local/share/newsqa").expanduser()


def _assert_flags(command: Command) -> None:
    """Every flag the command names is one of its subcommand's, of the action it names
    (`watch add`, or each of `watch add|list`), or a global one."""
    sub = command.subcommand
    after = command.argv[command.argv.index(sub) + 1:]
    named = after[0].split("|") if after else []
    known = _option_strings(sub).union(
        *(_option_strings(sub, a) for a in named if a in _actions(sub)))
    for flag in command.flags:
        allowed = _option_strings(None) if flag in GLOBAL_VALUED else known
        assert flag in allowed, f"{command.where}: {flag} is not a flag of {sub}"


@pytest.mark.parametrize("command", SYNOPSIS, ids=str)
def test_every_flag_of_the_synopsis_exists(command: Command) -> None:
    assert command.subcommand in _subcommands()
    _assert_flags(command)


@pytest.mark.parametrize("command", EXAMPLES, ids=str)
def test_every_example_runs_as_written(command: Command, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert command.subcommand in _subcommands()
    _parse(command)
    words = [*command.env, *command.argv]
    if any(w.startswith(key) for key in NOT_RUN for w in words):
        return  # parsed above; running it needs what a unit test does not have (NOT_RUN)
    home = tmp_path / "home"
    for name in [k for k in os.environ if k.startswith("NEWSQA_")]:
        monkeypatch.delenv(name)  # the developer's own settings don't count
    for word in command.env:
        name, _, value = word.partition("=")
        monkeypatch.setenv(name, value)

    def fake_open(args):  # type: ignore[no-untyped-def]
        # `--home` is ignored on purpose: every example runs in this test's own data home
        return Assistant(load_settings(home=home), embedder=FakeEmbedder())

    monkeypatch.setattr(cli, "_open", fake_open)
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds")
    monkeypatch.chdir(tmp_path)  # relative paths (seeds/, eval-out/) land in tmp_path
    if command.subcommand != "ingest":
        assert cli.main(["ingest", "--quiet", "seeds/"]) == 0
        capsys.readouterr()
    code = cli.main(command.argv)
    out, err = capsys.readouterr()
    assert code == command.exit_code, f"`{command.line}` exited {code}: {err}"
    assert "Traceback" not in err
    for shown in command.output:  # what the README shows, `...` standing for elided text
        pieces = [p.strip() for p in shown.split("...") if p.strip()]
        at = 0
        for piece in pieces:
            found = out.find(piece, at)
            assert found >= 0, f"`{command.line}` does not print {piece!r}:\n{out}"
            at = found + len(piece)


@pytest.mark.parametrize("command", DOC_COMMANDS, ids=str)
def test_every_command_in_the_docs_parses(command: Command) -> None:
    assert command.subcommand in _subcommands()
    _assert_flags(command)
    if not command.is_synopsis:
        _parse(command)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            slug = _slug(line.lstrip("#"))
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _missing(path: Path) -> list[str]:
    """Links (with their anchors) and repository paths named in `path` that do not exist."""
    text = path.read_text(encoding="utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists() or (anchor and anchor not in _anchors(linked)):
            missing.append(target)
    repo_path = r"(?:assistant|index|ui|bench|training|scripts|seeds|tests|docs)/[\w./-]*[\w/]"
    named = re.findall(rf"`({repo_path})", text)
    named += re.findall(rf"(?:^|\s)({repo_path}\.(?:py|sh))\b", text, re.MULTILINE)
    for name in named:
        if any(name.startswith(p) for p in NOT_IN_TREE):
            continue
        if not (ROOT / name).exists():
            missing.append(name)
    return sorted(set(missing))


def test_every_path_and_link_the_readme_names_exists() -> None:
    text = README.read_text(encoding="utf-8")
    assert "](docs/" in text and "`assistant/" in text
    for doc in DOCS:  # and every document in docs/ is linked from it
        assert f"](docs/{doc.name})" in text, f"the README does not link docs/{doc.name}"
    assert _missing(README) == []


@pytest.mark.parametrize("doc", [*DOCS, TRAINING], ids=lambda p: str(p.relative_to(ROOT)))
def test_every_path_and_link_in_the_docs_exists(doc: Path) -> None:
    assert _missing(doc) == []
