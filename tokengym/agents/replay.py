"""A replay buffer sized by memory: it refuses, before allocating, a ``buffer_size`` beyond a budget.

Token observations are ``L`` ints stored twice per transition (the next observation too), so SB3's default
``buffer_size`` of one million fills many gigabytes; :func:`check_replay_memory` names the sizes and the largest
buffer that fits. Nothing here is specific to language models: the command-level text-game agents use it too.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.preprocessing import get_action_dim


def available_bytes() -> int:
    """The memory available now, in bytes (what replay buffers and rollouts are sized against)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:  # pragma: no cover - psutil ships with most installs
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _space_bytes(space: spaces.Space) -> tuple[int, list[str]]:
    """Bytes of one stored observation of ``space`` and a description of each part."""
    parts = dict(space.spaces) if isinstance(space, spaces.Dict) else {"obs": space}
    total, described = 0, []
    for key, sub in parts.items():
        if sub.shape is None or sub.dtype is None:
            raise ValueError(f"cannot size a replay buffer for observation part {key!r}: {sub}")
        n, size = int(np.prod(sub.shape)), np.dtype(sub.dtype).itemsize
        total += n * size
        described.append(f"{key} {n} x {np.dtype(sub.dtype).name}")
    return total, described


def check_replay_memory(
    observation_space: spaces.Space,
    action_space: spaces.Space,
    buffer_size: int,
    n_envs: int = 1,
    optimize_memory_usage: bool = False,
    memory_budget_gb: float | None = None,
) -> int:
    """Bytes a replay buffer of ``buffer_size`` transitions will take; refuse it beyond the budget.

    Counts what SB3's replay buffers allocate: each observation at its dtype (for the token contract
    ``input_ids`` int32 and ``attention_mask`` int8), the next observation again unless
    ``optimize_memory_usage`` (which SB3 offers for array observations only, not for ``Dict`` ones), the
    action at its dtype (int64 for ``Discrete``), and the reward, done and timeout flags (float32 each).

    Args:
        observation_space: the env's observation space.
        action_space: the env's action space.
        buffer_size: transitions (SB3 keeps ``buffer_size // n_envs`` rows of ``n_envs``).
        n_envs: parallel environments.
        optimize_memory_usage: SB3's option to store observations once.
        memory_budget_gb: the most the buffer may take, in GB (1e9 bytes); ``None``: the RAM available now.

    Returns:
        The buffer's size in bytes.

    Raises:
        ValueError: naming the sizes, when the buffer would exceed the budget (or the available RAM), and the
            largest ``buffer_size`` that fits.
    """
    if buffer_size < 1 or n_envs < 1:
        raise ValueError(f"buffer_size and n_envs must be positive, got {buffer_size} and {n_envs}")
    if optimize_memory_usage and isinstance(observation_space, spaces.Dict):
        raise ValueError(
            "optimize_memory_usage is not available for Dict observations (SB3's DictReplayBuffer refuses it); "
            "leave it False and size buffer_size to the memory instead"
        )
    obs_bytes, described = _space_bytes(observation_space)
    action_bytes = get_action_dim(action_space) * np.dtype(action_space.dtype or np.float32).itemsize
    if np.dtype(action_space.dtype or np.float32) == np.float64:
        action_bytes //= 2  # SB3 stores float64 actions as float32
    per_transition = obs_bytes * (1 if optimize_memory_usage else 2) + action_bytes + 3 * 4
    rows = max(buffer_size // n_envs, 1) + (1 if optimize_memory_usage else 0)
    total = rows * n_envs * per_transition
    if memory_budget_gb is None:
        budget = available_bytes()
        what = f"the memory available now ({budget / 1e9:.2f} GB)"
    else:
        if not memory_budget_gb > 0:
            raise ValueError(f"memory_budget_gb must be positive, not {memory_budget_gb!r}")
        budget, what = int(memory_budget_gb * 1e9), f"the memory budget of {memory_budget_gb:g} GB"
    if total > budget:
        fits = max(budget // per_transition - (n_envs if optimize_memory_usage else 0), 0)
        twice = "" if optimize_memory_usage else ", twice with the next observation"
        raise ValueError(
            f"a replay buffer of {buffer_size:,} transitions takes {total / 1e9:.2f} GB, more than {what}: each "
            f"transition stores {per_transition:,} bytes ({' + '.join(described)} per observation{twice}, "
            f"{action_bytes} for the action, 12 for reward, done and timeout). Use buffer_size <= {fits:,}"
            f"{' or a larger memory_budget_gb' if memory_budget_gb is not None else ''}."
        )
    return total


class MemoryCheckedReplayBuffer(DictReplayBuffer):
    """SB3's ``DictReplayBuffer`` that checks its size against a memory budget before allocating.

    Args:
        memory_budget_gb: the most the buffer may take, in GB; ``None``: the RAM available when it is made.
            Pass it with ``replay_buffer_kwargs={"memory_budget_gb": 2.0}``.

    The other arguments are SB3's (the algorithm passes them). See :func:`check_replay_memory`.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        memory_budget_gb: float | None = None,
    ) -> None:
        self.memory_bytes = check_replay_memory(
            observation_space, action_space, buffer_size, n_envs, optimize_memory_usage, memory_budget_gb
        )
        self.memory_budget_gb = memory_budget_gb
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device,
            n_envs,
            optimize_memory_usage,
            handle_timeout_termination,
        )


LMReplayBuffer = MemoryCheckedReplayBuffer
"""The former name of :class:`MemoryCheckedReplayBuffer` (it holds nothing specific to language models)."""
