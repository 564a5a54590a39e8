"""Drawing tokens: the one top-k/top-p filter and the one categorical sampler of the language-model policies.

Every token a policy of :mod:`tokengym.agents.lm` draws goes through :func:`sample_categorical`: rollout steps
of the actor-critics (through :func:`~tokengym.agents.lm.logprob.sample_with_log_prob`), their ``predict`` and
DQN's exploratory tokens (through :func:`sample_tokens`, which applies :func:`top_k_top_p_filter` first).

Example:
    >>> import torch
    >>> from tokengym.agents.lm.sampling import sample_tokens
    >>> logits = torch.tensor([[3.0, 2.0, -1.0, -5.0]])
    >>> sample_tokens(logits, top_k=1).tolist()  # only the best token is left to draw
    [0]
"""

from __future__ import annotations

import torch


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Logits with tokens outside the top-k and the top-p nucleus set to -inf (the best token always stays)."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop_sorted = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_categorical(probs: torch.Tensor) -> torch.Tensor:
    """One index per row of ``probs`` (``(..., V)``, rows summing to 1), drawn by inverting the cumulative sum.

    The same distribution as ``torch.distributions.Categorical(probs).sample()``, drawn from one uniform number
    per row instead of ``V`` exponential ones (``torch.multinomial``'s way): with a language model's vocabulary
    this is the cheaper part of a rollout step. The cumulative sum runs in float64, so tokens down to ~1e-16 of
    the mass keep their chance; tokens of probability 0 are never drawn.
    """
    cumulative = probs.double().cumsum(-1)
    # A target in (0, total]: the first index whose cumulative sum reaches it has a positive probability.
    uniform = 1.0 - torch.rand(cumulative.shape[:-1] + (1,), dtype=cumulative.dtype, device=cumulative.device)
    index = torch.searchsorted(cumulative, uniform * cumulative[..., -1:])
    return index.squeeze(-1).clamp_(max=probs.shape[-1] - 1)


def sample_tokens(
    logits: torch.Tensor, deterministic: bool = False, top_k: int = 0, top_p: float = 1.0
) -> torch.Tensor:
    """``predict``'s rule for ``logits (B, V)``: the best token, or a draw from ``softmax(logits)`` restricted to
    the ``top_k`` best tokens (0: all) and the ``top_p`` nucleus (1.0: all). Tokens at -inf are never drawn."""
    if deterministic:
        return logits.argmax(-1)
    return sample_categorical(torch.softmax(top_k_top_p_filter(logits, top_k, top_p), -1))
