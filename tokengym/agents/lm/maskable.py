"""A causal language model as an sb3-contrib maskable policy (MaskablePPO), and NLPO's top-p action masks.

:class:`MaskableLMActorCriticPolicy` is :class:`~tokengym.agents.lm.policy.LMActorCriticPolicy` on sb3-contrib's
``MaskableActorCriticPolicy``: same LM machinery (logits at the last real token, prefix de-duplicated training
passes, KV-cached acting, value head on the detached hidden state, dropout off, no orthogonal init), and every
action distribution takes the masks MaskablePPO passes it: at acting time the env's ``action_masks()``, in the
update the masks stored in the rollout buffer. A masked token is never sampled, in rollouts or in ``predict``.

:class:`NLPOMaskCallback` adds NLPO's masks (Ramamurthy et al., 2023, "Is Reinforcement Learning (Not) for
Natural Language Processing?"): during rollouts only the tokens in the top-p nucleus of a frozen copy of the
policy's LM may be written, and the copy follows the policy every ``update_every`` rollouts. It keeps
generation near fluent text while the policy moves, without the per-token cost of a KL penalty.

How the nucleus reaches both passes. MaskablePPO asks the env for its masks, gives them to the policy, steps the
env and adds the step, masks included, to its rollout buffer; the update (``evaluate_actions``) then re-scores
every stored action under the stored mask. So:

1. the callback installs a hook on the policy (``acting_mask_fn``); the policy's rollout ``forward`` combines
   the env's mask with the frozen copy's nucleus through it and samples under the combination;
2. the callback is a step shaper of the rollout buffer (:class:`~tokengym.agents.lm.buffers.StepShaping`): the
   buffer's ``add()`` stores the combined mask in place of the env's, or of none when the env has no masks
   (``learn(..., use_masking=False)``).

Nothing of MaskablePPO is overridden: the stored log-probability and the training pass agree to 1e-5 under the
combined masks, and PPO's ratio compares two policies restricted to the same tokens. Both come from
:mod:`tokengym.agents.lm.logprob`, as for the unmasked policy, with the masked tokens' logits at -inf: probability
0, never drawn, no share of the entropy, no gradient (sb3-contrib's distribution, which puts them at -1e8 and gives
the same numbers to rounding, is built only for ``get_distribution``). ``predict`` (evaluation)
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

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.distributions import MaskableCategoricalDistribution
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule

from tokengym.agents.lm.logprob import chosen_log_prob_and_entropy, sample_with_log_prob
from tokengym.agents.lm.policy import LMPolicyMixin
from tokengym.agents.lm.sampling import sample_tokens

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

    Each option means what it means for :class:`~tokengym.agents.lm.policy.LMActorCriticPolicy`. The attribute
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
        """sb3-contrib's masked distribution of ``logits``, for ``get_distribution``."""
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
        actions, log_probs = sample_with_log_prob(_masked_logits(logits, masks), deterministic)
        return actions, self._value(last), log_probs

    def evaluate_actions(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor, action_masks: torch.Tensor | None = None
    ):
        logits, last = self._training_states(obs)
        chosen, entropy = chosen_log_prob_and_entropy(_masked_logits(logits, action_masks), actions)
        return self._value(last), chosen, entropy

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
        # Masked before top-k and top-p, so that those choose among the allowed tokens.
        return sample_tokens(_masked_logits(logits, action_masks), deterministic, self.top_k, self.top_p)


def _masked_logits(logits: torch.Tensor, action_masks: Any) -> torch.Tensor:
    """``logits`` with the tokens ``action_masks`` forbids at -inf (``None``: all allowed)."""
    if action_masks is None:
        return logits
    return logits.masked_fill(~_as_mask(action_masks, len(logits), logits.device), float("-inf"))
