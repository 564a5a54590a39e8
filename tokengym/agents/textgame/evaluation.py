"""Win rates of text-game agents on seeded games: the command-level agents of :mod:`tokengym.agents.textgame`
and a language model that writes commands token by token (the presets are in :mod:`tokengym.agents.running.presets`).

The episodes are played by :func:`~tokengym.agents.episodes.play_episodes`, which gives ``predict`` the env's
``action_masks()`` when ``predict`` takes them.

Example (token level):
    >>> from tokengym.agents.running.presets import make_agent                                 # doctest: +SKIP
    >>> env = make_train_env("TextNav-v0", {"level": 1, "max_turns": 5}, seed=0, group_size=4)  # doctest: +SKIP
    >>> model = make_agent("lm_maskable_ppo", env, seed=0)                                     # doctest: +SKIP
    >>> model.learn(32_768)                                                                     # doctest: +SKIP
    >>> evaluate_win_rate(model, "TextNav-v0", held_out_seeds(200),
    ...                   env_kwargs={"level": 1, "max_turns": 5}).win_rate                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from tokengym.agents.episodes import play_episodes
from tokengym.agents.textgame.spaces import check_command_spaces, is_token_level_game


@dataclass
class WinRateReport:
    """Per episode: whether it was won, its return and its turns; with their summaries."""

    wins: list[bool]
    returns: list[float]
    turns: list[int]

    @property
    def win_rate(self) -> float:
        return float(np.mean(self.wins))

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns))

    @property
    def mean_turns(self) -> float:
        return float(np.mean(self.turns))

    def as_dict(self) -> dict[str, float]:
        return {
            "episodes": len(self.wins),
            "win_rate": self.win_rate,
            "mean_return": self.mean_return,
            "mean_turns": self.mean_turns,
        }


def evaluate_win_rate(
    agent: Any,
    env: str | gym.Env,
    seeds: Iterable[int],
    deterministic: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
) -> WinRateReport:
    """Play one episode per seed and report wins (``info["won"]``), returns and turns (commands played).

    Args:
        agent: anything with SB3's ``predict``: :class:`~tokengym.agents.textgame.RandomCommandAgent`, a
            :class:`~tokengym.agents.textgame.CommandDQN`, a ``MaskablePPO`` model or a policy. The env's
            ``action_masks()`` are passed when ``predict`` takes them (the rule of
            :func:`~tokengym.agents.episodes.uses_action_masks`).
        env: a text game's id or instance, command level (``<Game>Cmd-v0``) or token level (``<Game>-v0``, for
            language-model agents; a turn is then a whole command, however many tokens it took).
        seeds: reset seeds, one game each (:func:`~tokengym.agents.textgame.held_out_seeds` for unseen games).
        deterministic: greedy actions (default) or the agent's sampling.
        env_kwargs: ``gym.make`` arguments when ``env`` is an id.
    """
    if isinstance(env, str):
        env = gym.make(env, **dict(env_kwargs or {}))
    token_level = is_token_level_game(env)
    if not token_level:
        check_command_spaces(env.observation_space, env.action_space)
    wins, returns, turns = [], [], []
    for episode in play_episodes(agent, env, seeds, deterministic):
        if "won" not in episode.end_info:
            raise ValueError(f"evaluate_win_rate needs info['won'] from the env's steps; {env.spec or env} gives none")
        wins.append(bool(episode.end_info["won"]))
        returns.append(episode.episode_return)
        # A turn is a command: one step at command level, the step that ends a command at token level.
        turns.append(sum("command" in info for info in episode.infos) if token_level else episode.length)
    return WinRateReport(wins, returns, turns)
