"""What kind of answer a question wants: one fact, an account, or a yes or no.

    factoid      who / whom / whose / which / where / when / how many, much, old, long ...
                 / what <noun> / what is X called / a quiz statement ("This former prime
                 minister ...") / "name the ..."
    explanation  why / how did, does, is ... / what happened, is happening, is going on /
                 what led to, prompted ... / what are the reasons, consequences ... /
                 explain / describe / tell me about / what is <a name> ("What is HTS?")
    yesno        opens with an auxiliary verb ("Was Andrew Mountbatten-Windsor arrested?",
                 "Is IS still a threat?") and offers no alternatives ("Was it A or B?" is a
                 factoid), or "true or false"

Only a factoid gets a short answer ("Answer: X"): the reader was trained to find one
phrase, and for "What is happening with the Islamic State in Syria?" the phrase it
found ("Iraq") was stated as a fact though it answered nothing. The others lead with
their quotes. The kind is read from the question's last sentence, where quiz questions
put the asking ("Yellowstone partially reopened on Wednesday. Why was it shut down?").
Rules, not a model: every kind has a plain cue in English, and the hand-labelled sample
in bench/question_kinds.jsonl (`bench/question_kind.py`) measures them.
"""

from __future__ import annotations

import re
from typing import Literal

QuestionKind = Literal["factoid", "explanation", "yesno"]

_AUX = (r"is|are|was|were|am|do|does|did|has|have|had|will|would|can|could|should|may|"
        r"might|must|shall")
_NEGATED_AUX = r"isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|" \
               r"won't|wouldn't|can't|couldn't|shouldn't"
# "how" followed by a measure asks for a number; followed by a verb, for an account.
_HOW_MEASURE = (r"many|much|old|long|far|tall|fast|big|high|large|often|soon|close|deep|"
                r"wide|heavy|early|late|recently|frequently")
_EXPLANATION = re.compile(
    rf"\bwhy\b|\bhow come\b|\bhow (?!(?:{_HOW_MEASURE})\b)(?:{_AUX}|{_NEGATED_AUX})\b"
    r"|\bhow (?:to|so)\b"
    r"|\bwhat(?: has| had|'s| is| was| will)? (?:just )?(?:happen(?:ed|ing|s)?|going on)\b"
    r"|\bwhat(?:'s| is| was| are| were) (?:the )?(?:latest|situation|status|state of play|"
    r"background|story|deal with|outlook|impact|significance|reason|reasons|cause|causes|"
    r"consequences?|implications?|effects?|risks?|concerns?|response|reaction|point)\b"
    # ("What caused the crash?" wants a phrase, "a dust storm": a factoid.)
    r"|\bwhat (?:led|prompted|drove|motivated)\b"
    r"|\bwhat (?:do|does|did|will|would|could) .{1,80}? mean\b"
    r"|\bwhat do (?:we|you) know\b|\bwhat did .{1,60}? say about\b"
    r"|\bwhat (?:if|about)\b.*\?|^\s*(?:please )?(?:explain|describe|summari[sz]e|tell me|"
    r"give me (?:an? |the )?(?:overview|summary|rundown|update|background)|walk me through|"
    r"outline|discuss|elaborate)\b",
)
_YESNO = re.compile(rf"^\s*(?:and |so |but |also )?(?:{_AUX}|{_NEGATED_AUX})\b")
_EMBEDDED = re.compile(r"\b(?:know|tell (?:me|us)|say|remember|find out|show me) "
                       r"((?:who|whom|whose|which|what|where|when|why|how)\b.*)")
# "Was it A or B?" offers the answers: a factoid. "... or not?" does not.
_ALTERNATIVES = re.compile(r"\bor\b(?! not\b)(?! no\b)")
_FACTOID_WH = re.compile(r"\b(?:who|whom|whose|which|where|when|what|name the|how "
                         rf"(?:{_HOW_MEASURE}))\b")
# "What is HTS?", "What is the Islamic State?": a name and nothing else asks to describe it.
_WHAT_IS_NAME = re.compile(
    r"^\s*[Ww]hat(?:'s| is| are| was| were) (?:the |an? )?((?:[A-Z][\w.&'-]*|of|and|al|de)"
    r"(?: (?:[A-Z][\w.&'-]*|of|and|al|de))*)\s*\??\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=\S)")


def question_kind(text: str) -> QuestionKind:
    """The kind of `text` (see the module docstring)."""
    asking = _asking_sentence(text).replace("’", "'")
    low = " ".join(asking.lower().split())
    if _WHAT_IS_NAME.match(asking):
        return "explanation"
    cue = _EXPLANATION.search(low)
    if cue is not None:
        # "Which senator explained why ..." asks for a senator: a wh-word before the cue
        # asks for a fact, unless the cue ends the question ("... was cut short when
        # what happened?").
        wh = _FACTOID_WH.search(low)
        if wh is None or cue.start() <= wh.start() or not low[cue.end():].strip(" ?"):
            return "explanation"
    if "true or false" in text.lower() or low.startswith("is it true"):
        return "yesno"
    if _YESNO.search(low):
        # A wh-word after it opens a relative clause ("Did the man who ...?") unless it
        # follows a verb of knowing or telling.
        embedded = _EMBEDDED.search(low)
        if embedded is not None:  # "Do you know who leads HTS?"
            return question_kind(low[embedded.start(1):])
        if not _ALTERNATIVES.search(low):
            return "yesno"
    return "factoid"


def _asking_sentence(text: str) -> str:
    """The sentence that asks: the last one with a question mark, else the last one."""
    parts: list[str] = []
    for part in _SENTENCE_END.split(text.strip()):
        if parts and not part[:1].isupper() and not part[:1].isdigit():
            parts[-1] += " " + part  # split after an abbreviation: "Martin Luther King Jr."
        else:
            parts.append(part)
    if not parts:
        return text
    asking = [p for p in parts if "?" in p]
    return asking[-1] if asking else parts[-1]
