"""LSTM-DQN and BOW-DQN for command-level text games: SB3's ``DQN`` on a Q-network that scores offered commands.

**LSTM-DQN** follows Narasimhan, Kulkarni & Barzilay (2015), "Language Understanding for Text-based Games using
Deep Reinforcement Learning". Kept from the paper: the *representation generator* (word embeddings, an LSTM over
the game text, mean pooling over its outputs), an MLP *action scorer*, Q-learning with experience replay and a
target network, epsilon-greedy exploration with an annealed epsilon, and the BOW-DQN comparison (a bag-of-words
state instead of the LSTM). Changed: the paper scores a fixed set of action words and object words with two
heads and averages them; our games offer a variable list of whole commands, so the scorer rates each offered
command from its own tokens (mean of the shared word embeddings, or an LSTM) together with the state,
``Q(s, c) = MLP([v_s, v_c])``: the DRRN-style extension to admissible-command lists (He et al., 2016). Unused
slots get ``Q = -inf``, so the greedy action, the exploratory action and the max of the TD target only ever see
offered commands. Left out: the paper's prioritised sampling of positive-reward transitions (SB3's uniform
replay buffer is used; its n-step returns are available through ``n_steps``) and its separate action/object
heads.

:class:`CommandDQNPolicy` (LSTM-DQN, alias ``LSTMDQNPolicy``) and :class:`BOWDQNPolicy` are ``DQNPolicy`` whose
Q-network scores the slots (encoders and scorer in :mod:`tokengym.agents.textgame.encoders`);
:class:`CommandDQN` is SB3's ``DQN`` whose random actions (epsilon-greedy and warm-up) are drawn among the offered
slots only.

Example:
    >>> import tokengym
    >>> from tokengym.agents.running.presets import make_agent
    >>> from tokengym.agents.textgame import evaluate_win_rate, held_out_seeds, make_train_env
    >>> env_kwargs = {"level": 1, "max_turns": 5}
    >>> model = make_agent("lstm_dqn", make_train_env("TextNavCmd-v0", env_kwargs, seed=0), seed=0)
    >>> model.learn(8_000)                                                          # doctest: +SKIP
    >>> evaluate_win_rate(model, "TextNavCmd-v0", held_out_seeds(100), env_kwargs=env_kwargs).win_rate  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from tokengym.agents.replay import MemoryCheckedReplayBuffer
from tokengym.agents.textgame.encoders import (
    BOWCommandEncoder,
    CommandEncoder,
    CommandScorer,
    LSTMCommandEncoder,
    require_command_encoder,
)
from tokengym.agents.textgame.spaces import check_command_spaces, command_slot_mask


class CommandQNetwork(QNetwork):
    """SB3's ``QNetwork`` whose ``q_net`` is a :class:`CommandScorer`: ``Q(s, slot)``, ``-inf`` on unused slots.

    ``net_arch`` is the scorer MLP's hidden layers. Other arguments as SB3's.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = False,
    ) -> None:
        encoder = require_command_encoder(features_extractor)
        arch = [64] if net_arch is None else list(net_arch)
        super().__init__(observation_space, action_space, encoder, features_dim, arch, activation_fn, normalize_images)
        self.q_net = CommandScorer(encoder.state_dim, encoder.command_dim, arch, activation_fn, float("-inf"))


class CommandDQNPolicy(DQNPolicy):
    """SB3 ``DQNPolicy`` for command-level games: LSTM-DQN by default (``features_extractor_class`` picks the
    state encoder; :class:`BOWDQNPolicy` is the bag-of-words one).

    Args:
        observation_space: a command-level game's ``Dict`` space.
        action_space: ``Discrete(max_commands)``.
        lr_schedule: learning-rate schedule (DQN passes it).
        net_arch: hidden layers of the action scorer MLP on ``[state, command]`` (default ``[64]``).
        activation_fn: the scorer's activation.
        features_extractor_class: a :class:`CommandEncoder` (default: the class's ``default_encoder``).
        features_extractor_kwargs: its arguments (``embedding_dim``, ``hidden_dim``, ``command_encoder``).
        normalize_images: unused (token ids), kept for SB3.
        optimizer_class: the optimizer.
        optimizer_kwargs: its keyword arguments.

    Train it with :class:`CommandDQN`: stock ``DQN`` explores uniformly over all slots, and an unused slot's Q is
    ``-inf``, which would poison the TD loss.

    Example:
        >>> model = CommandDQN(CommandDQNPolicy, "TextNavCmd-v0", buffer_size=10_000)   # doctest: +SKIP
    """

    default_encoder: ClassVar[type[CommandEncoder]] = LSTMCommandEncoder
    q_net: CommandQNetwork
    q_net_target: CommandQNetwork

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] | None = None,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = False,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        check_command_spaces(observation_space, action_space)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            [64] if net_arch is None else net_arch,
            activation_fn,
            self.default_encoder if features_extractor_class is None else features_extractor_class,
            features_extractor_kwargs,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
        )

    def make_q_net(self) -> CommandQNetwork:
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return CommandQNetwork(**net_args).to(self.device)


class BOWDQNPolicy(CommandDQNPolicy):
    """:class:`CommandDQNPolicy` with the bag-of-words state (the paper's BOW-DQN); same arguments."""

    default_encoder: ClassVar[type[CommandEncoder]] = BOWCommandEncoder


LSTMDQNPolicy = CommandDQNPolicy


class CommandDQN(DQN):
    """SB3's ``DQN`` whose random actions are offered slots only (same arguments as ``DQN``).

    - ``predict(obs, deterministic=False)``: per environment, with probability ``exploration_rate`` a slot drawn
      uniformly among the offered ones, else the greedy slot; ``action_masks`` (optional) narrows both further.
    - Before ``learning_starts``, the warm-up's uniform actions are drawn among the offered slots too.
    - The greedy action and the TD target's max see offered slots only: the policy's Q is ``-inf`` elsewhere.
    - With ``Dict`` observations and no ``replay_buffer_class``, the replay buffer is
      :class:`~tokengym.agents.replay.MemoryCheckedReplayBuffer` (refuses a ``buffer_size`` beyond the memory,
      before allocating).

    Random draws come from the action space's generator, which ``seed`` seeds: same seed, same actions.

    The warm-up goes through SB3's private ``OffPolicyAlgorithm._sample_action``: checked against
    stable-baselines3 2.x, it draws ``action_space.sample()`` before ``learning_starts`` without calling
    ``predict`` or any other public method, and no callback, policy or replay-buffer hook sees that draw, so
    overriding it is the only way to keep warm-up actions on offered slots. After the warm-up SB3's own
    ``_sample_action`` runs, which calls this class's public ``predict``.
    """

    policy: CommandDQNPolicy

    def _setup_model(self) -> None:
        if self.replay_buffer_class is None and isinstance(self.observation_space, spaces.Dict):
            self.replay_buffer_class = MemoryCheckedReplayBuffer
        super()._setup_model()
        if not isinstance(self.policy, CommandDQNPolicy):
            raise TypeError(f"CommandDQN trains a CommandDQNPolicy (or BOWDQNPolicy), not {type(self.policy).__name__}")

    def predict(  # type: ignore[override]
        self,
        observation: dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        return self._act(observation, 0.0 if deterministic else self.exploration_rate, action_masks), state

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        # SB3's private hook (see the class docstring): its warm-up would draw unused slots uniformly.
        if self.num_timesteps < learning_starts:
            action = self._act(self._last_obs, 1.0, None)  # type: ignore[arg-type]
            return action, action
        return super()._sample_action(learning_starts, action_noise, n_envs)

    def _act(self, observation: dict[str, np.ndarray], explore_rate: float, action_masks: Any) -> np.ndarray:
        valid = command_slot_mask(observation)
        single = valid.ndim == 1
        valid = np.atleast_2d(valid)
        if action_masks is not None:
            valid = valid & np.asarray(action_masks, dtype=bool).reshape(valid.shape)
            empty = np.flatnonzero(~valid.any(-1))
            if len(empty):
                raise ValueError(f"row {int(empty[0])}: action_masks leave none of the offered slots playable")
        rng = self.action_space.np_random
        explore = rng.random(len(valid)) < explore_rate if explore_rate > 0 else np.zeros(len(valid), dtype=bool)
        actions = np.zeros(len(valid), dtype=np.int64)
        if not explore.all():
            self.policy.set_training_mode(False)
            obs_tensor, _ = self.policy.obs_to_tensor(observation)
            with torch.no_grad():
                q_values = self.policy.q_net(obs_tensor)
            q_values = q_values.masked_fill(~torch.as_tensor(valid, device=q_values.device), float("-inf"))
            actions[:] = q_values.argmax(-1).cpu().numpy()
        for row in np.flatnonzero(explore):
            slots = np.flatnonzero(valid[row])
            actions[row] = slots[rng.integers(len(slots))]
        return actions[0] if single else actions
