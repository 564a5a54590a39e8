"""The log-probabilities of a language-model policy's tokens: one log-softmax at a rollout step, one in training.

:func:`sample_with_log_prob` draws a rollout's tokens and the log-probabilities the rollout buffer stores;
:func:`chosen_log_prob_and_entropy` recomputes them, with the entropy, in the update. Both read the same
log-softmax of the same (tempered, masked) logits, so what is stored is what is trained on, to 1e-5. Masked tokens
are logits of -inf: probability 0, never drawn, no share of the entropy and no gradient.

Example:
    >>> import torch
    >>> from tokengym.agents.lm.logprob import chosen_log_prob_and_entropy, sample_with_log_prob
    >>> logits = torch.tensor([[2.0, 1.0, float("-inf")]])
    >>> actions, stored = sample_with_log_prob(logits, deterministic=True)
    >>> chosen, entropy = chosen_log_prob_and_entropy(logits, actions)
    >>> bool(torch.allclose(stored, chosen))
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from tokengym.agents.lm.sampling import sample_categorical


def sample_with_log_prob(logits: torch.Tensor, deterministic: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """A rollout step: tokens drawn from ``softmax(logits)`` (or the best ones) and their log-probabilities.

    The action distribution's own numbers, without building it: one log-softmax gives the sampling probabilities
    and the stored log-probability (a rollout step's distribution is never asked for more).

    Returns:
        ``(actions (B,), log_probs (B,))``.
    """
    log_probs = torch.log_softmax(logits, -1)
    actions = log_probs.argmax(-1) if deterministic else sample_categorical(log_probs.exp())
    return actions, log_probs.gather(-1, actions[:, None]).squeeze(-1)


def chosen_log_prob_and_entropy(logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The training pass: ``(log_softmax(logits)[action], entropy)`` per row of ``logits (N, V)``, with the
    hand-written gradient of :class:`_ChosenLogProbAndEntropy` (the distribution object would normalise the
    logits, then take their softmax again for the entropy, and autograd would walk back through all of it)."""
    return _ChosenLogProbAndEntropy.apply(logits, actions.long().reshape(-1))


class _ChosenLogProbAndEntropy(torch.autograd.Function):
    """``(log_softmax(logits)[action], entropy)`` per row of ``logits (N, V)``, with a hand-written gradient.

    Autograd would run about ten elementwise passes over the ``(N, V)`` logits backwards (log-softmax, gather,
    the entropy's product and exponential, and their sum); the gradient written out takes two, and one when the
    entropy's gradient is zero (an entropy coefficient of 0, the default). With ``p`` the probabilities and ``H``
    the entropy: d log p_a / d logit_j = [j = a] - p_j and dH / d logit_j = -p_j (log p_j + H). Logits of -inf
    (masked tokens) have p = 0, no share of the entropy and no gradient.
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs = torch.log_softmax(logits, -1)
        chosen = log_probs.gather(-1, actions[:, None]).squeeze(-1)
        log_probs = log_probs.clamp_(min=torch.finfo(log_probs.dtype).min)  # -inf -> finite: 0 * it stays 0
        probs = log_probs.exp()
        entropy = -(probs * log_probs).sum(-1)
        ctx.save_for_backward(probs, log_probs, entropy, actions)
        return chosen, entropy

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_chosen: torch.Tensor, grad_entropy: torch.Tensor) -> tuple[torch.Tensor, None]:
        probs, log_probs, entropy, actions = ctx.saved_tensors
        if grad_entropy is None or not bool(grad_entropy.any()):
            grad = probs * -grad_chosen[:, None]
        else:
            weight = (log_probs + entropy[:, None]).mul_(grad_entropy[:, None]).add_(grad_chosen[:, None])
            # A masked token's clamped log-probability times a large gradient overflows to -inf, and 0 * inf
            # is NaN: its gradient is 0.
            grad = torch.where(probs > 0, weight.mul_(probs), 0.0).neg_()
        grad.scatter_add_(-1, actions[:, None], grad_chosen[:, None])
        return grad, None
