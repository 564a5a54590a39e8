"""Agents: language-model policies for Stable-Baselines3, text-game baselines, training and supervised warm starts.

The room is split by role:

* :mod:`tokengym.agents.lm` — language-model policies and what they need: model loading, the key/value cache,
  the actor-critic, maskable (NLPO) and DQN policies, episode rollout buffers, the KL penalty.
* :mod:`tokengym.agents.textgame` — command-level text-game agents (LSTM-DQN, BOW-DQN, command-level
  MaskablePPO, the random agent, win rates on unseen games); it imports no ``transformers``.
* :mod:`tokengym.agents.running` — one way to build and run a model: the configuration, the algorithm table and
  builder, ``train()``, checkpoints, evaluation and the demo.
* :mod:`tokengym.agents.supervised` — supervised fine-tuning on demonstrations and the embedded model's pretraining.

PPO, A2C and TRPO take :class:`LMActorCriticPolicy`; sb3-contrib's MaskablePPO takes
:class:`MaskableLMActorCriticPolicy` (with :class:`NLPOMaskCallback` for NLPO's top-p masks); DQN takes
:class:`LMDQNPolicy`, best through :class:`TextDQN`. Group baselines (RLOO/GRPO-style) come from the episode buffers
with ``rollout_buffer_kwargs={"baseline": "group"}`` and :class:`~tokengym.envs.wrappers.RepeatTask`.

Names are re-exported here and imported on first use, so that ``import tokengym.agents.textgame`` does not pull in
the language-model stack.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import LMActorCriticPolicy
    >>> model = PPO(LMActorCriticPolicy, gym.make("Dialogue-v0"), n_steps=64, batch_size=64)
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS: dict[str, str] = {
    "BOWDQNPolicy": "tokengym.agents.textgame",
    "CommandActorCriticPolicy": "tokengym.agents.textgame",
    "CommandDQN": "tokengym.agents.textgame",
    "CommandDQNPolicy": "tokengym.agents.textgame",
    "EpisodeDictRolloutBuffer": "tokengym.agents.lm.buffers",
    "EpisodeMaskableDictRolloutBuffer": "tokengym.agents.lm.buffers",
    "EvalReport": "tokengym.agents.running.evaluate",
    "IncrementalDecoder": "tokengym.agents.lm.kv_cache",
    "KLController": "tokengym.agents.lm.kl",
    "KLPenaltyCallback": "tokengym.agents.lm.kl",
    "LMActorCriticPolicy": "tokengym.agents.lm.policy",
    "LMDQNPolicy": "tokengym.agents.lm.dqn",
    "LMReplayBuffer": "tokengym.agents.replay",
    "MemoryCheckedReplayBuffer": "tokengym.agents.replay",
    "MaskableLMActorCriticPolicy": "tokengym.agents.lm.maskable",
    "NLPOMaskCallback": "tokengym.agents.lm.nlpo",
    "PackedMaskableDictRolloutBuffer": "tokengym.agents.lm.buffers",
    "RandomCommandAgent": "tokengym.agents.textgame",
    "SFTConfig": "tokengym.agents.supervised.sft",
    "TextDQN": "tokengym.agents.lm.dqn",
    "TrainConfig": "tokengym.agents.running.config",
    "check_replay_memory": "tokengym.agents.replay",
    "check_token_spaces": "tokengym.agents.lm.spaces",
    "disable_dropout": "tokengym.agents.lm.loading",
    "evaluate_policy_text": "tokengym.agents.running.evaluate",
    "evaluate_win_rate": "tokengym.agents.textgame",
    "load_lm": "tokengym.agents.lm.loading",
    "evaluate_model": "tokengym.agents.running.evaluate",
    "load_policy": "tokengym.agents.running.policies",
    "model_names": "tokengym.agents.lm.loading",
    "supervised_finetune": "tokengym.agents.supervised.sft",
    "top_k_top_p_filter": "tokengym.agents.lm.sampling",
    "train": "tokengym.agents.running.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
