"""The one switch between the two passes that read a language model at each observation's last real token.

- The full pass (:func:`~tokengym.agents.lm.prefixes.last_token_states`): one forward per distinct longest
  sequence, differentiable; every training pass runs it.
- The cached pass (:class:`~tokengym.agents.lm.kv_cache.IncrementalDecoder`): each environment's new token
  against its cached keys and values; same results to rounding (about 1e-6 in log-probability), several times
  faster per rollout step, and only without gradients.

:class:`LastTokenStates` takes the cached pass when it may (the cache is on, the caller is in evaluation mode,
gradients are off) and the full pass otherwise. The actor-critic policies, the maskable policy and DQN's
Q-network all choose through it.

Example:
    >>> import torch
    >>> from tokengym.agents import load_lm
    >>> from tokengym.agents.lm.states import LastTokenStates
    >>> lm, _ = load_lm("tiny")
    >>> states = LastTokenStates(lm, use_kv_cache=True)
    >>> obs = {"input_ids": torch.tensor([[5, 6, 7, 0]]), "attention_mask": torch.tensor([[1, 1, 1, 0]])}
    >>> with torch.no_grad():
    ...     logits, hidden = states(obs, training=False)  # cached: the next call with one more token steps
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from tokengym.agents.lm.kv_cache import IncrementalDecoder
from tokengym.agents.lm.prefixes import last_token_states

#: ``obs -> (logits (B, V), hidden (B, H))``: a full pass.
FullPass = Callable[[dict[str, torch.Tensor]], tuple[torch.Tensor, torch.Tensor]]


class LastTokenStates:
    """Logits and hidden states of ``lm`` at each observation's last real token, cached where that is exact.

    Args:
        lm: a Hugging Face causal LM.
        use_kv_cache: take the cached pass when no gradient is needed and the caller is in evaluation mode.

    Call it with ``(obs, training, full=None)``: ``training`` is the caller's mode (a module in training mode
    always runs in full, so no update ever steps from cached keys), ``full`` the full pass to run instead of
    :func:`~tokengym.agents.lm.prefixes.last_token_states` (a policy passes its own, overridable, method).
    ``decoder`` is the :class:`~tokengym.agents.lm.kv_cache.IncrementalDecoder`; :meth:`reset` empties it.
    """

    def __init__(self, lm: nn.Module, use_kv_cache: bool = True) -> None:
        self.lm = lm
        self.use_kv_cache = bool(use_kv_cache)
        self.decoder = IncrementalDecoder(lm)

    def __call__(
        self, obs: dict[str, torch.Tensor], training: bool, full: FullPass | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.use_kv_cache and not training and not torch.is_grad_enabled():
            lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
            return self.decoder(obs["input_ids"].long(), lengths)
        return full(obs) if full is not None else last_token_states(self.lm, obs)

    def reset(self) -> None:
        """Forget every cached row (after weights were replaced in a way the decoder cannot see)."""
        self.decoder.reset()
