"""The full pass of a language-model policy: one forward per distinct longest sequence, every prefix read from it.

Observations of one episode are prefixes of each other (each step appends a token), and under causal attention
the hidden state at position ``n - 1`` of a longer sequence is the last hidden state of its ``n``-token prefix.
So :func:`last_token_states` finds, for every row of a batch, a row of which it is a prefix
(:func:`prefix_representatives`, by hashing every prefix), runs the model once per distinct representative and
reads each row's state from its representative. With the episode-ordered rollout buffers
(:mod:`tokengym.agents.lm.buffers`) a minibatch holds whole episodes, and the training pass shrinks accordingly.

Example:
    >>> import torch
    >>> from tokengym.agents.lm.prefixes import prefix_representatives
    >>> ids = torch.tensor([[5, 6, 7], [5, 6, 0], [4, 0, 0]])
    >>> rep, keep = prefix_representatives(ids, torch.tensor([3, 2, 1]))
    >>> keep[rep].tolist()  # rows 0 and 1 share row 0's pass
    [0, 0, 2]
"""

from __future__ import annotations

import functools

import torch
from torch import nn


def last_token_states(lm: nn.Module, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and hidden state of a causal LM at the last real token of every observation.

    Each batch runs one forward pass per distinct longest sequence and reads every prefix's state from it (see
    the module).

    Args:
        lm: a Hugging Face causal LM (GPT-2 style: ``.transformer``, or any with ``.base_model``).
        obs: the token contract's ``input_ids`` and ``attention_mask``, ``(B, L)``, right-padded.

    Returns:
        ``(logits (B, V), hidden (B, H))`` in float32.
    """
    ids = obs["input_ids"].long()  # SB3 casts Box observations to float32
    lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
    width = int(lengths.max())
    ids = ids[:, :width]
    rep, keep = prefix_representatives(ids, lengths)
    rep_ids = ids[keep]
    rep_mask = (torch.arange(width, device=ids.device)[None, :] < lengths[keep][:, None]).long()
    position_ids = torch.arange(width, device=ids.device).expand_as(rep_ids)
    body = lm.transformer if hasattr(lm, "transformer") else lm.base_model
    hidden = body(input_ids=rep_ids, attention_mask=rep_mask, position_ids=position_ids).last_hidden_state
    last = hidden[rep, lengths - 1]
    logits = lm.get_output_embeddings()(last)
    return logits.float(), last.float()


def prefix_representatives(ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row, a row of which it is a prefix (itself at least): the longest such row.

    Rows are matched by a hash of every prefix (``O(B W + B^2)``), and each chosen representative is then checked
    token for token; should a hash collision ever pick a wrong one, the exact ``O(B^2 W)`` comparison decides.

    Args:
        ids: ``(B, W)`` token ids, right-padded.
        lengths: ``(B,)`` real lengths.

    Returns:
        ``(rep, keep)``: ``keep`` are the indices of the distinct representative rows, and ``rep[i]`` is the
        position in ``keep`` of row ``i``'s representative.
    """
    width = ids.shape[1]
    inside = torch.arange(width, device=ids.device)[None, :] < lengths[:, None]  # (B, W): each row's real tokens
    # prefix_hash[j, n]: a hash of row j's first n tokens; row i is (by hash) a prefix of row j when row j's hash
    # at row i's length is row i's whole hash.
    prefix_hash = _prefix_hashes(ids)
    at_length = prefix_hash[:, lengths]  # (B_j, B_i)
    is_prefix = (at_length == prefix_hash.gather(1, lengths[:, None]).T).T & (lengths[:, None] <= lengths[None, :])
    best = _longest(is_prefix, lengths)
    if not bool(((ids == ids[best]) | ~inside).all()):
        same = ids[:, None, :] == ids[None, :, :]  # (B, B, W)
        is_prefix = (same | ~inside[:, None, :]).all(-1) & (lengths[:, None] <= lengths[None, :])
        best = _longest(is_prefix, lengths)
    keep, rep = torch.unique(best, return_inverse=True)
    return rep, keep


_HASH_MODULI = (2_147_483_629, 2_147_483_587)  # primes below 2**31: every product and sum stays inside int64


@functools.lru_cache(maxsize=16)
def _hash_weights(width: int) -> tuple[torch.Tensor, ...]:
    """Fixed random position weights, one row per modulus (drawn once per width; the global generator is left
    alone)."""
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randint(1, modulus, (width,), generator=generator) for modulus in _HASH_MODULI)


def _prefix_hashes(ids: torch.Tensor) -> torch.Tensor:
    """``(B, W + 1)`` int64: column ``n`` hashes each row's first ``n`` tokens (two position-weighted sums)."""
    ids = ids.long()
    combined = torch.zeros(ids.shape[0], ids.shape[1] + 1, dtype=torch.long, device=ids.device)
    for modulus, weights in zip(_HASH_MODULI, _hash_weights(ids.shape[1]), strict=True):
        weights = weights.to(ids.device)
        terms = (ids.remainder(modulus) * weights).remainder(modulus)
        sums = torch.zeros_like(combined)
        sums[:, 1:] = terms.cumsum(-1).remainder(modulus)
        combined = combined * modulus + sums  # (h1 * m2 + h2) < 2**62
    return combined


def _longest(is_prefix: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """For each row, the longest row it is a prefix of; ties (identical rows) go to the lowest index, so
    duplicates share one row."""
    count = len(lengths)
    rows = torch.arange(count, device=lengths.device)
    score = torch.where(is_prefix, lengths[None, :] * (count + 1) - rows[None, :], torch.full_like(rows, -1)[None, :])
    return score.argmax(-1)
