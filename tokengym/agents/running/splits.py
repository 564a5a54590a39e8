"""Data splits: which argument of an environment chooses one, and the arguments that play a given split.

Two kinds of environments have splits. Tasks with a ``split`` argument (the dialogue tasks, summarization) take
it directly, ``gym.make("Dialogue-v0", split="test")``; text games whose game has a ``split`` option (the
TextWorld games) take it among the game's options, ``gym.make("TWCoinCollector-v0", game_kwargs={"split":
"test"})``. :func:`with_split` writes a split where the environment reads it, so ``tokengym eval`` (held-out by
default), ``--split`` and the evaluation at the end of ``tokengym train`` treat both kinds alike. The other
environments (the pure-Python games, the toy task) draw every episode from its seed and have no split.

Arguments are merged with :func:`merge_env_kwargs`, which merges ``game_kwargs`` key by key: overriding one game
option (the split) keeps the others a checkpoint was trained with (``history``, ``objective``, ``pool_size``).

Example:
    >>> with_split("TWCoinCollector-v0", {"level": 2, "game_kwargs": {"history": 1}}, "test")
    {'level': 2, 'game_kwargs': {'history': 1, 'split': 'test'}}
    >>> with_split("Summarization-v0", {}, "test")
    {'split': 'test'}
    >>> split_argument("TextNav-v0") is None
    True
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

GAME_OPTIONS = "game_kwargs"
"""The argument of the text-game environments that holds the game's own options."""
HELD_OUT = "test"
"""The split an evaluation plays unless told otherwise."""


def _creator(env_id: str) -> Any:
    """The class (or function) registered for ``env_id``, imported without making an environment."""
    spec = gym.spec(env_id)
    creator = spec.entry_point
    return gym.envs.registration.load_env_creator(creator) if isinstance(creator, str) else creator


def split_argument(env_id: str) -> str | None:
    """Where ``env_id`` reads its split: ``"split"`` (an argument), ``"game_kwargs"`` (a game option) or ``None``.

    Raises:
        gymnasium.error.Error: an id Gymnasium does not know.
    """
    creator = _creator(env_id)
    try:
        if "split" in inspect.signature(creator).parameters:
            return "split"
    except (TypeError, ValueError):
        return None
    game_cls = getattr(creator, "game_cls", None)
    if game_cls is not None and "split" in getattr(game_cls, "OPTIONS", ()):
        return GAME_OPTIONS
    return None


def merge_env_kwargs(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``overrides``; ``game_kwargs`` are merged option by option, not replaced.

    Example:
        >>> merge_env_kwargs({"game_kwargs": {"history": 1}}, {"game_kwargs": {"split": "test"}})
        {'game_kwargs': {'history': 1, 'split': 'test'}}
    """
    merged = {**base, **overrides}
    inner_base, inner_new = base.get(GAME_OPTIONS), overrides.get(GAME_OPTIONS)
    if isinstance(inner_base, Mapping) and isinstance(inner_new, Mapping):
        merged[GAME_OPTIONS] = {**inner_base, **inner_new}
    return merged


def split_in(env_id: str, env_kwargs: Mapping[str, Any]) -> str | None:
    """The split ``env_kwargs`` choose for ``env_id`` (``None``: not given, or no split to choose).

    Example:
        >>> split_in("TWCoinCollector-v0", {"game_kwargs": {"split": "valid"}})
        'valid'
    """
    where = split_argument(env_id)
    if where == "split":
        return env_kwargs.get("split")
    if where == GAME_OPTIONS:
        options = env_kwargs.get(GAME_OPTIONS)
        return options.get("split") if isinstance(options, Mapping) else None
    return None


def with_split(env_id: str, env_kwargs: Mapping[str, Any], split: str) -> dict[str, Any]:
    """``env_kwargs`` that play ``split`` of ``env_id``, written where the environment reads it.

    Raises:
        ValueError: ``env_id`` has no splits (its episodes are drawn from their seeds).
    """
    where = split_argument(env_id)
    if where is None:
        raise ValueError(f"{env_id} has no data splits (each episode is drawn from its seed); leave out --split for it")
    if where == "split":
        return {**env_kwargs, "split": split}
    return merge_env_kwargs(env_kwargs, {GAME_OPTIONS: {"split": split}})


def held_out_kwargs(env_id: str, env_kwargs: Mapping[str, Any], split: str | None = None) -> tuple[dict, str | None]:
    """The arguments an evaluation plays, and their split: ``split`` when given, else the one ``env_kwargs``
    choose, else :data:`HELD_OUT` for environments with splits (``None`` for the others).

    Example:
        >>> held_out_kwargs("TWCoinCollector-v0", {})
        ({'game_kwargs': {'split': 'test'}}, 'test')
    """
    if split is None:
        split = split_in(env_id, env_kwargs)
    if split is None and split_argument(env_id) is not None:
        split = HELD_OUT
    if split is None:
        return dict(env_kwargs), None
    return with_split(env_id, env_kwargs, split), split
