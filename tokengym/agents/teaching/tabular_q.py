"""Tabular Q-learning (Watkins, 1989) for command-level text games, in one file that reads top to bottom.

A command-level game (``<Game>Cmd-v0``) shows a text and a short list of admissible commands; the agent picks
one slot. With few rooms and few turns the game has a finite number of distinct observations, so a table can
hold one action value per (observation, slot). The state is the observation itself, hashed: the text's tokens
(``input_ids`` under ``attention_mask``) and the offered commands (``command_ids``). Two observations that
differ in any token are two states, so the table learns the games it plays and nothing about games it has not
seen: the lesson that motivates DQN's function approximation (notebook 3).

The equations, as named in the code below:

- (1) behaviour policy, epsilon-greedy over the offered slots:
  ``a = argmax_a Q(s, a)`` with probability ``1 - eps``, else a uniform offered slot;
- (2) exploration schedule, linear: ``eps_k = eps_start + (eps_end - eps_start) * min(1, k / (frac * T))``;
- (3) TD target: ``y = r + gamma * max_{a' offered in s'} Q(s', a')``, and ``y = r`` when ``s'`` is terminal;
- (4) Watkins' update: ``Q(s, a) <- Q(s, a) + alpha * (y - Q(s, a))``.

Example:
    >>> cfg = TabularQConfig(env_kwargs={"level": 1, "max_turns": 5}, total_steps=400, games=2)
    >>> result = train_tabular_q(cfg)
    >>> len(result.agent.table) > 0, result.steps >= 400
    (True, True)
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from tokengym.agents.textgame.seeds import TRAIN_SEEDS
from tokengym.agents.textgame.spaces import check_command_spaces, command_slot_mask
from tokengym.envs.validation import check_int, check_number

FORMAT_VERSION = 1
"""The version of the saved table's JSON layout (:meth:`TabularQAgent.save`)."""


@dataclass
class TabularQConfig:
    """Settings of :func:`train_tabular_q`; every field is checked when the configuration is made."""

    env_id: str = "TextNavCmd-v0"
    """A command-level text game (``<Game>Cmd-v0``): its observation lists the admissible commands."""
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"level": 2, "max_turns": 12})
    """Arguments of ``gym.make``. The default, TextNav level 2 in 12 turns, is a game a random player wins
    about one time in twenty, and a table learns in a few thousand steps."""
    total_steps: int = 20_000
    """Environment steps (commands played) to train for; the episode under way at the end is finished."""
    games: int = 8
    """How many games to train on: the first ``games`` training seeds (:data:`~tokengym.agents.textgame.TRAIN_SEEDS`),
    played in turn. 0 draws a new game from the training seeds at every reset (a table then rarely sees a state
    twice: try it)."""
    learning_rate: float = 0.5
    """Step size ``alpha`` of Watkins' update (4); the games are deterministic, so a large step is safe."""
    gamma: float = 0.95
    """Discount ``gamma`` of the TD target (3); below 1 it prefers the shorter way to the goal."""
    epsilon_start: float = 1.0
    """Exploration rate at the first step (2)."""
    epsilon_end: float = 0.05
    """Exploration rate at the end of the schedule and after it (2)."""
    exploration_fraction: float = 0.5
    """Share of ``total_steps`` over which epsilon falls linearly from its start to its end (2)."""
    seed: int = 0
    """Seeds exploration and tie-breaking (the games come from ``games``): same seed, same table."""

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must name a command-level game such as 'TextNavCmd-v0', not {self.env_id!r}")
        if not isinstance(self.env_kwargs, Mapping):
            raise ValueError(f"env_kwargs must be a mapping of gym.make arguments, not {self.env_kwargs!r}")
        self.env_kwargs = dict(self.env_kwargs)
        self.total_steps = check_int("total_steps", self.total_steps, low=1)
        self.games = check_int("games", self.games, low=0, high=len(TRAIN_SEEDS))
        self.seed = check_int("seed", self.seed, low=0, high=2**32 - 1)
        self.learning_rate = check_number("learning_rate", self.learning_rate, low=0.0)
        if not 0.0 < self.learning_rate <= 1.0:
            raise ValueError(f"learning_rate (alpha) must be in (0, 1], not {self.learning_rate}")
        for name in ("gamma", "epsilon_start", "epsilon_end"):
            value = check_number(name, getattr(self, name), low=0.0)
            if value > 1.0:
                raise ValueError(f"{name} must be in [0, 1], not {value}")
            setattr(self, name, value)
        self.exploration_fraction = check_number("exploration_fraction", self.exploration_fraction, low=0.0)
        if not 0.0 < self.exploration_fraction <= 1.0:
            raise ValueError(f"exploration_fraction must be in (0, 1], not {self.exploration_fraction}")


def state_key(observation: Mapping[str, np.ndarray]) -> str:
    """The table's key of an observation: a 16-hex-digit BLAKE2b hash of its text tokens and offered commands.

    Example:
        >>> import tokengym
        >>> env = gym.make("TextNavCmd-v0")
        >>> obs, _ = env.reset(seed=0)
        >>> state_key(obs) == state_key(env.reset(seed=0)[0]), len(state_key(obs))
        (True, 16)
    """
    mask = np.asarray(observation["attention_mask"]).astype(bool)
    text = np.asarray(observation["input_ids"], dtype=np.int32)[mask]
    commands = np.asarray(observation["command_ids"], dtype=np.int32)
    digest = hashlib.blake2b(text.tobytes(), digest_size=8)
    digest.update(commands.tobytes())
    return digest.hexdigest()


class TabularQAgent:
    """A table of action values, one row per state met, and the greedy policy it defines.

    ``predict`` has SB3's signature, so :func:`~tokengym.agents.textgame.evaluate_win_rate` and
    :func:`~tokengym.agents.episodes.play_episodes` play it like any other agent. A state the table has never met
    has no values: the agent then plays a uniform offered slot (seeded), which is what its table knows about it.

    Args:
        n_actions: the game's command slots (``action_space.n``).
        seed: seeds tie-breaking and the play in unknown states.
    """

    def __init__(self, n_actions: int, seed: int | None = None) -> None:
        self.n_actions = check_int("n_actions", n_actions, low=1)
        self.table: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng(seed)

    def values(self, key: str) -> np.ndarray:
        """The row of ``key``, made (all zeros) on first use."""
        row = self.table.get(key)
        if row is None:
            row = self.table[key] = np.zeros(self.n_actions, dtype=np.float64)
        return row

    def greedy(self, key: str, offered: np.ndarray) -> int:
        """``argmax_a Q(s, a)`` over the offered slots; ties (and unknown states) broken uniformly at random."""
        slots = np.flatnonzero(offered)
        row = self.table.get(key)
        if row is None:
            return int(slots[self.rng.integers(len(slots))])
        best = slots[row[slots] == row[slots].max()]
        return int(best[self.rng.integers(len(best))])

    def predict(
        self,
        observation: Mapping[str, np.ndarray],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Any]:
        """The greedy slot of one observation (``deterministic`` is ignored: the table's policy is greedy)."""
        offered = command_slot_mask(observation)
        if offered.ndim != 1:
            raise ValueError("TabularQAgent.predict takes one observation at a time, not a batch")
        if action_masks is not None:
            offered = offered & np.asarray(action_masks, dtype=bool).reshape(offered.shape)
        return np.asarray(self.greedy(state_key(observation), offered)), state

    def save(self, path: str | Path, meta: Mapping[str, Any] | None = None) -> Path:
        """Write the table as JSON (atomically), with ``meta`` (what it was trained on) beside it."""
        from tokengym.data.loaders import write_text_atomic

        record = {
            "format_version": FORMAT_VERSION,
            "n_actions": self.n_actions,
            "meta": dict(meta or {}),
            "table": {key: [float(v) for v in row] for key, row in self.table.items()},
        }
        return write_text_atomic(path, json.dumps(record, allow_nan=False) + "\n")

    @classmethod
    def load(cls, path: str | Path, seed: int | None = None) -> TabularQAgent:
        """A table saved by :meth:`save`.

        Raises:
            ValueError: a file that is not such a table (naming the file and what is wrong).
        """
        try:
            record = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{str(path)!r} is not a readable Q-table JSON file: {err}") from None
        if not isinstance(record, dict) or record.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{str(path)!r} is not a Q-table of format version {FORMAT_VERSION}")
        agent = cls(int(record["n_actions"]), seed=seed)
        for key, row in record["table"].items():
            if len(row) != agent.n_actions or not all(np.isfinite(row)):
                raise ValueError(f"{str(path)!r}: state {key} has a row that is not {agent.n_actions} finite values")
            agent.table[key] = np.asarray(row, dtype=np.float64)
        return agent


@dataclass
class TabularQResult:
    """What :func:`train_tabular_q` did: the agent, every training episode's return and end step, the seeds of
    the games it trained on, and the time taken."""

    agent: TabularQAgent
    episode_returns: list[float]
    episode_ends: list[int]
    steps: int
    train_games: Sequence[int] | None
    seconds: float
    config: TabularQConfig

    def meta(self) -> dict[str, Any]:
        """A JSON description of the run (stored with the table)."""
        games = None if self.train_games is None else [int(g) for g in self.train_games]
        return {"algorithm": "tabular_q", "config": asdict(self.config), "train_games": games, "steps": self.steps}


def epsilon_at(step: int, cfg: TabularQConfig) -> float:
    """(2) the linear exploration schedule."""
    progress = min(1.0, step / (cfg.exploration_fraction * cfg.total_steps))
    return cfg.epsilon_start + (cfg.epsilon_end - cfg.epsilon_start) * progress


def train_tabular_q(cfg: TabularQConfig, env: gym.Env | None = None) -> TabularQResult:
    """Watkins' Q-learning on a command-level game: play epsilon-greedy, update the table after every step.

    Args:
        cfg: the configuration.
        env: the game to play (made from ``cfg.env_id`` and ``cfg.env_kwargs`` when ``None``).

    Raises:
        ValueError: an environment that is not a command-level game.
    """
    env = gym.make(cfg.env_id, **cfg.env_kwargs) if env is None else env
    check_command_spaces(env.observation_space, env.action_space)
    rng = np.random.default_rng(cfg.seed)  # exploration: the only randomness besides the games
    agent = TabularQAgent(int(env.action_space.n), seed=cfg.seed + 1)
    pool = TRAIN_SEEDS[: cfg.games] if cfg.games else None
    returns: list[float] = []
    ends: list[int] = []
    step, start = 0, time.perf_counter()
    while step < cfg.total_steps:
        episode = len(returns)
        game = pool[episode % len(pool)] if pool is not None else int(rng.integers(len(TRAIN_SEEDS)))
        obs, _ = env.reset(seed=int(game))
        key, done, episode_return = state_key(obs), False, 0.0
        while not done:
            offered = command_slot_mask(obs)
            # (1) epsilon-greedy over the offered slots, (2) with the scheduled epsilon.
            if rng.random() < epsilon_at(step, cfg):
                slots = np.flatnonzero(offered)
                action = int(slots[rng.integers(len(slots))])
            else:
                action = agent.greedy(key, offered)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            next_key = state_key(next_obs)
            # (3) the TD target: bootstrap from the best offered command of the next state, unless it is terminal.
            # A truncation by a time limit alone is not an end of the game, so it bootstraps too.
            target = float(reward)
            if not terminated:
                next_offered = np.flatnonzero(command_slot_mask(next_obs))
                target += cfg.gamma * float(agent.values(next_key)[next_offered].max())
            # (4) Watkins' update.
            row = agent.values(key)
            row[action] += cfg.learning_rate * (target - row[action])
            obs, key = next_obs, next_key
            episode_return += float(reward)
            step += 1
            done = terminated or truncated
        returns.append(episode_return)
        ends.append(step)
    return TabularQResult(agent, returns, ends, step, pool, time.perf_counter() - start, cfg)


def play_greedy(agent: Any, env: gym.Env, seeds: Sequence[int]) -> list[float]:
    """The return of one episode per game seed, played by ``agent.predict`` (a random agent works too)."""
    returns = []
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        done, total = False, 0.0
        while not done:
            action, _ = agent.predict(obs, deterministic=True)
            obs, reward, terminated, truncated, _ = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns
