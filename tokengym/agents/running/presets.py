"""Text-game agents with the presets used by the tests and ``benchmarks/textgame_winrate.py``.

Command-level agents (LSTM-DQN, BOW-DQN, command-level MaskablePPO) and a language model that writes commands
token by token (MaskablePPO with the embedded model under the game's trie masks).

Example (token level):
    >>> from tokengym.agents.textgame import evaluate_win_rate, held_out_seeds, make_train_env
    >>> env = make_train_env("TextNav-v0", {"level": 1, "max_turns": 5}, seed=0, group_size=4)  # doctest: +SKIP
    >>> model = make_agent("lm_maskable_ppo", env, seed=0)                                     # doctest: +SKIP
    >>> model.learn(32_768)                                                                     # doctest: +SKIP
    >>> evaluate_win_rate(model, "TextNav-v0", held_out_seeds(200),
    ...                   env_kwargs={"level": 1, "max_turns": 5}).win_rate                    # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from sb3_contrib import MaskablePPO
from stable_baselines3.common.vec_env import DummyVecEnv

from tokengym.agents.running.algorithms import build_model
from tokengym.agents.running.config import TrainConfig
from tokengym.agents.textgame.actor_critic import CommandActorCriticPolicy
from tokengym.agents.textgame.dqn import BOWDQNPolicy, CommandDQN, CommandDQNPolicy
from tokengym.agents.textgame.spaces import is_token_level_game

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
    "algo": "maskable_ppo",
    "learning_rate": 3e-5,
    "n_steps": 128,
    "batch_size": 64,
    "n_epochs": 2,
    "gamma": 1.0,
    "gae_lambda": 1.0,
    "value_lr_scale": 1.0,
    # The embedded model is nearly certain of one direction in a room; a hotter policy tries the others.
    "temperature": 2.0,
}
"""The language model's preset: :class:`~tokengym.agents.running.config.TrainConfig` fields."""
_ENCODER = {"embedding_dim": 32, "hidden_dim": 64}


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
            (:class:`~tokengym.agents.lm.maskable.MaskableLMActorCriticPolicy`), writing each command token by
            token under the game's trie masks.
        env: the training env (see :func:`make_train_env`) or an id.
        seed: the algorithm's seed.
        hyperparameters: overrides of the preset's algorithm arguments (``policy_kwargs`` included).
        device: torch device; the command-level models are small and fastest on a CPU.
        verbose: SB3 verbosity.
        model_name: the language model the token-level agents start from: "tiny", or a folder (for example a
            supervised warm start on the game's walkthroughs,
            :func:`tokengym.agents.supervised.sft.supervised_finetune`).

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
        probe = gym.make(env) if isinstance(env, str) else env
        if not is_token_level_game(probe):
            raise ValueError(f"{kind} writes commands token by token: give it a token-level game (<Game>-v0)")
        first = probe.envs[0] if isinstance(probe, DummyVecEnv) else probe
        cfg = TrainConfig(env_id=first.spec.id, model_name=model_name, **_LM_PRESET)
        # The group baseline judges each play against the other plays of its game where the buffer holds them.
        extra = {"seed": seed, "device": device, "verbose": verbose, "rollout_buffer_kwargs": {"baseline": "group"}}
        return build_model(cfg, probe, algorithm_kwargs={**extra, **(hyperparameters or {})})
    preset = dict(_PPO_PRESET if kind == "ppo" else _DQN_PRESET)
    preset["policy_kwargs"] = {"features_extractor_kwargs": dict(_ENCODER)}
    preset.update(hyperparameters or {})
    args = {"seed": seed, "device": device, "verbose": verbose, **preset}
    if kind == "ppo":
        return MaskablePPO(CommandActorCriticPolicy, env, **args)
    return CommandDQN(CommandDQNPolicy if kind == "lstm_dqn" else BOWDQNPolicy, env, **args)
