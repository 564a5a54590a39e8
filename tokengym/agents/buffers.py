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
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer
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


class EpisodeMaskableDictRolloutBuffer(_EpisodeOrder, MaskableDictRolloutBuffer):
    """sb3-contrib's ``MaskableDictRolloutBuffer`` with episode-ordered minibatches (MaskablePPO)."""
