"""Rollout buffers whose minibatches keep each episode's transitions together.

SB3 shuffles single transitions into minibatches. For a language-model policy that is the slow order: the
transitions of one episode are prefixes of one sequence, and :func:`~tokengym.agents.lm.prefixes.last_token_states`
scores all prefixes of a sequence with one forward pass, but only for those prefixes that land in the same
minibatch. A minibatch of 128 shuffled transitions touches ~25 episodes (25 sequences to encode); in episode
order it touches ~7. These buffers shuffle whole episodes instead (a seeded permutation, as SB3's), then cut the
sequence into minibatches of the requested size; an episode may straddle two minibatches.

Plug them in with SB3's own hook::

    PPO(LMActorCriticPolicy, env, rollout_buffer_class=EpisodeDictRolloutBuffer)
    MaskablePPO(MaskableLMActorCriticPolicy, env, rollout_buffer_class=EpisodeMaskableDictRolloutBuffer)

Advantages are still normalised per minibatch by the algorithm; the gradient of an epoch is the same sum, in
another order.

Step shapers. These buffers are also where the agent's side of the reward and NLPO's masks enter a rollout. A
*step shaper* registered on the buffer (:meth:`StepShaping.add_step_shaper`) is called inside ``add()`` with the
step as the algorithm hands it over (:class:`RolloutStep`: observations, actions, rewards, episode starts, values,
log-probabilities, action masks) and may replace its rewards and its masks before they are stored.
:class:`~tokengym.agents.lm.kl.KLPenaltyCallback` subtracts its penalty there and
:class:`~tokengym.agents.lm.nlpo.NLPOMaskCallback` stores the masks the rollout sampled under; each registers its
shaper when ``learn`` sets it up and removes it when training ends. ``add()``'s arguments are the buffers' public
interface (every on-policy algorithm calls it with them), so these callbacks need no access to the local
variables of ``collect_rollouts``, which SB3 exposes to callbacks without promising their names or whether
editing them in place reaches the buffer. The buffers to use are therefore these ones: a callback that needs
step shapers refuses any other buffer and names them (:func:`require_step_shaping`).

Library internals relied on (checked with stable-baselines3 2.x and sb3-contrib 2.x; both are bounded below 3):

* ``_get_samples(batch_inds, env)``, private in both libraries, is overridden twice: by the episode order
  (``get()`` has no public way to choose the order of its indices) and by the packed masks (nor to change what a
  sample holds). Overriding ``get()`` instead would copy its preparation (``swap_and_flatten`` of every array,
  ``generator_ready``), which is more of the same internals.
* ``MaskableDictRolloutBuffer.get`` flattens whatever array ``action_masks`` holds, so the packed bits pass
  through it, and ``MaskableDictRolloutBuffer.reset`` only sizes and allocates the float32 masks, which is why the
  packed buffer may skip it (see :meth:`PackedMaskableDictRolloutBuffer.reset`).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableDictRolloutBufferSamples
from stable_baselines3.common.buffers import DictRolloutBuffer, RolloutBuffer


@dataclass
class RolloutStep:
    """One step of every environment, as the algorithm hands it to the rollout buffer's ``add()``.

    Rows are environments. A step shaper may rebind or edit ``reward`` and ``action_masks`` (they are the
    buffer's own copies); the buffer stores those two as the shapers leave them and the other fields as given.

    Attributes:
        obs: the observations the actions were taken on, numpy arrays ``(n_envs, ...)`` by key.
        action: the actions, numpy ``(n_envs, 1)`` for a ``Discrete`` space.
        reward: numpy ``(n_envs,)``: the environments' rewards, with ``gamma * V(terminal observation)`` already
            added where a time limit truncated the episode (SB3 bootstraps those before ``add()``).
        episode_start: numpy ``(n_envs,)``, 1 where the observation starts an episode.
        value: the critic's values, a tensor ``(n_envs, 1)``.
        log_prob: the log-probability the policy sampled each action with, a tensor ``(n_envs,)``.
        action_masks: numpy ``(n_envs, mask_dims)``, nonzero where an action was allowed, or ``None`` (no masks:
            every action allowed). Only buffers that store masks accept masks from a shaper.
    """

    obs: dict[str, np.ndarray]
    action: np.ndarray
    reward: np.ndarray
    episode_start: np.ndarray
    value: torch.Tensor
    log_prob: torch.Tensor
    action_masks: np.ndarray | None


#: ``shaper(step)``: edits ``step.reward`` and ``step.action_masks`` of a :class:`RolloutStep` before they are stored.
StepShaper = Callable[[RolloutStep], None]


class StepShaping:
    """The buffers' extension point: step shapers that change each step's rewards and masks before they are stored.

    Every buffer of this module has it. ``add()`` takes SB3's arguments (and ``action_masks``, as sb3-contrib's
    maskable buffers do); when shapers are registered it calls each, in registration order, with one
    :class:`RolloutStep` and stores the rewards and masks they leave. Shapers stay registered across ``reset()``
    (the start of every rollout) until :meth:`remove_step_shaper`.

    Order with time-limit bootstrapping: SB3's ``collect_rollouts`` (and MaskablePPO's) runs the step callbacks,
    then adds ``gamma * V(terminal observation)`` to the reward of each step a time limit truncated, then calls
    ``add()``. A shaper therefore sees the bootstrapped reward; an additive change (a penalty) stores the same sum
    as it would have before the bootstrap, to float32 rounding.

    Example:
        >>> import gymnasium as gym, numpy as np, torch, tokengym
        >>> env = gym.make("TokenSubset-v0")
        >>> buffer = EpisodeDictRolloutBuffer(4, env.observation_space, env.action_space, n_envs=1)
        >>> def halve(step): step.reward = step.reward / 2
        >>> buffer.add_step_shaper(halve)
        >>> obs = {k: v[None] for k, v in env.observation_space.sample().items()}
        >>> buffer.add(obs, np.zeros((1, 1)), np.ones(1), np.ones(1), torch.zeros(1, 1), torch.zeros(1))
        >>> float(buffer.rewards[0, 0])
        0.5
        >>> buffer.remove_step_shaper(halve)
    """

    #: Whether the buffer stores action masks (and so accepts masks from a shaper).
    stores_action_masks: ClassVar[bool] = False
    _step_shapers: tuple[StepShaper, ...] = ()

    @property
    def step_shapers(self) -> tuple[StepShaper, ...]:
        """The registered shapers, in the order ``add()`` applies them."""
        return self._step_shapers

    def add_step_shaper(self, shaper: StepShaper) -> None:
        """Apply ``shaper`` to every later step; registering a shaper twice keeps one registration."""
        if not callable(shaper):
            raise TypeError(f"a step shaper is a callable taking a RolloutStep, not {type(shaper).__name__}")
        if shaper not in self._step_shapers:
            self._step_shapers = (*self._step_shapers, shaper)

    def remove_step_shaper(self, shaper: StepShaper) -> None:
        """Stop applying ``shaper``; removing one that is not registered does nothing."""
        self._step_shapers = tuple(s for s in self._step_shapers if s != shaper)

    def add(
        self,
        obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        episode_start: np.ndarray,
        value: torch.Tensor,
        log_prob: torch.Tensor,
        action_masks: np.ndarray | None = None,
    ) -> None:
        if self._step_shapers:
            masks = None if action_masks is None else np.array(action_masks, copy=True)
            step = RolloutStep(obs, action, np.array(reward, copy=True), episode_start, value, log_prob, masks)
            for shaper in self._step_shapers:
                shaper(step)
            reward, action_masks = step.reward, step.action_masks
        if action_masks is None:
            super().add(obs, action, reward, episode_start, value, log_prob)  # type: ignore[misc]
        elif self.stores_action_masks:
            super().add(obs, action, reward, episode_start, value, log_prob, action_masks=action_masks)  # type: ignore[misc]
        else:
            raise ValueError(
                f"{type(self).__name__} stores no action masks; use EpisodeMaskableDictRolloutBuffer (MaskablePPO)"
            )


def require_step_shaping(buffer: RolloutBuffer | None, user: str, masks: bool = False) -> StepShaping:
    """``buffer`` if it takes step shapers (and stores masks, with ``masks``), else an error that names the buffers.

    Args:
        buffer: the model's ``rollout_buffer`` (``None``: the model has none).
        user: who needs it, for the message (a callback's name).
        masks: the shaper sets action masks, so the buffer must store them.
    """
    if isinstance(buffer, StepShaping) and (buffer.stores_action_masks or not masks):
        return buffer
    if buffer is None:
        raise ValueError(
            f"{user} works with on-policy algorithms (PPO, A2C, TRPO, MaskablePPO): the model has no rollout buffer"
        )
    if masks:
        use = "rollout_buffer_class=EpisodeMaskableDictRolloutBuffer (or PackedMaskableDictRolloutBuffer)"
    else:
        use = (
            "rollout_buffer_class=EpisodeDictRolloutBuffer (PPO, A2C, TRPO) or "
            "rollout_buffer_class=EpisodeMaskableDictRolloutBuffer (MaskablePPO)"
        )
    raise ValueError(
        f"{user} changes each step as the rollout buffer stores it, through the step shapers of tokengym's buffers, "
        f"and {type(buffer).__name__} has none: build the model with {use}, from tokengym.agents"
    )


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


def group_advantages(
    rewards: np.ndarray,
    episode_starts: np.ndarray,
    dones: np.ndarray,
    obs_key: Callable[[int, int], bytes],
    gamma: float,
    turns: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Advantages against the other episodes that began from the same observation (leave-one-out means).

    Episodes are read from the buffer's layout: ``(n_steps, n_envs)`` ``rewards`` and ``episode_starts``, and
    ``dones`` of the step after the last (``(n_envs,)``). Only episodes that start and end inside the buffer
    take part; a group needs two of them or more. For episode ``i`` of a group, the advantage of its step
    ``t`` in its turn ``k`` is its discounted return-to-go ``G_t`` less the mean, over the other members that
    reached a turn ``k``, of their return-to-go from the start of that turn. Without ``turns`` an episode
    is one turn, and the baseline is the others' whole returns ``G_0``. Either way the baseline does not depend
    on episode ``i``'s actions, so the estimate stays unbiased; per turn, it also does not charge a late turn
    with the rewards the others earned in earlier ones (in a conversation rewarded at every turn, the whole
    returns would make every later turn's advantage strongly negative). Steps of a turn that no other member
    reached keep the caller's estimate.

    Args:
        obs_key: ``obs_key(t, e)`` identifies the observation at step ``t`` of env ``e`` (asked only where an
            episode starts).
        turns: ``(n_steps, n_envs)`` flags of the steps that begin a turn (see :func:`turn_starts`);
            episode starts always begin one.

    Returns:
        ``(advantages, grouped)``: advantages in the buffer's layout, and a boolean mask of the steps that got
        one (the others are left to the caller's estimate).
    """
    n_steps, n_envs = rewards.shape
    advantages = np.zeros((n_steps, n_envs), dtype=np.float32)
    grouped = np.zeros((n_steps, n_envs), dtype=bool)
    groups: dict[bytes, list[tuple[int, int, np.ndarray, np.ndarray]]] = {}
    for env in range(n_envs):
        starts = np.flatnonzero(episode_starts[:, env])
        for i, start in enumerate(starts):
            end = int(starts[i + 1]) if i + 1 < len(starts) else n_steps
            if i + 1 == len(starts) and not dones[env]:
                continue  # runs past the buffer: its return is not known yet
            to_go = np.zeros(end - start, dtype=np.float64)
            running = 0.0
            for k in range(end - start - 1, -1, -1):
                running = float(rewards[start + k, env]) + gamma * running
                to_go[k] = running
            offsets = np.zeros(1, dtype=np.int64) if turns is None else np.flatnonzero(turns[start:end, env])
            if not len(offsets) or offsets[0] != 0:
                offsets = np.concatenate([[0], offsets])
            groups.setdefault(obs_key(int(start), env), []).append((env, int(start), to_go, offsets))
    for members in groups.values():
        if len(members) < 2:
            continue
        for i, (env, start, to_go, offsets) in enumerate(members):
            bounds = np.append(offsets, len(to_go))
            for k in range(len(offsets)):
                others = [m[2][m[3][k]] for j, m in enumerate(members) if j != i and len(m[3]) > k]
                if not others:
                    break  # no other member reached this turn (nor any later one)
                lo, hi = start + int(bounds[k]), start + int(bounds[k + 1])
                advantages[lo:hi, env] = to_go[bounds[k] : bounds[k + 1]] - float(np.mean(others))
                grouped[lo:hi, env] = True
    return advantages, grouped


def turn_starts(observations: dict[str, np.ndarray], actions: np.ndarray, episode_starts: np.ndarray) -> np.ndarray:
    """Flags of the buffer's steps that begin a turn of a multi-turn token-level episode.

    A token environment lays out ``[prompt | completion so far | pad]``: within a turn, each step's context is
    the last one's with the last action appended. A step whose context is not (the environment laid out a new
    prompt: the user's answer, the game's response) begins a turn, as does every episode start and the buffer's
    first step. Observations without ``input_ids`` and ``attention_mask`` make each episode one turn.

    Args:
        observations: the buffer's ``(n_steps, n_envs, ...)`` observation arrays.
        actions: ``(n_steps, n_envs, 1)`` or ``(n_steps, n_envs)`` actions.
        episode_starts: ``(n_steps, n_envs)`` flags.
    """
    starts = episode_starts.astype(bool).copy()
    starts[0] = True
    ids, mask = observations.get("input_ids"), observations.get("attention_mask")
    if ids is None or mask is None:
        return starts
    n_steps, n_envs, width = ids.shape
    lengths = mask.sum(axis=-1).astype(np.int64)  # (n_steps, n_envs)
    tokens = actions.reshape(n_steps, n_envs).astype(np.int64)
    before, after, n = ids[:-1], ids[1:], lengths[:-1]
    # Step t + 1 continues step t: one token longer, the same first n tokens, and the action at position n.
    same_prefix = np.all((before == after) | (np.arange(width) >= n[..., None]), axis=-1)
    appended = np.take_along_axis(after, np.minimum(n, width - 1)[..., None], axis=-1)[..., 0] == tokens[:-1]
    continues = (lengths[1:] == n + 1) & (n < width) & same_prefix & appended
    starts[1:] |= ~continues
    return starts


class _GroupBaseline:
    """``baseline="group"``: advantages from sibling episodes on the same prompt where the buffer holds them.

    Serve prompts in groups (:class:`~tokengym.envs.wrappers.RepeatTask`) and pass
    ``rollout_buffer_kwargs={"baseline": "group"}``. In multi-turn episodes each turn is judged against the
    siblings' same turn (:func:`group_advantages`, :func:`turn_starts`). Steps of episodes with no complete
    sibling in the buffer, or of a turn no sibling reached, keep SB3's critic-based (GAE) advantage. The
    critic's targets (``returns``) are SB3's either way, so the value head still learns and still serves the
    other steps. ``grouped_fraction`` records the share of steps of the last rollout that used the group
    baseline.
    """

    rewards: np.ndarray
    episode_starts: np.ndarray
    observations: dict[str, np.ndarray]
    actions: np.ndarray
    advantages: np.ndarray
    gamma: float

    def __init__(self, *args: Any, baseline: str = "critic", **kwargs: Any) -> None:
        if baseline not in ("critic", "group"):
            raise ValueError(f"baseline must be 'critic' (SB3's GAE) or 'group' (sibling episodes), not {baseline!r}")
        self.baseline = baseline
        self.grouped_fraction = 0.0
        super().__init__(*args, **kwargs)

    def compute_returns_and_advantage(self, last_values: Any, dones: np.ndarray) -> None:
        super().compute_returns_and_advantage(last_values, dones)  # type: ignore[misc]
        if self.baseline != "group":
            return

        def obs_key(t: int, e: int) -> bytes:
            return b"".join(self.observations[k][t, e].tobytes() for k in sorted(self.observations))

        turns = turn_starts(self.observations, self.actions, self.episode_starts)
        advantages, grouped = group_advantages(
            self.rewards, self.episode_starts, np.asarray(dones).reshape(-1), obs_key, self.gamma, turns
        )
        self.advantages[grouped] = advantages[grouped]
        self.grouped_fraction = float(grouped.mean())


class EpisodeDictRolloutBuffer(StepShaping, _GroupBaseline, _EpisodeOrder, DictRolloutBuffer):
    """SB3's ``DictRolloutBuffer`` with episode-ordered minibatches (PPO, A2C, TRPO).

    ``baseline="group"`` (through ``rollout_buffer_kwargs``) judges each episode against its siblings on the
    same prompt: see :class:`_GroupBaseline`. Step shapers: see :class:`StepShaping`.
    """


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


class _PackedMasks(MaskableDictRolloutBuffer):
    """The storage of :class:`PackedMaskableDictRolloutBuffer`: masks packed to bits, unpacked per minibatch."""

    def reset(self) -> None:
        """Start an empty rollout: all actions allowed until a mask arrives (as the parent's array of ones).

        One link of the chain is skipped: ``MaskableDictRolloutBuffer.reset``. All it does (sb3-contrib 2.x) is
        compute ``mask_dims`` (as :func:`mask_width` does) and allocate ``n_steps x n_envs x mask_dims`` float32
        ones before calling its parent; with a language model's vocabulary that is the largest array of the
        rollout, the one this buffer exists to avoid, and calling it would allocate it (16 MiB for 8 x 128 steps
        x 4,096 tokens, 196 MiB for GPT-2's vocabulary) at the start of every rollout only to drop it.
        ``super(MaskableDictRolloutBuffer, self)`` resumes the chain right after it, so every other class of the
        instance's method resolution order (mixins included, ``DictRolloutBuffer`` down to ``BaseBuffer``) resets.
        """
        self.mask_dims = mask_width(self.action_space)
        self.action_masks = np.full((self.buffer_size, self.n_envs, (self.mask_dims + 7) // 8), 0xFF, np.uint8)
        super(MaskableDictRolloutBuffer, self).reset()

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


class PackedMaskableDictRolloutBuffer(StepShaping, _PackedMasks):
    """sb3-contrib's ``MaskableDictRolloutBuffer`` with its action masks stored bit-packed.

    The parent keeps one float32 per action per transition, ``n_steps x n_envs x vocab x 4`` bytes: with a
    language model's vocabulary, the largest array of the rollout. This buffer keeps one bit per action
    (``np.packbits``), 32x less, and unpacks each minibatch to the parent's float32 layout, so the policy
    receives what the parent would give it. Measured (``benchmarks/update_cost.py``) for 8 environments x 128
    steps x 4,096 tokens on Dialogue-v0: 16 MiB of float32 masks become 0.5 MiB, against 0.86 MiB for the
    observations themselves. Masks given as bools, 0/1 integers or floats are stored as ``mask != 0``.

    Step shapers (:class:`StepShaping`) run before the masks are packed: the masks they leave are the ones
    stored, and the ones the update trains with.
    """

    stores_action_masks = True


class EpisodeMaskableDictRolloutBuffer(_GroupBaseline, _EpisodeOrder, PackedMaskableDictRolloutBuffer):
    """Episode-ordered minibatches and bit-packed masks (MaskablePPO): see :class:`PackedMaskableDictRolloutBuffer`."""
