"""NLPO's top-p action masks for MaskablePPO (Ramamurthy et al., 2023, "Is Reinforcement Learning (Not) for
Natural Language Processing?").

During rollouts only the tokens in the top-p nucleus of a frozen copy of the policy's LM may be written, and the
copy follows the policy every ``update_every`` rollouts. It keeps generation near fluent text while the policy
moves, without the per-token cost of a KL penalty.

How the masks reach both the rollout and the update, through public hooks only:

1. at acting time, the callback is the policy's ``acting_mask_fn`` (a hook of
   :class:`~tokengym.agents.lm.maskable.MaskableLMActorCriticPolicy`): the rollout's ``forward`` samples under
   the env's mask combined with the nucleus;
2. in the rollout buffer, the callback is a step shaper (:class:`~tokengym.agents.lm.buffers.StepShaping`): the
   buffer's ``add()``, which MaskablePPO calls with the step's masks (or ``None`` with ``use_masking=False``),
   stores the combined masks instead, and MaskablePPO's update re-scores every action under the stored masks.

So the stored log-probability and the training pass agree (to 1e-5), and PPO's ratio compares two policies
restricted to the same tokens. The model needs a buffer that stores masks and takes shapers:
``rollout_buffer_class=EpisodeMaskableDictRolloutBuffer`` (or ``PackedMaskableDictRolloutBuffer``); MaskablePPO's
default buffer is refused when training starts. Besides the documented callback hooks (``_init_callback``,
``_on_step``, ...) no private name of stable-baselines3 or sb3-contrib is used (2.x checked).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from torch import nn

from tokengym.agents.lm.buffers import RolloutStep, StepShaping, require_step_shaping
from tokengym.agents.lm.kv_cache import IncrementalDecoder
from tokengym.agents.lm.maskable import MaskableLMActorCriticPolicy
from tokengym.agents.lm.sampling import top_k_top_p_filter


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

    Use it with ``MaskablePPO(MaskableLMActorCriticPolicy, env,
    rollout_buffer_class=EpisodeMaskableDictRolloutBuffer)``. At the start of training the callback copies the
    policy's LM (frozen, no gradients), installs itself as the policy's ``acting_mask_fn`` and registers
    :meth:`store_masks` as a step shaper of the rollout buffer: at each rollout step the allowed tokens are the
    nucleus of the frozen copy's next-token distribution, restricted to the env's own mask when it has one (the
    nucleus is taken over the env-legal tokens, so it is never empty).
    The mask the rollout sampled under is the mask the buffer stores and MaskablePPO trains with (see the
    module's docstring). Every ``update_every`` rollouts the copy takes the policy's current weights. The frozen
    copy has its own KV cache, so it costs one extra cached token step per generated token. When training ends
    both hooks are removed (:meth:`detach`); call ``detach()`` yourself if ``learn`` was interrupted.

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
        self._buffer: StepShaping | None = None
        self._policy: MaskableLMActorCriticPolicy | None = None

    def _init_callback(self) -> None:
        policy = self.model.policy
        if not isinstance(policy, MaskableLMActorCriticPolicy):
            raise ValueError(
                "NLPOMaskCallback needs MaskablePPO with MaskableLMActorCriticPolicy (it masks at acting time and "
                f"trains under the same masks), got {type(self.model).__name__} with {type(policy).__name__}"
            )
        buffer = require_step_shaping(self.model.rollout_buffer, "NLPOMaskCallback", masks=True)
        if self.frozen is None:
            self.frozen = copy.deepcopy(policy.lm)
            self.frozen.requires_grad_(False)
            self.frozen.train(False)
            self._decoder = IncrementalDecoder(self.frozen)
        self.detach()  # from an earlier model, or an earlier learn that did not end
        policy.acting_mask_fn = self.masks
        buffer.add_step_shaper(self.store_masks)
        self._policy, self._buffer = policy, buffer

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

    def store_masks(self, step: RolloutStep) -> None:
        """The step shaper: the step's masks become the ones its actions were sampled under (env's and nucleus)."""
        if self._last is None:
            raise RuntimeError("NLPOMaskCallback saw a step without a masked rollout forward (MaskablePPO's)")
        combined, self._last = self._last, None
        step.action_masks = combined
        self._allowed_sum += float(combined.sum())
        self._allowed_rows += len(combined)

    def _on_step(self) -> bool:
        return True  # the masks go in as the buffer stores the step (store_masks)

    def _on_rollout_end(self) -> None:
        if self._allowed_rows:
            self.logger.record("rollout/nlpo_allowed_tokens", self._allowed_sum / self._allowed_rows)
        self._allowed_sum, self._allowed_rows = 0.0, 0

    def _on_training_end(self) -> None:
        self.detach()

    def detach(self) -> None:
        """Remove both hooks (``learn`` does it when training ends).

        The nucleus restricts training rollouts only; ``predict`` and later evaluations see the policy itself.
        """
        if self._policy is not None and self._policy.acting_mask_fn == self.masks:
            self._policy.acting_mask_fn = None
        if self._buffer is not None:
            self._buffer.remove_step_shaper(self.store_masks)
        self._policy, self._buffer, self._last = None, None, None
