"""KL control: a per-token penalty against a frozen reference model, with an adaptive coefficient.

Reinforcement learning on a language model drifts: noisy updates move it away from fluent text faster than the
reward pulls it anywhere, and a reward with a blind spot gets hacked. The standard remedy (Ziegler et al.,
2019, "Fine-Tuning Language Models from Human Preferences") pays each generated token

    r_t  <-  r_t - beta * (log pi(a_t | s_t) - log pi_ref(a_t | s_t))

where ``pi_ref`` is a frozen copy of the starting model, and adapts ``beta`` so that the measured KL stays
near a target: ``beta <- beta * (1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon)`` after every rollout of
``n`` tokens.

This is the agent's side of the reward: environments stay unaware of it. Their reward scores the text
(:class:`tokengym.envs.core.TokenEnv` scores each completion with a :mod:`tokengym.rewards` reward) and knows
nothing of the policy; the penalty depends on the policy and its reference, so the learner adds it. It goes in
as an SB3 callback that registers a step shaper on the rollout buffer
(:class:`~tokengym.agents.lm.buffers.StepShaping`): the buffer's ``add()`` hands the shaper the step's
observations, actions, rewards and log-probabilities, and stores the penalised rewards. The model must be built
with one of tokengym's rollout buffers (``rollout_buffer_class=EpisodeDictRolloutBuffer``, or
``EpisodeMaskableDictRolloutBuffer`` for MaskablePPO); any other is refused when training starts.

Example:
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import EpisodeDictRolloutBuffer, KLPenaltyCallback, LMActorCriticPolicy
    >>> model = PPO(LMActorCriticPolicy, "Dialogue-v0", n_steps=64, batch_size=64,
    ...             rollout_buffer_class=EpisodeDictRolloutBuffer)                      # doctest: +SKIP
    >>> model.learn(4096, callback=KLPenaltyCallback(kl_coef=0.05, target_kl=0.05))    # doctest: +SKIP

Logged each rollout: ``rewards/kl`` (mean per-token KL estimate, nats), ``rewards/kl_penalty`` (mean
per-token penalty) and ``train/kl_coef``.

Library hooks used: SB3's callback hooks (``_init_callback``, ``_on_step``, ``_on_rollout_end``,
``_on_training_end``, the documented way to write a callback) and the model's public ``policy``,
``rollout_buffer`` and ``device``. No private name of stable-baselines3 or sb3-contrib (2.x checked).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from tokengym.agents.lm.buffers import RolloutStep, StepShaping, require_step_shaping
from tokengym.agents.lm.kv_cache import IncrementalDecoder
from tokengym.agents.lm.loading import load_lm


class KLController:
    """The penalty coefficient: fixed, or adapted toward ``target`` (per-token KL in nats).

    Args:
        kl_coef: starting coefficient (beta), ``>= 0``.
        target: per-token KL to steer toward; ``None`` keeps ``kl_coef`` fixed.
        horizon: tokens over which a persistent 20% error changes the coefficient by 20%.
    """

    def __init__(self, kl_coef: float, target: float | None = None, horizon: int = 10_000) -> None:
        if not kl_coef >= 0:
            raise ValueError(f"kl_coef must be >= 0, not {kl_coef!r}")
        if target is not None and not target > 0:
            raise ValueError(
                f"target_kl must be positive (nats per token) or None for a fixed coefficient, not {target!r}"
            )
        if not horizon > 0:
            raise ValueError(f"horizon must be a positive number of tokens, not {horizon!r}")
        self.value = float(kl_coef)
        self.target = None if target is None else float(target)
        self.horizon = int(horizon)

    def update(self, kl: float, n_tokens: int) -> float:
        """Adapt to the KL measured over the last ``n_tokens`` tokens; returns the new coefficient."""
        if self.target is not None and np.isfinite(kl):
            error = float(np.clip(kl / self.target - 1.0, -0.2, 0.2))
            self.value *= 1.0 + error * n_tokens / self.horizon
        return self.value


class KLPenaltyCallback(BaseCallback):
    """Subtract ``kl_coef * (log pi - log pi_ref)`` from every step's reward during rollouts.

    Works with on-policy algorithms whose policy is a language-model policy of this package (PPO, A2C, TRPO,
    MaskablePPO) and whose rollout buffer is one of tokengym's (``rollout_buffer_class=EpisodeDictRolloutBuffer``,
    or ``EpisodeMaskableDictRolloutBuffer`` for MaskablePPO): while ``learn`` runs, the callback's
    :meth:`penalise` is a step shaper of that buffer, so every step is stored with its reward less the penalty.
    The log-probability it uses is the one the rollout stores, and the reference scores the same token on the
    same observation, so the penalty is exact for the sampled token. A step a time limit truncated is stored as
    ``r + gamma * V(terminal) - penalty``, the same sum as when the penalty went in before the bootstrap.
    When training ends the shaper is removed (:meth:`detach`); call ``detach()`` yourself if ``learn`` was
    interrupted and the model trains on without this callback.

    Args:
        kl_coef: starting coefficient.
        target_kl: per-token KL (nats) to adapt the coefficient toward; ``None`` keeps it fixed.
        horizon: adaptation horizon in tokens (see :class:`KLController`).
        reference: the frozen reference: ``None`` (a copy of the policy's LM when training starts), a model
            name for :func:`~tokengym.agents.load_lm`, or a causal LM module.
        verbose: SB3 verbosity.
    """

    def __init__(
        self,
        kl_coef: float = 0.05,
        target_kl: float | None = None,
        horizon: int = 10_000,
        reference: str | nn.Module | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.controller = KLController(kl_coef, target_kl, horizon)
        self._reference_spec = reference
        self.reference: nn.Module | None = None
        self._kl_sum = 0.0
        self._tokens = 0
        self._buffer: StepShaping | None = None

    @property
    def kl_coef(self) -> float:
        return self.controller.value

    def _init_callback(self) -> None:
        policy_lm = getattr(self.model.policy, "lm", None)
        if policy_lm is None:
            raise ValueError(
                f"KLPenaltyCallback needs a language-model policy (with .lm), got {type(self.model.policy).__name__}"
            )
        buffer = require_step_shaping(getattr(self.model, "rollout_buffer", None), "KLPenaltyCallback")
        if self.reference is None:
            spec = self._reference_spec
            if spec is None:
                self.reference = copy.deepcopy(policy_lm)
            elif isinstance(spec, nn.Module):
                self.reference = spec
            else:
                self.reference = load_lm(spec)[0]
            vocab = policy_lm.get_output_embeddings().weight.shape[0]
            if self.reference.get_output_embeddings().weight.shape[0] != vocab:
                raise ValueError("the reference model and the policy have different vocabularies")
        self.reference.requires_grad_(False)
        self.reference.train(False)
        self.reference.to(self.model.device)
        # Rollouts feed one new token per env and step: the frozen reference steps with its own KV cache.
        self._reference_decoder = IncrementalDecoder(self.reference)
        self.detach()  # from an earlier model, or an earlier learn that did not end
        buffer.add_step_shaper(self.penalise)
        self._buffer = buffer

    @torch.no_grad()
    def penalise(self, step: RolloutStep) -> None:
        """The step shaper: subtract ``kl_coef * (log pi(a|s) - log pi_ref(a|s))`` from each row's reward."""
        device = self.model.device
        ids = torch.as_tensor(step.obs["input_ids"], device=device).long()
        lengths = torch.as_tensor(step.obs["attention_mask"], device=device).long().sum(-1).clamp(min=1)
        actions = torch.as_tensor(np.asarray(step.action).reshape(-1, 1), device=device).long()
        temperature = float(getattr(self.model.policy, "temperature", 1.0))
        ref_logits, _ = self._reference_decoder(ids, lengths)
        ref = torch.log_softmax(ref_logits / temperature, -1).gather(-1, actions).squeeze(-1)
        kl = (step.log_prob.detach().reshape(-1).to(device) - ref).cpu().numpy()
        step.reward = step.reward - (self.controller.value * kl).astype(step.reward.dtype).reshape(step.reward.shape)
        self._kl_sum += float(kl.sum())
        self._tokens += kl.size

    def _on_step(self) -> bool:
        return True  # the penalty goes in as the buffer stores the step (penalise)

    def _on_rollout_end(self) -> None:
        if not self._tokens:
            return
        kl = self._kl_sum / self._tokens
        self.logger.record("rewards/kl", kl)
        self.logger.record("rewards/kl_penalty", -self.controller.value * kl)
        self.controller.update(kl, self._tokens)
        self.logger.record("train/kl_coef", self.controller.value)
        self._kl_sum, self._tokens = 0.0, 0

    def _on_training_end(self) -> None:
        self.detach()

    def detach(self) -> None:
        """Remove the penalty from the rollout buffer (``learn`` does it when training ends)."""
        if self._buffer is not None:
            self._buffer.remove_step_shaper(self.penalise)
            self._buffer = None

    def state(self) -> dict[str, Any]:
        """What a checkpoint must keep to resume the controller: its coefficient and settings."""
        c = self.controller
        return {"kl_coef": c.value, "target_kl": c.target, "horizon": c.horizon}
