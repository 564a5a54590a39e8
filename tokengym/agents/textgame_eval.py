"""The random agent, win-rate evaluation on unseen games, seed pools and presets for the text-game agents: the
command-level agents of :mod:`tokengym.agents.textgame` and a language model that writes commands token by token
(MaskablePPO with the embedded model under the game's trie masks).

The pure-Python games have no split of their own: a seed fixes a game. :class:`SeedPool` makes training play
games seeded from :data:`TRAIN_SEEDS`, and :func:`held_out_seeds` takes evaluation games from :data:`TEST_SEEDS`.
TextWorld games play a pool per split; :func:`unseen_games_kwargs` points evaluation at the test split's.

Example (token level):
    >>> env = make_train_env("TextNav-v0", {"level": 1, "max_turns": 5}, seed=0, group_size=4)  # doctest: +SKIP
    >>> model = make_agent("lm_maskable_ppo", env, seed=0)                                     # doctest: +SKIP
    >>> model.learn(32_768)                                                                     # doctest: +SKIP
    >>> evaluate_win_rate(model, "TextNav-v0", held_out_seeds(200),
    ...                   env_kwargs={"level": 1, "max_turns": 5}).win_rate                    # doctest: +SKIP
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv

from tokengym.agents.textgame import (
    BOWDQNPolicy,
    CommandActorCriticPolicy,
    CommandDQN,
    CommandDQNPolicy,
    check_command_spaces,
    command_slot_mask,
)
from tokengym.envs import RepeatTask, textworld_ids
from tokengym.envs.games.token_env import TextGameTokenEnv

TRAIN_SEEDS = range(0, 1_000_000)
"""Game seeds that training draws from (see :class:`SeedPool`)."""
TEST_SEEDS = range(1_000_000, 2_000_000)
"""Game seeds held out for evaluation: unseen games (the games have no split of their own; a seed fixes a game)."""


# -------------------------------------------------------------------------------------- random, evaluation


class RandomCommandAgent:
    """Plays a slot drawn uniformly among the offered ones (and among ``action_masks``, when given).

    Args:
        seed: seeds its generator; same seed, same actions.

    ``predict`` has SB3's signature; ``deterministic`` is ignored (the agent is random by definition).

    Example:
        >>> import gymnasium as gym, tokengym
        >>> agent = RandomCommandAgent(seed=0)
        >>> env = gym.make("TextNavCmd-v0")
        >>> obs, _ = env.reset(seed=0)
        >>> int(agent.predict(obs)[0])
        0
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(
        self,
        observation: Mapping[str, np.ndarray],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Any]:
        """A random offered slot per observation (a scalar array for one, ``(B,)`` for a batch)."""
        valid = command_slot_mask(observation)
        if action_masks is not None:
            valid = valid & np.asarray(action_masks, dtype=bool).reshape(valid.shape)
        rows = np.atleast_2d(valid)
        actions = np.zeros(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            slots = np.flatnonzero(row)
            if not len(slots):
                raise ValueError(f"row {i}: action_masks leave none of the offered slots playable")
            actions[i] = slots[self.rng.integers(len(slots))]
        return (actions[0] if valid.ndim == 1 else actions), state


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


def held_out_seeds(n: int) -> range:
    """The first ``n`` held-out game seeds (:data:`TEST_SEEDS`): the same unseen games for every agent."""
    if n < 1 or n > len(TEST_SEEDS):
        raise ValueError(f"n must be in 1..{len(TEST_SEEDS)}, not {n}")
    return TEST_SEEDS[:n]


def evaluate_win_rate(
    agent: Any,
    env: str | gym.Env,
    seeds: Iterable[int],
    deterministic: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
) -> WinRateReport:
    """Play one episode per seed and report wins (``info["won"]``), returns and turns (commands played).

    Args:
        agent: anything with SB3's ``predict``: :class:`RandomCommandAgent`, a :class:`CommandDQN`, a
            ``MaskablePPO`` model or a policy. The env's ``action_masks()`` are passed when ``predict`` takes them.
        env: a text game's id or instance, command level (``<Game>Cmd-v0``) or token level (``<Game>-v0``, for
            language-model agents; a turn is then a whole command, however many tokens it took).
        seeds: reset seeds, one game each (:func:`held_out_seeds` for unseen games).
        deterministic: greedy actions (default) or the agent's sampling.
        env_kwargs: ``gym.make`` arguments when ``env`` is an id.
    """
    if isinstance(env, str):
        env = gym.make(env, **dict(env_kwargs or {}))
    token_level = _token_level(env)
    if not token_level:
        check_command_spaces(env.observation_space, env.action_space)
    takes_masks = "action_masks" in inspect.signature(agent.predict).parameters
    wins, returns, turns = [], [], []
    for seed in seeds:
        obs, _ = env.reset(seed=int(seed))
        total, steps, done, info = 0.0, 0, False, {}
        while not done:
            if takes_masks:
                masks = env.get_wrapper_attr("action_masks")() if _has_masks(env) else command_slot_mask(obs)
                action, _ = agent.predict(obs, deterministic=deterministic, action_masks=masks)
            else:
                action, _ = agent.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, info = env.step(int(action))
            # A turn is a command: one step at command level, the step that ends a command at token level.
            played = not token_level or "command" in info
            total, steps, done = total + float(reward), steps + played, terminated or truncated
        if "won" not in info:
            raise ValueError(f"evaluate_win_rate needs info['won'] from the env's steps; {env.spec or env} gives none")
        wins.append(bool(info["won"]))
        returns.append(total)
        turns.append(steps)
    return WinRateReport(wins, returns, turns)


def _token_level(env: gym.Env | DummyVecEnv) -> bool:
    """Whether ``env`` (or a ``DummyVecEnv``'s first env) is a token-level text game (``<Game>-v0``)."""
    first = env.envs[0] if isinstance(env, DummyVecEnv) else env
    return isinstance(first.unwrapped, TextGameTokenEnv)


def _has_masks(env: gym.Env) -> bool:
    try:
        env.get_wrapper_attr("action_masks")
    except AttributeError:
        return False
    return True


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


# ------------------------------------------------------------------------------------------------ presets

AGENT_KINDS = ("lstm_dqn", "bow_dqn", "ppo")
"""Command-level agents (:func:`make_agent`)."""
LM_AGENT_KINDS = ("lm_maskable_ppo",)
"""Token-level agents: a language model writing commands (:func:`make_agent`)."""

_DQN_PRESET: dict[str, Any] = {
    "learning_rate": 1e-3,
    "buffer_size": 20_000,
    "learning_starts": 200,
    "batch_size": 32,
    "gamma": 0.9,
    "train_freq": 1,
    "gradient_steps": 1,
    "target_update_interval": 250,
    "exploration_fraction": 0.4,
    "exploration_final_eps": 0.05,
}
_PPO_PRESET: dict[str, Any] = {
    "learning_rate": 3e-3,
    "n_steps": 128,
    "batch_size": 64,
    "n_epochs": 4,
    "gamma": 0.9,
    "ent_coef": 0.01,
}
_LM_PRESET: dict[str, Any] = {
    "learning_rate": 3e-5,
    "n_steps": 128,
    "batch_size": 64,
    "n_epochs": 2,
    "gamma": 1.0,
    "gae_lambda": 1.0,
    "rollout_buffer_kwargs": {"baseline": "group"},
}
_LM_POLICY = {"model_name": "tiny", "temperature": 2.0}
_ENCODER = {"embedding_dim": 32, "hidden_dim": 64}


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
        if not _token_level(env):
            env.close()
            raise ValueError(f"group_size is for token-level games; {env_id} is not one (its <Game>-v0 is)")
        return RepeatTask(env, group_size)

    venv = DummyVecEnv([make for _ in range(n_envs)])
    if not _token_level(venv):
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


def make_agent(
    kind: str,
    env: gym.Env | DummyVecEnv | str,
    seed: int | None = None,
    hyperparameters: Mapping[str, Any] | None = None,
    device: str = "cpu",
    verbose: int = 0,
    model_name: str = "tiny",
) -> CommandDQN | MaskablePPO:
    """An untrained agent with the presets used by the tests and ``benchmarks/textgame_winrate.py``.

    Args:
        kind: command level (:data:`AGENT_KINDS`): ``"lstm_dqn"`` (:class:`CommandDQN` +
            :class:`CommandDQNPolicy`), ``"bow_dqn"`` (:class:`BOWDQNPolicy`) or ``"ppo"`` (``MaskablePPO`` +
            :class:`CommandActorCriticPolicy`); token level (:data:`LM_AGENT_KINDS`): ``"lm_maskable_ppo"``,
            ``MaskablePPO`` with the embedded language model "tiny" as its policy
            (:class:`~tokengym.agents.maskable.MaskableLMActorCriticPolicy`), writing each command token by
            token under the game's trie masks.
        env: the training env (see :func:`make_train_env`) or an id.
        seed: the algorithm's seed.
        hyperparameters: overrides of the preset's algorithm arguments (``policy_kwargs`` included).
        device: torch device; the command-level models are small and fastest on a CPU.
        verbose: SB3 verbosity.
        model_name: the language model the token-level agents start from: "tiny", or a folder (for example a
            supervised warm start on the game's walkthroughs, :func:`tokengym.agents.sft.supervised_finetune`).

    Presets: embedding 32, LSTM 64, scorer MLP [64]; DQN lr 1e-3, buffer 20k, warm-up 200, batch 32,
    gamma 0.9, one update per vectorised step (every 4 env steps with :func:`make_train_env`'s 4 envs), target
    sync every 250 steps, epsilon 1 -> 0.05 over 40% of training; PPO lr 3e-3, 128 steps per env per rollout,
    batch 64, 4 epochs, gamma 0.9, entropy 0.01. The language model: lr 3e-5, 128 token steps per env per
    rollout, batch 64, 2 epochs, no discount, sampling temperature 2 (the embedded model is nearly certain of
    one direction in a room; a hotter policy tries the others) and the group baseline, which judges each play
    of a game against the other plays of the same game when the env serves games in groups
    (``make_train_env(..., group_size=4)``), the critic's value otherwise.
    """
    if kind not in AGENT_KINDS + LM_AGENT_KINDS:
        raise ValueError(f"kind must be one of {', '.join(AGENT_KINDS + LM_AGENT_KINDS)}, not {kind!r}")
    if kind in LM_AGENT_KINDS:
        from tokengym.agents.buffers import EpisodeMaskableDictRolloutBuffer
        from tokengym.agents.maskable import MaskableLMActorCriticPolicy

        probe = gym.make(env) if isinstance(env, str) else env
        if not _token_level(probe):
            raise ValueError(f"{kind} writes commands token by token: give it a token-level game (<Game>-v0)")
        preset = {**_LM_PRESET, "policy_kwargs": {**_LM_POLICY, "model_name": model_name}}
        preset.update(hyperparameters or {})
        args = {"seed": seed, "device": device, "verbose": verbose, **preset}
        return MaskablePPO(
            MaskableLMActorCriticPolicy, probe, rollout_buffer_class=EpisodeMaskableDictRolloutBuffer, **args
        )
    preset = dict(_PPO_PRESET if kind == "ppo" else _DQN_PRESET)
    preset["policy_kwargs"] = {"features_extractor_kwargs": dict(_ENCODER)}
    preset.update(hyperparameters or {})
    args = {"seed": seed, "device": device, "verbose": verbose, **preset}
    if kind == "ppo":
        return MaskablePPO(CommandActorCriticPolicy, env, **args)
    return CommandDQN(CommandDQNPolicy if kind == "lstm_dqn" else BOWDQNPolicy, env, **args)
