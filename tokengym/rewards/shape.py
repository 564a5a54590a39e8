"""Rewards on the shape of a completion: verbosity, compression, brevity and n-gram repetition.

They need no reference (``verbosity`` may size its budget from one, ``compression`` sizes it from the source)
and are penalties in [-1, 0], meant to be added with a positive weight to a task reward.
"""

from __future__ import annotations

import math
import re
from typing import Any

from tokengym.rewards.base import Reward

_WORD = re.compile(r"\w+(?:'\w+)?")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters, digits, inner apostrophes), punctuation dropped."""
    return _WORD.findall(text.lower())


class Verbosity(Reward):
    """Penalty for going over a word budget: ``-min(1, (n - budget) / budget)`` when over, else 0. Range [-1, 0].

    Args:
        max_words: fixed budget in words. If ``None``, the budget is ``ceil(ratio * words in the reference)``
            (needs ``references=[...]``).
        ratio: budget relative to the reference length when ``max_words`` is ``None``.

    Example:
        >>> Verbosity(max_words=4)(["Q", "Q"], ["one two three", "one two three four five six"])
        [0.0, -0.5]
    """

    name = "verbosity"
    range = (-1.0, 0.0)

    def __init__(self, max_words: int | None = None, ratio: float = 1.5) -> None:
        if max_words is not None and (not isinstance(max_words, int) or max_words < 1):
            raise ValueError(f"verbosity max_words must be a positive integer or None, not {max_words!r}")
        if not ratio > 0:
            raise ValueError(f"verbosity ratio must be positive, not {ratio!r}")
        self.max_words = max_words
        self.ratio = float(ratio)
        self.needs = () if max_words is not None else ("references",)

    def _score(self, prompt: str, completion: str, references: str | None = None, **_: Any) -> float:
        budget = self.max_words or max(1, math.ceil(self.ratio * len(words(references or ""))))
        return _over_budget(len(words(completion)), budget)


def _over_budget(n: int, budget: int) -> float:
    return -min(1.0, (n - budget) / budget) if n > budget else 0.0


class Compression(Reward):
    """Penalty for a summary longer than a share of its source's words, in [-1, 0].

    ``-min(1, (n - budget) / budget)`` when the summary has ``n`` words over ``budget = ceil(ratio * words in
    the source)``, else 0.

    Unlike ``verbosity(ratio=...)``, which sizes the budget from the reference summary, this sizes it from the
    document being summarised, so it needs no reference. The source is the ``sources`` column (the
    Summarization environment passes the article) or, without it, the prompt.

    Args:
        ratio: the budget as a share of the source's words, in (0, 1].

    Example:
        >>> article = " ".join(["word"] * 40)
        >>> Compression(ratio=0.1)(["Q", "Q"], ["one two three", "a b c d e f"], sources=[article, article])
        [0.0, -0.5]
    """

    name = "compression"
    range = (-1.0, 0.0)

    def __init__(self, ratio: float = 0.25) -> None:
        if not 0 < ratio <= 1:
            raise ValueError(f"compression ratio must be in (0, 1], not {ratio!r}")
        self.ratio = float(ratio)

    def _score(self, prompt: str, completion: str, sources: str | None = None, **_: Any) -> float:
        source = prompt if sources is None else str(sources)
        budget = max(1, math.ceil(self.ratio * len(words(source))))
        return _over_budget(len(words(completion)), budget)


class Brevity(Reward):
    """Penalty for replies shorter than ``min_words``: ``-(min_words - n) / min_words``. Range [-1, 0].

    An empty reply gets -1: the cheapest way to dodge penalties is to say nothing, and this closes it.

    Example:
        >>> Brevity(min_words=4)(["Q", "Q"], ["", "one two"])
        [-1.0, -0.5]
    """

    name = "brevity"
    range = (-1.0, 0.0)

    def __init__(self, min_words: int = 3) -> None:
        if not isinstance(min_words, int) or min_words < 1:
            raise ValueError(f"brevity min_words must be a positive integer, not {min_words!r}")
        self.min_words = min_words

    def _score(self, prompt: str, completion: str, **_: Any) -> float:
        n = len(words(completion))
        return -(self.min_words - n) / self.min_words if n < self.min_words else 0.0


class Repetition(Reward):
    """Penalty for repeated word n-grams: ``-(1 - distinct / total)`` over the completion's n-grams. Range (-1, 0].

    A completion with fewer than ``n`` words has no n-grams and scores 0.

    Args:
        n: n-gram order.

    Example:
        >>> Repetition(n=1)(["Q"], ["go go go stop"])   # 2 distinct of 4 unigrams
        [-0.5]
    """

    name = "repetition"
    range = (-1.0, 0.0)

    def __init__(self, n: int = 2) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"repetition n must be a positive integer, not {n!r}")
        self.n = n

    def _score(self, prompt: str, completion: str, **_: Any) -> float:
        w = words(completion)
        grams = [tuple(w[i : i + self.n]) for i in range(len(w) - self.n + 1)]
        if not grams:
            return 0.0
        return -(1.0 - len(set(grams)) / len(grams))
