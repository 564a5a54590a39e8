"""User simulators for multi-turn dialogue: one seeded, picklable protocol and the users that follow it.

A user opens the conversation (:meth:`UserSimulator.start`) and answers each agent reply
(:meth:`UserSimulator.respond`) with a :class:`UserTurn`: what they say, whether the reply engaged them, their
satisfaction, and whether they leave or have what they came for. All randomness comes from the generator the
environment passes in (its ``np_random``), so a seed fixes a whole conversation; users hold plain Python state,
so an environment pickles with its user (``SubprocVecEnv``, ``copy.deepcopy``).

=============== =========================================================================================
user            who they are
=============== =========================================================================================
``corpus``      :class:`CorpusUser`: says the user turns of real conversations (chatterbot-corpus, generated
                chit-chat), chained; engaged by on-topic replies and questions
``persona``     :class:`PersonaUser`: a name, interests, facts and a preferred tone; warmer when the agent
                uses them in that tone, colder and gone when ignored; asks for things and leaves happy
                once every request got a personal answer
``support``     :class:`SupportUser`: a customer with a concrete problem, satisfied only when the replies
                name what solves it (the solution keywords of the generated support conversations)
``human``       :class:`HumanUser`: a person types the user's turns (and optional 1-5 ratings)
=============== =========================================================================================

Shared rules (:class:`SimulatedUser`): a reply that trips the safety lexicon offends the user, who leaves at
once; an empty reply, a reply with rude markers, or one that ignores the user counts as ignored; after
``patience`` ignored replies in a row the user leaves (disengaged). Satisfaction lies in [0, 1] and starts at 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tokengym.envs.users.base import (
    SimulatedUser,
    UserMix,
    UserSimulator,
    UserSimulatorError,
    UserTurn,
    is_farewell,
)
from tokengym.envs.users.human import HumanUser
from tokengym.envs.users.simulated import CorpusUser, PersonaUser, SupportUser
from tokengym.envs.validation import short_repr

__all__ = [
    "USER_NAMES",
    "CorpusUser",
    "HumanUser",
    "PersonaUser",
    "SimulatedUser",
    "SupportUser",
    "UserMix",
    "UserSimulator",
    "UserSimulatorError",
    "UserTurn",
    "check_user_spec",
    "is_farewell",
    "make_user",
]

USER_NAMES = ("corpus", "persona", "support", "human")


def make_user(spec: Any, split: str = "train", patience: int = 4, personas: Any = None) -> UserSimulator:
    """A user simulator from a spec: a name of :data:`USER_NAMES`, a simulator, or a list of them (a :class:`UserMix`).

    ``split`` and ``patience`` go to the simulated users built from names, ``personas`` (a file or a list) to a
    persona user.

    Raises:
        ValueError: an unknown name or an empty list.
        TypeError: anything else.
    """
    check_user_spec(spec)
    if isinstance(spec, str):
        if spec == "corpus":
            return CorpusUser(split=split, patience=patience)
        if spec == "persona":
            return PersonaUser(split=split, personas=personas, patience=patience)
        if spec == "support":
            return SupportUser(split=split, patience=patience)
        return HumanUser()  # the only name left: check_user_spec refused the others
    if isinstance(spec, UserSimulator):
        return spec
    users = [make_user(s, split, patience, personas) for s in spec]
    return users[0] if len(users) == 1 else UserMix(users)


def check_user_spec(spec: Any) -> None:
    """Check a ``users`` spec without building anything: a name of :data:`USER_NAMES`, a :class:`UserSimulator`,
    or a non-empty list or tuple of them.

    Raises:
        ValueError: an unknown name, an empty list or a list of lists.
        TypeError: anything else.
    """
    if isinstance(spec, str):
        if spec not in USER_NAMES:
            raise ValueError(
                f"unknown user {short_repr(spec)}; choose one of {USER_NAMES}, a UserSimulator, or a list of them"
            )
        return
    if isinstance(spec, UserSimulator):
        return
    if isinstance(spec, Sequence) and not isinstance(spec, (bytes, bytearray)):
        if not spec:
            raise ValueError(f"users is an empty list; name at least one user of {USER_NAMES} or pass a UserSimulator")
        for item in spec:
            if isinstance(item, Sequence) and not isinstance(item, str):
                raise ValueError(f"users must be a flat list of user names or UserSimulators, not {short_repr(spec)}")
            check_user_spec(item)
        return
    raise TypeError(
        f"users must be a name of {USER_NAMES}, a UserSimulator or a non-empty list of them, not {short_repr(spec)}"
    )
