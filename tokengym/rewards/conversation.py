"""Reading a conversation: content words, tone, the facts a user states and what an assistant says about itself.

The dialogue rewards (:mod:`tokengym.rewards.dialogue`) and the user simulators (:mod:`tokengym.envs.users`)
share these rules, so that a simulated user and a reward judge a reply alike. Every rule is a small documented
pattern, not a model: cheap enough to run at every end of utterance, and predictable. What the patterns miss is
listed with each one.

Example:
    >>> sorted(content_words("Since you enjoy gardening, Maya, plant some herbs!"))
    ['enjoy', 'garden', 'herb', 'maya', 'plant', 'sinc']
    >>> user_facts("Hey! I'm Maya, and I'm really into gardening. I live in Leeds.")
    {'name': 'Maya', 'interests': ['gardening'], 'city': 'Leeds'}
    >>> contradictions(["My favourite colour is blue."], "My favourite colour is green!")
    [('favourite colour', 'blue', 'green')]
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "STOPWORDS",
    "TONES",
    "assistant_turns",
    "content_words",
    "contradictions",
    "fact_values",
    "mentions",
    "self_statements",
    "tone_of",
    "user_facts",
]

TONES = ("casual", "formal")

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Function words that say nothing about a topic; :func:`content_words` drops them (and words under 3 letters).
STOPWORDS = _word_set(
    """
    the and but for nor yet with from into onto upon about above below over under again further then once here
    there when where why how all any both each few more most other some such only own same than too very can will
    just should now are was were been being have has had having does did doing would could might must shall may
    you your yours yourself yourselves him his himself she her hers herself its itself they them their theirs
    themselves what which who whom this that these those myself our ours ourselves not off out also well much
    many lot lots get got really thing things like one ones way ways sure yes yeah okay let let's i'm you're it's
    that's there's what's i've i'll i'd don't can't won't isn't aren't didn't doesn't wasn't weren't haven't
    hasn't couldn't wouldn't shouldn't
    """
)


@functools.cache
def _stemmer() -> Any:
    from nltk.stem import porter  # what rouge-score stems with: a reward and ROUGE agree on word forms

    return porter.PorterStemmer()


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    return _stemmer().stem(word)


def content_words(text: str) -> frozenset[str]:
    """Porter stems of the words of ``text`` that carry its topic: 3 letters or more, not in :data:`STOPWORDS`.

    Lower-cased; a word's apostrophe suffix goes (``"Maya's"`` counts as ``"maya"``).

    Example:
        >>> sorted(content_words("My router keeps dropping the wifi"))
        ['drop', 'keep', 'router', 'wifi']
    """
    found = set()
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if word in STOPWORDS:
            continue
        word = word.split("'", 1)[0]
        if len(word) >= 3 and word not in STOPWORDS:
            found.add(_stem(word))
    return frozenset(found)


def mentions(text: str | frozenset[str], value: str) -> bool:
    """Whether ``text`` (or its :func:`content_words`) mentions ``value``: every content word of the value
    appears in it. A value without content words (``"it"``) is never mentioned.

    Example:
        >>> mentions("Do you grow vegetables in your garden?", "gardening"), mentions("Hello!", "gardening")
        (True, False)
    """
    words = content_words(text) if isinstance(text, str) else text
    wanted = content_words(value)
    return bool(wanted) and wanted <= words


def fact_values(facts: Mapping[str, Any]) -> list[str]:
    """The distinct string values of a facts mapping (list values flattened), in order.

    Example:
        >>> fact_values({"name": "Maya", "interests": ["gardening", "tea"], "tone": "casual"})
        ['Maya', 'gardening', 'tea', 'casual']
    """
    values: list[str] = []
    for value in facts.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, str) and item.strip() and item not in values:
                values.append(item)
    return values


# ------------------------------------------------------------------------------------------------ tone

_CONTRACTION = re.compile(
    r"\b(?:i'm|i've|i'll|i'd|you're|you've|you'll|it's|that's|there's|here's|let's|what's"
    r"|we're|they're|how's|\w+n't)\b"
)
_FULL_FORM = re.compile(
    r"\b(?:i am|i have|i will|i would|it is|you are|you have|that is|there is|let us|do not"
    r"|does not|cannot|will not|would not|i shall)\b"
)
CASUAL_WORDS = _word_set(
    "hey hiya awesome cool yeah yep nope gonna wanna gotta totally super fun ooh wow lol nice love stuff kinda "
    "folks guys btw haha amazing fab chill"
)
FORMAL_WORDS = _word_set(
    "certainly indeed pleasure delighted kindly regards shall assist recommend suggest advise appreciate wonderful "
    "excellent pleasant sincerely furthermore however therefore perhaps moreover admire lovely splendid"
)


def tone_of(text: str) -> str:
    """The register of ``text``: ``"casual"``, ``"formal"`` or ``"neutral"``.

    The rule: casual points are contractions (``I'm``, ``don't``), casual words (:data:`CASUAL_WORDS`: hey,
    awesome, cool, fun...) and exclamation marks; formal points are full forms where a contraction would do
    (``I am``, ``it is``, ``do not``) and formal words (:data:`FORMAL_WORDS`: certainly, pleasure, recommend...).
    More casual points: casual; more formal: formal; a tie (no marker at all, say): neutral.

    Example:
        >>> tone_of("Hey, that's awesome!"), tone_of("It is a pleasure to assist you."), tone_of("Plant herbs.")
        ('casual', 'formal', 'neutral')
    """
    lowered = text.lower().replace("\u2019", "'")
    words = _WORD.findall(lowered)
    casual = len(_CONTRACTION.findall(lowered)) + sum(w in CASUAL_WORDS for w in words) + text.count("!")
    formal = len(_FULL_FORM.findall(lowered)) + sum(w in FORMAL_WORDS for w in words)
    return "casual" if casual > formal else "formal" if formal > casual else "neutral"


# ----------------------------------------------------------------------------------------- user facts

_NAME = r"([A-Z][a-z]+)"
_PLACE = r"([A-Z][a-z]+(?: [A-Z][a-z]+)?)"
_UNTIL = r"(?=\s*(?:[.,!?;:]|$|\band\b|\bbut\b|\bfor\b|\bso\b))"
_THING = rf"([a-z][a-z' -]{{1,40}}?){_UNTIL}"
_NOT_NAMES = _word_set(
    "Not So Just Very Really Happy Glad Fine Good Sorry Here Back Based From In Into On Also Still Looking Trying "
    "Afraid Sure Okay Going Done The A An"
)
_USER_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("name", re.compile(rf"\b[Mm]y name(?:'s| is) {_NAME}")),
    ("name", re.compile(rf"\bI(?:'m| am) {_NAME}\b(?! [A-Z])")),
    ("name", re.compile(rf"\b(?:[Cc]all me|[Tt]his is) {_NAME}")),
    ("name", re.compile(rf"(?:^|[.!?,]\s*){_NAME} here\b")),
    ("interests", re.compile(rf"\bI(?:'m| am) (?:really |very |so |quite )?(?:into|fond of) {_THING}")),
    ("interests", re.compile(rf"\bI(?:'ve| have) been (?:really )?into {_THING}")),
    ("interests", re.compile(rf"\bI (?:really |absolutely |just |greatly |truly )?(?:love|enjoy|adore) {_THING}")),
    ("interests", re.compile(rf"\bI(?:'m| am) a (?:big |huge |great )?fan of {_THING}")),
    ("interests", re.compile(rf"\b(?:keen |great |real )?interest in {_THING}")),
    ("city", re.compile(rf"\bI (?:live|am living) in {_PLACE}")),
    ("city", re.compile(rf"\bI(?:'m| am) (?:based|living) in {_PLACE}")),
    ("city", re.compile(rf"\bI(?:'m| am) from {_PLACE}")),
    ("job", re.compile(rf"\bI work as an? {_THING}")),
    ("job", re.compile(r"\bI(?:'m| am) an? ([a-z]+(?: [a-z]+)?)(?=\s*(?:[.!?;]|$))")),
)
_PET_PATTERNS = (
    re.compile(rf"\bI have an? ([a-z]+) (?:called|named) {_NAME}"),
    re.compile(rf"\b(?:[Mm]y|a) ([a-z]+) (?:called |named )?{_NAME}\b"),
)
_PETS = _word_set("dog cat rabbit parrot hamster tortoise puppy kitten bird fish horse guinea pig turtle")


def user_facts(text: str) -> dict[str, Any]:
    """The facts a user states about themselves in ``text``: ``name``, ``interests`` (a list), ``city``, ``job``,
    ``pet`` and ``pet_name``, each where a pattern finds it.

    Patterns (case-sensitive where a name is read: names and places are capitalised words):

    - name: "my name is X", "I'm X", "I am X", "call me X", "this is X", "X here";
    - interests: "I'm (really) into X", "I'm fond of X", "I've been into X", "I (really) love/enjoy X", "I'm a
      (big) fan of X", "(keen) interest in X" -- X runs to the next punctuation, "and", "but", "for" or "so";
    - city: "I live in X", "I'm based in X", "I'm from X";
    - job: "I work as a X", "I'm a X." (one or two words, then the end of the sentence);
    - pet: "I have a P called/named X", "my P X" for a known pet word P.

    Negated statements ("I'm not into golf", "I don't love golf") are not read as facts. Not caught: facts in
    the third person, or phrased otherwise.

    Example:
        >>> user_facts("Good morning. My name is Jonas, and I am very fond of running.")
        {'name': 'Jonas', 'interests': ['running']}
        >>> user_facts("I work as a nurse. My dog Biscuit keeps me company.")
        {'job': 'nurse', 'pet': 'dog', 'pet_name': 'Biscuit'}
    """
    text = text.replace("\u2019", "'")
    facts: dict[str, Any] = {}
    for key, pattern in _USER_PATTERNS:
        for match in pattern.finditer(text):
            value = match.group(1).strip()
            if key == "name" and value in _NOT_NAMES:
                continue
            if key in ("interests", "job") and not content_words(value):
                continue
            if key == "interests":
                facts.setdefault("interests", [])
                if value not in facts["interests"]:
                    facts["interests"].append(value)
            else:
                facts.setdefault(key, value)
    for pattern in _PET_PATTERNS:
        match = pattern.search(text)
        if match and match.group(1) in _PETS and "pet" not in facts:
            facts["pet"], facts["pet_name"] = match.group(1), match.group(2)
    return facts


# ------------------------------------------------------------------------------- assistant statements

_VALUE = r"([a-z0-9][a-z0-9' -]{0,40}?)(?=\s*(?:[.,!?;:]|$|\band\b|\bbut\b|\bbecause\b|\bthough\b))"
_COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "no": 0,
}  # fmt: skip
_NUMBER = r"one|two|three|four|five|six|seven|eight|nine|ten|\d+"
_STATEMENTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("favourite", re.compile(rf"\bmy (?:very )?favou?rite ([a-z]+(?: [a-z]+)?) (?:is|are|was|would be) {_VALUE}")),
    ("name", re.compile(r"\b(?:my name(?:'s| is)|i(?:'m| am) called|call me) ([a-z]+)")),
    ("age", re.compile(r"\bi(?:'m| am) ([a-z0-9-]+) years? old")),
    ("home", re.compile(rf"\bi (?:live|am living|grew up) in {_VALUE}")),
    ("home", re.compile(rf"\bi(?:'m| am) from {_VALUE}")),
    ("job", re.compile(rf"\bi work as (?:an? )?{_VALUE}")),
    ("identity", re.compile(r"\bi(?:'m| am) (?:an? |just an? )([a-z]+)(?=\s*(?:[.,!?;]|$))")),
    ("count", re.compile(rf"\bi have (an?|no|{_NUMBER}) ([a-z]+?)s?(?=\s*(?:[.,!?;]|$))")),
)
_ARTICLE = re.compile(r"^(?:the|a|an|my) ")


def _normalise(value: str) -> str:
    return _ARTICLE.sub("", " ".join(value.split()))


def self_statements(text: str) -> dict[str, str]:
    """What an assistant says about itself in ``text``, as ``{slot: value}`` (lower-cased).

    Slots and patterns:

    - ``favourite X``: "my favourite X is Y" (also "favorite", "are", "was", "would be");
    - ``name``: "my name is Y", "I'm called Y", "call me Y";
    - ``age``: "I am Y years old";
    - ``home``: "I live in Y", "I grew up in Y", "I'm from Y";
    - ``job``: "I work as a Y";
    - ``identity``: "I am a Y." / "I'm an Y" with one word then the end of a clause ("I'm a robot.", not "I'm
      a big fan of jazz");
    - ``number of X``: "I have N X(s)" at the end of a clause, N a digit or a number word ("a" counts 1).

    Y runs to the next punctuation, "and", "but", "because" or "though"; a leading article goes. Not caught:
    negations ("my favourite colour is not blue" reads "not blue"), statements spread over two sentences,
    and false alarms such as "I have a question" then "I have two questions".

    Example:
        >>> self_statements("I'm a robot, and my favourite film is The Matrix. I have two cats.")
        {'favourite film': 'matrix', 'identity': 'robot', 'number of cat': '2'}
    """
    lowered = " ".join(text.lower().replace("\u2019", "'").split())
    found: dict[str, str] = {}
    for slot, pattern in _STATEMENTS:
        for match in pattern.finditer(lowered):
            if slot == "favourite":
                key, value = f"favourite {match.group(1)}", match.group(2)
            elif slot == "count":
                number = match.group(1)
                key, value = f"number of {match.group(2)}", str(_COUNT_WORDS.get(number, number))
            else:
                key, value = slot, match.group(1)
            value = _normalise(value)
            if value:
                found.setdefault(key, value)
    return found


def contradictions(earlier: Iterable[str], reply: str) -> list[tuple[str, str, str]]:
    """Where ``reply`` contradicts what the assistant said about itself in ``earlier`` turns.

    Returns ``(slot, earlier value, new value)`` for every slot of :func:`self_statements` that ``reply``
    states with a value different from one stated in an earlier turn.

    Example:
        >>> contradictions(["I am a robot.", "My name is Ada."], "My name is Bob, and I'm a robot.")
        [('name', 'ada', 'bob')]
    """
    said: dict[str, list[str]] = {}
    for turn in earlier:
        for slot, value in self_statements(turn).items():
            said.setdefault(slot, []).append(value)
    found = []
    for slot, value in self_statements(reply).items():
        for old in dict.fromkeys(said.get(slot, ())):
            if old != value:
                found.append((slot, old, value))
    return found


def assistant_turns(history: Sequence[str]) -> list[str]:
    """The assistant's turns of a conversation laid out user first (``history[1::2]``)."""
    return list(history[1::2])
