"""Command-level PPO: the LSTM-DQN encoder and scorer as an actor-critic for sb3-contrib's ``MaskablePPO``.

One logit per command slot (the :class:`~tokengym.agents.textgame.encoders.CommandScorer`'s rating, a large
negative number on unused slots) and a value from the state vector.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, create_mlp
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from tokengym.agents.textgame.encoders import (
    CommandEncoder,
    CommandScorer,
    EncodedGame,
    LSTMCommandEncoder,
    require_command_encoder,
)
from tokengym.agents.textgame.spaces import check_command_spaces

MASKED_LOGIT = -1e8  # PPO logit of an unused slot: finite, so entropies stay finite without action masks


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
        encoder = require_command_encoder(self.features_extractor)
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
