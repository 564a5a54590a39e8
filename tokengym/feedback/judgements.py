"""What a person says about a pair of completions: the verdicts, the checks on a judgement, and its preference record.

A :class:`Judgement` of a :class:`Pair` holds a verdict among :data:`VERDICTS`, an optional 1-to-5 rating (how
good the preferred completion is, or both for a tie), an optional comment and the rater. :func:`to_preference`
turns it into a :class:`~tokengym.feedback.preferences.Preference`: verdict A makes A the chosen completion, B
makes B the chosen one, ``tie`` and ``both_bad`` are ties (A written as chosen) told apart by
``metadata["verdict"]``. The checks (``check_*``) raise :class:`JudgementError`, which the store, the labelling
page and the terminal share.

Example:
    >>> pair = Pair(1, "Hi!", " Hello.", " Go away.", {"env": "Dialogue-v0"})
    >>> judgement = Judgement(1, 1, "B", 2, "", "ana", "2025-01-01T00:00:00.000+00:00")
    >>> preference = to_preference(pair, judgement)
    >>> preference.chosen, preference.rating, preference.metadata["verdict"]
    (' Go away.', 2, 'B')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from tokengym.data.textcheck import unicode_problem
from tokengym.feedback.preferences import Preference

__all__ = [
    "MAX_COMMENT",
    "MAX_RATER",
    "VERDICTS",
    "AlreadyJudgedError",
    "Judgement",
    "JudgementError",
    "Pair",
    "Progress",
    "UnknownPairError",
    "check_comment",
    "check_pair_id",
    "check_rater",
    "check_rating",
    "check_verdict",
    "to_preference",
]

VERDICTS = ("A", "B", "tie", "both_bad")
"""A prefers A, B prefers B, tie: both equally good, both_bad: neither is acceptable."""
MAX_COMMENT = 10_000
"""The longest comment, in characters."""
MAX_RATER = 100
"""The longest rater id, in characters."""


class JudgementError(ValueError):
    """A judgement that cannot be recorded (a verdict, rating, rater or comment out of bounds); nothing was written."""


class UnknownPairError(JudgementError):
    """A judgement of a pair id the store does not hold; nothing was written."""


class AlreadyJudgedError(JudgementError):
    """A second judgement of one pair by one rater; the first one stands and nothing was written."""


@dataclass(frozen=True)
class Pair:
    """A stored pair: two completions of one prompt.

    Attributes:
        id: the store's id of the pair (1, 2, ...).
        prompt: the text both completions continue.
        a: the completion shown as "A".
        b: the completion shown as "B".
        metadata: where the pair comes from, as added.
    """

    id: int
    prompt: str
    a: str
    b: str
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Judgement:
    """A rater's verdict on a pair.

    Attributes:
        id: the store's id of the judgement, in the order they were recorded.
        pair_id: the pair judged.
        verdict: one of :data:`VERDICTS`.
        rating: 1 to 5 (how good the preferred completion is, or both for a tie), or ``None``.
        comment: free text, possibly empty.
        rater: who judged.
        judged_at: when, as ISO 8601 in UTC.
    """

    id: int
    pair_id: int
    verdict: str
    rating: int | None
    comment: str
    rater: str
    judged_at: str


class Progress(NamedTuple):
    """How many of the store's pairs a rater has judged."""

    judged: int
    total: int


def check_verdict(verdict: Any) -> str:
    """``verdict`` if it is one of :data:`VERDICTS`, else :class:`JudgementError`.

    Example:
        >>> check_verdict("tie")
        'tie'
    """
    if not isinstance(verdict, str) or verdict not in VERDICTS:
        raise JudgementError(f"verdict must be one of {list(VERDICTS)}, not {verdict!r}")
    return verdict


def check_rating(rating: Any) -> int | None:
    """``rating`` if it is ``None`` or a whole number from 1 to 5, else :class:`JudgementError`."""
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        raise JudgementError(f"rating must be a whole number from 1 to 5 (or none), not {rating!r}")
    return rating


def check_rater(rater: Any) -> str:
    """``rater`` if it is a one-line id of 1 to :data:`MAX_RATER` characters, else :class:`JudgementError`."""
    if not isinstance(rater, str) or not rater.strip():
        raise JudgementError(f"rater must be a non-empty name, not {rater!r}")
    if len(rater) > MAX_RATER or any(ch in rater for ch in "\r\n\t\x00") or unicode_problem(rater) is not None:
        raise JudgementError(f"rater must be one line of at most {MAX_RATER} characters, not {rater[:120]!r}")
    return rater


def check_comment(comment: Any) -> str:
    """``comment`` if it is text of at most :data:`MAX_COMMENT` characters, else :class:`JudgementError`."""
    if not isinstance(comment, str):
        raise JudgementError(f"comment must be text, not {type(comment).__name__}")
    if len(comment) > MAX_COMMENT:
        raise JudgementError(f"comment is {len(comment):,} characters long; the most is {MAX_COMMENT:,}")
    problem = unicode_problem(comment)
    if problem is not None:
        raise JudgementError(f"comment is not valid Unicode text: {problem}")
    return comment


def check_pair_id(pair_id: Any) -> int:
    """``pair_id`` if it is a positive whole number, else :class:`JudgementError`."""
    if isinstance(pair_id, bool) or not isinstance(pair_id, int) or pair_id < 1:
        raise JudgementError(f"pair id must be a positive whole number, not {pair_id!r}")
    return pair_id


def to_preference(pair: Pair, judgement: Judgement) -> Preference:
    """The preference record of a judgement of ``pair`` (the mapping :meth:`FeedbackStore.export` documents).

    Example:
        >>> pair = Pair(1, "Hi!", " Hello.", " Go away.", {})
        >>> to_preference(pair, Judgement(1, 1, "B", None, "", "ana", "2025-01-01T00:00:00.000+00:00")).chosen
        ' Go away.'
    """
    chosen, rejected = (pair.b, pair.a) if judgement.verdict == "B" else (pair.a, pair.b)
    metadata = {**pair.metadata, "verdict": judgement.verdict, "pair_id": pair.id, "judged_at": judgement.judged_at}
    if judgement.comment:
        metadata["comment"] = judgement.comment
    return Preference(
        pair.prompt,
        chosen,
        rejected,
        tie=judgement.verdict in ("tie", "both_bad"),
        rating=judgement.rating,
        rater=judgement.rater,
        metadata=metadata,
    )
