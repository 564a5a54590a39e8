"""The random baseline of the text games: a command drawn uniformly among the offered ones."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from tokengym.agents.textgame.spaces import command_slot_mask


class RandomCommandAgent:
    """Plays a slot drawn uniformly among the offered ones (and among ``action_masks``, when given).

    Args:
        seed: seeds its generator; same seed, same actions.

    ``predict`` has SB3's signature; ``deterministic`` is ignored (the agent is random by definition).

    Example:
        >>> import gymnasium as gym, tokengym
        >>> agent = RandomCommandAgent(seed=0)
        >>> env = gym.make("TextNavCmd-v0")
        >>> obs, _ = env.reset(seed=0)
        >>> int(agent.predict(obs)[0])
        0
    """

    def __init__(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def predict(
        self,
        observation: Mapping[str, np.ndarray],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, Any]:
        """A random offered slot per observation (a scalar array for one, ``(B,)`` for a batch)."""
        valid = command_slot_mask(observation)
        if action_masks is not None:
            valid = valid & np.asarray(action_masks, dtype=bool).reshape(valid.shape)
        rows = np.atleast_2d(valid)
        actions = np.zeros(len(rows), dtype=np.int64)
        for i, row in enumerate(rows):
            slots = np.flatnonzero(row)
            if not len(slots):
                raise ValueError(f"row {i}: action_masks leave none of the offered slots playable")
            actions[i] = slots[self.rng.integers(len(slots))]
        return (actions[0] if valid.ndim == 1 else actions), state
