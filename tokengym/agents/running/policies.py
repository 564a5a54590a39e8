"""Policies for evaluation: a model name, a checkpoint or a run folder made into a policy ready to play.

:func:`load_policy` is how ``tokengym eval``, the evaluation at the end of ``tokengym train`` and the benchmarks
get a policy. One rule decides masks for all of them: where the environment offers ``action_masks()``, every
language-model actor-critic policy (the zero-shot model, and PPO, A2C, TRPO and MaskablePPO checkpoints alike) is
built as :class:`~tokengym.agents.lm.maskable.MaskableLMActorCriticPolicy`, which takes the masks in ``predict``.
Both policy classes hold the same weights under the same names, so a checkpoint of either loads into it. A
zero-shot baseline and a trained model are then scored under the same rules (``masks=False`` plays without).

Example:
    >>> loaded = load_policy("tiny", "TextNav-v0")                                  # doctest: +SKIP
    >>> type(loaded.policy).__name__, loaded.masks                                   # doctest: +SKIP
    ('MaskableLMActorCriticPolicy', 'applied')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokengym.agents.episodes import takes_action_masks
from tokengym.agents.lm.loading import resolve_model_path
from tokengym.agents.running.algorithms import (
    ALGORITHMS,
    MODULE_PREFIX,
    command_level_error,
    env_kwargs_for_model,
    has_action_masks,
    is_command_level,
    make_env,
)
from tokengym.agents.running.checkpoint import Checkpoint, CheckpointError, open_checkpoint
from tokengym.agents.running.splits import merge_env_kwargs

MASKS_APPLIED, MASKS_NONE, MASKS_OFF, MASKS_NOT_TAKEN = "applied", "none", "off", "not taken"
"""How a loaded policy plays the environment's action masks: ``applied`` (every step's ``predict`` gets them),
``none`` (the environment has no ``action_masks()``), ``off`` (asked to play without them), ``not taken`` (a
policy that cannot take masks, DQN's)."""

_ACTOR_CRITIC = ("ppo", "a2c", "trpo", "maskable_ppo")
"""Algorithms whose policy is a language-model actor-critic (the same weights as the maskable one)."""


@dataclass
class LoadedPolicy:
    """A policy ready for :func:`~tokengym.agents.running.evaluate.evaluate_policy_text`, and where it came from.

    Attributes:
        policy: the policy (evaluation mode).
        env_kwargs: the environment's arguments it plays under (a checkpoint's, updated with the caller's).
        model_name: the base model (``"tiny"``, a hub id or a folder).
        checkpoint: the checkpoint its weights come from, or ``None`` for a model as it is.
        masks: how it plays the environment's action masks (:data:`MASKS_APPLIED` and the others).
    """

    policy: Any
    env_kwargs: dict[str, Any]
    model_name: str
    checkpoint: Checkpoint | None
    masks: str = MASKS_NONE


def load_policy(model: str, env_id: str, env_kwargs: dict[str, Any] | None = None, masks: bool = True) -> LoadedPolicy:
    """A policy from a model name (``"tiny"``, hub id, model folder), a checkpoint folder, or a run folder.

    A checkpoint brings its algorithm's policy class, its policy settings and its environment arguments
    (``env_kwargs`` update them; ``game_kwargs`` option by option, so ``{"game_kwargs": {"split": "test"}}`` keeps
    the other game options it trained with); its weights load as tensors. A checkpoint whose reward runs code of
    its own (a ``module:function`` or file reference) is played only when ``env_kwargs`` name the reward: loading
    a checkpoint never runs code by itself.

    Example:
        >>> loaded = load_policy("runs/textnav", "TextNav-v0", {"max_turns": 10})           # doctest: +SKIP
        >>> loaded.masks, loaded.checkpoint.num_timesteps                                    # doctest: +SKIP
        ('applied', 4096)

    Args:
        model: ``"tiny"``, a hub id, a model folder, a checkpoint folder or a run folder (its newest checkpoint).
        env_id: the environment it is played on.
        env_kwargs: environment arguments (over the checkpoint's).
        masks: play with the environment's ``action_masks()`` where it has them (see the module docstring).

    Raises:
        CheckpointError: a damaged checkpoint, one trained on another environment, or one whose reward names
            code that ``env_kwargs`` do not name.
    """
    from stable_baselines3.common.utils import ConstantSchedule

    env_id = env_id.removeprefix(MODULE_PREFIX)
    env_kwargs = dict(env_kwargs or {})
    path = Path(model).expanduser()
    # A run folder gives its newest valid checkpoint (warning about newer damaged ones); a named one must be valid.
    ckpt = open_checkpoint(path) if path.exists() else None
    if ckpt is not None:
        if ckpt.meta["env_id"] != env_id:
            raise CheckpointError(
                f"checkpoint {str(ckpt.path)!r} was trained on {ckpt.meta['env_id']}, not {env_id}; evaluate it on "
                f"{ckpt.meta['env_id']} (other settings such as --split can differ)"
            )
        algo_name = ckpt.meta["algorithm"]
        if algo_name not in ALGORITHMS:
            raise CheckpointError(f"checkpoint {str(ckpt.path)!r} names an unknown algorithm {algo_name!r}")
        _refuse_stored_code(ckpt, env_kwargs)
        model_name = ckpt.meta["model_name"]
        policy_kwargs = {**ckpt.meta["policy_kwargs"], "model_name": model_name}
        merged = merge_env_kwargs(ckpt.meta["env_kwargs"], env_kwargs)
    else:
        resolve_model_path(model)  # a model folder that is missing or holds no model: said plainly
        algo_name, policy_kwargs, model_name = "ppo", {"model_name": model}, model
        merged = env_kwargs
    merged = env_kwargs_for_model(model_name, merged)
    env = make_env(env_id, merged)
    try:
        if is_command_level(env):
            raise command_level_error(env_id)
        masked_env = has_action_masks(env)
        policy_cls = ALGORITHMS[algo_name].policy_class()
        if masks and masked_env and algo_name in _ACTOR_CRITIC:
            policy_cls = ALGORITHMS["maskable_ppo"].policy_class()
        try:
            policy = policy_cls(env.observation_space, env.action_space, ConstantSchedule(0.0), **policy_kwargs)
        except TypeError as err:
            if ckpt is None:
                raise
            raise CheckpointError(
                f"checkpoint {str(ckpt.path)!r}: its policy_kwargs do not fit {policy_cls.__name__} ({err})"
            ) from err
    finally:
        env.close()
    if ckpt is not None:
        if ckpt.meta["vocab_size"] != int(env.action_space.n):
            raise CheckpointError(
                f"checkpoint {str(ckpt.path)!r} has {ckpt.meta['vocab_size']} actions, the environment "
                f"{env.action_space.n}"
            )
        try:
            policy.load_state_dict(ckpt.policy_state, strict=True)
        except RuntimeError as err:
            why = " ".join(str(err).split())  # torch lists the mismatches on several lines
            raise CheckpointError(f"checkpoint {str(ckpt.path)!r} does not fit its policy: {why}") from err
    policy.set_training_mode(False)
    if not masked_env:
        how = MASKS_NONE
    elif not masks:
        how = MASKS_OFF
    else:
        how = MASKS_APPLIED if takes_action_masks(policy) else MASKS_NOT_TAKEN
    return LoadedPolicy(policy, merged, model_name, ckpt, how)


def _refuse_stored_code(ckpt: Checkpoint, env_kwargs: dict[str, Any]) -> None:
    """A checkpoint's reward that names code (a module or a file) runs only when the caller names a reward."""
    from tokengym.rewards.external import spec_references

    references = spec_references(ckpt.meta["env_kwargs"].get("reward"))
    if references and "reward" not in env_kwargs:
        raise CheckpointError(
            f"checkpoint {str(ckpt.path)!r} was trained with a reward that runs your code ({', '.join(references)}); "
            "a checkpoint never runs code by itself: name the reward to score with, for example "
            f"--reward {ckpt.meta['env_kwargs']['reward']!r} (env_kwargs={{'reward': ...}} in Python)"
        )
