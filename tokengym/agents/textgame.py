"""Baseline agents for command-level text games: random, LSTM-DQN, BOW-DQN and command-level PPO.

Command-level games (``<Game>Cmd-v0``) offer a list of admissible commands each turn: the observation holds the
game text (``input_ids``/``attention_mask``) and each offered command (``command_ids``/``command_mask``, one row
per slot), and the action is a slot. Every agent here reads those token ids directly (the embedded tokenizer's,
vocabulary size from the observation space) and only ever plays an offered slot.

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

The pieces, each on an SB3 hook:

- :class:`LSTMCommandEncoder` / :class:`BOWCommandEncoder`: features extractors giving an :class:`EncodedGame`
  (state vector, one vector per command slot, valid slots);
- :class:`CommandDQNPolicy` (LSTM-DQN, alias ``LSTMDQNPolicy``) and :class:`BOWDQNPolicy`: ``DQNPolicy`` whose
  Q-network scores the slots; :class:`CommandDQN`: SB3's ``DQN`` whose random actions (epsilon-greedy and
  warm-up) are drawn among the offered slots only;
- :class:`CommandActorCriticPolicy`: the same encoder and scorer as a ``MaskableActorCriticPolicy`` for
  sb3-contrib's ``MaskablePPO`` (one logit per slot; unused slots masked in the logits and by
  ``action_masks()``);
- in :mod:`tokengym.agents.textgame_eval`: :class:`RandomCommandAgent`, :func:`evaluate_win_rate` (any of the
  agents on seeded episodes), :class:`SeedPool` (train on one range of game seeds, test on another) and
  :func:`make_agent` (the presets).

Example:
    >>> import tokengym
    >>> from tokengym.agents.textgame_eval import evaluate_win_rate, held_out_seeds, make_agent, make_train_env
    >>> env_kwargs = {"level": 1, "max_turns": 5}
    >>> model = make_agent("lstm_dqn", make_train_env("TextNavCmd-v0", env_kwargs, seed=0), seed=0)
    >>> model.learn(8_000)                                                          # doctest: +SKIP
    >>> evaluate_win_rate(model, "TextNavCmd-v0", held_out_seeds(100), env_kwargs=env_kwargs).win_rate  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3 import DQN
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp
from stable_baselines3.common.type_aliases import Schedule
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from tokengym.agents.dqn import LMReplayBuffer

COMMAND_KEYS = ("input_ids", "attention_mask", "command_ids", "command_mask")
MASKED_LOGIT = -1e8  # PPO logit of an unused slot: finite, so entropies stay finite without action masks


# ------------------------------------------------------------------------------------------------ layout


@dataclass(frozen=True)
class CommandLayout:
    """Sizes read from a command-level observation space."""

    vocab_size: int
    max_text_len: int
    max_commands: int
    max_command_len: int


def check_command_spaces(observation_space: spaces.Space, action_space: spaces.Space | None = None) -> CommandLayout:
    """Check that the spaces are a command-level text game's and return their sizes.

    Raises:
        ValueError: naming what is missing or mis-shaped (a token-level game, for example, has no
            ``command_ids``/``command_mask``; its ``<Game>Cmd-v0`` variant does).
    """
    hint = "command-level text games (such as TextNavCmd-v0) have it"
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(
            f"command-level agents need a Dict observation with keys {', '.join(COMMAND_KEYS)}; "
            f"got {type(observation_space).__name__} {observation_space} ({hint})"
        )
    missing = [key for key in COMMAND_KEYS if key not in observation_space.spaces]
    if missing:
        raise ValueError(
            f"the observation has no {', '.join(missing)} (it has {', '.join(observation_space.spaces)}): "
            f"command-level agents need {', '.join(COMMAND_KEYS)}; token-level games list no commands, "
            f"use their command level ({hint})"
        )
    text, text_mask, ids, mask = (observation_space.spaces[key] for key in COMMAND_KEYS)
    if not all(isinstance(s, spaces.Box) for s in (text, text_mask, ids, mask)):
        raise ValueError(f"{', '.join(COMMAND_KEYS)} must be Box spaces, got {observation_space}")
    if len(text.shape) != 1 or text.shape != text_mask.shape:
        raise ValueError(f"input_ids and attention_mask must share one shape (T,), got {text.shape}, {text_mask.shape}")
    if len(ids.shape) != 2 or ids.shape != mask.shape:
        raise ValueError(f"command_ids and command_mask must share one shape (M, C), got {ids.shape}, {mask.shape}")
    slots = int(ids.shape[0])
    if action_space is not None and not (isinstance(action_space, spaces.Discrete) and int(action_space.n) == slots):
        raise ValueError(f"the action space must be Discrete({slots}), one action per command slot, not {action_space}")
    vocab = int(max(np.max(text.high), np.max(ids.high))) + 1
    return CommandLayout(vocab, int(text.shape[0]), slots, int(ids.shape[1]))


def command_slot_mask(observation: Mapping[str, Any]) -> np.ndarray:
    """The playable slots of an observation (bool ``(M,)``, or ``(B, M)`` for a batch), equal to the env's
    ``action_masks()``: the slots whose command has tokens, or slot 0 alone when none has (the game is over)."""
    if "command_mask" not in observation:
        raise ValueError(f"the observation has no command_mask (keys: {', '.join(observation)}); {COMMAND_KEYS}")
    mask = np.asarray(observation["command_mask"]).any(-1)
    mask[..., 0] |= ~mask.any(-1)
    return mask


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (..., L, D) over the positions where ``mask`` (..., L) is True; zeros where none is."""
    weights = mask.to(values.dtype).unsqueeze(-1)
    return (values * weights).sum(-2) / weights.sum(-2).clamp(min=1.0)


# ----------------------------------------------------------------------------------------------- encoders


class EncodedGame(NamedTuple):
    """What a :class:`CommandEncoder` gives the scorers: the features SB3 passes from extractor to heads."""

    state: torch.Tensor  # (B, state_dim)
    commands: torch.Tensor  # (B, M, command_dim)
    valid: torch.Tensor  # (B, M) bool: the slots that may be played (as command_slot_mask)


class CommandEncoder(BaseFeaturesExtractor):
    """Base features extractor for command-level observations; subclasses encode the game text.

    Commands are encoded from their own tokens with the shared word embedding: the mean of their embeddings
    (``command_encoder="mean"``) or the mean of an LSTM's outputs over them (``"lstm"``, order-aware, slower).
    Padding is skipped through the masks; the text is cut to the longest text of the batch (right padding).

    Args:
        observation_space: a command-level game's ``Dict`` space (see :func:`check_command_spaces`).
        embedding_dim: word embedding size (vocabulary from the observation space).
        hidden_dim: size of the state vector (and of command vectors under ``"lstm"``).
        command_encoder: ``"mean"`` or ``"lstm"``.
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        embedding_dim: int = 32,
        hidden_dim: int = 64,
        command_encoder: Literal["mean", "lstm"] = "mean",
    ) -> None:
        layout = check_command_spaces(observation_space)
        if embedding_dim < 1 or hidden_dim < 1:
            raise ValueError(f"embedding_dim and hidden_dim must be positive, got {embedding_dim}, {hidden_dim}")
        if command_encoder not in ("mean", "lstm"):
            raise ValueError(f"command_encoder must be 'mean' or 'lstm', not {command_encoder!r}")
        super().__init__(observation_space, features_dim=hidden_dim)
        self.layout = layout
        self.embedding = nn.Embedding(layout.vocab_size, embedding_dim)
        self.command_lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True) if command_encoder == "lstm" else None
        self.state_dim = hidden_dim
        self.command_dim = hidden_dim if command_encoder == "lstm" else embedding_dim
        self.build_state_encoder(embedding_dim, hidden_dim)

    def build_state_encoder(self, embedding_dim: int, hidden_dim: int) -> None:
        """Create the modules of :meth:`encode_state` (called at the end of ``__init__``)."""
        raise NotImplementedError

    def encode_state(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, L)`` token ids and bool mask to ``(B, state_dim)``."""
        raise NotImplementedError

    def encode_commands(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, M, C)`` token ids and bool mask to ``(B, M, command_dim)`` (zeros on unused slots)."""
        if self.command_lstm is None:
            return _masked_mean(self.embedding(ids), mask)
        b, m, c = ids.shape
        rows, row_mask = ids.reshape(b * m, c), mask.reshape(b * m, c)
        used = row_mask.any(-1)
        out = torch.zeros(b * m, self.command_dim, device=ids.device)
        if used.any():
            hidden, _ = self.command_lstm(self.embedding(rows[used]))
            out[used] = _masked_mean(hidden, row_mask[used])
        return out.reshape(b, m, self.command_dim)

    def forward(self, observations: dict[str, torch.Tensor]) -> EncodedGame:  # type: ignore[override]
        text_mask = observations["attention_mask"] > 0.5  # SB3 hands Box observations over as float32
        length = max(int(text_mask.sum(-1).max()), 1)
        state = self.encode_state(observations["input_ids"][:, :length].long(), text_mask[:, :length])
        command_mask = observations["command_mask"] > 0.5
        width = max(int(command_mask.sum(-1).max()), 1)
        command_mask = command_mask[..., :width]
        commands = self.encode_commands(observations["command_ids"][..., :width].long(), command_mask)
        valid = command_mask.any(-1)
        valid[:, 0] |= ~valid.any(-1)
        return EncodedGame(state, commands, valid)


class LSTMCommandEncoder(CommandEncoder):
    """The paper's representation generator: word embeddings, an LSTM over the game text, mean pooling.

    Same arguments as :class:`CommandEncoder`.
    """

    def build_state_encoder(self, embedding_dim: int, hidden_dim: int) -> None:
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)

    def encode_state(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        # Right padding and a one-way LSTM: padded steps never reach the real ones, and the pooling skips them.
        outputs, _ = self.lstm(self.embedding(ids))
        return _masked_mean(outputs, mask)


class BOWCommandEncoder(CommandEncoder):
    """The paper's BOW-DQN state: the normalised bag of words of the game text through a linear layer and ReLU.

    Same arguments as :class:`CommandEncoder` (commands are encoded as there, with the shared embedding).
    """

    def build_state_encoder(self, embedding_dim: int, hidden_dim: int) -> None:
        # Linear(V, H) on word frequencies, stored as an embedding table so that no V-sized vector is built.
        self.bag = nn.Embedding(self.layout.vocab_size, hidden_dim)
        self.bag_bias = nn.Parameter(torch.zeros(hidden_dim))

    def encode_state(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.relu(_masked_mean(self.bag(ids), mask) + self.bag_bias)


# ------------------------------------------------------------------------------------------------- scorer


class CommandScorer(nn.Module):
    """The action scorer: ``MLP([state, command])`` per slot, ``(B, M)``; unused slots get ``mask_value``."""

    def __init__(
        self,
        state_dim: int,
        command_dim: int,
        net_arch: Sequence[int],
        activation_fn: type[nn.Module],
        mask_value: float,
    ) -> None:
        super().__init__()
        self.mlp = nn.Sequential(*create_mlp(state_dim + command_dim, 1, list(net_arch), activation_fn))
        self.mask_value = mask_value

    def forward(self, features: EncodedGame) -> torch.Tensor:
        commands = features.commands
        state = features.state.unsqueeze(1).expand(-1, commands.shape[1], -1)
        scores = self.mlp(torch.cat([state, commands], -1)).squeeze(-1)
        return scores.masked_fill(~features.valid, self.mask_value)


def _encoder(features_extractor: BaseFeaturesExtractor) -> CommandEncoder:
    if not isinstance(features_extractor, CommandEncoder):
        raise TypeError(
            f"the command scorer needs a CommandEncoder features extractor (LSTMCommandEncoder, BOWCommandEncoder), "
            f"not {type(features_extractor).__name__}"
        )
    return features_extractor


# ---------------------------------------------------------------------------------------------------- DQN


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
        encoder = _encoder(features_extractor)
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
      :class:`~tokengym.agents.LMReplayBuffer` (refuses a ``buffer_size`` beyond the memory, before allocating).

    Random draws come from the action space's generator, which ``seed`` seeds: same seed, same actions.
    """

    policy: CommandDQNPolicy

    def _setup_model(self) -> None:
        if self.replay_buffer_class is None and isinstance(self.observation_space, spaces.Dict):
            self.replay_buffer_class = LMReplayBuffer
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


# ---------------------------------------------------------------------------------------------------- PPO


class CommandActorCriticHead(nn.Module):
    """SB3's ``mlp_extractor`` slot for command games: the actor latent is one logit per slot (a
    :class:`CommandScorer`, :data:`MASKED_LOGIT` on unused slots), the critic latent an MLP of the state."""

    def __init__(self, encoder: CommandEncoder, net_arch: Any, activation_fn: type[nn.Module]) -> None:
        super().__init__()
        pi = net_arch.get("pi", []) if isinstance(net_arch, dict) else list(net_arch)
        vf = net_arch.get("vf", []) if isinstance(net_arch, dict) else list(net_arch)
        self.scorer = CommandScorer(encoder.state_dim, encoder.command_dim, pi, activation_fn, MASKED_LOGIT)
        self.value_mlp = nn.Sequential(*create_mlp(encoder.state_dim, -1, list(vf), activation_fn))
        self.latent_dim_pi = encoder.layout.max_commands
        self.latent_dim_vf = vf[-1] if vf else encoder.state_dim

    def forward(self, features: EncodedGame) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_actor(features), self.forward_critic(features)

    def forward_actor(self, features: EncodedGame) -> torch.Tensor:
        return self.scorer(features)

    def forward_critic(self, features: EncodedGame) -> torch.Tensor:
        return self.value_mlp(features.state)


class CommandActorCriticPolicy(MaskableActorCriticPolicy):
    """Command-level PPO: the LSTM-DQN encoder and scorer as an actor-critic for sb3-contrib's ``MaskablePPO``.

    The logits are the scorer's rating of each offered slot (a large negative number on unused ones, so even
    without ``action_masks`` no unused slot is sampled); the value is an MLP of the state vector. MaskablePPO
    also applies the env's ``action_masks()``, which mark the same slots.

    Args:
        observation_space: a command-level game's ``Dict`` space.
        action_space: ``Discrete(max_commands)``.
        lr_schedule: learning-rate schedule (MaskablePPO passes it).
        net_arch: hidden layers, ``dict(pi=[...], vf=[...])`` (scorer MLP, value MLP) or one list for both;
            default ``dict(pi=[64], vf=[64])``.
        activation_fn: activation of both MLPs.
        ortho_init: SB3's orthogonal initialisation of the scorer and value heads (never of the encoder).
        features_extractor_class: a :class:`CommandEncoder` (default :class:`LSTMCommandEncoder`).
        features_extractor_kwargs: its arguments.
        share_features_extractor: one encoder for actor and critic (default) or one each.
        normalize_images: unused (token ids), kept for SB3.
        optimizer_class: the optimizer.
        optimizer_kwargs: its keyword arguments.

    Example:
        >>> from sb3_contrib import MaskablePPO
        >>> model = MaskablePPO(CommandActorCriticPolicy, "TextNavCmd-v0", n_steps=256)   # doctest: +SKIP
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | dict[str, list[int]] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        ortho_init: bool = False,
        features_extractor_class: type[BaseFeaturesExtractor] = LSTMCommandEncoder,
        features_extractor_kwargs: dict[str, Any] | None = None,
        share_features_extractor: bool = True,
        normalize_images: bool = False,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        check_command_spaces(observation_space, action_space)
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            {"pi": [64], "vf": [64]} if net_arch is None else net_arch,
            activation_fn,
            ortho_init,
            features_extractor_class,
            features_extractor_kwargs,
            share_features_extractor,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
        )

    def _build_mlp_extractor(self) -> None:
        encoder = _encoder(self.features_extractor)
        self.mlp_extractor = CommandActorCriticHead(encoder, self.net_arch, self.activation_fn).to(self.device)

    def _build(self, lr_schedule: Schedule) -> None:
        self._build_mlp_extractor()
        self.action_net = nn.Identity()  # the head's latent already holds one logit per slot
        self.value_net = nn.Linear(self.mlp_extractor.latent_dim_vf, 1)
        if self.ortho_init:
            for module, gain in ((self.mlp_extractor, np.sqrt(2)), (self.value_net, 1.0)):
                module.apply(partial(self.init_weights, gain=gain))
        self.optimizer = self.optimizer_class(self.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data["share_features_extractor"] = self.share_features_extractor
        return data
