"""Rewards that check a summary against what it summarises: key-fact coverage and faithfulness to the source.

Both read text with the same rules (:func:`numbers_in`, :func:`name_spans`):

- Numbers: digits, with thousands separators (``1,760``) and decimals (``38.8``), ordinal suffixes dropped
  (``10th`` is 10), and written-out numbers (``fifteen``, ``twenty-five``, ``three hundred and forty``, ``two
  thousand``), all compared by value as canonical digit strings. "one" on its own is not read as a number (it
  is more often a pronoun: "the one who..."), nor is "a hundred". Scale words after a number stay words:
  ``38.8 million`` is the number 38.8 followed by "million".
- Names and places: spans of capitalised words separated by spaces or hyphens. Leading function words and
  titles ("The", "On", "Mr", "Judge"...) are dropped from a span, "I" is never a name, possessive ``'s`` is
  dropped. A single capitalised word that starts a sentence is skipped, since sentence case capitalises any
  word; two or more ("Malik Kovacs ruled...") make a name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from tokengym.rewards.base import Reward
from tokengym.rewards.lexical import _CachedStemmer

__all__ = [
    "FactCoverage",
    "Faithfulness",
    "InventedItems",
    "fact_tokens",
    "name_spans",
    "numbers_in",
    "unsupported",
]

_TOKEN = re.compile(
    r"(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?:st|nd|rd|th)?"
    r"|(?P<word>[^\W\d_]+(?:['\u2019][^\W\d_]+)*)"
)
_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1000}
_NUMBER_WORDS = {**_UNITS, **_TENS, **_SCALES}
#: Capitalised words that do not name anyone: function words that start sentences, and titles before names.
_NOT_NAME_WORDS = """
a an the this that these those some many most all both each every no our my your his her their its it he she
they we you i in on at to of for from by with about after before during since until when while as if but and
or so yet then there here today yesterday tomorrow tonight last next mr mrs ms miss dr prof professor sir dame
lord lady judge mayor deputy councillor president minister chief captain coach doctor inspector sergeant
detective officer governor senator saint st
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_TITLE_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st"})
_SENTENCE_BREAK = re.compile(r"[.!?:;\n]|(?:^|\s)[\"\u201c(]")
_SPAN_JOIN = re.compile(r"[ \t-]+")
#: Words that carry no fact: "the demolition of a historic cinema" is covered by "demolition historic cinema".
_FACT_STOPWORD_LIST = """
a an the of in on at to for and or by with from its their his her as is are was were be
"""
_FACT_STOPWORDS = frozenset(_FACT_STOPWORD_LIST.split())


@functools.cache
def _stemmer() -> _CachedStemmer:
    return _CachedStemmer()


def _canonical_number(digits: str) -> str:
    digits = digits.replace(",", "")
    if "." in digits:
        whole, fraction = digits.split(".", 1)
        fraction = fraction.rstrip("0")
        return f"{whole.lstrip('0') or '0'}.{fraction}" if fraction else whole.lstrip("0") or "0"
    return digits.lstrip("0") or "0"


def _may_follow(last: str | None, word: str) -> bool:
    """Whether number word ``word`` continues a number that ended with ``last``: "twenty five" and "five hundred"
    do, "five twenty" and "one two" do not."""
    if word in _SCALES:
        return last is not None and (last not in _SCALES or _SCALES[last] < _SCALES[word])
    if word in _TENS:
        return last is None or last in _SCALES
    if word in _UNITS:
        return last is None or last in _SCALES or (last in _TENS and 0 < _UNITS[word] < 10)
    return False


def _tokens(text: str) -> list[tuple[str, str, int, int]]:
    """``(kind, text, start, end)`` for every number and word of ``text``."""
    return [("number" if m.group("number") else "word", m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _read_tokens(text: str) -> Iterator[tuple[str, str, int, int]]:
    """Tokens with written-out numbers folded into one ``number`` token holding their value."""
    tokens = _tokens(text)
    i = 0
    while i < len(tokens):
        kind, raw, start, end = tokens[i]
        if kind == "number":
            digits = re.match(r"[\d,.]+", raw).group()  # type: ignore[union-attr]
            yield "number", _canonical_number(digits), start, end
            i += 1
            continue
        j, total, current, words = i, 0, 0, []
        while j < len(tokens) and tokens[j][0] == "word":
            word = tokens[j][1].lower()
            gap = text[tokens[j - 1][3] : tokens[j][2]] if j > i else ""
            if j > i and not _SPAN_JOIN.fullmatch(gap):
                break
            if word == "and" and words and words[-1] in _SCALES:
                if j + 1 < len(tokens) and tokens[j + 1][1].lower() in _NUMBER_WORDS:
                    j += 1
                    continue
                break
            if not _may_follow(words[-1] if words else None, word):
                break
            if word in _SCALES:
                if _SCALES[word] == 1000:
                    total += max(current, 1) * 1000
                    current = 0
                else:
                    current = max(current, 1) * 100
            else:
                current += _NUMBER_WORDS[word]
            words.append(word)
            j += 1
        if words and words != ["one"]:
            yield "number", str(total + current), start, tokens[j - 1][3]
            i = j
        else:
            yield kind, raw, start, end
            i += 1


def numbers_in(text: str) -> list[str]:
    """The numbers of ``text`` as canonical digit strings, in order.

    Example:
        >>> numbers_in("About 1,760 people, fifteen judges, twenty-five days, 38.80 million, the 10th time.")
        ['1760', '15', '25', '38.8', '10']
    """
    return [value for kind, value, _, _ in _read_tokens(text) if kind == "number"]


def name_spans(text: str) -> list[str]:
    """Names and places in ``text``: capitalised spans as in the module docstring, lower-cased.

    Example:
        >>> name_spans("Malik Kovacs ruled in Saltmarsh. On Thursday, Mr. Kovacs's lawyer spoke. Residents cheered.")
        ['malik kovacs', 'saltmarsh', 'thursday', 'kovacs']
    """
    words = [(raw, start, end) for kind, raw, start, end in _read_tokens(text) if kind == "word"]
    spans: list[str] = []
    current: list[str] = []
    at_sentence_start = False
    previous_end, previous_word = 0, ""
    for raw, start, end in words:
        gap = text[previous_end:start]
        starts_sentence = not previous_end or (
            bool(_SENTENCE_BREAK.search(gap)) and not (previous_word in _TITLE_ABBREVIATIONS and gap.strip() == ".")
        )
        joined = bool(current) and _SPAN_JOIN.fullmatch(gap) is not None
        if current and not joined:
            _close_span(current, at_sentence_start, spans)
            current = []
        if raw[0].isupper():
            if not current:
                at_sentence_start = starts_sentence
            current.append(raw)
        elif current:
            _close_span(current, at_sentence_start, spans)
            current = []
        previous_end, previous_word = end, raw.lower()
    if current:
        _close_span(current, at_sentence_start, spans)
    return spans


def _close_span(words: list[str], at_sentence_start: bool, out: list[str]) -> None:
    names = [re.sub(r"['\u2019]s$", "", w).lower() for w in words]
    stripped = 0
    while stripped < len(names) and names[stripped] in _NOT_NAMES:
        stripped += 1
    names = [n for n in names[stripped:] if n != "i"]
    if not names or (at_sentence_start and not stripped and len(names) == 1):
        return
    out.append(" ".join(names))


def _source_words(text: str) -> str:
    """The source as one space-padded, lower-cased string of words, for whole-phrase look-ups."""
    words = [re.sub(r"['\u2019]s$", "", raw).lower() for kind, raw, _, _ in _read_tokens(text) if kind == "word"]
    return f" {' '.join(words)} "


def unsupported(summary: str, source: str) -> list[str]:
    """The distinct numbers and names of ``summary`` that ``source`` does not contain, in order of appearance.

    A number is supported when the source has the same value (in digits or words); a name when the source has
    the same words in the same order (case-insensitively), so a swapped first name is caught.

    Example:
        >>> unsupported("Maria Lopez won 500 dollars in Ferndale.", "Maria Okafor won 500 dollars in Ferndale.")
        ['maria lopez']
    """
    source_numbers = set(numbers_in(source))
    source_words = _source_words(source)
    missing = [n for n in dict.fromkeys(numbers_in(summary)) if n not in source_numbers]
    missing += [s for s in dict.fromkeys(name_spans(summary)) if f" {s} " not in source_words]
    return missing


#: The end of a text that may still grow into a longer word, number or name: the tail that is not settled yet.
_OPEN_TAIL = re.compile(r"[\w,.'\u2019-]*$")


class InventedItems:
    """Finds, as a summary is written token by token, each name or number it states that the source lacks.

    An item is judged once it is complete: when the text after it can no longer extend it (a space follows a
    number, a lower-case word follows a name), or at the end of the summary. A prefix of a supported name is
    itself supported (the source holds its words in the same order), so an item is never judged invented
    before it is finished. Each distinct invented item is reported once, on the call that first completes it;
    the token-level faithfulness penalty of :class:`~tokengym.envs.summarization.SummarizationEnv`
    (``invented_penalty``) lands there, instead of on the whole summary at its end.

    Example:
        >>> tracker = InventedItems("Maria Okafor won 500 dollars in Ferndale.")
        >>> [tracker.update(t) for t in ("Maria", "Maria Lopez", "Maria Lopez w", "Maria Lopez won 500 ")]
        [[], [], ['maria lopez'], []]
        >>> tracker.update("Maria Lopez won 500 dollars in Paris.", final=True)
        ['paris']
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.reported: set[str] = set()

    def update(self, text: str, final: bool = False) -> list[str]:
        """The items of ``text`` that are complete, invented and not reported before (then marked reported)."""
        settled = text
        if not final:
            tail = _OPEN_TAIL.search(text)
            settled = text[: tail.start()]  # type: ignore[union-attr]
            if not tail.group()[:1].islower():  # type: ignore[union-attr]
                # A name may continue with the next capitalised word; a lower-case word ends it.
                settled = _settled_names(settled)
        new = [item for item in unsupported(settled, self.source) if item not in self.reported]
        self.reported.update(new)
        return new


def _settled_names(text: str) -> str:
    """``text`` up to its trailing run of capitalised words, if any: a name the next word may still extend."""
    words = list(re.finditer(r"[^\W\d_][\w'\u2019]*", text))
    cut = len(text)
    if not words or not re.fullmatch(r"[ \t-]*", text[words[-1].end() :]):
        return text  # punctuation or a number after the last word closed every name
    for i in range(len(words) - 1, -1, -1):
        joined = i == len(words) - 1 or re.fullmatch(r"[ \t-]+", text[words[i].end() : words[i + 1].start()])
        if not (joined and words[i].group()[0].isupper()):
            break
        cut = words[i].start()
    return text[:cut]


class Faithfulness(Reward):
    """Penalty for numbers, names and places in the summary that the source does not contain, in [-1, 0].

    ``score = -(unsupported items) / (items)`` over the summary's distinct numbers and name spans (read as in
    this module's docstring); 0 when the summary has none. The source is the ``sources`` column (the
    Summarization environment passes the article); without it, the prompt, which for summarization holds the
    article (any instruction words in it only widen what counts as supported).

    Example:
        >>> fn = Faithfulness()
        >>> article = "Maria Okafor won 500 dollars in Ferndale on Monday."
        >>> fn(["Q", "Q"], ["Maria Okafor won 500 dollars.", "Maria Okafor won 900 dollars in Paris."],
        ...    sources=[article, article])
        [0.0, -0.6666666666666666]
    """

    name = "faithfulness"
    range = (-1.0, 0.0)

    def _score(self, prompt: str, completion: str, sources: str | None = None, **_: Any) -> float:
        numbers, names = numbers_in(completion), name_spans(completion)
        items = len(set(numbers)) + len(set(names))
        if not items:
            return 0.0
        return -len(unsupported(completion, prompt if sources is None else str(sources))) / items


def fact_tokens(text: str, keep_function_words: bool = False) -> set[str]:
    """The normalised tokens a fact is matched on: lower-cased, Porter-stemmed words (function words dropped
    unless ``keep_function_words``), and numbers by value.

    Example:
        >>> sorted(fact_tokens("the demolition of 1,760 historic cinemas on January 10th"))
        ['10', '1760', 'cinema', 'demolit', 'histor', 'januari']
    """
    stemmer = _stemmer()
    out = set()
    for kind, value, _, _ in _read_tokens(text):
        if kind == "number":
            out.add(value)
        else:
            word = re.sub(r"['\u2019]s$", "", value.lower())
            if keep_function_words or word not in _FACT_STOPWORDS:
                out.add(stemmer.stem(word))
    return out


def _facts_of(value: Any) -> list[str]:
    if isinstance(value, str):
        facts = [value]
    elif isinstance(value, Mapping):
        facts = [str(v) for v in value.values() if v is not None]
    elif isinstance(value, Sequence):
        facts = [str(v) for v in value if v is not None]
    else:
        raise TypeError(f"fact_coverage: facts must be a mapping, a list of strings or a string, not {value!r}")
    return [f for f in facts if f.strip()]


class FactCoverage(Reward):
    """Share of the known key facts that the summary states, in [0, 1].

    Each sample's ``facts`` are a ``{name: value}`` mapping (as :class:`tokengym.data.articles.Article.facts`:
    who, what, where, when, number) or a list of strings. A fact counts as stated when every one of its
    :func:`fact_tokens` (stemmed words less function words, numbers by value) occurs anywhere in the summary:
    "the demolition of a historic cinema" is stated by "...stopped the historic cinema's demolition", "1,760"
    by "1760", "fifteen" by "15". The score is ``stated facts / facts``; a sample with no facts scores 0.

    Example:
        >>> facts = {"who": "Malik Kovacs", "where": "Saltmarsh", "number": "459"}
        >>> FactCoverage()(["Q"], ["Judge Kovacs ruled for 459 people in Saltmarsh."], facts=[facts])
        [0.6666666666666666]
    """

    name = "fact_coverage"
    range = (0.0, 1.0)
    needs = ("facts",)
    column_help: ClassVar[Mapping[str, str]] = {
        "facts": "the key facts of each sample, a {name: value} mapping or a list of strings (the "
        "procedural articles of tokengym.data.articles carry them as Article.facts)"
    }

    def stated(self, summary: str, facts: Any) -> list[bool]:
        """For each fact, whether ``summary`` states it."""
        words = fact_tokens(summary, keep_function_words=True)
        return [
            (fact_tokens(fact) or fact_tokens(fact, keep_function_words=True)) <= words for fact in _facts_of(facts)
        ]

    def _score(self, prompt: str, completion: str, facts: Any = None, **_: Any) -> float:
        flags = self.stated(completion, facts)
        return sum(flags) / len(flags) if flags else 0.0
