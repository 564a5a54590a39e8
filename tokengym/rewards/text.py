"""Reference-free rewards on the tone and safety of a completion: sentiment, politeness and a safety penalty.

``sentiment`` and ``politeness`` use VADER (``vaderSentiment``), a lexicon-and-rules sentiment model for short
informal English; ``safety`` uses the hand-written lexicon in :mod:`tokengym.data.safety_lexicon`. None of
them needs a reference column.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from typing import Any

from tokengym.data import safety_lexicon as lexicon
from tokengym.rewards.base import Reward

__all__ = ["Politeness", "Safety", "Sentiment", "normalize_for_matching", "vader_compound"]


@functools.cache
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound score of ``text``, in [-1, 1]; 0 for empty text. The analyser is built once per process."""
    if not text.strip():
        return 0.0
    return float(_vader().polarity_scores(text)["compound"])


class Sentiment(Reward):
    """VADER compound sentiment of the completion, in [-1, 1] (negative to positive; 0 when neutral or empty).

    Example:
        >>> fn = Sentiment()
        >>> [round(v, 4) for v in fn(["Q", "Q"], ["What a wonderful day!", "This is awful."])]
        [0.6114, -0.4588]
    """

    name = "sentiment"
    range = (-1.0, 1.0)

    def _score(self, prompt: str, completion: str, **_: Any) -> float:
        return vader_compound(completion)


# ------------------------------------------------------------------------------------------- matching

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_RUN = re.compile(r"[a-z0-9@$]+")
_LETTER = re.compile(r"[a-z]")
_LEET_CHAR = re.compile(r"[0-9@$]")


def normalize_for_matching(text: str) -> str:
    """Lower-case, straighten apostrophes, and read leetspeak in words that mix letters with ``0 1 3 4 5 7 @ $``.

    Numbers alone are left as they are, so "10 apples" stays "10 apples" while "1d10t" becomes "idiot".
    """
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")

    def deleet(match: re.Match[str]) -> str:
        run = match.group()
        if _LETTER.search(run) and _LEET_CHAR.search(run):
            return run.translate(_LEET)
        return run

    return _RUN.sub(deleet, text)


def _phrase(phrase: str) -> str:
    """A regex for a lexicon phrase: each letter may repeat ("stuuupid"), apostrophes are optional, words are
    separated by any whitespace."""
    words = []
    for word in phrase.split():
        parts = []
        for char, _ in itertools.groupby(word):
            if char == "'":
                parts.append("'?")
            elif char.isalpha():
                parts.append(re.escape(char) + "+")
            else:
                parts.append(re.escape(char))
        words.append("".join(parts))
    return r"\s+".join(words)


def _alternation(phrases: Iterable[str]) -> str:
    # Longest first, so that "would you kindly" wins over "would you".
    return "(?:" + "|".join(_phrase(p) for p in sorted(set(phrases), key=len, reverse=True)) + ")"


def _bounded(pattern: str) -> re.Pattern[str]:
    """Whole words only: no letter or digit may touch the match (so "Scunthorpe" holds no insult)."""
    return re.compile(rf"(?<![a-z0-9]){pattern}(?![a-z0-9])")


# ------------------------------------------------------------------------------------------ politeness

POLITE_MARKERS = (
    "please",
    "pls",
    "plz",
    "thank you",
    "thanks",
    "thank u",
    "many thanks",
    "much appreciated",
    "i appreciate",
    "sorry",
    "i apologise",
    "i apologize",
    "apologies",
    "excuse me",
    "pardon me",
    "would you",
    "could you",
    "would you mind",
    "would you kindly",
    "kindly",
    "may i",
    "if you don't mind",
    "you're welcome",
    "my pleasure",
    "happy to help",
    "glad to help",
    "hello",
    "hi",
    "good morning",
    "good afternoon",
    "good evening",
    "welcome",
    "have a nice day",
    "have a great day",
    "take care",
    "i'm afraid",
    "of course",
    "certainly",
)
RUDE_MARKERS = (
    "shut up",
    "go away",
    "get lost",
    "leave me alone",
    "none of your business",
    "i don't care",
    "who cares",
    "nobody asked",
    "whatever",
    "deal with it",
    "figure it out yourself",
    "are you stupid",
    "are you deaf",
    "what's wrong with you",
    "how dare you",
    "screw you",
    "stupid",
    "idiot",
    "dumb",
    "moron",
    "useless",
    "ridiculous",
    "pathetic",
    "duh",
    "ugh",
    "stfu",
    "wtf",
    "fuck",
    "fucking",
    "shit",
    "crap",
    "damn",
)


@functools.cache
def _marker_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    return _bounded(_alternation(POLITE_MARKERS)), _bounded(_alternation(RUDE_MARKERS))


class Politeness(Reward):
    """Politeness of the completion from marker phrases and VADER sentiment, in [-1, 1].

    The rule::

        polite = min(#polite markers, saturation) / saturation       # please, thank you, sorry, could you, hello...
        rude   = min(#rude markers,   saturation) / saturation       # shut up, whatever, stupid, how dare you...
        score  = marker_weight * (polite - rude) + (1 - marker_weight) * vader_compound(completion)

    Markers (``POLITE_MARKERS``, ``RUDE_MARKERS`` in this module) match whole words, case-insensitively, and
    are counted without overlap (the longest phrase wins: "would you kindly" counts once). An empty completion
    scores 0.

    Args:
        marker_weight: weight of the marker term; VADER's compound weighs the rest. In [0, 1].
        saturation: number of markers of one kind that counts as full politeness (or rudeness).

    Example:
        >>> fn = Politeness()
        >>> polite, rude = fn(["Q", "Q"], ["Could you please check? Thank you!", "Shut up, whatever."])
        >>> polite > 0.5 > -0.5 > rude
        True
    """

    name = "politeness"
    range = (-1.0, 1.0)

    def __init__(self, marker_weight: float = 0.6, saturation: int = 2) -> None:
        if not 0.0 <= marker_weight <= 1.0:
            raise ValueError(f"politeness marker_weight must be in [0, 1], not {marker_weight!r}")
        if not isinstance(saturation, int) or saturation < 1:
            raise ValueError(f"politeness saturation must be a positive integer, not {saturation!r}")
        self.marker_weight = float(marker_weight)
        self.saturation = saturation

    def markers(self, text: str) -> tuple[list[str], list[str]]:
        """The polite and the rude markers found in ``text``, as written there."""
        polite, rude = _marker_patterns()
        normalized = normalize_for_matching(text)
        return [m.group() for m in polite.finditer(normalized)], [m.group() for m in rude.finditer(normalized)]

    def _score(self, prompt: str, completion: str, **_: Any) -> float:
        if not completion.strip():
            return 0.0
        polite, rude = self.markers(completion)
        share = (min(len(polite), self.saturation) - min(len(rude), self.saturation)) / self.saturation
        score = self.marker_weight * share + (1.0 - self.marker_weight) * vader_compound(completion)
        return max(-1.0, min(1.0, score))


# ---------------------------------------------------------------------------------------------- safety

_SPECIFIC_DETERMINERS = frozenset({"the", "my", "our", "your", "his", "her", "their", "two", "three", "both", "some"})
_INTENSIFIERS = (
    "all",
    "always",
    "just",
    "naturally",
    "inherently",
    "basically",
    "simply",
    "so",
    "too",
    "really",
    "genetically",
    "born",
    "usually",
    "generally",
    "such",
    "very",
    "complete",
    "total",
    "absolute",
    "fucking",
)
_SENTENCE_END = re.compile(r"[.!?\n]")


@functools.cache
def _safety_patterns() -> dict[str, re.Pattern[str]]:
    intensifiers = rf"(?:{_alternation(_INTENSIFIERS)}\s+)*"
    article = r"(?:an?\s+)?"
    people = _alternation(f"{adj} {noun}" for adj in lexicon.GROUP_ADJECTIVES for noun in ("people", "folks"))
    group = f"(?:{_alternation(lexicon.GROUPS)}|{people})"
    quantifier = r"(?:(?:all|most|many|typical)\s+(?:of\s+(?:the\s+)?)?)?"
    generalisation = (
        rf"{quantifier}{group}\s+(?:are|r)\s+{intensifiers}{article}{_alternation(lexicon.TRAITS)}"
        rf"|(?:{'|'.join(_phrase(form).replace(_phrase('{group}'), group) for form in lexicon.STEREOTYPE_FORMS)})"
    )
    follower = rf"(?=\s*(?:[.,!?;:)]|$)|\s+{_alternation(lexicon.THREAT_FOLLOWERS)}(?![a-z0-9]))"
    subject = rf"{_alternation(lexicon.THREAT_SUBJECTS)}\s+{intensifiers}"
    threat = (
        rf"{subject}{_alternation(lexicon.THREAT_VERBS)}\s+{_alternation(lexicon.THREAT_OBJECTS)}{follower}"
        rf"|{subject}{_alternation(lexicon.THREAT_ACTS)}"
        rf"|{_alternation(lexicon.THREAT_PHRASES)}"
    )
    second_person = _alternation(lexicon.SECOND_PERSON)
    insult = (
        rf"{_alternation(lexicon.INSULTS)}"
        rf"|{second_person}\s+{intensifiers}{article}{intensifiers}{_alternation(lexicon.INSULT_TRAITS)}"
    )
    return {
        "slur": _bounded(_alternation(lexicon.slurs())),
        "threat": _bounded(f"(?:{threat})"),
        "stereotype": _bounded(f"(?:{generalisation})"),
        "insult": _bounded(f"(?:{insult})"),
    }


def _is_specific(text: str, start: int) -> bool:
    """Whether the word before ``start`` makes a group specific ("the men are violent" is about some men)."""
    before = text[:start].split()
    return bool(before) and before[-1] in _SPECIFIC_DETERMINERS


def _is_refuted(text: str, start: int) -> bool:
    """Whether the sentence before ``start`` quotes the stereotype to refute it ("it is a myth that ...")."""
    sentence_start = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    prefix = text[sentence_start:start]
    return any(cue in prefix for cue in lexicon.REFUTATION_CUES)


class Safety(Reward):
    """Penalty for unsafe language, from a small documented lexicon, in [-1, 0] (0: nothing flagged).

    Categories and their penalty per match (see :mod:`tokengym.data.safety_lexicon`): slurs 1, threats of
    violence 1, stereotyped generalisations about groups 1, insults 0.5. The score is ``-min(1, sum of the
    penalties of all matches)``.

    Matching: lower-cased; leetspeak read in words mixing letters and ``0 1 3 4 5 7 @ $``; every letter may
    repeat ("stuuupid"); whole words only, so "Scunthorpe", "assess", "class" and "therapist" are clean.
    Threats need a first-person intent, a violent verb and a person as object, or a fixed phrase ("kill
    yourself"): "I killed it at the gym" and "kill the process" are clean. A stereotype is ``[all|most] GROUP
    are [intensifiers] [a|an] TRAIT`` or a fixed form; "women are underrepresented in engineering", "the men
    are lazy today" (specific people) and a sentence refuting one ("it is a myth that women are bad drivers")
    are clean. Not caught: spaced or dotted letters ("i d i o t"), misspellings beyond repeated letters,
    sarcasm, and anything that needs context beyond the sentence.

    Example:
        >>> fn = Safety()
        >>> fn(["Q", "Q", "Q"], ["Have a lovely day.", "What an 1d10t.", "Immigrants are lazy."])
        [0.0, -0.5, -1.0]
        >>> fn.flags("You're a stuuupid m0r0n!")
        [('insult', "you're a stuuupid"), ('insult', 'moron')]
    """

    name = "safety"
    range = (-1.0, 0.0)

    def flags(self, text: str) -> list[tuple[str, str]]:
        """Every match in ``text`` as ``(category, matched text)``, the text shown normalised."""
        normalized = normalize_for_matching(text)
        found: list[tuple[int, str, str]] = []
        for category, pattern in _safety_patterns().items():
            for match in pattern.finditer(normalized):
                if category == "stereotype" and (
                    _is_specific(normalized, match.start()) or _is_refuted(normalized, match.start())
                ):
                    continue
                found.append((match.start(), category, match.group()))
        return [(category, matched) for _, category, matched in sorted(found)]

    def _score(self, prompt: str, completion: str, **_: Any) -> float:
        penalty = sum(lexicon.SEVERITY[category] for category, _ in self.flags(completion))
        return -min(1.0, penalty)
