"""A causal language model as an sb3-contrib maskable policy (MaskablePPO), and NLPO's top-p action masks.

:class:`MaskableLMActorCriticPolicy` is :class:`~tokengym.agents.policy.LMActorCriticPolicy` on sb3-contrib's
``MaskableActorCriticPolicy``: same LM machinery (logits at the last real token, prefix de-duplicated training
passes, KV-cached acting, value head on the detached hidden state, dropout off, no orthogonal init), and every
action distribution takes the masks MaskablePPO passes it: at acting time the env's ``action_masks()``, in the
update the masks stored in the rollout buffer. A masked token is never sampled, in rollouts or in ``predict``.

:class:`NLPOMaskCallback` adds NLPO's masks (Ramamurthy et al., 2023, "Is Reinforcement Learning (Not) for
Natural Language Processing?"): during rollouts only the tokens in the top-p nucleus of a frozen copy of the
policy's LM may be written, and the copy follows the policy every ``update_every`` rollouts. It keeps
generation near fluent text while the policy moves, without the per-token cost of a KL penalty.

How the nucleus reaches both passes. MaskablePPO asks the env for its masks, gives them to the policy, steps the
env, runs the step callbacks and then adds the very same mask array to its rollout buffer; the update
(``evaluate_actions``) then re-scores every stored action under the stored mask. So:

1. the callback installs a hook on the policy (``acting_mask_fn``); the policy's rollout ``forward`` combines
   the env's mask with the frozen copy's nucleus through it and samples under the combination;
2. the callback's ``on_step`` writes the combined mask into the array MaskablePPO is about to store (in place,
   as the KL penalty edits the step's rewards), or, when the env has no masks (``learn(..., use_masking=False)``)
   into the buffer slot the step is about to fill.

Nothing of MaskablePPO is overridden: the stored log-probability and the training pass agree to 1e-5 under the
combined masks, and PPO's ratio compares two policies restricted to the same tokens. ``predict`` (evaluation)
honours the env masks it is given but not the nucleus: NLPO restricts exploration, not the trained policy.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from sb3_contrib import MaskablePPO
    >>> from tokengym.agents import EpisodeMaskableDictRolloutBuffer, MaskableLMActorCriticPolicy, NLPOMaskCallback
    >>> model = MaskablePPO(MaskableLMActorCriticPolicy, "TextNav-v0", n_steps=64, batch_size=64,
    ...                     rollout_buffer_class=EpisodeMaskableDictRolloutBuffer)          # doctest: +SKIP
    >>> model.learn(4096, callback=NLPOMaskCallback(top_p=0.9, update_every=5))         # doctest: +SKIP
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableRolloutBuffer
from sb3_contrib.common.maskable.distributions import MaskableCategoricalDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.type_aliases import Schedule
from torch import nn

from tokengym.agents.incremental import IncrementalDecoder
from tokengym.agents.policy import LMPolicyMixin, top_k_top_p_filter

#: ``(obs, env_masks or None) -> masks``: bool ``(B, V)``, True where a token may be written.
ActingMaskFn = Callable[[dict[str, torch.Tensor], "torch.Tensor | None"], torch.Tensor]


def _as_mask(masks: Any, rows: int, device: torch.device) -> torch.Tensor:
    """Masks (numpy or torch, bool or 0/1) as a bool tensor ``(rows, V)``; an all-False row is refused."""
    mask = torch.as_tensor(np.asarray(masks) if not isinstance(masks, torch.Tensor) else masks, device=device)
    mask = (mask != 0).reshape(rows, -1)
    empty = torch.nonzero(~mask.any(-1)).flatten()
    if len(empty):
        raise ValueError(
            f"the action mask of row {int(empty[0])} allows no token; an environment's action_masks() must "
            "leave at least one action (for example end-of-sequence)"
        )
    return mask


class MaskableLMActorCriticPolicy(LMPolicyMixin, MaskableActorCriticPolicy):
    """A causal-LM actor-critic for sb3-contrib's MaskablePPO; masked tokens get probability zero.

    Args:
        observation_space: the token contract's ``Dict`` space.
        action_space: ``Discrete(vocab_size)`` of the model's tokenizer.
        lr_schedule: learning-rate schedule (MaskablePPO passes it).
        model_name: ``"tiny"``, a local folder or a Hugging Face id (see :func:`~tokengym.agents.load_lm`).
        temperature: the policy is ``softmax(logits / temperature)`` (masked), in rollouts, training and
            ``predict`` alike.
        top_k: keep only the k most likely allowed tokens in ``predict`` (0: all).
        top_p: nucleus threshold in ``predict`` (1.0: off), over the allowed tokens.
        value_head_init_std: standard deviation of the value head's last layer at initialisation.
        value_grad_to_lm: let the value loss train the LM too (off: the critic reads a detached hidden state).
        value_lr_scale: the value head learns at this multiple of the learning rate.
        use_kv_cache: act with the KV cache (rollouts and ``predict``); training passes always run in full.
        optimizer_class: the optimizer (SB3 convention).
        optimizer_kwargs: its keyword arguments. Adam and AdamW run fused (one kernel over all parameters)
            unless these choose ``fused`` or ``foreach``.
        ortho_init: refused when True: it would overwrite the pretrained weights.

    Each option means what it means for :class:`~tokengym.agents.policy.LMActorCriticPolicy`. The attribute
    ``acting_mask_fn`` (``None`` by default; :class:`NLPOMaskCallback` sets it during ``learn``) lets a caller
    replace, at rollout time only, the env's mask by ``acting_mask_fn(obs, env_masks)``; the masks the rollout
    sampled under are kept in ``last_acting_masks`` (bool numpy ``(n_envs, V)``, or ``None`` without masks).

    Example:
        >>> from sb3_contrib import MaskablePPO
        >>> model = MaskablePPO(MaskableLMActorCriticPolicy, "WordleCmd-v0")      # doctest: +SKIP
        >>> obs, _ = env.reset(); model.predict(obs, action_masks=env.action_masks())   # doctest: +SKIP
    """

    distribution_class = MaskableCategoricalDistribution

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
        )
        self.acting_mask_fn: ActingMaskFn | None = None
        self.last_acting_masks: np.ndarray | None = None
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

    def _masked(self, logits: torch.Tensor, action_masks: Any) -> MaskableCategoricalDistribution:
        dist = self.action_dist.proba_distribution(action_logits=logits)
        if action_masks is not None:
            dist.apply_masking(_as_mask(action_masks, len(logits), logits.device))
        return dist

    def forward(
        self, obs: dict[str, torch.Tensor], deterministic: bool = False, action_masks: np.ndarray | None = None
    ):
        logits, last = self._acting_states(obs)
        masks = None if action_masks is None else _as_mask(action_masks, len(logits), logits.device)
        if self.acting_mask_fn is not None:
            masks = _as_mask(self.acting_mask_fn(obs, masks), len(logits), logits.device)
        self.last_acting_masks = None if masks is None else masks.cpu().numpy()
        dist = self._masked(logits, masks)
        actions = dist.get_actions(deterministic=deterministic)
        return actions, self._value(last), dist.log_prob(actions)

    def evaluate_actions(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, action_masks: torch.Tensor | None = None
    ):
        logits, last = self._last_hidden(obs)
        dist = self._masked(logits, action_masks)
        return self._value(last), dist.log_prob(actions), dist.entropy()

    def get_distribution(self, obs: dict[str, torch.Tensor], action_masks: np.ndarray | None = None):
        logits, _ = self._distribution_states(obs)
        return self._masked(logits, action_masks)

    def _predict(
        self,
        observation: dict[str, torch.Tensor],
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> torch.Tensor:
        logits, _ = self._acting_states(observation)
        if action_masks is not None:
            # Masked before top-k and top-p, so that those choose among the allowed tokens.
            logits = logits.masked_fill(~_as_mask(action_masks, len(logits), logits.device), float("-inf"))
        return self._sample_for_predict(logits, deterministic)


def nucleus_masks(logits: torch.Tensor, top_p: float, allowed: torch.Tensor | None = None) -> torch.Tensor:
    """Tokens in the top-p nucleus of ``softmax(logits)``, restricted to ``allowed`` first when given.

    The nucleus is taken over the allowed tokens (the distribution renormalised on them), so the result is
    a subset of ``allowed`` that always holds the allowed token the logits like best: never empty.

    Returns:
        bool ``(B, V)``.
    """
    if allowed is not None:
        logits = logits.masked_fill(~allowed, float("-inf"))
    keep = torch.isfinite(top_k_top_p_filter(logits, top_p=top_p))
    return keep if allowed is None else keep & allowed


class NLPOMaskCallback(BaseCallback):
    """NLPO: during rollouts, only tokens in a frozen copy's top-p nucleus may be written (MaskablePPO).

    Use it with ``MaskablePPO(MaskableLMActorCriticPolicy, ...)``. At the start of training the callback copies
    the policy's LM (frozen, no gradients) and installs itself as the policy's ``acting_mask_fn``: at each
    rollout step the allowed tokens are the nucleus of the frozen copy's next-token distribution, restricted to
    the env's own mask when it has one (the nucleus is taken over the env-legal tokens, so it is never empty).
    The mask the rollout sampled under is the mask MaskablePPO stores and trains with (see the module's
    docstring). Every ``update_every`` rollouts the copy takes the policy's current weights. The frozen copy
    has its own KV cache, so it costs one extra cached token step per generated token.

    For an env without ``action_masks()`` (a plain text task), train with ``model.learn(n, callback=cb,
    use_masking=False)``: the nucleus is then the whole mask.

    Args:
        top_p: nucleus threshold in (0, 1]; NLPO's default is 0.9. 1.0 keeps every token of positive probability.
        update_every: rollouts between refreshes of the frozen copy (NLPO's "target update iterations").
        verbose: SB3 verbosity.

    Logged each rollout: ``rollout/nlpo_allowed_tokens`` (mean number of tokens allowed per step).
    """

    def __init__(self, top_p: float = 0.9, update_every: int = 5, verbose: int = 0) -> None:
        super().__init__(verbose)
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {top_p!r}")
        if isinstance(update_every, bool) or not isinstance(update_every, int) or update_every < 1:
            raise ValueError(f"update_every must be a positive number of rollouts, not {update_every!r}")
        self.top_p = float(top_p)
        self.update_every = update_every
        self.frozen: nn.Module | None = None
        self._decoder: IncrementalDecoder | None = None
        self._rollouts = 0
        self._last: np.ndarray | None = None
        self._allowed_sum = 0.0
        self._allowed_rows = 0

    def _init_callback(self) -> None:
        policy = self.model.policy
        if not isinstance(policy, MaskableLMActorCriticPolicy):
            raise ValueError(
                "NLPOMaskCallback needs MaskablePPO with MaskableLMActorCriticPolicy (it masks at acting time and "
                f"trains under the same masks), got {type(self.model).__name__} with {type(policy).__name__}"
            )
        if not isinstance(self.model.rollout_buffer, (MaskableDictRolloutBuffer, MaskableRolloutBuffer)):
            raise ValueError("NLPOMaskCallback needs a maskable rollout buffer (MaskablePPO's)")
        if self.frozen is None:
            self.frozen = copy.deepcopy(policy.lm)
            self.frozen.requires_grad_(False)
            self.frozen.train(False)
            self._decoder = IncrementalDecoder(self.frozen)
        policy.acting_mask_fn = self.masks

    def refresh(self) -> None:
        """Give the frozen copy the policy's current weights."""
        assert self.frozen is not None
        with torch.no_grad():
            self.frozen.load_state_dict(self.model.policy.lm.state_dict())  # in place: the cache notices

    def masks(self, obs: dict[str, torch.Tensor], env_masks: torch.Tensor | None) -> torch.Tensor:
        """The allowed tokens for a batch of observations: the frozen copy's nucleus within ``env_masks``."""
        assert self._decoder is not None
        lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
        logits, _ = self._decoder(obs["input_ids"].long(), lengths)
        allowed = None if env_masks is None else env_masks.to(logits.device)
        keep = nucleus_masks(logits, self.top_p, allowed)
        self._last = keep.cpu().numpy()
        return keep

    def _on_rollout_start(self) -> None:
        if self._rollouts and self._rollouts % self.update_every == 0:
            self.refresh()
        self._rollouts += 1

    def _on_step(self) -> bool:
        if self._last is None:
            raise RuntimeError("NLPOMaskCallback saw a step without a masked rollout forward (MaskablePPO's)")
        combined, self._last = self._last, None
        env_masks = self.locals.get("action_masks")
        if env_masks is not None:
            # In place: this array is the one MaskablePPO adds to its rollout buffer after the callbacks.
            env_masks[...] = combined.reshape(env_masks.shape)
        else:
            buffer = self.locals["rollout_buffer"]
            if hasattr(buffer, "store_action_masks"):
                buffer.store_action_masks(combined)
            else:
                buffer.action_masks[buffer.pos] = combined.reshape(buffer.action_masks[buffer.pos].shape)
        self._allowed_sum += float(combined.sum())
        self._allowed_rows += len(combined)
        return True

    def _on_rollout_end(self) -> None:
        if self._allowed_rows:
            self.logger.record("rollout/nlpo_allowed_tokens", self._allowed_sum / self._allowed_rows)
        self._allowed_sum, self._allowed_rows = 0.0, 0

    def _on_training_end(self) -> None:
        # The nucleus restricts training rollouts only; predict and later evaluations see the policy itself.
        if self.model.policy.acting_mask_fn == self.masks:
            self.model.policy.acting_mask_fn = None
