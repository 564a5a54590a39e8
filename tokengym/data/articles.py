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

The word pools and event templates are data: ``article_templates.json`` beside this module, read once at
import. Items are drawn by position, so editing the order of that file changes every article (and the corpus
the embedded tokenizer and model were trained on).

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

import json
import operator
import string
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
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


def _frozen(value: Any) -> Any:
    """``value`` with every JSON array made a tuple: the tables are immutable, and the public ones are tuples."""
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


_TABLES: dict[str, Any] = _frozen(
    json.loads(resources.files("tokengym.data").joinpath("article_templates.json").read_text("utf-8"))
)

# --------------------------------------------------------------------------------------------------------
# Word pools.

FIRST_NAMES: tuple[str, ...] = _TABLES["first_names"]
SURNAMES: tuple[str, ...] = _TABLES["surnames"]
TOWNS: tuple[str, ...] = _TABLES["towns"]
WEEKDAYS: tuple[str, ...] = _TABLES["weekdays"]
MONTHS: tuple[str, ...] = _TABLES["months"]
_COMPANY_WORDS: tuple[str, ...] = _TABLES["company_words"]
_SECTORS: tuple[tuple[str, str], ...] = _TABLES["sectors"]  # (the name's word, the adjective: "Motors", "car")
_MAKER_SECTORS = tuple(s for s in _SECTORS if s[0] in _TABLES["maker_sectors"])

# Numbers: (low, high, step, decimals); kinds whose name ends in "year" are printed without a comma.
_NUMBERS: dict[str, tuple[int, int, int, bool]] = _TABLES["numbers"]

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


_MAKERS: dict[str, Callable[[_Builder], str]] = {
    **{kind: _number_maker(kind) for kind in _NUMBERS},
    "p": _Builder.person,
    "t": _Builder.town,
    "org": _Builder.company,
    "tally": _Builder.tally,
    "dow": _Builder.other_weekday,
    "mon": _Builder.other_month,
    "decade": lambda b: f"{1950 + 10 * b.idx(4)}s",
}
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


_QUOTE_FORMS: dict[str, tuple[str, ...]] = _TABLES["quote_forms"]
_WHO_QUOTE_FORMS = _QUOTE_FORMS["who"]  # an event's first quote, unless the event names other forms
_WHO_AGAIN_FORMS = _QUOTE_FORMS["who_again"]  # its later quotes


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


def _coined(b: _Builder, words: str, kinds: str) -> str:
    """A fresh word of the pool ``words`` and then one of ``kinds``, as in "Riverside Cup"."""
    return f"{b.fresh(_TABLES[words], b.words)} {b.pick(_TABLES[kinds])}"


def _named(b: _Builder, words: str, kinds: str, field: str) -> tuple[str, dict[str, str]]:
    """A fresh word of ``words`` and a (name ending, description) pair of ``kinds``: "Kingsway Line", "tram line"."""
    name, kind = b.fresh(_TABLES[words], b.words), b.pick(_TABLES[kinds])
    return f"{name} {kind[0]}", {field: kind[1]}


# An event's "what" in the JSON file: one of these names, or the phrases to draw from.
_WHATS: dict[str, Callable[[_Builder], tuple[str, dict[str, str]]]] = {
    "company": lambda b: _named(b, "company_words", "sectors", "sector"),
    "cup": lambda b: (_coined(b, "cup_words", "cup_kinds"), {}),
    "storm": lambda b: (f"Storm {b.fresh(FIRST_NAMES, b.first)}", {}),
    "festival": lambda b: (f"{_coined(b, 'festival_words', 'festival_kinds')} Festival", {}),
    "route": lambda b: _named(b, "route_words", "route_kinds", "kind"),
    "school": lambda b: (b.pick(_TABLES["school_contests"]), {"school": _coined(b, "school_words", "school_kinds")}),
    "product": lambda b: (_coined(b, "product_words", "product_kinds"), {"company": b.company(_MAKER_SECTORS)}),
    "factory": lambda b: (b.pick(_TABLES["factory_sites"]), {"company": b.company(_MAKER_SECTORS)}),
    "museum": lambda b: (b.pick(_TABLES["exhibitions"]), {"museum": b.pick(_TABLES["museum_kinds"])}),
}


def _event(row: dict[str, Any]) -> _Event:
    """An event from its JSON row, where quote forms other than the usual ones are named."""
    what, forms = row["what"], _QUOTE_FORMS[row.get("quote_forms", "who")]
    return _Event(**{**row, "what": _phrases(*what) if isinstance(what, tuple) else _WHATS[what], "quote_forms": forms})


# Generic fields end in 9, so that they never share a value with an event's own fields by accident.
_GENERIC_BACKGROUND: tuple[str, ...] = _TABLES["generic_background"]
_GENERIC_DISTRACTORS: tuple[str, ...] = _TABLES["generic_distractors"]
_EVENTS: tuple[_Event, ...] = tuple(_event(row) for row in _TABLES["events"])

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


def document_index(index: Any, what: str) -> int:
    """``index`` as an int when it is a non-negative integer (not a bool); ``ValueError`` naming ``what`` otherwise.

    Example:
        >>> document_index(3, "article")
        3
    """
    if not isinstance(index, bool):
        try:
            index = operator.index(index)
        except TypeError:
            pass
        else:
            if index >= 0:
                return index
    raise ValueError(f"{what} index must be a non-negative integer, not {index!r}")


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
    index = document_index(index, "article")
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(SPLIT_CODES)}")
    if isinstance(difficulty, bool) or difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, not {difficulty!r}")
    difficulty = int(difficulty)
    return _compose(np.random.default_rng([index, SPLIT_CODES[split], difficulty]), difficulty)[0]


def corpus_article_v0(index: int, split: str, difficulty: int) -> Article:
    """:func:`article_for` as version 0.1.0 generated it, for the pretraining corpus of the shipped tokenizer and
    model (:mod:`tokengym.data.pretraining_text`), so that their build scripts reproduce them byte for byte.

    It differs only where 0.1.0 was wrong: a fundraiser's summary could name an activity that its article does
    not state. Tasks and evaluation use :func:`article_for`.
    """
    return _compose(np.random.default_rng([index, SPLIT_CODES[split], difficulty]), difficulty, v0_summaries=True)[0]
