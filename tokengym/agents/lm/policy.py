"""A causal language model as an SB3 actor-critic policy (PPO, A2C; TRPO takes it too).

The action distribution is the model's next-token distribution at the last real token of the observation;
the value is a linear head on the same hidden state. Observations follow the token contract of
``tokengym.envs``: ``input_ids`` and ``attention_mask``, right-padded and contiguous from position 0.

The machinery (model loading, the value head, the switch between the full and the KV-cached pass, the optimizer
groups) lives in :class:`LMPolicyMixin`, shared with the maskable policy of :mod:`tokengym.agents.lm.maskable`. Each
part it puts together is a module of its own: :mod:`~tokengym.agents.lm.spaces` (the token contract's check),
:mod:`~tokengym.agents.lm.prefixes` (the prefix de-duplicated full pass), :mod:`~tokengym.agents.lm.kv_cache` and
:mod:`~tokengym.agents.lm.states` (the cached pass and when to take it), :mod:`~tokengym.agents.lm.sampling` and
:mod:`~tokengym.agents.lm.logprob` (drawing tokens, their log-probabilities and entropy) and
:mod:`~tokengym.agents.lm.optim` (fused Adam, the value head's learning-rate scale).

TRPO (sb3-contrib) takes this policy unchanged, at a price: every conjugate-gradient step is a Hessian-vector
product through the LM (``get_distribution`` then runs attention with PyTorch's twice-differentiable math
kernel). ``tokengym train`` runs it as :class:`~tokengym.agents.lm.trpo.LMTRPO`, which takes the actor's gradients
in one backward pass each where sb3-contrib takes two per parameter tensor. Measured on "tiny" (a rollout of
4 x 64 tokens, one thread, ``benchmarks/update_cost.py``): one update costs 121x a PPO update of 4 epochs with
sb3-contrib's class and settings (``cg_max_steps=15``, ``n_critic_updates=10``), 10x with ``LMTRPO`` at the same
settings, 7.8x at tokengym's defaults (10 and 5).

Example:
    >>> import gymnasium as gym, tokengym
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import LMActorCriticPolicy
    >>> env = gym.make("Dialogue-v0")
    >>> model = PPO(LMActorCriticPolicy, env, n_steps=64, batch_size=32, policy_kwargs={"model_name": "tiny"})
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from tokengym.agents.lm.kv_cache import IncrementalDecoder
from tokengym.agents.lm.loading import load_lm, output_size
from tokengym.agents.lm.logprob import chosen_log_prob_and_entropy, sample_with_log_prob
from tokengym.agents.lm.optim import make_optimizer, scale_group_learning_rates
from tokengym.agents.lm.prefixes import last_token_states
from tokengym.agents.lm.sampling import sample_tokens
from tokengym.agents.lm.spaces import check_token_spaces
from tokengym.agents.lm.states import LastTokenStates


class LMPolicyMixin:
    """The language-model machinery of this package's actor-critic policies, on top of an SB3 policy class.

    Put it first in the bases (``class P(LMPolicyMixin, ActorCriticPolicy)``): it supplies ``_build`` (the LM,
    the value head, the optimizer), ``_get_constructor_parameters``, ``predict_values``, and the states the
    distribution methods read: ``_training_states`` (the full pass) and ``_acting_states`` (cached where
    :class:`~tokengym.agents.lm.states.LastTokenStates` may), both tempered; the full pass itself is
    ``_last_hidden``, which a subclass may replace (acting without the cache follows it). The subclass calls
    :meth:`_init_lm_options` before the SB3 constructor and writes the distribution methods of its SB3 base.
    """

    lm: nn.Module
    value_net: nn.Module
    action_dist: Any
    action_space: spaces.Space
    observation_space: spaces.Space
    optimizer_class: type[torch.optim.Optimizer]
    optimizer_kwargs: dict[str, Any]
    optimizer: torch.optim.Optimizer
    training: bool
    _lm_states: LastTokenStates

    #: the distribution class made in ``_build`` (SB3's own, or sb3-contrib's maskable one).
    distribution_class: ClassVar[type] = CategoricalDistribution

    def _init_lm_options(
        self,
        model_name: str,
        temperature: float,
        top_k: int,
        top_p: float,
        value_head_init_std: float,
        value_grad_to_lm: bool,
        value_lr_scale: float,
        use_kv_cache: bool,
        ortho_init: bool,
        use_sde: bool = False,
    ) -> None:
        """Check and keep the options (before the SB3 constructor, which calls ``_build``)."""
        if ortho_init:
            raise ValueError("ortho_init=True would re-initialise the pretrained weights; leave it False")
        if use_sde:
            raise ValueError("gSDE is for continuous actions; token actions are Discrete")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature!r}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {top_p!r}")
        self.model_name = str(model_name)
        self.temperature, self.top_k, self.top_p = float(temperature), int(top_k), float(top_p)
        self.value_head_init_std = float(value_head_init_std)
        self.value_grad_to_lm = bool(value_grad_to_lm)
        if not value_lr_scale > 0:
            raise ValueError(f"value_lr_scale must be positive, not {value_lr_scale!r}")
        self.value_lr_scale = float(value_lr_scale)
        self.use_kv_cache = bool(use_kv_cache)

    def _build(self, lr_schedule: Schedule) -> None:
        self.lm, tokenizer = load_lm(self.model_name)
        check_token_spaces(
            self.observation_space,
            self.action_space,
            tokenizer.vocab_size,
            getattr(self.lm.config, "max_position_embeddings", None),
            model_outputs=output_size(self.lm),
            model_name=f"model {self.model_name!r}",
        )
        hidden = self.lm.config.hidden_size
        self.value_net = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        nn.init.normal_(self.value_net[2].weight, std=self.value_head_init_std)
        nn.init.zeros_(self.value_net[2].bias)
        self.action_dist = self.distribution_class(int(self.action_space.n))  # type: ignore[attr-defined]
        self.lm.train(False)
        self._lm_states = LastTokenStates(self.lm, self.use_kv_cache)
        value_params = {id(q) for q in self.value_net.parameters()}
        groups = [
            {"params": [q for q in self.parameters() if id(q) not in value_params]},  # type: ignore[attr-defined]
            {"params": list(self.value_net.parameters()), "lr_scale": self.value_lr_scale},
        ]
        self.optimizer = make_optimizer(self.optimizer_class, groups, lr_schedule(1), self.optimizer_kwargs)
        scale_group_learning_rates(self.optimizer)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        for key in (
            "net_arch",
            "activation_fn",
            "ortho_init",
            "use_sde",
            "log_std_init",
            "full_std",
            "use_expln",
            "squash_output",
            "features_extractor_class",
            "features_extractor_kwargs",
            "share_features_extractor",
            "normalize_images",
        ):
            data.pop(key, None)
        data.update(
            model_name=self.model_name,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            value_head_init_std=self.value_head_init_std,
            value_grad_to_lm=self.value_grad_to_lm,
            value_lr_scale=self.value_lr_scale,
            use_kv_cache=self.use_kv_cache,
        )
        return data

    def set_training_mode(self, mode: bool) -> None:
        if mode:
            # Every algorithm enters training mode before it updates. Some updates (TRPO's line search) assign
            # new tensors to ``param.data``, which leaves the version counters the decoder watches untouched,
            # so the cache is dropped here as well: no rollout ever steps from keys of older weights.
            self._lm_states.reset()
        super().set_training_mode(mode)  # type: ignore[misc]

    @property
    def _decoder(self) -> IncrementalDecoder:
        """The acting pass's key/value cache (its ``stats`` count cached and fresh rows)."""
        return self._lm_states.decoder

    # --------------------------------------------------------------------------------------------- forward

    def _last_hidden(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The full pass: the LM's own logits (untempered) and the last hidden states, at each row's last token."""
        return last_token_states(self.lm, obs)

    def _tempered(self, logits: torch.Tensor) -> torch.Tensor:
        return logits if self.temperature == 1.0 else logits / self.temperature

    def _training_states(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The action distribution's logits (the LM's, over ``temperature``) and the last hidden states, in full."""
        logits, hidden = self._last_hidden(obs)
        return self._tempered(logits), hidden

    def _acting_states(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The same for choosing actions: from the KV cache when no gradient is needed, in evaluation mode."""
        logits, hidden = self._lm_states(obs, self.training, full=self._last_hidden)
        return self._tempered(logits), hidden

    def _distribution_states(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``_training_states`` for ``get_distribution``: twice differentiable when gradients are on.

        Fused attention kernels have no second derivative, and TRPO's Fisher-vector products differentiate the
        distribution twice; PyTorch's math kernel is made of ordinary differentiable operations. (PPO and A2C
        train through ``evaluate_actions`` and keep the fused kernels.)
        """
        if not torch.is_grad_enabled():
            return self._training_states(obs)
        with sdpa_kernel(SDPBackend.MATH):
            return self._training_states(obs)

    def predict_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        # The critic reads a detached hidden state (unless value_grad_to_lm): the LM's pass then keeps no graph,
        # which spares TRPO's critic updates (predict_values with gradients on) a graph of the whole LM per batch.
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.value_grad_to_lm):
            hidden = self._last_hidden(obs)[1]
        return self._value(hidden)

    def _value(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.value_net(hidden if self.value_grad_to_lm else hidden.detach())


class LMActorCriticPolicy(LMPolicyMixin, ActorCriticPolicy):
    """Actor-critic policy whose actor is a causal LM and whose critic is a value head on its last hidden state.

    Args:
        observation_space: the token contract's ``Dict`` space.
        action_space: ``Discrete(vocab_size)`` of the model's tokenizer.
        lr_schedule: learning-rate schedule (SB3 passes it).
        model_name: ``"tiny"``, a local folder or a Hugging Face id (see :func:`~tokengym.agents.load_lm`).
        temperature: the policy is ``softmax(logits / temperature)``, in rollouts, training and ``predict``
            alike, so stored log-probabilities stay exact. Below 1 it samples fewer of the tail tokens whose
            noisy gradients erode a pretrained LM in short runs (the demo uses 0.7).
        top_k: keep only the k most likely tokens in ``predict`` (0: all).
        top_p: nucleus sampling threshold in ``predict`` (1.0: off).
        value_head_init_std: standard deviation of the value head's last layer at initialisation.
        value_grad_to_lm: let the value loss train the language model too. Off by default: early value errors
            are large, and their gradients through a shared body wreck a small pretrained LM; the critic is then
            an MLP on the LM's (detached) last hidden state.
        use_kv_cache: during rollouts and ``predict`` (no gradients, evaluation mode), feed each environment's
            new token against its cached keys and values instead of re-encoding the whole observation
            (:class:`~tokengym.agents.lm.kv_cache.IncrementalDecoder`); same results to rounding, several times
            faster. Training passes (``evaluate_actions``) always run in full.
        value_lr_scale: the value head learns at this multiple of the learning rate. A fine-tuning learning
            rate suits the pretrained LM but leaves a freshly initialised critic near zero for most of a short
            run; a scale of 10-20 lets it catch up. Keep 1 with large learning rates (a critic at 10 x 3e-3
            diverges).
        optimizer_class: the optimizer (SB3 convention).
        optimizer_kwargs: its keyword arguments. Adam and AdamW run fused (one kernel over all parameters)
            unless these choose ``fused`` or ``foreach``.
        ortho_init: refused when True (SB3 passes it to every actor-critic policy): it would overwrite the
            pretrained weights.
        use_sde: refused when True: gSDE is for continuous actions.

    Dropout is off, pretrained weights are never re-initialised (no orthogonal init), and positions follow
    the contiguous right-padded layout.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        model_name: str = "tiny",
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        value_head_init_std: float = 0.01,
        value_grad_to_lm: bool = False,
        value_lr_scale: float = 1.0,
        use_kv_cache: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        ortho_init: bool = False,
        use_sde: bool = False,
    ) -> None:
        self._init_lm_options(
            model_name,
            temperature,
            top_k,
            top_p,
            value_head_init_std,
            value_grad_to_lm,
            value_lr_scale,
            use_kv_cache,
            ortho_init,
            use_sde,
        )
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[],
            ortho_init=False,
            share_features_extractor=True,
            normalize_images=False,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = False):
        logits, last = self._acting_states(obs)
        actions, log_probs = sample_with_log_prob(logits, deterministic)
        return actions, self._value(last), log_probs

    def evaluate_actions(self, obs: dict[str, torch.Tensor], actions: torch.Tensor):
        logits, last = self._training_states(obs)
        chosen, entropy = chosen_log_prob_and_entropy(logits, actions)
        return self._value(last), chosen, entropy

    def get_distribution(self, obs: dict[str, torch.Tensor]):
        logits, _ = self._distribution_states(obs)
        return self.action_dist.proba_distribution(action_logits=logits)

    def _predict(self, observation: dict[str, torch.Tensor], deterministic: bool = False) -> torch.Tensor:
        logits, _ = self._acting_states(observation)
        return sample_tokens(logits, deterministic, self.top_k, self.top_p)
