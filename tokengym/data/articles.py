"""A seeded procedural generator of news-like articles with reference summaries and known key facts.

Every article belongs to one of sixteen kinds of local news story (company results, a sports final, a council
vote, a storm, a scientific discovery, a fundraiser, a school competition, a festival, a new bridge or tram
line, a court ruling, an election, a product launch, a health clinic, a museum exhibition, a wildlife count,
new factory jobs). Its lead sentence states the key facts: who, what, where, when and a number. Details,
quotes and background follow, and distractor sentences mention other people, places and numbers. The
reference summary restates the key facts in other words; every name, place and number in it occurs in the
article, and none of the distractors' do.

All randomness comes from the ``numpy.random.Generator`` passed in; :func:`article_for` builds that generator
from ``(index, split, difficulty)``, so an article is a pure function of its address.

Example:
    >>> a = article_for(0, "train", difficulty=2)
    >>> a == article_for(0, "train", difficulty=2)
    True
    >>> sorted(a.facts)
    ['number', 'what', 'when', 'where', 'who']
    >>> all(value in a.article and value in a.summary for value in a.facts.values())
    True
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DIFFICULTIES", "SPLIT_CODES", "Article", "article_for", "generate_article"]

#: 1: 4-6 sentences and one distractor; 2: 7-10 sentences, two distractors; 3: 11-16 sentences, 3-5 distractors.
DIFFICULTIES = (1, 2, 3)
#: The seed component of each split: ``train`` and ``test`` articles come from disjoint generator streams.
SPLIT_CODES = {"train": 0, "test": 1}


@dataclass(frozen=True)
class Article:
    """A generated article, its reference summary and the key facts the summary states.

    Attributes:
        title: a headline, without a final full stop.
        article: the article: sentences joined by single spaces, plain ASCII.
        summary: the reference summary: one sentence, or two at difficulties 2 and 3 (12 to 30 words).
        facts: ``who``, ``what``, ``where``, ``when`` and ``number``; each value occurs verbatim in both the
            article (in its lead sentence) and the summary.
        difficulty: 1, 2 or 3.
    """

    title: str
    article: str
    summary: str
    facts: dict[str, str]
    difficulty: int


# --------------------------------------------------------------------------------------------------------
# Word pools.

FIRST_NAMES = (
    "Maria",
    "James",
    "Aisha",
    "Chen",
    "Priya",
    "Mateo",
    "Olga",
    "Kwame",
    "Yuki",
    "Fatima",
    "Liam",
    "Sofia",
    "Omar",
    "Ingrid",
    "Ravi",
    "Amara",
    "Lucas",
    "Mei",
    "Diego",
    "Hannah",
    "Tomasz",
    "Leila",
    "Noah",
    "Zara",
    "Kenji",
    "Elena",
    "Samuel",
    "Nadia",
    "Arjun",
    "Chloe",
    "Ibrahim",
    "Grace",
    "Mikhail",
    "Ana",
    "Daniel",
    "Amina",
    "Hiroshi",
    "Isabel",
    "Kofi",
    "Freya",
    "Rafael",
    "Nora",
    "Tariq",
    "Emma",
    "Luca",
    "Sana",
    "Jonah",
    "Carmen",
    "Felix",
    "Aaliyah",
    "Pavel",
    "Rosa",
    "Dmitri",
    "Layla",
    "Ethan",
    "Ines",
    "Malik",
    "Julia",
    "Andre",
    "Keiko",
    "Oscar",
    "Thandiwe",
    "Marco",
    "Esther",
    "Viktor",
    "Lina",
    "Patrick",
    "Hana",
    "Emeka",
    "Clara",
    "Sean",
    "Ayesha",
    "Jorge",
    "Naomi",
    "Erik",
    "Chiara",
    "Bongani",
    "Wei",
    "Lars",
    "Anika",
)
SURNAMES = (
    "Lopez",
    "Okafor",
    "Nguyen",
    "Schmidt",
    "Patel",
    "Kowalski",
    "Tanaka",
    "Haddad",
    "Andersson",
    "Mensah",
    "Rossi",
    "Kim",
    "Costa",
    "Fischer",
    "Moreau",
    "Singh",
    "Lindqvist",
    "Yamamoto",
    "Novak",
    "Duarte",
    "Mwangi",
    "Chowdhury",
    "Bennett",
    "Carter",
    "Hughes",
    "Morales",
    "Petrov",
    "Nakamura",
    "Sato",
    "Jensen",
    "Walsh",
    "Ortiz",
    "Bakker",
    "Hassan",
    "Dubois",
    "Reyes",
    "Kaur",
    "Fernandes",
    "Horvat",
    "Adeyemi",
    "Larsen",
    "Murphy",
    "Romano",
    "Zhang",
    "Wong",
    "Gallagher",
    "Keller",
    "Santos",
    "Virtanen",
    "Demir",
    "Osei",
    "Brennan",
    "Popescu",
    "Varga",
    "Eriksen",
    "Moyo",
    "Quinn",
    "Sandoval",
    "Takahashi",
    "Abbott",
    "Ferreira",
    "Kamau",
    "Lindgren",
    "Mitchell",
    "Navarro",
    "Olsen",
    "Banda",
    "Castillo",
    "Hoffman",
    "Iyer",
    "Kovacs",
    "Mahmoud",
    "Park",
    "Ramirez",
    "Silva",
    "Tembo",
    "Vasquez",
    "Weber",
    "Byrne",
    "Achebe",
)
TOWNS = (
    "Lakeford",
    "Eastbrook",
    "Ashbury",
    "Northgate",
    "Redcliff",
    "Westmoor",
    "Fairhaven",
    "Stonebridge",
    "Greywater",
    "Oakridge",
    "Pinecrest",
    "Harrowfield",
    "Brackenford",
    "Silverton",
    "Elmstead",
    "Kingsmere",
    "Thornbury",
    "Cedarvale",
    "Willowby",
    "Foxhollow",
    "Ravenshaw",
    "Hollingford",
    "Dunmere",
    "Briarwood",
    "Glenholm",
    "Meadowbank",
    "Rosedale",
    "Highcombe",
    "Ambervale",
    "Crestmoor",
    "Ferndale",
    "Saltmarsh",
    "Windmere",
    "Ashcombe",
    "Brookhaven",
    "Falconbury",
    "Heathcote",
    "Marshfield",
    "Norbridge",
    "Orchardton",
    "Pebbleton",
    "Quarrydale",
    "Rushford",
    "Southmere",
    "Tidewell",
    "Whitcombe",
    "Yarrowby",
    "Larkhill",
)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

_COMPANY_WORDS = (
    "Brightwater",
    "Northwind",
    "Silverline",
    "Bluepeak",
    "Greenfield",
    "Summit",
    "Keystone",
    "Redwood",
    "Crescent",
    "Pioneer",
    "Meridian",
    "Lumen",
    "Granite",
    "Sterling",
    "Evergreen",
    "Beacon",
    "Cobalt",
    "Horizon",
    "Atlas",
    "Kestrel",
    "Ironbark",
    "Juniper",
    "Nimbus",
    "Oakhurst",
    "Polaris",
    "Sapphire",
    "Trident",
    "Vantage",
    "Westwind",
    "Harbourline",
)
_SECTORS = (
    ("Foods", "food"),
    ("Logistics", "logistics"),
    ("Energy", "energy"),
    ("Robotics", "robotics"),
    ("Pharmaceuticals", "drug"),
    ("Textiles", "textile"),
    ("Software", "software"),
    ("Motors", "car"),
    ("Airlines", "airline"),
    ("Bank", "banking"),
    ("Insurance", "insurance"),
    ("Materials", "building materials"),
    ("Telecom", "telecoms"),
    ("Retail", "retail"),
)
_MAKER_SECTORS = tuple(
    s
    for s in _SECTORS
    if s[0] in ("Robotics", "Energy", "Motors", "Software", "Telecom", "Materials", "Foods", "Textiles")
)
_CUP_WORDS = (
    "Riverside",
    "Coastal",
    "Valley",
    "Highland",
    "Founders",
    "Centenary",
    "Lakeshore",
    "Heritage",
    "Northern",
    "Southern",
    "Golden",
    "Jubilee",
    "Unity",
    "Crown",
    "Liberty",
    "Borough",
)
_CUP_KINDS = ("Cup", "Shield", "Trophy", "Plate", "Challenge Cup")
_FESTIVAL_WORDS = (
    "Harvest",
    "Lantern",
    "Moonlight",
    "Springtide",
    "Riverbank",
    "Midsummer",
    "Starlight",
    "Seaside",
    "Maple",
    "Sunrise",
    "Hilltop",
    "Old Town",
    "Autumn",
    "Waterfront",
)
_FESTIVAL_KINDS = (
    "Jazz",
    "Folk",
    "Food",
    "Film",
    "Book",
    "Kite",
    "Flower",
    "Blues",
    "Comedy",
    "Science",
    "Puppet",
    "Choir",
    "Street Theatre",
    "Light",
)
_ROUTE_WORDS = (
    "Kingsway",
    "Millennium",
    "Harbourside",
    "Queensway",
    "Meadowgate",
    "Greenway",
    "Waterside",
    "Gateway",
    "Eastside",
    "Westlink",
    "Victoria",
    "Bridgewater",
    "Castlegate",
    "Parkway",
)
_ROUTE_KINDS = (
    ("Bridge", "bridge"),
    ("Tunnel", "tunnel"),
    ("Line", "tram line"),
    ("Bypass", "bypass"),
    ("Viaduct", "viaduct"),
    ("Ring Road", "ring road"),
)
_SCHOOL_WORDS = (
    "Hillside",
    "Northfield",
    "Oakwood",
    "Brookside",
    "Parkview",
    "Elmwood",
    "Kingsley",
    "Ridgeway",
    "Westfield",
    "Greenhill",
    "Beechwood",
    "Fernhill",
    "Larchmont",
    "Holloway",
)
_SCHOOL_KINDS = ("Academy", "High School", "Grammar School", "Secondary School", "College")
_PRODUCT_WORDS = (
    "Aero",
    "Nova",
    "Pulse",
    "Echo",
    "Glide",
    "Spark",
    "Vista",
    "Zephyr",
    "Halo",
    "Flint",
    "Ember",
    "Swift",
    "Terra",
    "Luma",
)
_PRODUCT_KINDS = (
    "phone",
    "electric scooter",
    "smartwatch",
    "electric bike",
    "solar lamp",
    "home robot",
    "laptop",
    "hearing aid",
    "delivery drone",
    "coffee machine",
    "e-reader",
    "electric lawnmower",
)
_MUSEUM_KINDS = ("History", "Art", "Science", "Natural History", "Modern Art", "Maritime History", "Industry")
_PARTIES = (
    "Green Party",
    "Citizens' Alliance",
    "Progress Party",
    "Liberal Union",
    "Workers' Party",
    "Civic Movement",
    "Rural Party",
    "Centre Coalition",
)

# Numbers: (low, high, step, decimals); kinds whose name ends in "year" are printed without a comma.
_NUMBERS: dict[str, tuple[int, int, int, bool]] = {
    "pct": (2, 60, 1, False),
    "low": (2, 14, 1, False),
    "turn": (31, 78, 1, False),
    "n": (3, 30, 1, False),
    "few": (2, 6, 1, False),
    "yrs": (2, 40, 1, False),
    "cnt": (12, 640, 1, False),
    "ppl": (120, 9800, 10, False),
    "pop": (4000, 180000, 100, False),
    "crowd": (1200, 48000, 100, False),
    "mil": (12, 950, 1, True),
    "dol": (500, 95000, 50, False),
    "km": (3, 140, 1, False),
    "kmh": (70, 160, 1, False),
    "mm": (40, 180, 1, False),
    "hrs": (2, 48, 1, False),
    "mins": (8, 45, 1, False),
    "year": (1850, 1990, 1, False),
    "ryear": (1995, 2019, 1, False),
    "fyear": (2026, 2035, 1, False),
    "age": (19, 86, 1, False),
    "temp": (18, 36, 1, False),
    "tix": (8, 35, 1, False),
    "price": (49, 2400, 1, False),
    "size": (200, 2400, 10, False),
    "dist": (8, 125, 1, True),
}

# --------------------------------------------------------------------------------------------------------
# The builder: random draws, fresh names and numbers that never repeat the facts.

_BLOCK = 96


class _Builder:
    """Draws from one generator in blocks and hands out names, places and numbers not used before."""

    __slots__ = (
        "_buf",
        "_pos",
        "_rng",
        "fact_numbers",
        "first",
        "month",
        "numbers",
        "others",
        "surnames",
        "towns",
        "weekday",
        "words",
    )

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[float] = rng.random(_BLOCK).tolist()
        self._pos = 0
        self.first: set[str] = set()
        self.surnames: set[str] = set()
        self.towns: set[str] = set()
        self.words: set[str] = set()
        self.numbers: set[str] = set()
        self.fact_numbers: list[str] = []
        self.others: list[str] = []  # every name, place and number made that is not a fact
        self.weekday = ""
        self.month = ""

    def idx(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        if self._pos == _BLOCK:
            self._buf = self._rng.random(_BLOCK).tolist()
            self._pos = 0
        u = self._buf[self._pos]
        self._pos += 1
        return int(u * n)

    def pick(self, options: tuple[Any, ...]) -> Any:
        return options[self.idx(len(options))]

    def sample(self, n: int, k: int) -> list[int]:
        """``k`` distinct indices of ``range(n)``, in random order."""
        if k >= n:
            k = n
        chosen: list[int] = []
        while len(chosen) < k:
            i = self.idx(n)
            if i not in chosen:
                chosen.append(i)
        return chosen

    def fresh(self, options: tuple[str, ...], used: set[str]) -> str:
        while True:
            value = options[self.idx(len(options))]
            if value not in used:
                used.add(value)
                return value

    def person(self, fact: bool = False) -> str:
        name = f"{self.fresh(FIRST_NAMES, self.first)} {self.fresh(SURNAMES, self.surnames)}"
        if not fact:
            self.others.append(name)
        return name

    def town(self, fact: bool = False) -> str:
        town = self.fresh(TOWNS, self.towns)
        if not fact:
            self.others.append(town)
        return town

    def company(self, sectors: tuple[tuple[str, str], ...] = _SECTORS) -> str:
        name = f"{self.fresh(_COMPANY_WORDS, self.words)} {self.pick(sectors)[0]}"
        self.others.append(name)
        return name

    def number(self, spec: tuple[int, int, int, bool], year: bool = False, fact: bool = False) -> str:
        """A number in ``spec``'s range (tenths if ``decimals``), not used before and not part of a fact.

        The range widens after many misses, so that a crowded small range cannot stall the generator.
        """
        low, high, step, decimals = spec
        facts = self.fact_numbers
        attempt = 0
        while True:
            value = low + self.idx((high - low) // step + 1) * step
            if decimals:
                text = f"{value // 10}.{value % 10}" if value % 10 else f"{value // 10}"
            else:
                text = str(value) if year or value < 1000 else f"{value:,}"
            if text not in self.numbers and not any(text in f for f in facts):
                break
            attempt += 1
            if attempt % 16 == 0:
                high += high - low + 10 * step
        self.numbers.add(text)
        if fact:
            facts.append(text)
        else:
            self.others.append(text)
        return text

    def tally(self) -> str:
        low = self.number((2, 6, 1, False))
        high = self.number((int(low) + 1, int(low) + 6, 1, False))
        return f"{high} votes to {low}"

    def other_weekday(self) -> str:
        return self.fresh(WEEKDAYS, {self.weekday})

    def other_month(self) -> str:
        return self.fresh(MONTHS, {self.month})


def _number_maker(kind: str) -> Callable[[_Builder], str]:
    spec = _NUMBERS[kind]
    year = kind.endswith("year")
    return lambda b: b.number(spec, year)


_MAKERS: dict[str, Callable[[_Builder], str]] = {kind: _number_maker(kind) for kind in _NUMBERS}
_MAKERS.update(
    {
        "p": _Builder.person,
        "t": _Builder.town,
        "org": _Builder.company,
        "tally": _Builder.tally,
        "dow": _Builder.other_weekday,
        "mon": _Builder.other_month,
        "decade": lambda b: f"{1950 + 10 * b.idx(4)}s",
    }
)
_DIGITS = "0123456789"


class _Slots(dict):
    """Template fields: the facts, then anything else created on first use (``{p2}``, ``{t3}``, ``{pct2}``...)."""

    __slots__ = ("_builder",)

    def __init__(self, base: dict[str, str], builder: _Builder) -> None:
        super().__init__(base)
        self._builder = builder

    def __missing__(self, key: str) -> str:
        if key.endswith("_s"):  # the surname of a person field
            value = self[key[:-2]].rsplit(" ", 1)[1]
        elif key == "role2":  # made on first use: it may name a company
            value = self["_role2"].format_map(self)
        else:
            value = _MAKERS[key.rstrip(_DIGITS)](self._builder)
        self[key] = value
        return value


# --------------------------------------------------------------------------------------------------------
# Event types. Fields: {who} (and {who_s}, the surname), {what}, {where}, {when}, {num} are the facts; {role}
# describes who; {role2} describes {p2}, a second person; other fields are fresh people ({p2}), towns ({t2}),
# companies ({org}) and numbers ({pct}, {cnt2}...). Summaries use only the facts and the event's extras.


_WHO_QUOTE_FORMS = (
    '"{q}," said {who_s}.',
    '"{q}," {who_s} said.',
    '{who_s} said: "{q}."',
    '"{q}," {who_s} told reporters.',
    '"{q}," {who_s} said in a statement.',
)
_WHO_AGAIN_FORMS = ('"{q}," {who_s} added.', '{who_s} added: "{q}."', '"{q}," said {who_s}.')
_JUDGE_QUOTE_FORMS = (
    '"{q}," {who_s} wrote in the ruling.',
    '{who_s} wrote: "{q}."',
    '"{q}," the judge said.',
    'In the ruling, {who_s} said: "{q}."',
)


@dataclass(frozen=True)
class _Event:
    name: str
    what: Callable[[_Builder], tuple[str, dict[str, str]]]
    number: tuple[int, int, int, bool]
    roles: tuple[str, ...]
    role2s: tuple[str, ...]
    titles: tuple[str, ...]
    leads: tuple[str, ...]
    summaries: tuple[str, ...]
    summary_pairs: tuple[tuple[str, str], ...]
    details: tuple[str, ...]
    quotes: tuple[str, ...]
    background: tuple[str, ...]
    distractors: tuple[str, ...]
    extras: tuple[dict[str, Any], ...] = ({},)
    quote_forms: tuple[str, ...] = _WHO_QUOTE_FORMS


def _phrases(*options: str) -> Callable[[_Builder], tuple[str, dict[str, str]]]:
    return lambda b: (b.pick(options), {})


def _company_what(b: _Builder) -> tuple[str, dict[str, str]]:
    name, sector = b.fresh(_COMPANY_WORDS, b.words), b.pick(_SECTORS)
    return f"{name} {sector[0]}", {"sector": sector[1]}


def _cup_what(b: _Builder) -> tuple[str, dict[str, str]]:
    return f"{b.fresh(_CUP_WORDS, b.words)} {b.pick(_CUP_KINDS)}", {}


def _storm_what(b: _Builder) -> tuple[str, dict[str, str]]:
    return f"Storm {b.fresh(FIRST_NAMES, b.first)}", {}


def _festival_what(b: _Builder) -> tuple[str, dict[str, str]]:
    return f"{b.fresh(_FESTIVAL_WORDS, b.words)} {b.pick(_FESTIVAL_KINDS)} Festival", {}


def _route_what(b: _Builder) -> tuple[str, dict[str, str]]:
    name, kind = b.fresh(_ROUTE_WORDS, b.words), b.pick(_ROUTE_KINDS)
    return f"{name} {kind[0]}", {"kind": kind[1]}


def _school_what(b: _Builder) -> tuple[str, dict[str, str]]:
    what = b.pick(
        (
            "a national science fair",
            "a national debating championship",
            "a robotics competition",
            "a regional maths olympiad",
            "a national poetry competition",
            "a national chess tournament",
            "a coding contest",
            "a national spelling bee",
            "an engineering challenge",
            "a youth orchestra competition",
            "a regional quiz championship",
        )
    )
    return what, {"school": f"{b.fresh(_SCHOOL_WORDS, b.words)} {b.pick(_SCHOOL_KINDS)}"}


def _product_what(b: _Builder) -> tuple[str, dict[str, str]]:
    return f"{b.fresh(_PRODUCT_WORDS, b.words)} {b.pick(_PRODUCT_KINDS)}", {"company": b.company(_MAKER_SECTORS)}


def _factory_what(b: _Builder) -> tuple[str, dict[str, str]]:
    what = b.pick(
        (
            "a battery factory",
            "a food processing plant",
            "a distribution centre",
            "a wind turbine factory",
            "a software development centre",
            "a customer service centre",
            "a bicycle factory",
            "a recycling plant",
            "a chocolate factory",
            "a solar panel factory",
            "a furniture workshop",
            "a medical equipment plant",
        )
    )
    return what, {"company": b.company(_MAKER_SECTORS)}


def _museum_what(b: _Builder) -> tuple[str, dict[str, str]]:
    what = b.pick(
        (
            "Maps of the Northern Coast",
            "Light and Water",
            "The Silk Road Revisited",
            "Clocks and Time",
            "Faces of the Harbour",
            "A Century of Kites",
            "Machines That Changed Us",
            "The Sunken Fleet",
            "Glass and Fire",
            "Voices from the Valley",
            "Paper Gardens",
            "The Age of Steam",
            "Threads of Gold",
            "Under the Ice",
            "The First Cameras",
        )
    )
    return what, {"museum": b.pick(_MUSEUM_KINDS)}


# Generic fields end in 9, so that they never share a value with an event's own fields by accident.
_GENERIC_BACKGROUND = (
    "{where} has a population of about {pop9}.",
    "The town sits on a river about {km9} kilometres from the coast.",
    "{where} has grown quickly in recent years, attracting young families and new businesses.",
    "Local officials say the economy of {where} has recovered well since the last downturn.",
    "The nearest city, {t9}, is about {mins9} minutes away by train.",
)
_GENERIC_DISTRACTORS = (
    "Elsewhere, police in {t2} said {n} people had been questioned after a break-in at a jewellery shop.",
    "In {t2}, {p2} celebrated the reopening of a bakery that has been in the family for {yrs} years.",
    "Separately, a fire at a warehouse in {t2} was brought under control after {hrs} hours.",
    "The town of {t2} announced that {p2} would lead its tourism office from next month.",
    "In other news, the ferry between {t2} and {t3} was cancelled on {dow} because of engine trouble.",
    "{p2}, a teacher from {t2}, was named volunteer of the year by a regional newspaper.",
    "Meanwhile, a charity run in {t2} raised {dol} dollars for a children's hospice.",
    "Police in {t2} are asking for witnesses after a car hit a lamp post on {dow}.",
    "Forecasters expect temperatures in {t2} to reach {temp} degrees this weekend.",
    "The bus company serving {t2} said fares will rise by {low} percent next month.",
    "A new library in {t2}, which cost {mil} million dollars, is due to open in {mon}.",
    "Road works on the main road into {t2} are expected to last {n} weeks.",
    "A survey of {cnt} households in {t2} found that most residents want more green space.",
    "A water main burst in {t2} on {dow}, leaving {cnt} homes without water for several hours.",
    "{p2}, {age}, from {t2}, won the top prize in a regional baking competition.",
    "In {t2}, a new cycle path linking the station with the hospital opened on {dow}.",
    "A lorry overturned on the motorway near {t2}, causing delays of up to {mins} minutes.",
    "Farmers near {t2} say the dry spring could cut this year's harvest by {low} percent.",
    "A new pharmacy opened in {t2} on {dow}, the first in the village for {yrs} years.",
    "{p2} has been appointed head of the fire service in {t2}.",
    "The swimming pool in {t2} reopened on {dow} after a refurbishment costing {mil} million dollars.",
    "The library in {t2} will open on Sundays from {mon}, said {p2}, who chairs its board of trustees.",
)

_EVENTS: tuple[_Event, ...] = (
    _Event(
        name="company results",
        what=_company_what,
        number=(3, 48, 1, False),
        roles=("chief executive", "managing director", "chief financial officer", "company chair"),
        role2s=(
            "an analyst at {org}",
            "a retail investor who holds shares in the company",
            "a trade union official at the firm",
        ),
        titles=(
            "{what} profit climbs {num} percent",
            "{what} reports {num} percent rise in annual profit",
            "Strong year for {what} as profit jumps {num} percent",
        ),
        leads=(
            "{what} said on {when} that its annual profit rose {num} percent, as {role} {who} pointed to strong "
            "demand at its home base in {where}.",
            "Profit at {what}, the {sector} group based in {where}, rose {num} percent last year, {role} {who} "
            "told shareholders on {when}.",
            "{who}, the {role} of {what}, announced in {where} on {when} that the company had increased its "
            "profit by {num} percent over the year.",
            "Shares in {what} rose on {when} after the {where} firm said yearly profit had grown by {num} "
            "percent, {role} {who} said.",
        ),
        summaries=(
            "{what} grew its profit by {num} percent, {who} said in {where} on {when}.",
            "On {when}, {who} reported that profit at the {where} company {what} was up {num} percent.",
            "{who} of {what} said on {when} that the {where} business increased its profit by {num} percent.",
            "{what}, based in {where}, posted {num} percent higher profit, {who} said on {when}.",
        ),
        summary_pairs=(
            (
                "{what} increased its annual profit by {num} percent.",
                "{who} announced the results in {where} on {when}.",
            ),
            (
                "{who} said on {when} that profit at {what} was up {num} percent.",
                "The {sector} company is based in {where}.",
            ),
        ),
        details=(
            "Revenue rose to {mil} million dollars, helped by new contracts and lower energy costs.",
            "The company now employs about {ppl} people, most of them at its main site in {where}.",
            "Sales abroad accounted for {pct} percent of the total, compared with {pct2} percent a year earlier.",
            "The board proposed a higher dividend and said it would spend {mil2} million dollars on new equipment.",
            "{who_s} said the company expected growth to slow next year as the cost of raw materials climbs.",
            "{p2}, {role2}, said the figures were better than most people had expected.",
        ),
        quotes=(
            "This was a year in which every part of the business pulled its weight",
            "We invested when others were cutting back, and that decision has paid off",
            "Our customers stayed with us through a difficult market",
            "The real test will be whether we can keep up this pace next year",
            "We are hiring again, and most of those jobs will be here in {where}",
        ),
        background=(
            "{what} was founded in {where} in {year} as a small family business.",
            "The company struggled during the downturn {yrs} years ago, when it closed two factories.",
            "{who_s} became {role} {yrs2} years ago after a long career in banking.",
            "The firm is one of the largest private employers in the region.",
        ),
        distractors=(
            "Rival {org} reported on the same day that its own profit fell {low} percent.",
            "{p2}, who runs a competing firm in {t2}, said the market remained tough for smaller companies.",
            "Shares in {org}, which is based in {t2}, fell {low} percent after its chief executive resigned.",
            "In {t2}, {org} announced plans to cut {cnt} jobs by the end of the year.",
            "A former chair of the company, {p2}, left {yrs} years ago to start a consulting business in {t2}.",
        ),
    ),
    _Event(
        name="sports final",
        what=_cup_what,
        number=(14, 44, 1, False),
        roles=("captain", "vice-captain", "veteran", "young star"),
        role2s=("the {where} coach", "a spokesperson for the {where} club", "the club chair"),
        titles=(
            "{who} inspires {where} to {what} glory",
            "{where} win the {what} as {who} scores {num} {unit}",
            "{num} {unit} from {who} seal the {what} for {where}",
        ),
        leads=(
            "{who} scored {num} {unit} on {when} as {where} beat {t2} to win the {what} final.",
            "{where} won the {what} on {when}, with {role} {who} scoring {num} {unit} in a tense {sport} final "
            "against {t2}.",
            "A crowd of {crowd} watched {who} score {num} {unit} on {when} to carry {where} to victory over {t2} "
            "in the {what} final.",
            "{role} {who} led {where} to the {what} title on {when}, finishing the {sport} final against {t2} "
            "with {num} {unit}.",
        ),
        summaries=(
            "{where} claimed the {what} on {when} after {who} scored {num} {unit} in the final.",
            "{who} scored {num} {unit} to help {where} win the {what} final on {when}.",
            "On {when}, {num} {unit} from {who} gave {where} victory in the {what} final.",
            "{where} are {what} champions after {who} scored {num} {unit} in the final on {when}.",
        ),
        summary_pairs=(
            ("{where} won the {what} final on {when}.", "{who} was the star of the {sport} match with {num} {unit}."),
            ("{who} scored {num} {unit} in the {what} final.", "The win on {when} gave {where} the title."),
        ),
        details=(
            "{where} took control early and never let {t2} back into the game.",
            "{t2} had won both previous meetings between the sides this season.",
            "It was the first time {where} had won the {what} in {yrs} years.",
            "{who_s}, who joined the club {yrs2} years ago, was named player of the match.",
            "The final was played in front of {crowd} spectators.",
            "{p2}, {role2}, said the team had trained twice a day in the build-up to the final.",
            "{t2} were missing two regular starters through injury.",
        ),
        quotes=(
            "I just tried to stay calm and play my own game",
            "This group has worked for this all season, and nobody deserves it more",
            "We knew {t2} would come hard at us, but we kept our nerve",
            "The supporters were incredible today, and this title is for them",
            "We will enjoy tonight and then start thinking about next season",
        ),
        background=(
            "The {what} has been played every year since {year}.",
            "{where} last reached the final {yrs3} years ago, when they lost narrowly.",
            "The {sport} club was founded in {year2} and now has more than {cnt} registered members.",
            "Attendance at {sport} matches in the region has risen by {pct} percent in the past five years.",
        ),
        distractors=(
            "In the third-place match, {t2} beat {t3} by {n} {unit}.",
            "{p2} of {t2} finished the season as the league's top scorer with {cnt} {unit}.",
            "Meanwhile, {p2}, a former coach in {t2}, was appointed to lead the national youth team.",
            "The women's final in {t2} drew a crowd of {crowd}, and {p2} was named player of the match.",
        ),
        extras=(
            {"sport": "basketball", "unit": "points", "_num": (14, 44, 1, False)},
            {"sport": "rugby", "unit": "points", "_num": (8, 26, 1, False)},
            {"sport": "cricket", "unit": "runs", "_num": (45, 160, 1, False)},
            {"sport": "handball", "unit": "goals", "_num": (6, 15, 1, False)},
            {"sport": "netball", "unit": "goals", "_num": (18, 44, 1, False)},
        ),
    ),
    _Event(
        name="council vote",
        what=_phrases(
            "a new public library",
            "a network of protected cycle lanes",
            "a community swimming pool",
            "free bus travel for pensioners",
            "the repair of the harbour wall",
            "a riverside park",
            "affordable housing on the old rail yard",
            "brighter street lighting in the town centre",
            "a new fire station",
            "solar panels on every school roof",
            "a youth centre",
            "a car-free zone in the old town",
            "new flood barriers along the river",
        ),
        number=(15, 480, 1, True),
        roles=("mayor", "deputy mayor", "council leader", "councillor"),
        role2s=("a member of the opposition", "a council spokesperson", "the head of the local residents' association"),
        titles=(
            "{where} backs {what}",
            "Council approves {num} million dollars for {what}",
            "{who} wins vote on {what} in {where}",
        ),
        leads=(
            "The city council of {where} voted on {when} to spend {num} million dollars on {what}, in a plan led "
            "by {role} {who}.",
            "{role} {who} won approval on {when} for {what} in {where}, after the council agreed to set aside "
            "{num} million dollars.",
            "Councillors in {where} approved {num} million dollars for {what} on {when}, backing a proposal from "
            "{role} {who}.",
            "After a long debate on {when}, councillors in {where} backed the plan of {role} {who} for {what}, "
            "which will cost {num} million dollars.",
        ),
        summaries=(
            "{where} approved {what} on {when}, a project costing {num} million dollars put forward by {who}.",
            "{who} secured council backing in {where} on {when} for {what}, costing {num} million dollars.",
            "On {when}, the council in {where} agreed to fund {what} with {num} million dollars, as {who} proposed.",
            "A plan by {who} for {what} in {where} won a council vote on {when} and will cost {num} million dollars.",
        ),
        summary_pairs=(
            (
                "The council in {where} voted on {when} to fund {what}.",
                "{who} said the plan will cost {num} million dollars.",
            ),
            (
                "{who} won support for {what} in {where}.",
                "The council approved {num} million dollars for it on {when}.",
            ),
        ),
        details=(
            "The motion passed by {tally}, with one member abstaining.",
            "Work is expected to begin in {mon} and take about {n} months.",
            "Part of the money will come from reserves, and the rest from a loan of {mil} million dollars.",
            "Opponents argued that the cost was too high at a time when local taxes are rising by {pct} percent.",
            "{p2}, {role2}, said residents had not been consulted properly.",
            "A public survey last year found that {pct2} percent of residents supported the idea.",
        ),
        quotes=(
            "This is money well spent, and people will see the difference within a year",
            "We listened to residents, and this is what they asked for",
            "I understand the concerns about cost, but doing nothing would cost more",
            "This is a good day for every family in {where}",
            "We will keep a close eye on the budget as the work goes ahead",
        ),
        background=(
            "A similar proposal was rejected {yrs} years ago because of worries about the budget.",
            "{who_s} was elected to the council in {ryear} and has campaigned on the issue since then.",
            "The council meets twice a month in the old town hall.",
            "The town last made an investment of this size in {year}, when it built its railway station.",
        ),
        distractors=(
            "In neighbouring {t2}, councillors delayed a vote on a new bus depot until next month.",
            "{p2}, the mayor of {t2}, announced on the same day that the town would freeze local taxes.",
            "A separate plan to build {cnt} homes on the edge of {t2} drew objections from {ppl} residents.",
            "{p2}, a former councillor, has started a petition in {t2} against plans to close a post office.",
        ),
    ),
    _Event(
        name="storm",
        what=_storm_what,
        number=(400, 38000, 10, False),
        roles=("emergency services chief", "regional fire chief", "civil protection director", "chief meteorologist"),
        role2s=(
            "a spokesperson for the electricity company",
            "a local shop owner",
            "a volunteer with the local rescue team",
        ),
        titles=(
            "{what} leaves {num} homes without power",
            "{what} batters {where}",
            "Thousands in the dark as {what} hits {where}",
        ),
        leads=(
            "{what} left {num} homes without power in {where} on {when}, {role} {who} said, as strong winds "
            "brought down trees and power lines.",
            "Strong winds and heavy rain from {what} swept through {where} on {when}, cutting electricity to {num} "
            "homes, according to {role} {who}.",
            "{role} {who} said on {when} that {what} had knocked out power to {num} homes across {where} overnight.",
            "Residents of {where} woke to fallen trees and flooded roads on {when} after {what} cut power to {num} "
            "homes, {role} {who} said.",
        ),
        summaries=(
            "{what} cut power to {num} homes in {where} on {when}, said {who}.",
            "According to {who}, {num} homes in {where} lost electricity when {what} struck on {when}.",
            "On {when}, {what} hit {where} and left {num} homes without electricity, {who} reported.",
            "{who} reported that {num} households in {where} lost power during {what} on {when}.",
        ),
        summary_pairs=(
            ("{what} struck {where} on {when}.", "{who} said {num} homes were left without power."),
            ("Power was cut to {num} homes in {where} by {what}.", "{who} gave the figures on {when}."),
        ),
        details=(
            "Gusts reached {kmh} kilometres per hour along the coast.",
            "Several roads were closed and train services were suspended for {hrs} hours.",
            "By the evening, engineers had restored electricity to about {pct} percent of the affected homes.",
            "More than {mm} millimetres of rain fell in {hrs2} hours, flooding low-lying streets.",
            "{p2}, {role2}, said crews were working through the night to repair damaged lines.",
            "Schools in {where} were closed and residents were asked to avoid unnecessary travel.",
        ),
        quotes=(
            "Please stay indoors and keep away from fallen power lines",
            "Our crews have been out since the early hours, and they will stay out until every home is reconnected",
            "It was the strongest wind many people here can remember",
            "We are grateful to everyone who checked on elderly neighbours",
            "The worst is over, but the clean-up will take days",
        ),
        background=(
            "{where} was last hit by a storm of this strength in {ryear}.",
            "Forecasters had issued a warning for the region {few} days earlier.",
            "The town has spent {mil} million dollars on flood defences since a major flood {yrs} years ago.",
            "Storms are given names each year to help the public follow the warnings.",
        ),
        distractors=(
            "In {t2}, a separate landslide blocked the main road for {hrs} hours, but no one was hurt.",
            "{p2}, a farmer near {t2}, said {cnt} sheep had been moved to higher ground.",
            "Further north, {t2} recorded only light rain and winds of about {kmh} kilometres per hour.",
            "The weather service said {t2} could see snow later in the week.",
        ),
    ),
    _Event(
        name="science discovery",
        what=_phrases(
            "a new species of tree frog",
            "a bacterium that breaks down plastic",
            "a gene that helps wheat survive drought",
            "an ancient shipwreck",
            "a new comet",
            "a way to store solar power in salt",
            "the fossil of an early whale",
            "a new antibiotic in garden soil",
            "a cheap test for a common eye disease",
            "a deep-sea coral reef",
            "a battery material that charges in minutes",
            "a Bronze Age burial site",
        ),
        number=(5, 48, 1, False),
        roles=("biologist", "researcher", "professor", "research scientist", "geologist"),
        role2s=(
            "a scientist who was not involved in the study",
            "an independent expert",
            "a researcher at a rival institute",
        ),
        titles=("Scientists in {where} discover {what}", "{who} and team report {what}", "Team of {num} finds {what}"),
        leads=(
            "A team of {num} researchers led by {role} {who} at the University of {where} announced on {when} "
            "that they had discovered {what}.",
            "{role} {who} and {num} colleagues in {where} have found {what}, according to a study published on {when}.",
            "Scientists in {where} said on {when} that they had identified {what}, in work led by {who} and "
            "involving {num} researchers.",
            "{who}, a {role} in {where}, told reporters on {when} that a group of {num} scientists had "
            "discovered {what}.",
        ),
        summaries=(
            "{who} led a team of {num} scientists in {where} that found {what}, it was announced on {when}.",
            "On {when}, {num} researchers in {where} working under {who} reported the discovery of {what}.",
            "Researchers in {where}, {num} of them led by {who}, revealed on {when} that they had found {what}.",
            "{who} and {num} fellow scientists from {where} reported on {when} that they had found {what}.",
        ),
        summary_pairs=(
            (
                "A team in {where} led by {who} has discovered {what}.",
                "The {num} researchers announced the finding on {when}.",
            ),
            (
                "Scientists in {where} found {what}.",
                "{who} led the {num}-strong team, which reported the result on {when}.",
            ),
        ),
        details=(
            "The findings were published in a scientific journal after a review that took {n} months.",
            "The work began {yrs} years ago with a small grant of {dol} dollars.",
            "Samples were collected at {cnt} sites across the region.",
            "{p2}, {role2}, said the result would need to be confirmed by other laboratories.",
            "The team used a new imaging method that is about {pct} percent faster than older techniques.",
            "The university plans to build a new laboratory costing {mil} million dollars to continue the work.",
        ),
        quotes=(
            "We had to check the results many times before we believed them",
            "This changes how we think about the problem",
            "None of this would have happened without our students, who did much of the careful work",
            "There is still a great deal we do not understand",
            "We hope other teams will now build on what we have found",
        ),
        background=(
            "The university in {where} has about {ppl} students and a long record in research.",
            "{who_s} studied in {t2} before moving to {where} {yrs2} years ago.",
            "Similar work elsewhere has struggled because of the cost of equipment.",
            "Research funding in the country has risen by {pct2} percent over the past five years.",
        ),
        distractors=(
            "A rival team in {t2}, led by {p2}, said last year that it had found no evidence of the effect.",
            "{p2}, a scientist at a laboratory in {t2}, won a national prize for work on solar cells on the same day.",
            "Separately, researchers in {t2} reported that a survey of {cnt} birds had found fewer songbirds than "
            "expected.",
            "A telescope in {t2} that cost {mil} million dollars is due to open next year.",
        ),
    ),
    _Event(
        name="charity fundraiser",
        what=_phrases(
            "the children's hospital",
            "the local food bank",
            "a new hospice",
            "the animal shelter",
            "cancer research",
            "the mountain rescue team",
            "a homeless shelter",
            "families hit by floods",
            "the school library",
            "a community garden",
            "the air ambulance",
        ),
        number=(1200, 95000, 50, False),
        roles=("nurse", "retired teacher", "bakery owner", "firefighter", "volunteer", "postal worker"),
        role2s=("the manager of the charity", "a trustee of the charity", "the director of the charity"),
        titles=(
            "{who} raises {num} dollars for {what}",
            "{where} gives {num} dollars for {what}",
            "Fundraiser for {what} reaches {num} dollars",
        ),
        leads=(
            "{who}, a local {role}, raised {num} dollars for {what} on {when} by {activity} in {where}.",
            "A fundraising effort led by {who} in {where} came to an end on {when}, having collected {num} "
            "dollars for {what}.",
            "Residents of {where} helped {who}, a {role}, raise {num} dollars for {what}, with the final total "
            "announced on {when}.",
            "{who} wrapped up a fundraising challenge on {when} and said it had raised {num} dollars for {what} "
            "in {where}.",
        ),
        summaries=(
            "{who} raised {num} dollars for {what} in {where}, with the total revealed on {when}.",
            "By {activity}, {who} collected {num} dollars in {where} for {what}, it was confirmed on {when}.",
            "On {when}, {who} announced that {num} dollars had been raised in {where} for {what}.",
            "{who} of {where} has raised {num} dollars for {what}, according to the total announced on {when}.",
        ),
        summary_pairs=(
            (
                "{who} raised {num} dollars for {what}.",
                "The money was collected in {where} and the total announced on {when}.",
            ),
            ("Residents of {where} gave {num} dollars for {what}.", "{who} led the appeal, which ended on {when}."),
        ),
        details=(
            "More than {cnt} people donated, and several local businesses matched their gifts.",
            "The appeal had originally hoped to raise {dol} dollars.",
            "{who_s} trained for {few} months before the challenge.",
            "{p2}, {role2}, said the money would pay for new equipment and {few} extra staff.",
            "Volunteers handed out water and collected donations along the way.",
            "A local radio station followed the challenge and broadcast updates every hour.",
        ),
        quotes=(
            "I am overwhelmed by the kindness of people in this town",
            "Every dollar will go straight to the people who need it",
            "There were moments when I wanted to stop, but the support kept me going",
            "This money will make a real difference this winter",
            "I want to thank everyone who gave, however little",
        ),
        background=(
            "{who_s} first got involved with the cause {yrs} years ago after a family member was helped.",
            "The charity supports about {ppl} people in the region each year.",
            "Last year's appeal in {where} raised less than half of this year's total.",
            "Demand for the charity's services has risen by {pct} percent since {ryear}.",
        ),
        distractors=(
            "In {t2}, {p2} raised {dol} dollars for a local animal shelter by selling home-made jam.",
            "A charity concert in {t2} on the same weekend attracted {ppl} people.",
            "{p2}, who completed a similar challenge in {t2} last year, sent a message of support.",
            "The national appeal for the charity has so far raised {mil} million dollars.",
        ),
        extras=tuple(
            {"activity": a}
            for a in (
                "running a marathon",
                "cycling the length of the country",
                "swimming across the lake",
                "baking cakes for a month",
                "climbing the three highest peaks in the region",
                "holding a concert",
                "walking the coastal path",
                "selling paintings",
                "knitting scarves all year",
                "rowing along the river",
            )
        ),
    ),
    _Event(
        name="school competition",
        what=_school_what,
        number=(12, 240, 1, False),
        roles=("head teacher", "principal", "science teacher", "team coach"),
        role2s=("one of the judges", "the chair of the judging panel", "a parent of one of the pupils"),
        titles=(
            "{where} pupils win {what}",
            "School team from {where} beats {num} rivals",
            "{who} celebrates as {where} team wins {what}",
        ),
        leads=(
            "A team from {school} in {where} won {what} on {when}, beating {num} other schools, {role} {who} said.",
            "Students at {school} in {where} took first place in {what} on {when}, ahead of {num} other schools, "
            "in a team coached by {who}.",
            "{role} {who} said on {when} that pupils from {school} in {where} had won {what}, finishing ahead of "
            "{num} rival schools.",
            "A team of pupils from {where} won {what} on {when}, beating {num} schools, and {role} {who} said the "
            "whole of {school} was celebrating.",
        ),
        summaries=(
            "Pupils in {where} coached by {who} won {what} on {when}, beating {num} other schools.",
            "On {when}, students from {where} taught by {who} won {what}, outscoring {num} competing schools.",
            "{who} said pupils from {where} came first in {what} on {when}, finishing above {num} schools.",
            "A team from {where}, guided by {who}, finished ahead of {num} schools to win {what} on {when}.",
        ),
        summary_pairs=(
            ("Pupils from {where} won {what} on {when}.", "{who} said they had beaten {num} other schools."),
            (
                "A school team from {where} coached by {who} won {what}.",
                "They finished ahead of {num} schools on {when}.",
            ),
        ),
        details=(
            "The team was made up of {n} pupils from different year groups.",
            "The final round was held in {t2} and lasted {hrs} hours.",
            "The win comes with a prize of {dol} dollars, which the school plans to spend on new equipment.",
            "{p2}, {role2}, said the judges were impressed by how well the pupils worked together.",
            "Pupils spent {n2} months preparing, often staying after school to practise.",
            "The school will now represent the region at an international event in {mon}.",
        ),
        quotes=(
            "I could not be prouder of how hard these young people worked",
            "We were nervous at the start, but once we got going we enjoyed every minute",
            "Winning is nice, but what they learned along the way matters more",
            "Our school has never won anything like this before",
            "We hope this inspires younger pupils to give it a try",
        ),
        background=(
            "{school} was founded in {year} and has about {size} pupils.",
            "The competition has been running since {ryear} and attracts schools from across the country.",
            "The school came close last year but was knocked out in the semi-finals.",
            "{who_s} has taught at the school for {yrs} years.",
        ),
        distractors=(
            "Second place went to a team from {t2}, whose captain, {p2}, won a separate prize for best speaker.",
            "{p2}, a pupil from {t2}, was named the best individual competitor.",
            "In {t2}, a new primary school for {size} pupils opened its doors on the same day.",
            "Last year's winners, from {t2}, did not take part this year.",
        ),
    ),
    _Event(
        name="festival",
        what=_festival_what,
        number=(1500, 48000, 100, False),
        roles=("festival director", "chief organiser", "artistic director", "festival founder"),
        role2s=("a cafe owner on the main square", "the head of the local business association", "a volunteer steward"),
        titles=("{num} flock to {what} in {where}", "Record crowds at {what}", "{what} draws {num} visitors"),
        leads=(
            "The {what} drew {num} visitors to {where} on {when}, according to {role} {who}.",
            "A record {num} people attended the {what} in {where}, which opened on {when}, {role} {who} said.",
            "{role} {who} said on {when} that {num} people had come to {where} for the {what}, making it the "
            "busiest year so far.",
            "Crowds estimated at {num} filled the streets of {where} on {when} for the opening of the {what}, "
            "led by {role} {who}.",
        ),
        summaries=(
            "{who} said {num} people attended the {what} in {where} on {when}.",
            "On {when}, the {what} brought {num} visitors to {where}, organiser {who} reported.",
            "The {what} in {where} attracted {num} people on {when}, said {who}.",
            "{where} welcomed {num} visitors to the {what} on {when}, {who} said.",
        ),
        summary_pairs=(
            ("The {what} opened in {where} on {when}.", "{who} said {num} people came."),
            ("{who} said the {what} drew {num} visitors.", "It was held in {where} on {when}."),
        ),
        details=(
            "Performers appeared on {few} stages across the town centre, alongside {n} food stalls.",
            "Hotels in {where} reported that nearly every room was booked.",
            "Tickets for the main evening concert sold out in {hrs} hours.",
            "{p2}, {role2}, said business had been the best of the year.",
            "Organisers said about {pct} percent of visitors came from outside the region.",
            "Extra buses and trains were laid on to cope with the crowds.",
        ),
        quotes=(
            "The atmosphere this year has been wonderful",
            "We wanted to create something for every age, and I think we managed it",
            "A festival like this only works because hundreds of volunteers give up their time",
            "We are already planning next year, and it will be even bigger",
            "People tell me it is the best weekend of the year in this town",
        ),
        background=(
            "The festival was first held in {year} as a small gathering in a church hall.",
            "It is funded partly by the town council, which contributed {dol} dollars this year.",
            "Last year's event was cut short by heavy rain.",
            "The festival now employs {n} full-time staff throughout the year.",
        ),
        distractors=(
            "A rival festival in {t2} reported lower attendance of about {crowd} people.",
            "{p2}, a musician from {t2}, had to cancel a planned performance because of illness.",
            "In {t2}, a summer market that usually draws {ppl} visitors was called off this year.",
            "{p2}, who founded a film festival in {t2}, was among the guests.",
        ),
    ),
    _Event(
        name="transport opening",
        what=_route_what,
        number=(12, 480, 1, False),
        roles=("transport minister", "regional transport director", "mayor", "chief engineer"),
        role2s=("a spokesperson for the construction company", "the project manager", "a local business owner"),
        titles=(
            "{what} opens in {where}",
            "{who} opens {num} million dollar {what}",
            "{where} celebrates opening of {what}",
        ),
        leads=(
            "The {what}, built at a cost of {num} million dollars, opened to the public in {where} on {when}, with "
            "{role} {who} cutting the ribbon.",
            "{role} {who} opened the {what} in {where} on {when}, completing a project that cost {num} million "
            "dollars.",
            "After years of delays, the {what} in {where} opened on {when}, and {role} {who} said the {num} "
            "million dollar project would cut journey times.",
            "Commuters in {where} began using the {what} on {when}, after {role} {who} declared the {num} million "
            "dollar scheme open.",
        ),
        summaries=(
            "{who} opened the {what} in {where} on {when}, a project that cost {num} million dollars.",
            "The {what}, costing {num} million dollars, is now open in {where} after {who} opened it on {when}.",
            "On {when}, {where} gained the {what}, opened by {who} at a total cost of {num} million dollars.",
            "The {num} million dollar {what} in {where} was opened on {when} by {who}.",
        ),
        summary_pairs=(
            ("The {what} opened in {where} on {when}.", "{who} said it cost {num} million dollars to build."),
            ("{who} opened the {what} on {when}.", "The project in {where} cost {num} million dollars."),
        ),
        details=(
            "The {kind} is {dist} kilometres long.",
            "Engineers expect it to carry about {crowd} journeys a day.",
            "Journey times between {where} and {t2} will fall by about {mins} minutes.",
            "Construction took {few} years and employed around {cnt} workers at its peak.",
            "{p2}, {role2}, said the work had finished {n} months behind schedule.",
            "The project was paid for by the national government and a loan of {mil} million dollars.",
        ),
        quotes=(
            "This will change daily life for thousands of people",
            "It has been a long road, but the result was worth the wait",
            "We have built something that will serve this town for a hundred years",
            "I want to thank the workers who built this in all weathers",
            "Less traffic in the centre means cleaner air for everyone",
        ),
        background=(
            "Plans for the {kind} were first drawn up in {year}.",
            "Traffic in the town centre has grown by {pct} percent over the past decade.",
            "The old route was closed for repairs several times in the past {yrs} years.",
            "Many of the people who live in {where} commute to {t2} for work.",
        ),
        distractors=(
            "In {t2}, work on a new railway station has been delayed until at least {fyear}.",
            "{p2}, the engineer who designed a similar bridge in {t2}, attended the ceremony as a guest.",
            "A separate road project near {t2} is expected to cost {mil} million dollars.",
            "Bus drivers in {t2} have announced a strike for later this month.",
        ),
    ),
    _Event(
        name="court ruling",
        what=_phrases(
            "the closure of a rural hospital",
            "a new quarry",
            "the demolition of a historic cinema",
            "plans for a waste incinerator",
            "a new motorway junction",
            "a wind farm on the hills",
            "the sale of the town football ground",
            "the eviction of tenants from an apartment block",
            "a housing development on farmland",
            "the closure of the village school",
        ),
        number=(20, 900, 1, False),
        roles=("judge",),
        role2s=("a lawyer for the residents", "a spokesperson for the residents' group", "the chair of the group"),
        titles=(
            "Court blocks {what} in {where}",
            "{num} residents win case against {what}",
            "Judge {who} rules against {what}",
        ),
        quote_forms=_JUDGE_QUOTE_FORMS,
        leads=(
            "A court in {where} ruled on {when} in favour of {num} residents who had challenged {what}, with judge "
            "{who} saying the proper process had not been followed.",
            "Judge {who} blocked {what} at the district court in {where} on {when}, siding with a group of {num} "
            "residents.",
            "The district court in {where} on {when} upheld a complaint by {num} residents against {what}, in a "
            "ruling written by judge {who}.",
            "Residents of {where} won their legal fight against {what} on {when}, when judge {who} ruled for all "
            "{num} people who had brought the case.",
        ),
        summaries=(
            "{who}, a judge in {where}, sided with {num} residents on {when} and halted {what}.",
            "A court in {where} ruled against {what} on {when}, backing {num} residents, in a decision by {who}.",
            "On {when}, {who} ruled in {where} that {what} could not go ahead, after {num} residents objected.",
            "{who} found in favour of {num} local people in {where} on {when}, stopping {what}.",
        ),
        summary_pairs=(
            (
                "A court in {where} stopped {what} on {when}.",
                "The ruling by {who} backed the {num} residents who brought the case.",
            ),
            ("{who} ruled against {what} on {when}.", "The case in {where} was brought by {num} residents."),
        ),
        details=(
            "The case took {n} months and involved evidence from {few} expert witnesses.",
            "The other side has {n2} days to decide whether to appeal.",
            "Lawyers for the residents said the project would have affected about {ppl} people.",
            "{p2}, {role2}, said the group was delighted but expected an appeal.",
            "The court ordered the other side to pay legal costs of {dol} dollars.",
            "The hearing was held over several days in {mon}.",
        ),
        quotes=(
            "The rules on public consultation exist for a reason, and they were not followed here",
            "The residents were entitled to be heard, and they were not",
            "The court cannot ignore the evidence put before it",
            "Nothing in this ruling prevents a fresh application that follows the proper steps",
            "Public bodies must obey the same law as everyone else",
        ),
        background=(
            "The plans were first approved by regional officials in {ryear}.",
            "Residents collected {cnt} signatures on a petition before going to court.",
            "{who_s} has served as a judge for {yrs} years.",
            "Legal challenges of this kind rarely succeed, according to lawyers.",
        ),
        distractors=(
            "In a separate case in {t2}, a court fined a building firm {dol} dollars for safety failures.",
            "{p2}, a lawyer from {t2}, said the ruling could affect similar cases across the country.",
            "Last year, a court in {t2} rejected a similar challenge brought by {cnt} residents.",
            "{p2}, a former judge in {t2}, has called for changes to planning law.",
        ),
    ),
    _Event(
        name="election",
        what=_phrases(
            "the mayoral election",
            "the race for mayor",
            "the council by-election",
            "the regional assembly election",
            "the school board election",
            "the race for council leader",
        ),
        number=(38, 71, 1, False),
        roles=("teacher", "nurse", "lawyer", "pharmacist", "shop owner", "social worker", "farmer"),
        role2s=("an election official", "a political scientist at a local college", "a local campaigner"),
        titles=(
            "{who} wins {what} in {where}",
            "{where} elects {who} with {num} percent",
            "Victory for {who} in {what}",
        ),
        leads=(
            "{who} won {what} in {where} on {when} with {num} percent of the vote, defeating {p3}.",
            "Voters in {where} chose {who} in {what} on {when}, giving the {party} candidate {num} percent of the "
            "vote.",
            "{who}, a {role} standing for the {party}, took {num} percent of the vote to win {what} in {where} on "
            "{when}.",
            "{who} was declared the winner of {what} in {where} on {when} after securing {num} percent of the "
            "votes cast.",
        ),
        summaries=(
            "{who} won {what} in {where} on {when}, taking {num} percent of the votes.",
            "With {num} percent of the vote, {who} won {what} in {where} on {when}.",
            "Voters in {where} handed {who} victory in {what} on {when}, with {num} percent support.",
            "On {when}, {who} secured {num} percent to win {what} in {where}.",
        ),
        summary_pairs=(
            ("{who} won {what} in {where}.", "Official results on {when} gave the winner {num} percent."),
            ("Voters in {where} elected {who} on {when}.", "The winner of {what} took {num} percent of the vote."),
        ),
        details=(
            "Turnout was {turn} percent, compared with {turn2} percent at the last election.",
            "{p3}, who finished second, conceded defeat shortly after midnight.",
            "Counting took {hrs} hours because of the large number of postal votes.",
            "{who_s} campaigned on cheaper housing and better public transport.",
            "A third candidate, {p4}, received {low} percent.",
            "{p2}, {role2}, said the result reflected anger about rising rents.",
        ),
        quotes=(
            "Tonight the people of this town voted for change",
            "I will serve everyone, including those who did not vote for me",
            "The hard work starts tomorrow morning",
            "We ran a positive campaign, and I think voters noticed",
            "I want to thank my opponents for a fair and respectful contest",
        ),
        background=(
            "{who_s} worked as a {role} for {yrs} years before entering politics.",
            "The previous holder of the post stepped down in {mon} for health reasons.",
            "{where} has about {ppl} registered voters.",
            "The {party} had not won in {where} since {ryear}.",
        ),
        distractors=(
            "In neighbouring {t2}, {p2} narrowly held on to a seat with {pct} percent.",
            "Turnout in {t2} was just {turn} percent, the lowest in the region.",
            "{p2}, a former mayor of {t2}, said the result showed that voters wanted change.",
            "Results from {t2} are expected later in the week after a recount was ordered.",
        ),
        extras=tuple({"party": p} for p in _PARTIES),
    ),
    _Event(
        name="product launch",
        what=_product_what,
        number=(49, 2400, 1, False),
        roles=("chief executive", "head of design", "founder", "product director"),
        role2s=("a technology reviewer", "an industry analyst", "a retail expert"),
        titles=(
            "{company} unveils the {what}",
            "{what} to sell for {num} dollars",
            "{who} launches the {what} in {where}",
        ),
        leads=(
            "{company} unveiled the {what} in {where} on {when}, with {role} {who} saying it would go on sale for "
            "{num} dollars.",
            "{role} {who} launched the {what} from {company} at an event in {where} on {when}, priced at {num} "
            "dollars.",
            "The {what}, which will cost {num} dollars, was presented by {who} of {company} in {where} on {when}.",
            "Buyers will be able to get the {what} for {num} dollars, {role} {who} announced on {when} at the "
            "{company} headquarters in {where}.",
        ),
        summaries=(
            "{who} launched the {what} in {where} on {when}, with a price of {num} dollars.",
            "On {when} in {where}, {who} revealed the {what}, which costs {num} dollars.",
            "The {what} will sell for {num} dollars, {who} said at its launch in {where} on {when}.",
            "{who} presented the {what}, priced at {num} dollars, to the public in {where} on {when}.",
        ),
        summary_pairs=(
            ("{who} unveiled the {what} on {when}.", "It was launched in {where} and costs {num} dollars."),
            ("The {what} was launched in {where} on {when}.", "{who} said it will cost {num} dollars."),
        ),
        details=(
            "The company expects to sell {crowd} units in the first year.",
            "The battery lasts about {hrs} hours on a single charge.",
            "It will be made at a factory near {where} that employs {cnt} people.",
            "{p2}, {role2}, said the price was higher than many buyers would expect.",
            "Pre-orders open next week, and the first deliveries are planned for {mon}.",
            "The company spent {few} years and {mil} million dollars developing the product.",
        ),
        quotes=(
            "We built this for people who want something simple that just works",
            "Every part of it was designed and tested here in {where}",
            "We listened to thousands of customers before we started",
            "The price reflects the quality of what we are offering",
            "This is only the first of several products we plan to release",
        ),
        background=(
            "{company} was founded in {where} in {ryear} by a group of engineers.",
            "The previous model sold about {cnt2} units in its first month.",
            "The market for such devices has grown by {pct} percent in the past two years.",
            "{who_s} joined {company} {yrs} years ago from a larger rival.",
        ),
        distractors=(
            "A competing product from {org}, based in {t2}, costs about {price} dollars.",
            "{p2}, who leads a start-up in {t2}, said smaller firms struggled to compete on price.",
            "{org} recalled {cnt} devices last month after problems with their batteries.",
            "A technology fair in {t2} next month is expected to feature dozens of similar products.",
        ),
    ),
    _Event(
        name="health clinic",
        what=_phrases(
            "a free vaccination clinic",
            "a mobile dental clinic",
            "a new walk-in health centre",
            "a free eye-testing clinic",
            "a mental health drop-in centre",
            "a children's asthma clinic",
            "a free blood pressure screening centre",
            "a community hearing clinic",
            "a weekend skin cancer clinic",
        ),
        number=(40, 1800, 1, False),
        roles=("doctor", "nurse", "health director", "clinic manager"),
        role2s=("a patient who waited in line", "a local pharmacist", "a nurse at the clinic"),
        titles=(
            "{num} patients seen at {what} in {where}",
            "{where} opens {what}",
            "Long queues as {what} opens in {where}",
        ),
        leads=(
            "On {when}, {what} in {where} saw {num} patients on its first day, said {role} {who}.",
            "{role} {who} opened {what} in {where} on {when}, and {num} patients were seen before closing time.",
            "More than {num} patients visited {what} in {where} on {when}, according to {role} {who}.",
            "Health officials in {where} said on {when} that {num} people had used {what}, which is run by {role} "
            "{who}.",
        ),
        summaries=(
            "{who} said {what} in {where} saw {num} patients on {when}.",
            "On {when}, {num} people were treated at {what} in {where}, run by {who}.",
            "In {where}, {what} opened on {when} and saw {num} patients, {who} said.",
            "{who} reported that {num} patients attended {what} in {where} on {when}.",
        ),
        summary_pairs=(
            ("In {where}, {what} opened on {when}.", "{who} said {num} patients were seen."),
            ("{who} said {num} people used {what}.", "It opened in {where} on {when}."),
        ),
        details=(
            "Patients in {where} currently wait an average of {n} weeks for an appointment with a family doctor.",
            "The clinic is staffed by {n2} doctors and nurses, many of them volunteers.",
            "It will open {few} days a week for at least the next {n3} months.",
            "{p2}, {role2}, said the queue had started forming before dawn.",
            "The service is funded by a grant of {dol} dollars from the regional health board.",
            "Some patients travelled from as far away as {t2}.",
        ),
        quotes=(
            "People have been waiting far too long to see someone",
            "Nobody should have to choose between paying the rent and seeing a doctor",
            "We will keep going as long as people need us",
            "The response today shows how much this was needed",
            "Prevention is always cheaper than treatment",
        ),
        background=(
            "The town lost its last full-time family doctor {yrs} years ago.",
            "About {pct} percent of adults in the region have not seen a dentist in the past two years.",
            "{who_s} has worked in public health for {yrs2} years.",
            "The nearest hospital is {km} kilometres away.",
        ),
        distractors=(
            "In {t2}, a hospital ward with {n} beds was closed for repairs.",
            "{p2}, a health official in {t2}, said a similar clinic there had seen {cnt} patients last year.",
            "A flu outbreak in {t2} has kept {cnt} pupils home from school this week.",
            "The regional health board is also recruiting {n} nurses for a new hospital in {t2}.",
        ),
    ),
    _Event(
        name="museum exhibition",
        what=_museum_what,
        number=(40, 900, 1, False),
        roles=("museum director", "curator", "chief curator", "head of collections"),
        role2s=("a member of the museum board", "an art critic", "a historian who advised on the show"),
        titles=("{what} opens in {where}", "{num} objects on show in {what}", "{who} brings {what} to {where}"),
        leads=(
            "An exhibition called {what}, featuring {num} objects, opened at the {where} Museum of {museum} on "
            "{when}, put together by {role} {who}.",
            "{role} {who} opened {what} at the {where} Museum of {museum} on {when}, bringing together {num} "
            "objects, many never shown before.",
            "The {where} Museum of {museum} unveiled its new exhibition, {what}, on {when}, with {num} items "
            "chosen by {role} {who}.",
            "Visitors to the {where} Museum of {museum} can now see {what}, a show of {num} objects that {role} "
            "{who} launched on {when}.",
        ),
        summaries=(
            "{who} opened {what}, an exhibition of {num} objects, at the museum in {where} on {when}.",
            "A new show called {what}, with {num} objects, opened in {where} on {when} under {who}.",
            "On {when}, the museum in {where} launched {what}, a display of {num} items put together by {who}.",
            "The exhibition {what} opened in {where} on {when}, showing {num} objects selected by {who}.",
        ),
        summary_pairs=(
            ("The exhibition {what} opened in {where} on {when}.", "{who} chose the {num} objects on display."),
            ("{who} opened a new exhibition in {where} on {when}.", "The show, {what}, brings together {num} objects."),
        ),
        details=(
            "The objects were borrowed from {n} collections around the world.",
            "The exhibition runs until {mon}, and tickets cost {tix} dollars.",
            "Preparing the show took {few} years and cost {mil} million dollars.",
            "{p2}, {role2}, said the exhibition was the most ambitious in the museum's history.",
            "A special room has been set aside for children, with hands-on activities.",
            "The museum expects about {crowd} visitors before the exhibition closes.",
        ),
        quotes=(
            "Some of these pieces have not been seen in public for a hundred years",
            "We want visitors to leave with more questions than answers",
            "Every object here tells a story about the people who made it",
            "It took us years to bring these pieces together",
            "This is the show I have wanted to make since I was a student",
        ),
        background=(
            "The museum opened in {year} in a former textile mill.",
            "It welcomed about {crowd2} visitors last year.",
            "{who_s} has led the museum for {yrs} years.",
            "The building was renovated {n2} years ago at a cost of {mil2} million dollars.",
        ),
        distractors=(
            "A gallery in {t2} is showing a smaller exhibition of {cnt} paintings by {p2}.",
            "{p2}, a collector from {t2}, lent several pieces but did not attend the opening.",
            "The museum in {t2} will close for repairs in {mon}.",
            "Last year, a show about the history of {t2} drew {crowd} visitors.",
        ),
    ),
    _Event(
        name="wildlife count",
        what=_phrases(
            "grey seals",
            "red squirrels",
            "wild beavers",
            "barn owls",
            "white storks",
            "sea otters",
            "breeding puffins",
            "water voles",
            "golden eagles",
            "nesting sea turtles",
            "river otters",
            "wild hedgehogs",
        ),
        number=(40, 900, 1, False),
        roles=("ranger", "ecologist", "wildlife officer", "park manager"),
        role2s=("a volunteer who has joined every count", "a local farmer", "the chair of the wildlife trust"),
        titles=(
            "Record {num} {what} counted in {where}",
            "{what} return to {where}",
            "Survey finds {num} {what} around {where}",
        ),
        leads=(
            "Volunteers led by {role} {who} counted {num} {what} in {where} on {when}, the highest number since "
            "records began.",
            "{role} {who} said on {when} that a survey in {where} had found {num} {what}, a sign that conservation "
            "work is paying off.",
            "The number of {what} in {where} has risen to {num}, according to a count released on {when} by {role} "
            "{who}.",
            "A survey published on {when} found {num} {what} living around {where}, said {who}, the {role} who led "
            "the count.",
        ),
        summaries=(
            "{who} reported {num} {what} in {where} on {when}, the highest count on record.",
            "A count announced on {when} found {num} {what} in {where}, said {who}.",
            "On {when}, {who} said that {num} {what} had been recorded in {where}.",
            "There are now {num} {what} in {where}, according to a survey that {who} released on {when}.",
        ),
        summary_pairs=(
            ("{who} and volunteers counted {num} {what} in {where}.", "The results were published on {when}."),
            ("The number of {what} in {where} has reached {num}.", "{who} announced the count on {when}."),
        ),
        details=(
            "Ten years ago, only {n} were recorded in the same area.",
            "More than {cnt} volunteers took part in the count over {few} days.",
            "The area was made a nature reserve in {ryear}.",
            "{p2}, {role2}, said the recovery showed what patient work could achieve.",
            "Rangers have planted {crowd} trees along the river since the project began.",
            "Dogs must now be kept on a lead in parts of the reserve during the breeding season.",
        ),
        quotes=(
            "Ten years ago, I would not have believed these numbers",
            "This is proof that nature comes back when we give it room",
            "We still need people to keep their distance and respect the reserve",
            "Every volunteer who stood in the cold to count deserves credit",
            "The next step is to connect this area with others nearby",
        ),
        background=(
            "Numbers fell sharply in the {decade} because of pollution and hunting.",
            "{who_s} has worked at the reserve for {yrs} years.",
            "The reserve covers about {km} square kilometres of marsh and woodland.",
            "The project receives {dol} dollars a year from the regional government.",
        ),
        distractors=(
            "In {t2}, a similar count found only {n} animals, down from last year.",
            "{p2}, a ranger near {t2}, reported the first sighting of a wild lynx in decades.",
            "A new wind farm near {t2} has raised concerns among bird watchers.",
            "Volunteers in {t2} collected {cnt} bags of litter from the beach last month.",
        ),
    ),
    _Event(
        name="new jobs",
        what=_factory_what,
        number=(40, 2400, 10, False),
        roles=("chief executive", "operations director", "founder", "managing director"),
        role2s=(
            "the head of the local chamber of commerce",
            "a trade union representative",
            "a member of the regional parliament",
        ),
        titles=(
            "{num} jobs for {where} as {company} plans {what}",
            "{company} picks {where} for {what}",
            "{where} to gain {num} jobs",
        ),
        leads=(
            "{company} will open {what} in {where} that will create {num} jobs, {role} {who} announced on {when}.",
            "{role} {who} said on {when} that {company} had chosen {where} for {what}, bringing {num} new jobs to "
            "the area.",
            "Some {num} jobs are coming to {where} after {company} confirmed on {when} that it will build {what} "
            "there, {role} {who} said.",
            "{where} will get {what} and {num} new jobs, {who}, the {role} of {company}, said on {when}.",
        ),
        summaries=(
            "{who} announced on {when} that {what} in {where} will bring {num} jobs.",
            "Plans for {what} in {where} will create {num} jobs, {who} said on {when}.",
            "On {when}, {who} confirmed {num} new jobs in {where} at {what}.",
            "{where} is to gain {num} jobs at {what}, according to {who} on {when}.",
        ),
        summary_pairs=(
            (
                "A new employer will open {what} in {where}, creating {num} jobs.",
                "{who} made the announcement on {when}.",
            ),
            ("{who} said on {when} that {num} jobs are coming to {where}.", "They will be at {what}."),
        ),
        details=(
            "Construction is due to begin in {mon}, and the site should be running within {n} months.",
            "The investment is worth about {mil} million dollars.",
            "The regional government is providing a grant of {mil2} million dollars towards the project.",
            "{p2}, {role2}, said the jobs were badly needed after the closure of a steelworks.",
            "Unemployment in {where} stands at {low} percent, above the national average.",
            "The company said it would work with a college in {t2} to train staff.",
        ),
        quotes=(
            "We looked at many places, and {where} offered the skilled workers we need",
            "These are good, long-term jobs",
            "We want to be part of this community for decades",
            "The support we received from local leaders made the decision easy",
            "We will start hiring as soon as the building work begins",
        ),
        background=(
            "{company} already employs {ppl} people at {few} sites.",
            "The site was previously used as an army depot and has been empty for {yrs} years.",
            "{where} has lost about {cnt} factory jobs over the past decade.",
            "{who_s} joined the company in {ryear}.",
        ),
        distractors=(
            "{org} said last week that it would cut {cnt} jobs at its plant in {t2}.",
            "{p2}, who runs a small engineering firm in {t2}, said the new site could help local suppliers.",
            "In {t2}, a shopping centre that employed {ppl} people closed its doors in {mon}.",
            "A similar project in {t2} was cancelled {yrs} years ago after funding fell through.",
        ),
    ),
)

# Sentences per article, distractors and quotes, by difficulty: (low, high) inclusive.
_SHAPE = {1: ((4, 6), (1, 1), (1, 1)), 2: ((7, 10), (2, 2), (1, 2)), 3: ((11, 16), (3, 5), (2, 3))}
_ORDER = "DQDBDQBDBDBQB"  # how details, quotes and background interleave after the lead


def _sentence(text: str) -> str:
    return text[0].upper() + text[1:] if text[0].islower() else text


def _fields(template: str) -> set[str]:
    """The field names of a template: ``"{who} raised {num}"`` -> ``{"who", "num"}``."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _compose(rng: np.random.Generator, difficulty: int, v0_summaries: bool = False) -> tuple[Article, list[str]]:
    """The article, and every name, place and number it mentions that is not a fact (for the tests).

    ``v0_summaries`` picks the summary as version 0.1.0 did, from every template, even one naming a field the
    article never states: only to reproduce the corpus that the shipped tokenizer and "tiny" were trained on.
    """
    b = _Builder(rng)
    event = _EVENTS[b.idx(len(_EVENTS))]
    extras = dict(b.pick(event.extras))
    number_spec = extras.pop("_num", event.number)
    who = b.person(fact=True)
    where = b.town(fact=True)
    what, more = event.what(b)
    extras.update(more)
    if b.idx(10) < 7:
        when = b.weekday = WEEKDAYS[b.idx(7)]
    else:
        b.month = MONTHS[b.idx(12)]
        when = f"{b.month} {b.number((1, 28, 1, False), fact=True)}"
    num = b.number(number_spec, fact=True)
    facts = {"who": who, "what": what, "where": where, "when": when, "number": num}
    base = {
        "who": who,
        "who_s": who.rsplit(" ", 1)[1],
        "what": what,
        "where": where,
        "when": when,
        "num": num,
        "role": b.pick(event.roles),
        **extras,
    }
    base["_role2"] = b.pick(event.role2s)
    slots = _Slots(base, b)

    (lo, hi), (dlo, dhi), (qlo, qhi) = _SHAPE[difficulty]
    total = lo + b.idx(hi - lo + 1)
    n_dis = dlo + b.idx(dhi - dlo + 1)
    n_quotes = qlo + b.idx(qhi - qlo + 1)
    rest = total - 1 - n_dis - n_quotes
    n_details = min(len(event.details), (rest * 3 + 4) // 5)
    n_background = rest - n_details
    details = [event.details[i] for i in b.sample(len(event.details), n_details)]
    pool = event.background + _GENERIC_BACKGROUND
    background = [pool[i] for i in b.sample(len(pool), n_background)]
    quotes = [(event.quotes[i], j) for j, i in enumerate(b.sample(len(event.quotes), n_quotes))]

    queues = {"D": details, "Q": quotes, "B": background}
    body: list[Any] = []
    while details or quotes or background:
        for key in _ORDER:
            if queues[key]:
                body.append(queues[key].pop(0))
    own = b.sample(len(event.distractors), min(2, n_dis))  # at least two about the same kind of news
    pool = tuple(d for i, d in enumerate(event.distractors) if i not in own) + _GENERIC_DISTRACTORS
    chosen = [event.distractors[i] for i in own] + [pool[i] for i in b.sample(len(pool), n_dis - len(own))]
    for text in chosen:
        body.insert(1 + b.idx(len(body)), (text,))

    lead = b.pick(event.leads)
    sentences = [_sentence(lead.format_map(slots))]
    mentioned = _fields(lead)  # the fields the article states: a summary may use no other
    for item in body:
        if isinstance(item, str):
            text = item.format_map(slots)
            mentioned |= _fields(item)
        elif len(item) == 1:  # a distractor: its people, places and numbers are its own
            text = item[0].format_map(_Slots(base, b))
        else:
            quote, nth = item
            form = b.pick(
                event.quote_forms if nth == 0 or event.quote_forms is not _WHO_QUOTE_FORMS else _WHO_AGAIN_FORMS
            )
            text = form.replace("{q}", quote).format_map(slots)
            mentioned |= _fields(form)
        sentences.append(_sentence(text))

    # Only summaries whose every field the article mentions (a lead without {activity} rules out a summary
    # that names the activity): a reference summary never states what its article does not.
    pairs = tuple(p for p in event.summary_pairs if v0_summaries or all(_fields(s) <= mentioned for s in p))
    singles = tuple(s for s in event.summaries if v0_summaries or _fields(s) <= mentioned)
    if difficulty > 1 and b.idx(2) and pairs:
        summary = " ".join(_sentence(s.format_map(slots)) for s in b.pick(pairs))
    else:
        summary = _sentence(b.pick(singles).format_map(slots))
    title = _sentence(b.pick(event.titles).format_map(slots))
    article = Article(title=title, article=" ".join(sentences), summary=summary, facts=facts, difficulty=difficulty)
    return article, b.others


def generate_article(rng: np.random.Generator, difficulty: int = 1) -> Article:
    """Generate one news-like article with its reference summary, drawing only from ``rng``.

    Args:
        rng: the source of all randomness (its state advances).
        difficulty: 1 (4-6 sentences, one distractor), 2 (7-10 sentences, two distractors, more numbers and
            names) or 3 (11-16 sentences, three to five distractors).

    Returns:
        An :class:`Article` whose ``facts`` occur verbatim in its lead sentence and in its summary.

    Raises:
        ValueError: if ``difficulty`` is not one of :data:`DIFFICULTIES`.
        TypeError: if ``rng`` is not a ``numpy.random.Generator``.

    Example:
        >>> import numpy as np
        >>> a = generate_article(np.random.default_rng(7), difficulty=3)
        >>> a.difficulty, a.facts["who"] in a.summary, a.facts["number"] in a.article
        (3, True, True)
    """
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, not {difficulty!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, not {type(rng).__name__}")
    return _compose(rng, int(difficulty))[0]


def article_for(index: int, split: str = "train", difficulty: int = 1) -> Article:
    """The article number ``index`` of ``split``: always the same article for the same arguments.

    It is ``generate_article(np.random.default_rng([index, SPLIT_CODES[split], difficulty]), difficulty)``,
    so the ``train`` and ``test`` splits come from disjoint generator streams.

    Args:
        index: any non-negative integer.
        split: ``"train"`` or ``"test"``.
        difficulty: 1, 2 or 3.

    Raises:
        ValueError: for a negative or non-integer index, an unknown split, or a difficulty not in
            :data:`DIFFICULTIES`.

    Example:
        >>> article_for(3, "test", 1) == article_for(3, "test", 1) != article_for(3, "train", 1)
        True
    """
    if isinstance(index, bool):
        raise ValueError(f"article index must be a non-negative integer, not {index!r}")
    try:
        index = operator.index(index)
    except TypeError:
        raise ValueError(f"article index must be a non-negative integer, not {index!r}") from None
    if index < 0:
        raise ValueError(f"article index must be a non-negative integer, not {index!r}")
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(SPLIT_CODES)}")
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, not {difficulty!r}")
    difficulty = int(difficulty)
    return _compose(np.random.default_rng([index, SPLIT_CODES[split], difficulty]), difficulty)[0]


def corpus_article_v0(index: int, split: str, difficulty: int) -> Article:
    """:func:`article_for` as version 0.1.0 generated it, for the pretraining corpus of the shipped tokenizer and
    model (:mod:`tokengym.data.text_corpus`), so that their build scripts reproduce them byte for byte.

    It differs only where 0.1.0 was wrong: a fundraiser's summary could name an activity that its article does
    not state. Tasks and evaluation use :func:`article_for`.
    """
    return _compose(np.random.default_rng([index, SPLIT_CODES[split], difficulty]), difficulty, v0_summaries=True)[0]
