"""Rewards for multi-turn dialogue: the user's reaction, task success, context use, consistency, repetition.

They read the columns a multi-turn dialogue environment passes with each agent turn (one value per completion;
:class:`~tokengym.envs.dialogue.DialogueEnv` documents them):

==============================  =========================================================================
column                          what it holds
==============================  =========================================================================
``history``                     the conversation before the reply: user first, then alternating
``user_reply``                  what the user answered to the reply (``""`` if nothing)
``user_engaged``                whether the reply engaged the user (by the user simulator's own rule)
``user_left``                   whether the user left the conversation after the reply
``user_goal_met``               whether the user's goal was met by the reply
``user_satisfaction``           the user's satisfaction after the reply, in [0, 1]
``user_satisfaction_before``    the same before the reply
``user_facts``                  the facts the user has stated so far (name, interests, city, product...)
==============================  =========================================================================

A reward that lacks a column it needs raises an error naming it (never a silent zero). The user's reaction
is visible to these rewards and in ``info``, never in the agent's observation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tokengym.rewards.base import Reward
from tokengym.rewards.conversation import assistant_turns, content_words, contradictions, fact_values, mentions
from tokengym.rewards.shape import words

__all__ = ["Consistency", "ContextUse", "Engagement", "TaskSuccess", "TurnRepetition", "UserSatisfaction"]

_FROM_ENV = "a multi-turn dialogue env passes it (gym.make('DialogueChat-v0') or Dialogue-v0 with max_turns > 1)"


class Engagement(Reward):
    """How the user took the reply, in [-1, 1]: whether they stay, and whether they ask something back.

    The rule::

        -1    the user left after the reply (ignored too often, or offended)
         0    the user stayed but the reply did not engage them
         0.5  the reply engaged them
         1    it engaged them and their answer asks a question back (a follow-up: it contains "?")

    Needs ``user_engaged``, ``user_left`` and ``user_reply``.

    Example:
        >>> Engagement()(["Q"] * 3, ["Bye.", "Tell me more!", "Sure."], user_engaged=[False, True, True],
        ...              user_left=[True, False, False], user_reply=["Bye.", "Do you garden too?", "Okay."])
        [-1.0, 1.0, 0.5]
    """

    name = "engagement"
    range = (-1.0, 1.0)
    needs = ("user_engaged", "user_left", "user_reply")
    column_help: ClassVar[Mapping[str, str]] = {c: _FROM_ENV for c in needs}

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        if columns["user_left"]:
            return -1.0
        if not columns["user_engaged"]:
            return 0.0
        return 1.0 if "?" in str(columns["user_reply"]) else 0.5


class UserSatisfaction(Reward):
    """The change in the user's satisfaction caused by the reply, in [-1, 1].

    ``user_satisfaction - user_satisfaction_before``: satisfaction starts at 0 and lies in [0, 1], so the
    episode's total of this component is the user's final satisfaction (a delta per turn, never a running
    score paid twice). How each simulated user measures satisfaction is in its docstring (the share of the
    solution a support user has heard, the mean personal score of a persona user's replies...).

    Example:
        >>> UserSatisfaction()(["Q", "Q"], ["a", "b"], user_satisfaction=[0.5, 0.25],
        ...                    user_satisfaction_before=[0.0, 0.5])
        [0.5, -0.25]
    """

    name = "user_satisfaction"
    range = (-1.0, 1.0)
    needs = ("user_satisfaction", "user_satisfaction_before")
    column_help: ClassVar[Mapping[str, str]] = {c: _FROM_ENV for c in needs}

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        return float(columns["user_satisfaction"]) - float(columns["user_satisfaction_before"])


class TaskSuccess(Reward):
    """1 on the reply after which the user's goal is met (a support user's problem solved, a persona user's
    requests answered), else 0. Range [0, 1]; at most once per episode, since the episode ends there.

    Example:
        >>> TaskSuccess()(["Q", "Q"], ["Restart the router.", "Hello."], user_goal_met=[True, False])
        [1.0, 0.0]
    """

    name = "task_success"
    range = (0.0, 1.0)
    needs = ("user_goal_met",)
    column_help: ClassVar[Mapping[str, str]] = {c: _FROM_ENV for c in needs}

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        return 1.0 if columns["user_goal_met"] else 0.0


class ContextUse(Reward):
    """Use of what the user has told: ``min(1, facts mentioned / saturation)``, in [0, 1].

    The facts are the values of ``user_facts`` (name, interests, city, job, pet's name, product...: every
    string, lists flattened, the user's preferred ``tone`` excluded since it is a way to write, not a thing to
    mention). A fact counts as mentioned when all its content words appear in the reply, stemmed
    (:func:`~tokengym.rewards.conversation.mentions`: "garden" mentions "gardening"). No known fact: 0.

    Args:
        saturation: facts mentioned for the full score.

    Example:
        >>> facts = {"name": "Maya", "interests": ["gardening"], "city": "Leeds", "tone": "casual"}
        >>> ContextUse()(["Q"] * 3, ["Maya, since you love gardening...", "Hi Maya!", "Hello!"],
        ...              user_facts=[facts] * 3)
        [1.0, 0.5, 0.0]
    """

    name = "context_use"
    range = (0.0, 1.0)
    needs = ("user_facts",)
    column_help: ClassVar[Mapping[str, str]] = {"user_facts": _FROM_ENV}

    def __init__(self, saturation: int = 2) -> None:
        if isinstance(saturation, bool) or not isinstance(saturation, int) or saturation < 1:
            raise ValueError(f"context_use saturation must be a positive integer, not {saturation!r}")
        self.saturation = saturation

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        facts = columns["user_facts"]
        if not isinstance(facts, Mapping):
            raise TypeError(f"context_use: user_facts must be a mapping of fact to value, not {facts!r}")
        values = fact_values({k: v for k, v in facts.items() if k != "tone"})
        if not values or not completion.strip():
            return 0.0
        said = content_words(completion)
        used = sum(mentions(said, value) for value in values)
        return min(1.0, used / self.saturation)


class Consistency(Reward):
    """Penalty for contradicting the assistant's own earlier statements, in [-1, 0].

    ``-min(1, per_contradiction * n)`` where ``n`` counts the slots the reply states differently from an
    earlier assistant turn of ``history`` (``history[1::2]``): "my favourite X is Y", "my name is Y", "I am Y
    years old", "I live in Y", "I work as a Y", "I'm a Y.", "I have N X" (the rule and what it misses:
    :func:`~tokengym.rewards.conversation.self_statements`). Restating the same value is fine.

    Args:
        per_contradiction: penalty per contradicted slot.

    Example:
        >>> history = ["Hi!", "Hello! My favourite colour is blue.", "Nice. Any pets?"]
        >>> Consistency()(["Q"] * 2, ["My favourite colour is red.", "Blue, as I said."], history=[history] * 2)
        [-0.5, 0.0]
    """

    name = "consistency"
    range = (-1.0, 0.0)
    needs = ("history",)
    column_help: ClassVar[Mapping[str, str]] = {"history": "the conversation before the reply (dialogue envs pass it)"}

    def __init__(self, per_contradiction: float = 0.5) -> None:
        if isinstance(per_contradiction, bool) or not isinstance(per_contradiction, (int, float)):
            raise TypeError(f"consistency per_contradiction must be a number, not {per_contradiction!r}")
        if not 0 < per_contradiction <= 1:
            raise ValueError(f"consistency per_contradiction must be in (0, 1], not {per_contradiction!r}")
        self.per_contradiction = float(per_contradiction)

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        found = contradictions(assistant_turns(_history(columns["history"], self.name)), completion)
        return 0.0 - min(1.0, self.per_contradiction * len(found))


class TurnRepetition(Reward):
    """Penalty for repeating earlier assistant turns of the conversation, in [-1, 0].

    ``-(share of the reply's word n-grams that occur in an earlier assistant turn)``, over ``history[1::2]``;
    a reply shorter than ``n`` words scores -1 if an earlier assistant turn has the same words, else 0. An
    empty reply scores 0 (``brevity`` is the penalty for that). Unlike ``repetition``, which looks inside one
    reply, this looks across the turns of a conversation.

    Args:
        n: n-gram order.

    Example:
        >>> history = ["Hi!", "How can I help you today?", "My router is broken."]
        >>> TurnRepetition()(["Q"] * 2, ["How can I help you today?", "Restart the router."], history=[history] * 2)
        [-1.0, 0.0]
    """

    name = "repetition_turns"
    range = (-1.0, 0.0)
    needs = ("history",)
    column_help: ClassVar[Mapping[str, str]] = {"history": "the conversation before the reply (dialogue envs pass it)"}

    def __init__(self, n: int = 3) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"repetition_turns n must be a positive integer, not {n!r}")
        self.n = n

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        reply = words(completion)
        if not reply:
            return 0.0
        earlier = [words(t) for t in assistant_turns(_history(columns["history"], self.name))]
        if len(reply) < self.n:
            return -1.0 if reply in earlier else 0.0
        seen = {tuple(w[i : i + self.n]) for w in earlier for i in range(len(w) - self.n + 1)}
        grams = [tuple(reply[i : i + self.n]) for i in range(len(reply) - self.n + 1)]
        return 0.0 - sum(g in seen for g in grams) / len(grams)


def _history(history: Any, name: str) -> Sequence[str]:
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise TypeError(f"{name}: history must be a sequence of turns (user first), not {history!r}")
    return history
