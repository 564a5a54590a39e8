"""A bring-your-own agent for ``tokengym bench``, small enough to read in a minute: the walkthrough's example.

:func:`train` follows the callable protocol ``train(env_fn, budget, seed) -> policy``
(:mod:`tokengym.bench.agents`): it plays ``budget`` steps of offered commands at random in a command-level game,
credits every command with the return of the episodes it was played in, and returns a policy that plays, among
the offered commands, the one with the best mean return seen (an unseen one counts as the mean of all episodes).
:class:`CommandA2C` is the other protocol: an SB3 ``BaseAlgorithm`` subclass (here SB3's A2C itself) that the bench
builds with ``bench_policy``.

Run either against the baselines of the micro suite::

    tokengym bench --suite micro --agent tokengym.bench.example_agent:train --out runs/bench-micro

Example:
    >>> import gymnasium as gym, tokengym
    >>> policy = train(lambda: gym.make("TextNavCmd-v0", level=1, max_turns=5), budget=200, seed=0)
    >>> env = gym.make("TextNavCmd-v0", level=1, max_turns=5)
    >>> obs, _ = env.reset(seed=1)
    >>> int(policy.predict(obs)[0]) < env.action_space.n
    True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from stable_baselines3 import A2C


def offered_commands(obs: dict[str, np.ndarray]) -> list[tuple[int, tuple[int, ...]]]:
    """``(slot, the command's token ids)`` of every command the observation offers."""
    ids, mask = obs["command_ids"], obs["command_mask"].astype(bool)
    return [(slot, tuple(int(t) for t in ids[slot][mask[slot]])) for slot in range(len(ids)) if mask[slot].any()]


class BestCommandPolicy:
    """Plays the offered command with the best mean return credited to it in training."""

    def __init__(self, value: dict[tuple[int, ...], float], default: float) -> None:
        self.value, self.default = value, default

    def predict(
        self,
        observation: dict[str, np.ndarray],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, Any]:
        batched = observation["command_ids"].ndim == 3
        rows = (
            [{k: v[i] for k, v in observation.items()} for i in range(len(observation["command_ids"]))]
            if batched
            else [observation]
        )
        actions = []
        for obs in rows:
            offered = offered_commands(obs)
            best = max(offered, key=lambda item: (self.value.get(item[1], self.default), -item[0]))
            actions.append(best[0])
        return (np.array(actions) if batched else np.array(actions[0])), state


def train(env_fn: Callable[[], gym.Env], budget: int, seed: int) -> BestCommandPolicy:
    """Credit each command with the returns of random episodes for ``budget`` steps (see the module's docstring)."""
    env, rng = env_fn(), np.random.default_rng(seed)
    totals: dict[tuple[int, ...], list[float]] = defaultdict(list)
    obs, _ = env.reset(seed=seed)
    played, episode_return, returns = [], 0.0, []
    for _ in range(budget):
        slot, command = offered_commands(obs)[rng.integers(len(offered_commands(obs)))]
        played.append(command)
        obs, reward, terminated, truncated, _ = env.step(slot)
        episode_return += float(reward)
        if terminated or truncated:
            for command in set(played):
                totals[command].append(episode_return)
            returns.append(episode_return)
            obs, _ = env.reset()
            played, episode_return = [], 0.0
    env.close()
    default = float(np.mean(returns)) if returns else 0.0
    return BestCommandPolicy({c: float(np.mean(v)) for c, v in totals.items()}, default)


train.bench_name = "command_bandit"  # type: ignore[attr-defined]
train.bench_levels = ("command",)  # type: ignore[attr-defined]


class CommandA2C(A2C):
    """SB3's A2C on the command-level games, as a bring-your-own ``BaseAlgorithm`` subclass."""

    bench_policy = "MultiInputPolicy"
    bench_kwargs: ClassVar[dict[str, Any]] = {"n_steps": 16, "learning_rate": 1e-3}
    bench_levels = ("command",)
