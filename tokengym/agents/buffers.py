"""Rollout buffers whose minibatches keep each episode's transitions together.

SB3 shuffles single transitions into minibatches. For a language-model policy that is the slow order: the
transitions of one episode are prefixes of one sequence, and :func:`~tokengym.agents.policy.last_token_states`
scores all prefixes of a sequence with one forward pass, but only for those prefixes that land in the same
minibatch. A minibatch of 128 shuffled transitions touches ~25 episodes (25 sequences to encode); in episode
order it touches ~7. These buffers shuffle whole episodes instead (a seeded permutation, as SB3's), then cut the
sequence into minibatches of the requested size; an episode may straddle two minibatches.

Plug them in with SB3's own hook::

    PPO(LMActorCriticPolicy, env, rollout_buffer_class=EpisodeDictRolloutBuffer)
    MaskablePPO(MaskableLMActorCriticPolicy, env, rollout_buffer_class=EpisodeMaskableDictRolloutBuffer)

Advantages are still normalised per minibatch by the algorithm; the gradient of an epoch is the same sum, in
another order.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import numpy as np
from gymnasium import spaces
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableDictRolloutBufferSamples
from stable_baselines3.common.buffers import DictRolloutBuffer


def episode_order(episode_starts: np.ndarray) -> np.ndarray:
    """A permutation of the flattened transitions that shuffles whole episodes and keeps each one in order.

    Args:
        episode_starts: ``(n_steps, n_envs)`` flags from the buffer (1 where a transition starts an episode).

    Returns:
        Indices into the buffer's flattened layout (environment-major: ``env * n_steps + step``).
    """
    n_steps, n_envs = episode_starts.shape
    starts = episode_starts.astype(bool).T.copy()  # (n_envs, n_steps), the flattened layout's order
    starts[:, 0] = True  # a rollout's first transition opens a segment even mid-episode
    flat_starts = np.flatnonzero(starts.reshape(-1))
    bounds = np.append(flat_starts, n_steps * n_envs)
    segments = [np.arange(bounds[i], bounds[i + 1]) for i in range(len(flat_starts))]
    return np.concatenate([segments[i] for i in np.random.permutation(len(segments))])


class _EpisodeOrder:
    """Replace the parent's shuffled indices with :func:`episode_order`, slice for slice.

    The parent's ``get`` prepares (flattens) the data and asks ``_get_samples`` for consecutive slices of its
    own permutation; the slices are answered from the episode order instead, so nothing of the parent's
    preparation is duplicated.
    """

    episode_starts: np.ndarray

    def get(self, batch_size: int | None = None) -> Generator[Any, None, None]:
        self._order = episode_order(self.episode_starts)
        self._cursor = 0
        yield from super().get(batch_size)  # type: ignore[misc]

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> Any:
        if getattr(self, "_order", None) is not None:
            batch_inds = self._order[self._cursor : self._cursor + len(batch_inds)]
            self._cursor += len(batch_inds)
        return super()._get_samples(batch_inds, env)  # type: ignore[misc]

    def reset(self) -> None:
        self._order = None
        super().reset()  # type: ignore[misc]


class EpisodeDictRolloutBuffer(_EpisodeOrder, DictRolloutBuffer):
    """SB3's ``DictRolloutBuffer`` with episode-ordered minibatches (PPO, A2C, TRPO)."""


def mask_width(action_space: spaces.Space) -> int:
    """Entries in one action mask for ``action_space`` (sb3-contrib's layout)."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(np.sum(action_space.nvec))
    if isinstance(action_space, spaces.MultiBinary) and isinstance(action_space.n, int):
        return 2 * action_space.n
    raise ValueError(
        f"action masks need a Discrete, MultiDiscrete or flat MultiBinary action space, not {action_space}"
    )


class PackedMaskableDictRolloutBuffer(MaskableDictRolloutBuffer):
    """sb3-contrib's ``MaskableDictRolloutBuffer`` with its action masks stored bit-packed.

    The parent keeps one float32 per action per transition, ``n_steps x n_envs x vocab x 4`` bytes: with a
    language model's vocabulary, the largest array of the rollout. This buffer keeps one bit per action
    (``np.packbits``), 32x less, and unpacks each minibatch to the parent's float32 layout, so the policy
    receives what the parent would give it. Measured (``benchmarks/update_cost.py``) for 8 environments x 128
    steps x 4,096 tokens on Dialogue-v0: 16 MiB of float32 masks become 0.5 MiB, against 0.86 MiB for the
    observations themselves. Masks given as bools, 0/1 integers or floats are stored as ``mask != 0``.
    """

    def reset(self) -> None:
        self.mask_dims = mask_width(self.action_space)
        # All actions allowed until a mask arrives (the parent's ones). The parent's own reset is skipped: it
        # would allocate the float32 array this buffer exists to avoid.
        self.action_masks = np.full((self.buffer_size, self.n_envs, (self.mask_dims + 7) // 8), 0xFF, np.uint8)
        DictRolloutBuffer.reset(self)

    def add(self, *args: Any, action_masks: np.ndarray | None = None, **kwargs: Any) -> None:
        if action_masks is not None:
            self.store_action_masks(action_masks)
        super().add(*args, action_masks=None, **kwargs)

    def store_action_masks(self, action_masks: np.ndarray) -> None:
        """Set the masks of the transition about to be added (``(n_envs, mask_dims)``, True: allowed)."""
        bits = np.asarray(action_masks).reshape(self.n_envs, self.mask_dims) != 0
        self.action_masks[self.pos] = np.packbits(bits, axis=-1)

    def unpacked_action_masks(self, index: Any = slice(None)) -> np.ndarray:
        """The masks of rows ``index`` of the stored array as bools, ``(..., mask_dims)``."""
        return np.unpackbits(self.action_masks[index], axis=-1, count=self.mask_dims).astype(bool)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> MaskableDictRolloutBufferSamples:  # type: ignore[override]
        return MaskableDictRolloutBufferSamples(
            observations={key: self.to_torch(obs[batch_inds]) for key, obs in self.observations.items()},
            actions=self.to_torch(self.actions[batch_inds]),
            old_values=self.to_torch(self.values[batch_inds].flatten()),
            old_log_prob=self.to_torch(self.log_probs[batch_inds].flatten()),
            advantages=self.to_torch(self.advantages[batch_inds].flatten()),
            returns=self.to_torch(self.returns[batch_inds].flatten()),
            action_masks=self.to_torch(self.unpacked_action_masks(batch_inds).astype(np.float32)),
        )


class EpisodeMaskableDictRolloutBuffer(_EpisodeOrder, PackedMaskableDictRolloutBuffer):
    """Episode-ordered minibatches and bit-packed masks (MaskablePPO): see :class:`PackedMaskableDictRolloutBuffer`."""
