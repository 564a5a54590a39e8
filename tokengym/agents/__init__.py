"""Language-model policies for Stable-Baselines3, model loading, supervised warm start and evaluation.

PPO, A2C and TRPO take :class:`LMActorCriticPolicy`; sb3-contrib's MaskablePPO takes
:class:`MaskableLMActorCriticPolicy` (with :class:`NLPOMaskCallback` for NLPO's top-p masks); DQN takes
:class:`LMDQNPolicy`, best through :class:`TextDQN`. Group baselines (RLOO/GRPO-style) come from the episode buffers
with ``rollout_buffer_kwargs={"baseline": "group"}`` and :class:`~tokengym.envs.wrappers.RepeatTask`.

Command-level text games (``<Game>Cmd-v0``) have their own baselines in :mod:`tokengym.agents.textgame`:
LSTM-DQN (:class:`CommandDQN` with :class:`CommandDQNPolicy`), BOW-DQN (:class:`BOWDQNPolicy`) and command-level
MaskablePPO (:class:`CommandActorCriticPolicy`); :class:`RandomCommandAgent` and :func:`evaluate_win_rate` are in
:mod:`tokengym.agents.textgame_eval`.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import LMActorCriticPolicy
    >>> model = PPO(LMActorCriticPolicy, gym.make("Dialogue-v0"), n_steps=64, batch_size=64)
"""

from tokengym.agents.buffers import (
    EpisodeDictRolloutBuffer,
    EpisodeMaskableDictRolloutBuffer,
    PackedMaskableDictRolloutBuffer,
)
from tokengym.agents.dqn import LMDQNPolicy, LMReplayBuffer, TextDQN, check_replay_memory
from tokengym.agents.evaluate import EvalReport, evaluate_policy_text
from tokengym.agents.incremental import IncrementalDecoder
from tokengym.agents.kl import KLController, KLPenaltyCallback
from tokengym.agents.lm import disable_dropout, load_lm, model_names
from tokengym.agents.maskable import MaskableLMActorCriticPolicy, NLPOMaskCallback
from tokengym.agents.policy import LMActorCriticPolicy, check_token_spaces, top_k_top_p_filter
from tokengym.agents.sft import SFTConfig, supervised_finetune
from tokengym.agents.textgame import BOWDQNPolicy, CommandActorCriticPolicy, CommandDQN, CommandDQNPolicy
from tokengym.agents.textgame_eval import RandomCommandAgent, evaluate_win_rate

__all__ = [
    "BOWDQNPolicy",
    "CommandActorCriticPolicy",
    "CommandDQN",
    "CommandDQNPolicy",
    "EpisodeDictRolloutBuffer",
    "EpisodeMaskableDictRolloutBuffer",
    "EvalReport",
    "IncrementalDecoder",
    "KLController",
    "KLPenaltyCallback",
    "LMActorCriticPolicy",
    "LMDQNPolicy",
    "LMReplayBuffer",
    "MaskableLMActorCriticPolicy",
    "NLPOMaskCallback",
    "PackedMaskableDictRolloutBuffer",
    "RandomCommandAgent",
    "SFTConfig",
    "TextDQN",
    "check_replay_memory",
    "check_token_spaces",
    "disable_dropout",
    "evaluate_policy_text",
    "evaluate_win_rate",
    "load_lm",
    "model_names",
    "supervised_finetune",
    "top_k_top_p_filter",
]
