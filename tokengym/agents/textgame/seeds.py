"""Which games agents train on and which they are scored on: seed ranges, the seed pool, the training envs.

The pure-Python games have no split of their own: a seed fixes a game. :class:`SeedPool` makes training play
games seeded from :data:`TRAIN_SEEDS`, and :func:`held_out_seeds` takes evaluation games from :data:`TEST_SEEDS`.
TextWorld games play a pool per split; :func:`unseen_games_kwargs` points evaluation at the test split's.

Example:
    >>> import tokengym
    >>> venv = make_train_env("TextNavCmd-v0", {"level": 1, "max_turns": 5}, seed=0, n_envs=2)
    >>> venv.num_envs, held_out_seeds(2)
    (2, range(1000000, 1000002))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import DummyVecEnv

from tokengym.agents.textgame.spaces import check_command_spaces, is_token_level_game
from tokengym.envs import RepeatTask, textworld_ids

TRAIN_SEEDS = range(0, 1_000_000)
"""Game seeds that training draws from (see :class:`SeedPool`)."""
TEST_SEEDS = range(1_000_000, 2_000_000)
"""Game seeds held out for evaluation: unseen games (the games have no split of their own; a seed fixes a game)."""


def held_out_seeds(n: int) -> range:
    """The first ``n`` held-out game seeds (:data:`TEST_SEEDS`): the same unseen games for every agent."""
    if n < 1 or n > len(TEST_SEEDS):
        raise ValueError(f"n must be in 1..{len(TEST_SEEDS)}, not {n}")
    return TEST_SEEDS[:n]


class SeedPool(gym.Wrapper):
    """Every reset starts the game of a seed drawn from ``seeds``: train on one range, test on another.

    The games have no split of their own (a seed fixes a game), so training envs draw from :data:`TRAIN_SEEDS`
    and evaluation uses :data:`TEST_SEEDS` (:func:`held_out_seeds`). ``reset(seed=s)`` reseeds the draw;
    ``reset(options={"repeat_task": True})`` (from :class:`~tokengym.envs.wrappers.RepeatTask` wrapped around
    this one) replays the current game instead of drawing one.

    Args:
        env: the environment.
        seeds: the game seeds to draw from.
    """

    def __init__(self, env: gym.Env, seeds: range = TRAIN_SEEDS) -> None:
        super().__init__(env)
        if len(seeds) == 0:
            raise ValueError("seeds is empty")
        self.seeds = seeds
        self._draw = np.random.default_rng()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is None and (options or {}).get("repeat_task"):
            return self.env.reset(options=options)  # the same game again (RepeatTask outside this wrapper)
        if seed is not None:
            self._draw = np.random.default_rng(seed)
        game_seed = self.seeds[int(self._draw.integers(len(self.seeds)))]
        return self.env.reset(seed=int(game_seed), options=options)


def make_train_env(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
    n_envs: int = 4,
    group_size: int = 1,
) -> DummyVecEnv:
    """``n_envs`` copies of ``env_id`` in a ``DummyVecEnv``, each drawing its games from :data:`TRAIN_SEEDS`.

    ``env_id`` is a command-level game (``<Game>Cmd-v0``) or, for the language-model agent, a token-level one
    (``<Game>-v0``). ``group_size > 1`` (token level only) plays each game that many times in a row
    (:class:`~tokengym.envs.wrappers.RepeatTask`), so that each play is judged against the others of its game.
    """
    if type(group_size) is not int or group_size < 1:
        raise ValueError(f"group_size must be a positive int, not {group_size!r}")

    def make() -> gym.Env:
        env: gym.Env = SeedPool(gym.make(env_id, **dict(env_kwargs or {})), TRAIN_SEEDS)
        if group_size == 1:
            return env
        if not is_token_level_game(env):
            env.close()
            raise ValueError(f"group_size is for token-level games; {env_id} is not one (its <Game>-v0 is)")
        return RepeatTask(env, group_size)

    venv = DummyVecEnv([make for _ in range(n_envs)])
    if not is_token_level_game(venv):
        check_command_spaces(venv.observation_space, venv.action_space)
    if seed is not None:
        venv.seed(seed)
    return venv


def unseen_games_kwargs(
    env_id: str, env_kwargs: Mapping[str, Any] | None = None, games: int | None = None
) -> dict[str, Any]:
    """``gym.make`` arguments for evaluation on games no training saw.

    The pure-Python games need nothing more (:func:`held_out_seeds` gives unseen seeds). TextWorld games play a
    pool of generated games per split, so their evaluation plays the ``test`` split's pool, of ``games`` games
    when given (else the training pool's size).
    """
    kwargs = dict(env_kwargs or {})
    if env_id in textworld_ids():
        game_kwargs = {**dict(kwargs.get("game_kwargs") or {}), "split": "test"}
        if games is not None:
            game_kwargs["pool_size"] = games
        kwargs["game_kwargs"] = game_kwargs
    return kwargs
