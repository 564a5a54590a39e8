"""The user-simulator protocol: what a user says (:class:`UserTurn`), the :class:`UserSimulator` protocol, the
shared machinery of simulated users (:class:`SimulatedUser`) and mixtures of users (:class:`UserMix`)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tokengym.rewards.text import Politeness, Safety

__all__ = [
    "EMPTY_REPLY_REACTION",
    "SimulatedUser",
    "UserMix",
    "UserSimulator",
    "UserSimulatorError",
    "UserTurn",
    "check_patience",
    "is_farewell",
    "last_sentence",
    "lower_first",
    "pick",
    "strip_greeting",
]

MAX_INDEX = 2**31 - 1

_FAREWELL = re.compile(r"\b(?:bye|goodbye|good night|see you|talk (?:to you )?(?:soon|later))\b", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_GREETING = re.compile(r"^(?:hi|hello|hey|good (?:morning|afternoon|evening))(?: there)?[!,.]*\s+", re.IGNORECASE)
EMPTY_REPLY_REACTION = "Hello? Are you still there?"
_LEAVE = {
    "disengaged": ("I don't think this is going anywhere. Bye.", "Never mind, I'll ask someone else. Bye."),
    "offended": ("There's no need to talk to me like that. Goodbye.", "That's rude. I'm leaving."),
}


class UserSimulatorError(RuntimeError):
    """A user simulator failed or broke the protocol; the message names the simulator and the turn."""


@dataclass(frozen=True)
class UserTurn:
    """What a user says, and how they took the agent's last reply.

    Attributes:
        text: the utterance (never empty while the conversation goes on).
        engaged: whether the agent's last reply engaged the user (True for an opening).
        satisfaction: the user's satisfaction now, in [0, 1] (0 at the opening).
        goal_met: the user has what they came for; the conversation ends after this turn.
        left: the user leaves; the conversation ends after this turn.
        reason: why it ends: ``"goal_met"``, ``"disengaged"``, ``"offended"`` or ``"quit"`` (``""`` otherwise).
        reference: a good next assistant reply where the user's script knows one (for reference rewards).
        facts: facts about the user stated in this utterance (name, interests, product...).
        rating: a human's rating of the last reply in [0, 1], where one was given.
    """

    text: str
    engaged: bool = True
    satisfaction: float = 0.0
    goal_met: bool = False
    left: bool = False
    reason: str = ""
    reference: str | None = None
    facts: Mapping[str, Any] = field(default_factory=dict)
    rating: float | None = None

    @property
    def done(self) -> bool:
        """Whether the conversation ends after this turn."""
        return self.goal_met or self.left


@runtime_checkable
class UserSimulator(Protocol):
    """The user side of a conversation.

    Implementations draw all randomness from the ``rng`` passed in, keep picklable state, and return a
    :class:`UserTurn` with a non-empty ``text`` unless it ends the conversation.
    """

    name: str

    def start(self, rng: np.random.Generator) -> UserTurn:
        """Begin a new conversation (forgetting any earlier one) and say the opening turn."""
        ...

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        """Judge the agent's ``reply`` and answer it; ``final``: the episode ends after this turn anyway."""
        ...


def is_farewell(text: str) -> bool:
    """Whether an utterance says goodbye ("bye", "good night", "see you", "talk soon"...)."""
    return bool(_FAREWELL.search(text))


def pick(options: Sequence[str], rng: np.random.Generator) -> str:
    """One of ``options``, drawn with ``rng``."""
    return options[int(rng.integers(len(options)))]


def lower_first(text: str) -> str:
    """``text`` with a lower-case first letter, to follow "By the way, " (the pronoun "I" stays)."""
    return text if text.startswith(("I ", "I'")) or not text else text[0].lower() + text[1:]


def last_sentence(text: str) -> str:
    """The last sentence of ``text`` (a request repeated without the facts stated before it)."""
    return _SENTENCE.split(text.strip())[-1]


def strip_greeting(text: str) -> str:
    """``text`` without a leading greeting ("Hello there! ..."), for a conversation chained mid-episode."""
    rest = _GREETING.sub("", text, count=1)
    return rest if rest.strip() else text


def _is_weight(value: Any) -> bool:
    """Whether ``value`` is a finite non-negative number (a user's share of a mix)."""
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and bool(np.isfinite(value))
        and value >= 0
    )


def check_patience(patience: Any) -> int:
    """``patience`` as an int; ``ValueError`` unless it is a positive integer."""
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 1:
        raise ValueError(
            f"patience must be a positive integer (ignored replies before the user leaves), not {patience!r}"
        )
    return int(patience)


class SimulatedUser:
    """Shared machinery of the simulated users: patience, offence, and satisfaction as a mean of reply scores.

    Args:
        patience: ignored replies in a row after which the user leaves (``reason="disengaged"``).
    """

    name = "user"
    _shared: tuple[str, ...] = ()  # read-only data that copies share (a corpus, a persona list)

    def __init__(self, patience: int = 4) -> None:
        self.patience = check_patience(patience)
        self._ignored = 0
        self._scores: list[float] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> SimulatedUser:
        clone = copy.copy(self)
        for key, value in self.__dict__.items():
            if key not in self._shared:
                setattr(clone, key, copy.deepcopy(value, memo))
        return clone

    def _begin(self) -> None:
        self._ignored = 0
        self._scores = []

    @staticmethod
    def offends(reply: str) -> bool:
        """Whether the reply trips the safety lexicon (slurs, threats, stereotypes, insults)."""
        return bool(Safety().flags(reply))

    @staticmethod
    def is_rude(reply: str) -> bool:
        """Whether the reply holds a rude marker phrase ("shut up", "whatever"...)."""
        return bool(Politeness().markers(reply)[1])

    def _record(self, score: float, ignored: bool) -> None:
        self._scores.append(float(score))
        self._ignored = self._ignored + 1 if ignored else 0

    @property
    def satisfaction(self) -> float:
        """The mean score of the replies so far (0 before any)."""
        return float(np.mean(self._scores)) if self._scores else 0.0

    def _leave(self, reason: str, rng: np.random.Generator, engaged: bool = False) -> UserTurn:
        return UserTurn(pick(_LEAVE[reason], rng), engaged, self.satisfaction, left=True, reason=reason)

    def _react(self, reply: str, rng: np.random.Generator) -> UserTurn | None:
        """The turn for a reply that ends the conversation badly: an offence, or patience run out."""
        if self.offends(reply):
            self._record(0.0, True)
            return self._leave("offended", rng)
        return None


class UserMix:
    """A different user each conversation: one of ``users`` drawn at :meth:`start` (uniformly, or by ``weights``).

    Example:
        >>> from tokengym.envs.users import CorpusUser, PersonaUser
        >>> mix = UserMix([CorpusUser(), PersonaUser()])
        >>> _ = mix.start(np.random.default_rng(0))
        >>> mix.name in ("corpus", "persona")
        True
    """

    def __init__(self, users: Sequence[UserSimulator], weights: Sequence[float] | None = None) -> None:
        if not users:
            raise ValueError("a user mix needs at least one user")
        for user in users:
            if not isinstance(user, UserSimulator):
                raise TypeError(f"{user!r} is not a user simulator (it needs name, start and respond)")
        if weights is not None and (
            isinstance(weights, (str, bytes))
            or not isinstance(weights, Sequence)
            or len(weights) != len(users)
            or not all(_is_weight(w) for w in weights)
            or not sum(weights) > 0
        ):
            raise ValueError(f"weights must be {len(users)} non-negative numbers with a positive sum, not {weights!r}")
        self.users = tuple(users)
        shares = [float(w) for w in weights] if weights is not None else [1.0] * len(users)
        self.cumulative = np.cumsum([w / sum(shares) for w in shares]).tolist()
        self.current = 0

    @property
    def name(self) -> str:
        """The name of the user of the current conversation."""
        return self.users[self.current].name

    def start(self, rng: np.random.Generator) -> UserTurn:
        u = rng.random() if len(self.users) > 1 else 0.0
        self.current = min(int(np.searchsorted(self.cumulative, u, side="right")), len(self.users) - 1)
        return self.users[self.current].start(rng)

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        return self.users[self.current].respond(reply, rng, final)
