"""Invented names, places and numbers, swapped consistently into generated articles and conversations.

A model trained only on text whose names come from a few short tables learns to write the likely names of
those tables, not the name in front of it: "tiny" answered every unseen persona name with "Ada". Text in which
every person, place and number is drawn fresh for the document can only be predicted by copying from the
context, so the embedded model's pretraining text (:mod:`tokengym.data.pretraining_text`) is mostly made of it,
and the copy probe (``benchmarks/copy_probe.py``) measures copying with names built the same way but never
seen in training.

Invented names are pronounceable strings of seeded syllables; invented numbers keep the original's shape (its
digits redrawn, separators and decimal point kept, no leading zero). The swap is consistent within a document:
the same table name becomes the same invented name in the article, its summary and its facts, and in every
turn of a conversation, so the reference text still states exactly what the context says.

Example:
    >>> from tokengym.data.articles import article_for
    >>> a = refresh_article(article_for(0, "train", 2), np.random.default_rng(0))
    >>> all(value in a.article and value in a.summary for value in a.facts.values())
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from tokengym.data.articles import FIRST_NAMES, SURNAMES, TOWNS, Article
from tokengym.data.dialogues import CITIES, NAMES, PET_NAMES, Conversation

__all__ = ["NameInventor", "refresh_article", "refresh_conversation", "swap_entities"]

_ONSETS = ("b", "br", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "qu", "r", "s", "t", "v", "w", "z")
_VOWELS = ("a", "e", "i", "o", "u", "a", "e", "o")
_CODAS = ("", "", "", "n", "r", "l", "s", "m", "nd", "rt")

#: A number as the generators write them: ``7``, ``12.5``, ``47,700`` (not inside a word).
_NUMBER = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w]|[,.]\d)|(?<![\w.,])\d+(?:\.\d+)?(?![\w]|[,.]\d)")
#: A year is kept as it is (an invented year reads as nonsense, and years are rarely the fact asked for).
_YEAR = re.compile(r"^(1[89]|20)\d\d$")
_MONTHS = (
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
#: A month name right before a number: the number is a day (redrawn from 1 to 28, never "June 41").
_MONTH_BEFORE = re.compile(r"\b(" + "|".join(_MONTHS) + r") $")


class NameInventor:
    """Invents capitalised names and numbers, never the same name twice, never a word of ``avoid``.

    Args:
        rng: the generator every draw comes from.
        avoid: lower-case words an invented name must not be (for a held-out probe: every word of the
            training text).
    """

    def __init__(self, rng: np.random.Generator, avoid: Iterable[str] = ()) -> None:
        self.rng = rng
        self.avoid = frozenset(avoid)
        self.used: set[str] = set()

    def _pick(self, options: tuple[str, ...]) -> str:
        return options[int(self.rng.integers(len(options)))]

    def name(self, syllables: int = 2) -> str:
        """A new capitalised name of ``syllables`` syllables (4 to 10 letters)."""
        while True:
            word = "".join(self._pick(_ONSETS) + self._pick(_VOWELS) + self._pick(_CODAS) for _ in range(syllables))
            if 4 <= len(word) <= 10 and word not in self.avoid and word not in self.used:
                self.used.add(word)
                return word.capitalize()

    def day(self, like: str) -> str:
        """A day of a month, 1 to 28, other than ``like``."""
        while True:
            fresh = str(int(self.rng.integers(1, 29)))
            if fresh != like:
                return fresh

    def number(self, like: str) -> str:
        """A number shaped like ``like`` (digits redrawn, separators kept, no leading zero), of another value."""
        count = sum(c.isdigit() for c in like)
        if count == 0:
            raise ValueError(f"{like!r} has no digits to redraw")
        while True:
            digits = iter(str(int(self.rng.integers(1 if i == 0 else 0, 10))) for i in range(count))
            fresh = "".join(next(digits) if c.isdigit() else c for c in like)
            if fresh != like:
                return fresh


def _words_pattern(words: Iterable[str]) -> re.Pattern[str]:
    ordered = sorted(set(words), key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z])(" + "|".join(map(re.escape, ordered)) + r")(?![A-Za-z])")


_ARTICLE_NAMES = _words_pattern((*FIRST_NAMES, *SURNAMES, *TOWNS))
_TOWN_SET = frozenset(TOWNS)
_PERSONA_NAMES = _words_pattern((*NAMES, *PET_NAMES, *CITIES))
_CITY_SET = frozenset(CITIES)


def swap_entities(
    texts: list[str], names: re.Pattern[str], places: frozenset[str], inventor: NameInventor, numbers: bool = True
) -> tuple[list[str], dict[str, str]]:
    """Replace every match of ``names`` and (if ``numbers``) every number but years in ``texts``, consistently.

    A place (a name in ``places``) becomes a three-syllable invention, any other name a two-syllable one; a
    number keeps its shape, a day after a month name becomes another day from 1 to 28. Returns the new texts
    and the mapping used (old -> new; a day's key holds its month, ``"June 18"``).
    """
    mapping: dict[str, str] = {}

    def name(match: re.Match[str]) -> str:
        old = match.group(0)
        if old not in mapping:
            mapping[old] = inventor.name(3 if old in places else 2)
        return mapping[old]

    def number(match: re.Match[str]) -> str:
        old, key = match.group(0), _number_key(match)
        if _YEAR.match(old):
            return old
        if key not in mapping:
            taken = {v for k, v in mapping.items() if _is_day(k) == _is_day(key)}
            new = inventor.day(old) if _is_day(key) else inventor.number(old)
            while new in taken:
                new = inventor.day(old) if _is_day(key) else inventor.number(old)
            mapping[key] = new
        return mapping[key]

    out = [names.sub(name, text) for text in texts]
    if numbers:
        out = [_NUMBER.sub(number, text) for text in out]
    return out, mapping


def _apply(value: str, mapping: dict[str, str], names: re.Pattern[str]) -> str:
    value = names.sub(lambda m: mapping.get(m.group(0), m.group(0)), value)
    return _NUMBER.sub(lambda m: mapping.get(_number_key(m), m.group(0)), value)


def _number_key(match: re.Match[str]) -> str:
    """A number's key in the mapping: the number, or ``"June 18"`` for a day of a month (redrawn as a day)."""
    month = _MONTH_BEFORE.search(match.string, 0, match.start())
    return f"{month.group(1)} {match.group(0)}" if month else match.group(0)


def _is_day(key: str) -> bool:
    return " " in key


def refresh_article(article: Article, rng: np.random.Generator) -> Article:
    """``article`` with every person, town and number (but years) replaced by invented ones, consistently.

    The facts are mapped the same way, so each still occurs verbatim in the article and the summary.
    """
    inventor = NameInventor(rng)
    (text, summary, title), mapping = swap_entities(
        [article.article, article.summary, article.title], _ARTICLE_NAMES, _TOWN_SET, inventor
    )
    facts = {key: _apply(value, mapping, _ARTICLE_NAMES) for key, value in article.facts.items()}
    return replace(article, article=text, summary=summary, title=title, facts=facts)


def refresh_conversation(conversation: Conversation, rng: np.random.Generator) -> Conversation:
    """A persona ``conversation`` with the user's name, their pet's name and their city invented, consistently.

    Other kinds have no names to swap and come back unchanged; numbers are left alone (they are times and
    counts, not facts the assistant must repeat).
    """
    if conversation.kind != "persona":
        return conversation
    inventor = NameInventor(rng)
    turns, mapping = swap_entities(list(conversation.turns), _PERSONA_NAMES, _CITY_SET, inventor, numbers=False)
    persona = {key: mapping.get(value, value) for key, value in conversation.persona.items()}
    return replace(conversation, turns=tuple(turns), persona=persona)
