"""Word lists the LLM claim check reads claims with (`assistant.llm.consistency`): a stem
that knows irregular verbs, and the opposites a claim can swap without touching its names.
"""

from __future__ import annotations

import functools

import Stemmer

WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())
MONTHS = frozenset("""january february march april may june july august september october
november december""".split())

# Snowball, as the keyword index stems (PyStemmer): "disclose" and "disclosed" are one
# word here, which the reader's suffix stripper (`sentence.stem`) keeps apart. Irregular
# verbs are mapped to their base first, so "rose" is "rise" and "beaten" is "beat".
VERB_BASES = {
    "rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "won": "win",
    "lost": "lose", "grew": "grow", "grown": "grow", "began": "begin", "begun": "begin",
    "sold": "sell", "bought": "buy", "left": "leave", "beaten": "beat", "beat": "beat",
    "led": "lead", "held": "hold", "took": "take", "taken": "take", "gave": "give",
    "given": "give", "made": "make", "found": "find", "told": "tell", "said": "say",
    "went": "go", "gone": "go", "came": "come", "saw": "see", "seen": "see", "ran": "run",
    "met": "meet", "paid": "pay", "struck": "strike", "fought": "fight", "shot": "shoot",
    "hit": "hit", "kept": "keep", "built": "build", "sent": "send", "spent": "spend",
    "brought": "bring", "thought": "think", "caught": "catch", "froze": "freeze",
    "chose": "choose", "chosen": "choose", "broke": "break", "broken": "break",
    "wrote": "write", "written": "write", "drove": "drive", "driven": "drive",
    "flew": "fly", "flown": "fly", "threw": "throw", "thrown": "throw",
    "overthrew": "overthrow", "overthrown": "overthrow", "stole": "steal",
    "stolen": "steal", "withdrew": "withdraw", "withdrawn": "withdraw", "drew": "draw",
    "drawn": "draw", "knew": "know", "known": "know", "fled": "flee", "fed": "feed",
    "shook": "shake", "spoke": "speak", "spoken": "speak", "stood": "stand",
    "understood": "understand", "sat": "sit", "felt": "feel", "meant": "mean",
    "sought": "seek", "taught": "teach", "bound": "bind", "hung": "hang", "dug": "dig",
    "swore": "swear", "sworn": "swear", "forgave": "forgive", "forgiven": "forgive",
    "sank": "sink", "sunk": "sink", "rang": "ring", "sang": "sing", "swam": "swim",
    "wore": "wear", "worn": "wear", "tore": "tear", "torn": "tear", "bit": "bite",
    "bitten": "bite", "hid": "hide", "hidden": "hide", "lent": "lend", "dealt": "deal",
    "slew": "slay", "slain": "slay", "undertook": "undertake", "beset": "beset",
}
_snowball = Stemmer.Stemmer("english").stemWord


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The word's Snowball stem, irregular forms first mapped to their base."""
    return _snowball(VERB_BASES.get(word, word))


# Opposites a news claim can swap without touching its names. Stems are compared, so one
# form stands for its inflections.
OPPOSITES: tuple[tuple[str, str], ...] = (
    ("rise", "fall"), ("rose", "fell"), ("increase", "decrease"), ("increase", "cut"),
    ("raise", "lower"), ("higher", "lower"), ("more", "fewer"), ("more", "less"),
    ("win", "lose"), ("won", "lost"), ("winner", "loser"), ("victory", "defeat"),
    ("allow", "ban"), ("allow", "forbid"), ("allow", "prohibit"), ("permit", "ban"),
    ("accept", "reject"), ("approve", "reject"), ("approve", "veto"), ("support", "oppose"),
    ("open", "close"), ("opened", "closed"), ("start", "end"), ("begin", "end"),
    ("gain", "lose"), ("gained", "lost"), ("profit", "loss"), ("buy", "sell"),
    ("bought", "sold"), ("hire", "fire"), ("join", "leave"), ("joined", "left"),
    ("arrive", "depart"), ("enter", "exit"), ("include", "exclude"), ("add", "remove"),
    ("convict", "acquit"), ("guilty", "innocent"), ("alive", "dead"), ("survive", "die"),
    ("survived", "died"), ("success", "failure"), ("successful", "unsuccessful"),
    ("largest", "smallest"), ("biggest", "smallest"), ("highest", "lowest"),
    ("first", "last"), ("oldest", "youngest"), ("earliest", "latest"), ("before", "after"),
    ("above", "below"), ("north", "south"), ("east", "west"), ("strengthen", "weaken"),
    ("expand", "shrink"), ("grow", "shrink"), ("legal", "illegal"), ("true", "false"),
    ("agree", "disagree"), ("confirm", "deny"), ("resume", "suspend"), ("lift", "impose"),
    ("release", "detain"), ("released", "arrested"), ("free", "jail"), ("public", "private"),
    ("cheaper", "dearer"), ("cheap", "expensive"), ("safe", "dangerous"),
    ("domestic", "foreign"), ("minority", "majority"), ("ally", "enemy"),
    ("positive", "negative"), ("rise", "decline"), ("rise", "drop"), ("admit", "deny"),
    ("increase", "reduce"), ("increase", "reduction"), ("increase", "decline"),
    ("less", "more"), ("least", "most"), ("under", "over"), ("below", "over"),
    ("liberal", "conservative"), ("loosen", "tighten"), ("ease", "tighten"),
    ("inflow", "outflow"), ("import", "export"), ("formal", "casual"),
    ("closest", "furthest"), ("closest", "farthest"), ("nearest", "furthest"),
    ("united", "divided"), ("united", "split"), ("repeal", "passage"), ("repeal", "pass"),
    ("accept", "refuse"), ("spike", "fall"), ("spike", "drop"), ("surge", "fall"),
    ("surge", "plunge"), ("soar", "plunge"), ("rise", "plunge"), ("boost", "cut"),
    ("expand", "cut"), ("approve", "block"), ("win", "defeat"), ("strong", "weak"),
    ("stronger", "weaker"), ("easy", "difficult"), ("early", "late"), ("earlier", "later"),
    ("young", "old"), ("younger", "older"), ("best", "worst"), ("better", "worse"),
    ("top", "bottom"), ("many", "few"), ("always", "never"), ("often", "rarely"),
    ("full", "empty"), ("wet", "dry"), ("hot", "cold"), ("warm", "cold"),
    ("victory", "loss"), ("extend", "shorten"), ("lengthen", "shorten"), ("lend", "borrow"),
    ("attack", "defend"), ("guilty", "acquitted"),
)
# Prefixes that make a word its own opposite: "disapproved", "unsuccessful", "illegal".
NEGATIVE_PREFIXES = ("dis", "un", "non", "in", "im", "il", "ir")
