"""Encoders of command-level observations and the action scorer shared by the DQN and actor-critic policies.

:class:`LSTMCommandEncoder` / :class:`BOWCommandEncoder` are SB3 features extractors giving an
:class:`EncodedGame` (state vector, one vector per command slot, valid slots); :class:`CommandScorer` rates each
slot from ``[state, command]``: the representation generator and action scorer of Narasimhan et al. (2015), with
commands scored from their own tokens (see :mod:`tokengym.agents.textgame.dqn`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp
from torch import nn

from tokengym.agents.textgame.spaces import check_command_spaces


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (..., L, D) over the positions where ``mask`` (..., L) is True; zeros where none is."""
    weights = mask.to(values.dtype).unsqueeze(-1)
    return (values * weights).sum(-2) / weights.sum(-2).clamp(min=1.0)


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


def require_command_encoder(features_extractor: BaseFeaturesExtractor) -> CommandEncoder:
    if not isinstance(features_extractor, CommandEncoder):
        raise TypeError(
            f"the command scorer needs a CommandEncoder features extractor (LSTMCommandEncoder, BOWCommandEncoder), "
            f"not {type(features_extractor).__name__}"
        )
    return features_extractor
