"""Rewards for question answering with abstention: a right answer, an admitted "I don't know", an invented answer.

Every completion to a question falls in one of four outcomes (:func:`judge`):

- ``"abstained"``: the completion is one of the accepted abstention phrasings (:data:`ABSTENTION_PHRASES`),
  compared after :func:`normalize_answer` (case, punctuation, articles and spacing ignored). A hedge followed
  by a guess ("I don't know, maybe Leeds") is an answer, not an abstention.
- ``"correct"``: the question has an answer, and the completion states it: the normalised answer occurs in the
  normalised completion as whole words, and the completion has at most ``max_extra_words`` words more than
  the answer ("Leeds" and "She lives in Leeds" are right; a list of every town in the context is not).
- ``"fabricated"``: any other non-empty completion: a wrong answer to an answerable question, or any answer to
  one the context cannot answer.
- ``"empty"``: nothing was written (the end-of-sequence token first); neither paid nor charged.

Three rewards, each in [0, 1], score those outcomes; an environment weighs them (``ContextQA-v0`` pays
``correct_reward * answer_correct + abstention_reward * abstention - fabrication_cost * fabrication``):

=============== ==================================================================================
name            1 when
=============== ==================================================================================
answer_correct  the question is answerable and the completion states its answer
abstention      the question is unanswerable and the completion abstains (0 on answerable ones)
fabrication     the completion answers and is not right (either kind of question)
=============== ==================================================================================

Each reads the column ``answers``: the gold answer, or ``""`` where the context cannot answer the question.
Without it they read ``references``, where a reference that is itself an accepted abstention marks a question
without an answer (a file of questions whose references say "I don't know." for those works as it is).
:func:`abstention_summary` turns outcomes into the rates ``tokengym eval`` reports.

Example:
    >>> judge("She lives in Leeds.", "Leeds"), judge("I don't know", "Leeds"), judge("Paris", "")
    ('correct', 'abstained', 'fabricated')
    >>> AnswerCorrect()(["Q"], ["Leeds"], answers=["Leeds"]), Abstention()(["Q"], ["Not sure."], answers=[""])
    ([1.0], [1.0])
    >>> try:
    ...     abstention_phrases("typo")
    ... except UnknownPhrasingSetError as err:
    ...     print(err)
    unknown abstention phrasing set 'typo'; choose one of 'strict', 'default', 'lenient'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from tokengym.rewards.base import Reward

__all__ = [
    "ABSTENTION_PHRASES",
    "OUTCOMES",
    "Abstention",
    "AnswerCorrect",
    "Fabrication",
    "UnknownPhrasingSetError",
    "abstention_phrases",
    "abstention_summary",
    "judge",
    "normalize_answer",
]

#: Named sets of accepted abstention phrasings. The first phrasing of a set is its canonical one (the reference
#: completion of an unanswerable question). Each set contains the one before it.
ABSTENTION_PHRASES: dict[str, tuple[str, ...]] = {
    "strict": ("I don't know.",),
    "default": (
        "I don't know.",
        "I do not know.",
        "I'm not sure.",
        "I am not sure.",
        "Not sure.",
        "I can't tell.",
        "I cannot tell.",
        "I can't tell from the text.",
        "I cannot tell from the text.",
        "The text does not say.",
        "The text doesn't say.",
        "It does not say.",
        "It doesn't say.",
        "Not stated.",
        "Not mentioned.",
        "Unanswerable.",
        "There is no answer.",
    ),
}
ABSTENTION_PHRASES["lenient"] = (
    *ABSTENTION_PHRASES["default"],
    "Unknown.",
    "No idea.",
    "Don't know.",
    "Dunno.",
    "Can't say.",
    "Cannot say.",
    "No answer.",
    "N/A",
    "None.",
)
#: The outcomes of :func:`judge`.
OUTCOMES = ("correct", "abstained", "fabricated", "empty")
#: Words that ``max_extra_words`` allows beyond the answer by default ("She lives in Leeds" for "Leeds").
MAX_EXTRA_WORDS = 5

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_NOT_WORD = re.compile(r"[^0-9a-z]+")


class UnknownPhrasingSetError(KeyError, ValueError):
    """An abstention phrasing set that does not exist: a ``KeyError`` (a failed look-up) and a ``ValueError``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def abstention_phrases(name: str) -> tuple[str, ...]:
    """The accepted abstention phrasings of the set ``name`` (``"strict"``, ``"default"`` or ``"lenient"``).

    Raises:
        UnknownPhrasingSetError: for any other name (or a value that is not a string).
    """
    if not isinstance(name, str) or name not in ABSTENTION_PHRASES:
        raise UnknownPhrasingSetError(
            f"unknown abstention phrasing set {name!r}; choose one of {', '.join(map(repr, ABSTENTION_PHRASES))}"
        )
    return ABSTENTION_PHRASES[name]


def normalize_answer(text: str) -> str:
    """Lower case, apostrophes dropped (``don't`` -> ``dont``), other punctuation and the articles a/an/the made
    spaces, spaces collapsed: SQuAD's normalisation, so that "The Leeds." and "leeds" compare equal.

    Example:
        >>> normalize_answer("  I DON'T know -- the 18,400 people!")
        'i dont know 18 400 people'
    """
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = _NOT_WORD.sub(" ", text)
    return " ".join(_ARTICLES.sub(" ", text).split())


_NORMALIZED_SETS: dict[str, frozenset[str]] = {
    name: frozenset(normalize_answer(p) for p in phrases) for name, phrases in ABSTENTION_PHRASES.items()
}


def judge(completion: str, answer: str, phrases: str = "default", max_extra_words: int = MAX_EXTRA_WORDS) -> str:
    """The outcome of ``completion`` for a question whose answer is ``answer`` (``""``: unanswerable).

    Returns:
        ``"correct"``, ``"abstained"``, ``"fabricated"`` or ``"empty"`` (see the module docstring).

    Raises:
        UnknownPhrasingSetError: ``phrases`` names no set.
    """
    abstentions = _NORMALIZED_SETS.get(phrases) if isinstance(phrases, str) else None
    if abstentions is None:
        abstention_phrases(phrases)  # raises, naming the sets
    text = normalize_answer(completion)
    if not text:
        return "empty"
    if text in abstentions:
        return "abstained"
    gold = normalize_answer(answer)
    if gold and f" {gold} " in f" {text} " and len(text.split()) <= len(gold.split()) + max_extra_words:
        return "correct"
    return "fabricated"


class _QAReward(Reward):
    """A 0/1 reward on one outcome of :func:`judge`; subclasses say which outcome on which kind of question."""

    range = (0.0, 1.0)

    def __init__(self, phrases: str = "default", max_extra_words: int = MAX_EXTRA_WORDS) -> None:
        abstention_phrases(phrases)
        if isinstance(max_extra_words, bool) or not isinstance(max_extra_words, int) or max_extra_words < 0:
            raise ValueError(f"max_extra_words must be a non-negative integer, not {max_extra_words!r}")
        self.phrases = phrases
        self.max_extra_words = max_extra_words

    def _gold(self, answers: Any, references: Any) -> str:
        """The gold answer: ``answers`` where given, else ``references`` unless it is an abstention (then ``""``)."""
        if answers is None and references is None:
            raise ValueError(
                f"reward {self.name!r} needs answers=[...] (the gold answer of each question, '' where the context "
                "cannot answer it; ContextQA-v0 passes it) or references=[...] (an abstention marks no answer)"
            )
        gold = references if answers is None else answers
        if not isinstance(gold, str):
            raise ValueError(f"{self.name}: answers must be strings ('' for unanswerable), not {gold!r}")
        if answers is None and judge(gold, "", self.phrases) == "abstained":
            return ""
        return gold

    def _outcome(self, completion: str, gold: str) -> str:
        return judge(completion, gold, self.phrases, self.max_extra_words)


class AnswerCorrect(_QAReward):
    """1 when the question is answerable and the completion states its answer, else 0.

    Args:
        phrases: the abstention phrasing set (``"strict"``, ``"default"``, ``"lenient"``).
        max_extra_words: words a right completion may have beyond the answer.

    Example:
        >>> every_job = "chef, nurse, pilot, cook, baker, vet or judge"
        >>> AnswerCorrect()(["Q"] * 2, ["He is a chef", every_job], answers=["chef"] * 2)
        [1.0, 0.0]
    """

    name = "answer_correct"

    def _score(self, prompt: str, completion: str, answers: Any = None, references: Any = None, **_: Any) -> float:
        gold = self._gold(answers, references)
        return float(bool(gold) and self._outcome(completion, gold) == "correct")


class Abstention(_QAReward):
    """1 when the question is unanswerable and the completion abstains, else 0 (abstaining on an answerable
    question is worth nothing: it is neither paid nor charged).

    Example:
        >>> Abstention(phrases="strict")(["Q", "Q"], ["I don't know", "Not sure."], answers=["", ""])
        [1.0, 0.0]
    """

    name = "abstention"

    def _score(self, prompt: str, completion: str, answers: Any = None, references: Any = None, **_: Any) -> float:
        gold = self._gold(answers, references)
        return float(not gold and self._outcome(completion, gold) == "abstained")


class Fabrication(_QAReward):
    """1 when the completion answers (neither abstains nor is empty) and is not right, else 0: an invented answer
    to an unanswerable question, or a wrong one to an answerable question.

    Example:
        >>> Fabrication()(["Q", "Q", "Q"], ["Leeds", "Leeds", "I don't know"], answers=["", "Leeds", ""])
        [1.0, 0.0, 0.0]
    """

    name = "fabrication"

    def _score(self, prompt: str, completion: str, answers: Any = None, references: Any = None, **_: Any) -> float:
        return float(self._outcome(completion, self._gold(answers, references)) == "fabricated")


def _rate(hits: int, n: int) -> dict[str, float]:
    p = hits / n
    return {"mean": p, "std": math.sqrt(p * (1.0 - p)), "n": float(n)}


def abstention_summary(outcomes: Sequence[str], kinds: Sequence[str]) -> dict[str, dict[str, float]]:
    """The figures of a question-answering evaluation, from each question's outcome and kind.

    ``kinds`` are ``"answerable"`` or the reason a question is not (``"absent"``, ``"false_premise"``). Each
    figure is a rate over the questions it names, with its Bernoulli standard deviation and ``n``, the number of
    those questions; a figure over no questions is left out.

    - ``accuracy_answerable``: right answers over answerable questions.
    - ``abstention_answerable``, ``abstention_unanswerable``: abstentions over each kind, and
      ``abstention_<reason>`` for each reason a question is unanswerable.
    - ``fabrication_unanswerable``: answers (anything but an abstention or an empty completion) over
      unanswerable questions; ``fabrication_all``: answers that are not right, over every question.
    - ``answer_precision``: right answers over the questions answered (selective accuracy).
    - ``calibration``: the share of questions where the choice to answer or to abstain was the right one:
      answered and right, or abstained where no answer exists. It reads answering as the policy saying "I
      know" and abstaining as "I don't": 1 means the policy is confident exactly when it is right; a policy
      that always answers scores its accuracy on answerable questions times their share, one that always
      abstains the share of unanswerable ones. Every answerable question's answer is in its context, so an
      abstention on one counts as a missed answer.

    Raises:
        ValueError: ``outcomes`` and ``kinds`` differ in length, or an outcome is not one of :data:`OUTCOMES`.

    Example:
        >>> s = abstention_summary(["correct", "fabricated", "abstained", "fabricated"],
        ...                        ["answerable", "answerable", "absent", "false_premise"])
        >>> s["accuracy_answerable"]["mean"], s["fabrication_unanswerable"]["mean"], s["calibration"]["mean"]
        (0.5, 0.5, 0.5)
    """
    if len(outcomes) != len(kinds):
        raise ValueError(f"{len(outcomes)} outcomes for {len(kinds)} questions")
    bad = sorted({o for o in outcomes if o not in OUTCOMES})
    if bad:
        raise ValueError(f"unknown outcomes {bad}; outcomes are {OUTCOMES}")
    answerable = [o for o, k in zip(outcomes, kinds, strict=True) if k == "answerable"]
    unanswerable = [o for o, k in zip(outcomes, kinds, strict=True) if k != "answerable"]
    figures: dict[str, dict[str, float]] = {}
    if answerable:
        figures["accuracy_answerable"] = _rate(answerable.count("correct"), len(answerable))
        figures["abstention_answerable"] = _rate(answerable.count("abstained"), len(answerable))
    if unanswerable:
        figures["abstention_unanswerable"] = _rate(unanswerable.count("abstained"), len(unanswerable))
        for reason in sorted({k for k in kinds if k != "answerable"}):
            these = [o for o, k in zip(outcomes, kinds, strict=True) if k == reason]
            figures[f"abstention_{reason}"] = _rate(these.count("abstained"), len(these))
        answered = sum(o in ("correct", "fabricated") for o in unanswerable)
        figures["fabrication_unanswerable"] = _rate(answered, len(unanswerable))
    if outcomes:
        figures["fabrication_all"] = _rate(list(outcomes).count("fabricated"), len(outcomes))
        answered_all = sum(o in ("correct", "fabricated") for o in outcomes)
        if answered_all:
            figures["answer_precision"] = _rate(answerable.count("correct"), answered_all)
        right = answerable.count("correct") + unanswerable.count("abstained")
        figures["calibration"] = _rate(right, len(outcomes))
    return figures
