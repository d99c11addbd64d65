"""LLM answers checked by meaning (issue 35): a strong model's faithful sentences survive,
distorted ones never pass as verified, and its short answer stands when its quote states
it. A scripted OpenAI-compatible server plays the strong model on the seed, with the real
embedder; what a user sees is checked through `Assistant.ask`, `newsqa ask --llm
--json`, `/api/ask` and the chat's streamed view."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from assistant.llm.consistency import conflict
from assistant.service import Assistant
from tests.conftest import SEEDS, free_port, make_settings
from tests.fake_llm import FakeLLMServer, Reply, Request, json_reply
from ui import chat, cli
from ui.server import launch

# --- the symbolic checks, alone ------------------------------------------------------

KURILLA = ("There should be no doubt — we will not allow ISIS to reconstitute and take "
           "advantage of the current situation in Syria.")
WIELAND = ("Wieland said that they often carried out attacks on the rural population, "
           "especially against those hunting for truffles in the area.")


@pytest.mark.parametrize("claim", [
    "Wieland said they never carried out attacks on the rural population.",
    "Wieland said they no longer carried out attacks on the rural population.",
    "Wieland said the cells failed to carry out attacks on the rural population.",
    "Wieland said the cells refused to carry out attacks on the rural population.",
    "Wieland denied that the cells carried out attacks on the rural population.",
    "Wieland said the cells didn't carry out attacks on the rural population.",
    "The cells hunted for truffles without carrying out attacks on the rural population.",
])
def test_a_negation_in_any_wording_contradicts(claim: str) -> None:
    assert conflict(claim, WIELAND) is not None


def test_a_removed_not_contradicts_and_a_kept_one_does_not() -> None:
    assert conflict("The US would allow ISIS to reconstitute.", KURILLA) is not None
    assert conflict("The US will not allow ISIS to reconstitute.", KURILLA) is None
    assert conflict("The US won't let ISIS reconstitute in Syria.", KURILLA) is None


@pytest.mark.parametrize(("claim", "evidence"), [
    ("Prices rose sharply in May.", "Prices fell sharply in May."),
    ("The court acquitted the officer.", "The court convicted the officer on Friday."),
    ("The council approved the plan.", "The council rejected the plan by five votes."),
])
def test_an_opposite_contradicts(claim: str, evidence: str) -> None:
    assert conflict(claim, evidence) is not None


@pytest.mark.parametrize(("claim", "evidence", "contradicts"), [
    ("Chelsea beat Brighton on Saturday.", "Brighton beat Chelsea 2-1 on Saturday.", True),
    ("Chelsea was beaten by Brighton.", "Brighton beat Chelsea 2-1 on Saturday.", False),
    ("Brighton beat Chelsea.", "Brighton beat Chelsea 2-1 on Saturday.", False),
    ("Bashar Assad overthrew the HTS militia.",
     "Al-Jolani now leads the HTS militia that just overthrew Syrian dictator Bashar Assad.",
     True),
])
def test_names_must_keep_their_roles(claim: str, evidence: str, contradicts: bool) -> None:
    assert (conflict(claim, evidence) is not None) is contradicts


@pytest.mark.parametrize(("claim", "evidence", "contradicts"), [
    # a value or a name in the quote's own frame, in place of the one the quote has there,
    # though the passage names it elsewhere
    ("The grid was attacked at a North Carolina power substation.",
     "The grid was attacked at a California power substation. North Carolina was spared.",
     True),
    ("Airlines dominate 40 airports, up from 78 airports a decade earlier.",
     "Airlines dominate 40 airports, up from 34 airports a decade earlier. 78 others.", True),
    ("Police said two men and three women were arrested.",
     "Police said three men and two women were arrested.", True),
    ("She testified about threats against Mike Pence on January 6, 2022.",
     "She testified about threats against Vice President Mike Pence on January 6, 2021.",
     True),
    ("Attorney Thomas Durkin has been retained to represent the parents.",
     "Attorney Steve Greenberg has been retained to represent the parents.", True),
    # the same filler, or a frame that pins nothing down, is no swap
    ("She spoke about threats against Mike Pence on January 6, 2021.",
     "She spoke about threats against Vice President Mike Pence on January 6, 2021.", False),
    ("Maura Healey and Tina Kotek, Democrats in Massachusetts and Oregon, will be governors.",
     "In Massachusetts and Oregon, Democrats Maura Healey and Tina Kotek will be governors.",
     False),
    ("After Senate approval on August 7, the act was passed by the House on Friday.",
     "The House passed the act Friday after being approved by the Senate on August 7.",
     False),
    ("The prize went to Alice Chen for her novel.",
     "The prize went to Bob Li for poetry, and to Alice Chen for her novel.", False),
])
def test_a_filler_swapped_into_the_quotes_frame_contradicts(claim: str, evidence: str,
                                                            contradicts: bool) -> None:
    assert (conflict(claim, evidence) is not None) is contradicts


@pytest.mark.parametrize(("claim", "evidence"), [
    ("IS remains active in Syria, not only in the desert.",
     "IS remains active in Syria, not only in the desert but in cities."),
    ("The school fire caused no injuries.", "No one was injured in the fire at the school."),
    ("IS was not completely destroyed in Syria.",
     "IS has been weakened in Syria, but not completely destroyed."),
    ("There was no doubt, Kurilla said, that the US would act.",
     "There was no doubt the US would act, Kurilla said."),
])
def test_faithful_negations_are_no_contradiction(claim: str, evidence: str) -> None:
    assert conflict(claim, evidence) is None


# --- a scripted strong model on the seed ----------------------------------------------

Q = "Who do the IS cells in the desert attack?"


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory, model_home: Path,
        real_embedder) -> Assistant:  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("claim-home")
    shutil.copytree(model_home / "models", home / "models", dirs_exist_ok=True)
    bot = Assistant(make_settings(home), embedder=real_embedder)
    assert bot.ingest([SEEDS]).ok
    return bot


def _one_sentence(claim: str, needle: str, short: str = "") -> object:
    """A model replying one sentence, `claim`, citing the shown sentence holding
    `needle`."""
    def script(req: Request) -> Reply:
        sid = next(i for i, t in req.sentences().items() if needle in t)
        return json_reply(short, [{"text": claim, "ids": [sid], "quotes": []}])
    return script


def _ask(bot: Assistant, script: object, question: str = Q):  # type: ignore[no-untyped-def]
    with FakeLLMServer(script) as srv:  # type: ignore[arg-type]
        bot.settings.answer.llm.url = srv.url
        bot.llm_answerer._client = None  # a new server each time
        return bot.ask(question, llm=True)


FAITHFUL = [
    # ordinary synonyms ("frequently" for "often", "people" for "population")
    ("IS cells frequently attacked people in rural areas, especially truffle hunters.",
     "rural population"),
    ("According to Wieland, the cells often attacked the rural population.", "rural population"),
    ("The cells often carried out attacks on the rural population.", "rural population"),
    ("Kurilla said the US will not allow ISIS to reconstitute.", "reconstitute"),
    ("Many IS members remain imprisoned in camps in northern Syria.", "imprisoned"),
    ("The US was repeatedly successful in disabling IS cells.", "disabling"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("claim", "needle"), FAITHFUL)
def test_a_faithful_sentence_is_kept(bot: Assistant, claim: str, needle: str) -> None:
    answer = _ask(bot, _one_sentence(claim, needle))
    assert answer.answerer == "llm", answer.fallback_reason
    assert answer.text.startswith(claim)
    for c in answer.citations:
        article = bot.article(c.article_id)
        assert article is not None and article.text[c.start:c.end] == c.quote


@pytest.mark.integration
def test_a_fact_from_the_sentence_before_widens_the_citation(bot: Assistant) -> None:
    # "the Badia desert" is in the sentence before the one cited.
    claim = "Wieland said the cells in the Badia desert often attacked the rural population."
    answer = _ask(bot, _one_sentence(claim, "rural population"))
    assert answer.answerer == "llm", answer.fallback_reason
    assert answer.text == claim + " [1]"
    quote = answer.citations[0].quote
    assert "Badia desert" in quote and "rural population" in quote
    article = bot.article(answer.citations[0].article_id)
    assert article is not None
    assert article.text[answer.citations[0].start:answer.citations[0].end] == quote


UNFAITHFUL = [
    ("Wieland said the cells never carried out attacks on the rural population.",
     "rural population"),
    ("Kurilla said the US would allow ISIS to reconstitute.", "reconstitute"),
    ("Wieland said the cells no longer attack the rural population.", "rural population"),
    ("Bashar Assad overthrew the HTS militia.", "overthrew"),
    ("The US was repeatedly unsuccessful in disabling IS cells.", "disabling"),
]


@pytest.mark.integration
@pytest.mark.parametrize(("claim", "needle"), UNFAITHFUL)
def test_an_unfaithful_sentence_is_never_shown_as_verified(
        bot: Assistant, claim: str, needle: str) -> None:
    answer = _ask(bot, _one_sentence(claim, needle))
    assert claim not in answer.text
    assert answer.answerer == "extractive-fallback"
    assert answer.fallback_reason and "said something its verified quotes do not" in \
        answer.fallback_reason


@pytest.mark.integration
@pytest.mark.xfail(strict=True, reason="roles carried by other words, and places moved "
                   "within the cited sentence, pass the symbolic checks (issue 35)")
@pytest.mark.parametrize(("claim", "needle"), [
    ("Bashar Assad leads the HTS militia.", "overthrew"),
    ("IS cells stayed intact in the Badia desert in Iraq.", "Badia"),
])
def test_known_distortions_the_checks_miss(bot: Assistant, claim: str, needle: str) -> None:
    answer = _ask(bot, _one_sentence(claim, needle))
    assert claim not in answer.text


@pytest.mark.integration
def test_the_models_short_answer_stands_when_its_quote_states_it(bot: Assistant) -> None:
    question = "Where did several IS cells stay intact?"
    claim = "Several IS cells stayed intact, especially in the Badia desert."
    answer = _ask(bot, _one_sentence(claim, "stayed intact", short="the Badia desert"),
                  question)
    assert answer.answerer == "llm", answer.fallback_reason
    short = answer.short_answer
    assert short is not None and short.text == "the Badia desert"
    assert short.confidence is not None and 0 <= short.confidence <= 1
    article = bot.article(short.article_id)
    assert article is not None and article.text[short.start:short.end] == short.text
    # What the reader believes instead is an alternative, never the same answer again.
    assert all(a.text.casefold() != short.text.casefold() for a in answer.alternatives)


@pytest.mark.integration
def test_a_short_answer_of_the_wrong_kind_gives_way_to_the_readers(bot: Assistant) -> None:
    # "Several" stands verbatim in the quote, but no place is named by it.
    answer = _ask(bot, _one_sentence("Several IS cells stayed intact in the Badia desert.",
                                     "stayed intact", short="Several"),
                  "Where did several IS cells stay intact?")
    assert answer.short_answer is None or answer.short_answer.text != "Several"


# --- what a user sees: CLI, HTTP API, chat --------------------------------------------

NEVER = UNFAITHFUL[0]
SYNONYMS = FAITHFUL[0]


@pytest.fixture(scope="module")
def scripted(bot: Assistant) -> Iterator[FakeLLMServer]:
    """One server that answers faithfully, then unfaithfully, turn by turn."""
    claims = [SYNONYMS, NEVER]
    turn = {"n": 0}

    def script(req: Request) -> Reply:
        claim, needle = claims[turn["n"] % 2]
        turn["n"] += 1
        return _one_sentence(claim, needle)(req)  # type: ignore[operator, no-any-return]

    with FakeLLMServer(script) as srv:
        bot.settings.answer.llm.url = srv.url
        bot.llm_answerer._client = None
        yield srv


@pytest.mark.integration
def test_cli_json_shows_the_faithful_sentence_and_drops_the_distorted_one(
        bot: Assistant, scripted: FakeLLMServer, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "_open", lambda args: bot)
    assert cli.main(["ask", "--llm", "--json", Q]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert cli.main(["ask", "--llm", "--json", Q]) == 0
    dropped = json.loads(capsys.readouterr().out)
    assert kept["answerer"] == "llm" and kept["answer"].startswith(SYNONYMS[0])
    assert dropped["answerer"] == "extractive-fallback" and NEVER[0] not in dropped["answer"]
    assert any("negates" in (q["reason"] or "") for q in dropped["quote_checks"])


@pytest.mark.integration
def test_api_ask_shows_the_faithful_sentence_and_drops_the_distorted_one(
        bot: Assistant, scripted: FakeLLMServer) -> None:
    port = free_port()
    demo = launch(bot, host="127.0.0.1", port=port, block=False, quiet=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            first = client.post("/api/ask", json={"question": Q, "llm": True}).json()
            second = client.post("/api/ask", json={"question": Q, "llm": True}).json()
    finally:
        demo.close()
        demo.worker.stop()
    answers = {a["answerer"]: a for a in (first, second)}
    assert answers["llm"]["answer"].startswith(SYNONYMS[0])
    assert NEVER[0] not in answers["extractive-fallback"]["answer"]


@pytest.mark.integration
def test_the_chat_never_shows_a_contradicted_sentence(bot: Assistant,
                                                      scripted: FakeLLMServer) -> None:
    respond = next(f.fn for f in chat.build_app(bot, llm=True).fns.values()
                   if getattr(f.fn, "__name__", "") == "respond")
    finals = []
    for _ in range(2):
        steps = list(respond(Q, [], [], 8, "", chat.LLM_MODE))
        finals.append(steps[-1][0][-1]["content"])
    shown = " ".join(finals).replace("\\", "")
    assert "frequently attacked people in rural areas" in shown
    assert "never carried out attacks" not in shown
