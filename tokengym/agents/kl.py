"""KL control: a per-token penalty against a frozen reference model, with an adaptive coefficient.

Reinforcement learning on a language model drifts: noisy updates move it away from fluent text faster than the
reward pulls it anywhere, and a reward with a blind spot gets hacked. The standard remedy (Ziegler et al.,
2019, "Fine-Tuning Language Models from Human Preferences") pays each generated token

    r_t  <-  r_t - beta * (log pi(a_t | s_t) - log pi_ref(a_t | s_t))

where ``pi_ref`` is a frozen copy of the starting model, and adapts ``beta`` so that the measured KL stays
near a target: ``beta <- beta * (1 + clip(KL / target - 1, -0.2, 0.2) * n / horizon)`` after every rollout of
``n`` tokens.

This is the agent's side of the reward (DESIGN.md): environments stay unaware of it. The penalty goes in as
an SB3 callback that edits the step's rewards before they enter the rollout buffer.

Example:
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import LMActorCriticPolicy, KLPenaltyCallback
    >>> model = PPO(LMActorCriticPolicy, "Dialogue-v0", n_steps=64, batch_size=64)      # doctest: +SKIP
    >>> model.learn(4096, callback=KLPenaltyCallback(kl_coef=0.05, target_kl=0.05))    # doctest: +SKIP

Logged each rollout: ``rewards/kl`` (mean per-token KL estimate, nats), ``rewards/kl_penalty`` (mean
per-token penalty) and ``train/kl_coef``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from tokengym.agents.incremental import IncrementalDecoder
from tokengym.agents.lm import load_lm


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
    MaskablePPO): the step's log-probability is the one the rollout stored, so the penalty is exact for the
    sampled token.

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

    @property
    def kl_coef(self) -> float:
        return self.controller.value

    def _init_callback(self) -> None:
        policy_lm = getattr(self.model.policy, "lm", None)
        if policy_lm is None:
            raise ValueError(
                f"KLPenaltyCallback needs a language-model policy (with .lm), got {type(self.model.policy).__name__}"
            )
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

    def _on_step(self) -> bool:
        obs = self.locals.get("obs_tensor")
        log_probs = self.locals.get("log_probs")
        rewards = self.locals.get("rewards")
        if obs is None or log_probs is None or rewards is None:
            raise RuntimeError(
                "KLPenaltyCallback works with on-policy algorithms (PPO, A2C, TRPO, MaskablePPO): their rollouts "
                "expose the step's observations, log-probabilities and rewards to callbacks"
            )
        actions = torch.as_tensor(np.asarray(self.locals["actions"]).reshape(-1), device=log_probs.device)
        temperature = float(getattr(self.model.policy, "temperature", 1.0))
        lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
        ref_logits, _ = self._reference_decoder(obs["input_ids"].long(), lengths)
        ref = torch.log_softmax(ref_logits / temperature, -1).gather(-1, actions.long().reshape(-1, 1)).squeeze(-1)
        kl = (log_probs.detach().reshape(-1) - ref).cpu().numpy()
        # In place: this array is the one the algorithm adds to its rollout buffer after the callbacks.
        rewards -= (self.controller.value * kl).astype(rewards.dtype)
        self._kl_sum += float(kl.sum())
        self._tokens += kl.size
        return True

    def _on_rollout_end(self) -> None:
        if not self._tokens:
            return
        kl = self._kl_sum / self._tokens
        self.logger.record("rewards/kl", kl)
        self.logger.record("rewards/kl_penalty", -self.controller.value * kl)
        self.controller.update(kl, self._tokens)
        self.logger.record("train/kl_coef", self.controller.value)
        self._kl_sum, self._tokens = 0.0, 0

    def state(self) -> dict[str, Any]:
        """What a checkpoint must keep to resume the controller: its coefficient and settings."""
        c = self.controller
        return {"kl_coef": c.value, "target_kl": c.target, "horizon": c.horizon}
