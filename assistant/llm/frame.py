"""A value or a name put in the evidence's own frame in place of another: "a sniper attack
on a North Carolina power substation" where the quote has "a sniper attack on a California
power substation", "up from 78 airports a decade earlier" where it has "up from 34
airports", "Attorney Thomas Durkin has been retained" where it has "Attorney Steve
Greenberg has been retained".

`consistency.value_conflict` and `name_conflict` weigh the content words around a value,
so a swapped value that the passage states elsewhere, near some of the same words, passed
them. Here the frame is the exact words right around it: the claim's value or name with
the tokens just before and after it (two on one side and at least one on the other), and
the evidence holding that frame around a different value of the same kind (a number for a
number, a capitalised name for a name), while it never holds the claim's own value in it
nor right beside one of those words ("and to 5%" backs "rose to 5%"). The frame must pin
the slot down: a word on each side that is not a bare "and" or punctuation, and a content
word or number among them ("passed by the House on" frames anything). A paraphrase that
keeps a frame keeps what fills it; one that rewords the frame is not judged here. On the
development pairs (`bench/claim_check.py`) it took unfaithful claims shown as verified
from 0.129 to 0.107 and kept every faithful one it kept before.
"""

from __future__ import annotations

from collections.abc import Sequence

from assistant.llm.lexicon import MONTHS, WEEKDAYS
from assistant.sentence import STOPWORDS

_SLOT = 5  # tokens a value or name in the evidence's frame may take
_MONTHS_DAYS = MONTHS | WEEKDAYS


_WEAK = frozenset("and or but nor".split())
_NUMBER_WORDS = frozenset("""one two three four five six seven eight nine ten eleven twelve
dozen dozens hundred hundreds thousand thousands million millions billion billions""".split())


def _is_number(tok: str) -> bool:
    return tok[:1].isdigit() or tok.lower() in _NUMBER_WORDS


def _is_name(tok: str) -> bool:
    return tok[:1].isupper() and tok.lower() not in _MONTHS_DAYS


def _fillers(toks: Sequence[str]) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each number and each name (a run of capitalised words past
    the first token) in `toks`."""
    out: list[tuple[int, int, str]] = []
    i = 0
    while i < len(toks):
        if _is_number(toks[i]):
            out.append((i, i + 1, "number"))
        elif i > 0 and _is_name(toks[i]):
            j = i
            while j + 1 < len(toks) and _is_name(toks[j + 1]):
                j += 1
            out.append((i, j + 1, "name"))
            i = j
        i += 1
    return out


def _fits(kind: str, slot: Sequence[str]) -> bool:
    if not 0 < len(slot) <= _SLOT:
        return False
    return any(_is_number(t) for t in slot) if kind == "number" else \
        all(_is_name(t) or not t.isalnum() or t in ("of", "al", "de") for t in slot) \
        and _is_name(slot[0])


def _split(toks: Sequence[str]) -> list[str]:
    """Tokens with a number's trailing comma or full stop split off ("2021." -> "2021",
    ".")."""
    out: list[str] = []
    for t in toks:
        if t[:1].isdigit() and len(t) > 1 and t[-1] in ",.":
            out += [t[:-1], t[-1]]
        else:
            out.append(t)
    return out


def frame_conflict(claim_tokens: Sequence[str], evidence_tokens: Sequence[str]
                   ) -> str | None:
    """The claim's first value or name that the evidence frames differently (module
    docstring); tokens as written (`consistency.tokens(..., keep_case=True)`)."""
    claim, evidence = _split(claim_tokens), _split(evidence_tokens)
    low = [t.lower() for t in evidence]
    for start, end, kind in _fillers(claim):
        value = [t.lower() for t in claim[start:end]]
        left = [t.lower() for t in claim[max(0, start - 2):start]]
        right = [t.lower() for t in claim[end:end + 2]]
        if _beside(low, value, left[-1:], right[:1]):
            continue  # the evidence has it by one of the same words: no swap to judge
        for lw, rw in ((left, right[:1]), (left[-1:], right)):
            if len(lw) + len(rw) < 3 or not _frames(lw, rw):
                continue
            rival = _framed(low, evidence, lw, rw, kind)
            if rival and not any(_within(value, [t.lower() for t in r]) for r in rival):
                return (f"its sentence puts {' '.join(claim[start:end])} where its quote "
                        f"puts {' '.join(rival[0])}")
    return None


def _frames(left: Sequence[str], right: Sequence[str]) -> bool:
    """Whether the words around a slot pin it down: a word on each side that is not
    punctuation or a conjunction (or a full stop on the right), and among them a content
    word or a number ("by the ... on" frames anything: "after Senate approval ... passed
    by the House on Friday" is no swap of "approved by the Senate on August 7")."""
    def strong(side: Sequence[str]) -> bool:
        return any(t not in _WEAK and t[:1].isalnum() for t in side)

    both = [*left, *right]
    return strong(left) and (strong(right) or list(right) == ["."]) and any(
        _is_number(t) or (t.isalpha() and len(t) > 2 and t not in STOPWORDS) for t in both)


def _beside(low: Sequence[str], value: Sequence[str], left: Sequence[str],
            right: Sequence[str]) -> bool:
    """Whether the evidence holds `value` right after `left` or right before `right`
    ("and to 5%" backs "rose to 5%" though "rose to" frames 4.9% elsewhere)."""
    n = len(value)
    for i in range(len(low) - n + 1):
        if list(low[i:i + n]) == list(value) and (
                (left and i > 0 and low[i - 1] == left[0])
                or (right and i + n < len(low) and low[i + n] == right[0])):
            return True
    return False


def _within(a: Sequence[str], b: Sequence[str]) -> bool:
    """Whether one token run holds the other ("Mike Pence" in "Vice President Mike
    Pence")."""
    short, long = sorted((list(a), list(b)), key=len)
    return any(long[i:i + len(short)] == short for i in range(len(long) - len(short) + 1))


def _framed(low: Sequence[str], written: Sequence[str], left: Sequence[str],
            right: Sequence[str], kind: str) -> list[list[str]]:
    """What fills the frame `left ... right` in the evidence, each of `kind`, as
    written."""
    out: list[list[str]] = []
    n = len(left)
    for i in range(n, len(low)):
        if list(low[i - n:i]) != list(left):
            continue
        for j in range(i + 1, min(i + _SLOT, len(low)) + 1):
            if list(low[j:j + len(right)]) == list(right) and _fits(kind, written[i:j]):
                out.append(list(written[i:j]))
                break
    return out
