"""The algorithms of ``tokengym train``, and the checks that an environment suits one.

Each row of :data:`ALGORITHMS` names the SB3 (or sb3-contrib) algorithm, the language-model policy it trains
and the rollout buffer it uses, and the constructor arguments it takes from a
:class:`~tokengym.agents.running.config.TrainConfig`; :func:`build_model` builds the model from them, for
``train()``, the text-game presets and the benchmarks alike.
Modules written alongside (MaskablePPO's and DQN's policies) are imported only when their row is used, so a
missing one makes that algorithm unavailable, not the table.

Example:
    >>> from tokengym.agents.running.algorithms import ALGORITHMS
    >>> ALGORITHMS["ppo"].summary
    'SB3 PPO + LMActorCriticPolicy'
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from tokengym.agents.lm.loading import model_names
from tokengym.agents.running.checkpoint import same_model_key

if TYPE_CHECKING:
    from tokengym.agents.running.config import TrainConfig

MODULE_PREFIX = "tokengym:"


class AlgorithmUnavailableError(RuntimeError):
    """The algorithm's module is not part of this installation."""


# ------------------------------------------------------------------------------------------ algorithm table


@dataclass(frozen=True)
class Algorithm:
    """One row of the algorithm table: how ``tokengym train --algo NAME`` builds its model.

    Attributes:
        name: the ``--algo`` name.
        summary: algorithm and policy, in words.
        module: the module its classes come from (checked by :meth:`available`).
        on_policy: collects rollouts and updates from them (the KL penalty and NLPO need this).
        minibatches: cuts each rollout into ``batch_size`` minibatches, which must divide it.
        masked: takes action masks (MaskablePPO).
        algorithm_class: returns the SB3 algorithm class (imported on call).
        policy_class: returns the policy class (imported on call), also to rebuild a policy from a checkpoint.
        arguments: the algorithm's constructor arguments that come from a configuration.
        trainer: for an algorithm that is not an SB3 class (the teaching algorithms of
            :mod:`tokengym.agents.teaching`), returns the function that runs the whole training run:
            ``trainer()(cfg, callbacks, log)`` returns a :class:`~tokengym.agents.running.train.TrainResult`;
            ``None`` for SB3 algorithms, which :func:`build_model` builds.
    """

    name: str
    summary: str
    module: str
    on_policy: bool
    minibatches: bool
    masked: bool
    algorithm_class: Callable[[], type]
    policy_class: Callable[[], type]
    arguments: Callable[[TrainConfig], dict[str, Any]]
    trainer: Callable[[], Callable[..., Any]] | None = None

    def available(self) -> tuple[bool, str]:
        """Whether its module can be imported here, and why not."""
        try:
            if importlib.util.find_spec(self.module) is None:
                return False, f"{self.module} is not installed"
        except ImportError as err:
            return False, str(err)
        return True, ""


def _import(algo: str, module: str, name: str) -> Callable[[], Any]:
    """A function that imports ``module.name`` when called, with an error naming the algorithm."""

    def load() -> Any:
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as err:
            raise AlgorithmUnavailableError(
                f"algorithm {algo!r} needs {module}.{name}, which is unavailable: {err}"
            ) from err

    return load


def policy_kwargs_for(cfg: TrainConfig) -> dict[str, Any]:
    """The policy's JSON-safe keyword arguments (stored in checkpoints to rebuild the policy)."""
    kwargs: dict[str, Any] = {"model_name": same_model_key(cfg.model_name)}
    if cfg.algo != "dqn":
        kwargs["value_lr_scale"] = cfg.value_lr_scale
    if cfg.temperature != 1.0:
        kwargs["temperature"] = cfg.temperature
    return kwargs


def _on_policy(cfg: TrainConfig, buffer: str, **more: Any) -> dict[str, Any]:
    """Arguments every on-policy algorithm takes, with the episode buffer ``buffer`` of lm/buffers.py."""
    return {
        "learning_rate": cfg.learning_rate,
        "n_steps": cfg.n_steps,
        "gamma": cfg.gamma,
        "gae_lambda": cfg.gae_lambda,
        "seed": cfg.seed,
        "policy_kwargs": policy_kwargs_for(cfg),
        "rollout_buffer_class": _import(cfg.algo, "tokengym.agents.lm.buffers", buffer)(),
        "rollout_buffer_kwargs": {"baseline": "group" if cfg.group_size > 1 else "critic"},
        **more,
    }


def _ppo_arguments(cfg: TrainConfig) -> dict[str, Any]:
    buffer = "EpisodeMaskableDictRolloutBuffer" if cfg.algo == "maskable_ppo" else "EpisodeDictRolloutBuffer"
    return _on_policy(
        cfg,
        buffer,
        batch_size=cfg.batch_size,
        n_epochs=cfg.n_epochs,
        ent_coef=cfg.ent_coef,
        normalize_advantage=cfg.normalize_advantage,
    )


def _a2c_arguments(cfg: TrainConfig) -> dict[str, Any]:
    return _on_policy(cfg, "EpisodeDictRolloutBuffer", ent_coef=cfg.ent_coef)


def _trpo_arguments(cfg: TrainConfig) -> dict[str, Any]:
    # The policy itself switches to twice-differentiable attention where TRPO needs it (get_distribution).
    return _on_policy(
        cfg,
        "EpisodeDictRolloutBuffer",
        batch_size=cfg.batch_size,
        normalize_advantage=cfg.normalize_advantage,
        cg_max_steps=cfg.cg_max_steps,
        n_critic_updates=cfg.n_critic_updates,
    )


def _dqn_arguments(cfg: TrainConfig) -> dict[str, Any]:
    return {
        "learning_rate": cfg.learning_rate,
        "buffer_size": cfg.buffer_size,
        "learning_starts": cfg.learning_starts,
        "train_freq": cfg.train_freq,
        "gradient_steps": cfg.gradient_steps,
        "target_update_interval": cfg.target_update_interval,
        "batch_size": cfg.batch_size,
        "gamma": cfg.gamma,
        "seed": cfg.seed,
        "policy_kwargs": policy_kwargs_for(cfg),
    }


ALGORITHMS: dict[str, Algorithm] = {
    "ppo": Algorithm(
        "ppo",
        "SB3 PPO + LMActorCriticPolicy",
        "stable_baselines3",
        True,
        True,
        False,
        _import("ppo", "stable_baselines3", "PPO"),
        _import("ppo", "tokengym.agents.lm.policy", "LMActorCriticPolicy"),
        _ppo_arguments,
    ),
    "a2c": Algorithm(
        "a2c",
        "SB3 A2C + LMActorCriticPolicy",
        "stable_baselines3",
        True,
        False,
        False,
        _import("a2c", "stable_baselines3", "A2C"),
        _import("a2c", "tokengym.agents.lm.policy", "LMActorCriticPolicy"),
        _a2c_arguments,
    ),
    "trpo": Algorithm(
        "trpo",
        "sb3-contrib TRPO (LMTRPO: one backward pass per gradient) + LMActorCriticPolicy",
        "sb3_contrib",
        True,
        True,
        False,
        _import("trpo", "tokengym.agents.lm.trpo", "LMTRPO"),
        _import("trpo", "tokengym.agents.lm.policy", "LMActorCriticPolicy"),
        _trpo_arguments,
    ),
    "maskable_ppo": Algorithm(
        "maskable_ppo",
        "sb3-contrib MaskablePPO + MaskableLMActorCriticPolicy (action_masks() or NLPO top-p masks)",
        "tokengym.agents.lm.maskable",
        True,
        True,
        True,
        _import("maskable_ppo", "sb3_contrib", "MaskablePPO"),
        _import("maskable_ppo", "tokengym.agents.lm.maskable", "MaskableLMActorCriticPolicy"),
        _ppo_arguments,
    ),
    "dqn": Algorithm(
        "dqn",
        "TextDQN + LMDQNPolicy (off-policy, replay buffer)",
        "tokengym.agents.lm.dqn",
        False,
        False,
        False,
        _import("dqn", "tokengym.agents.lm.dqn", "TextDQN"),
        _import("dqn", "tokengym.agents.lm.dqn", "LMDQNPolicy"),
        _dqn_arguments,
    ),
    # Teaching algorithms: one readable file each, run by their own trainer (bring your own algorithm this way).
    "reinforce": Algorithm(
        "reinforce",
        "REINFORCE on the LM (tokengym.agents.teaching; baseline: running mean, RLOO with --group-size)",
        "tokengym.agents.teaching.reinforce",
        True,
        False,
        False,
        _import("reinforce", "tokengym.agents.teaching.reinforce", "train_reinforce"),
        _import("reinforce", "tokengym.agents.lm.policy", "LMActorCriticPolicy"),
        lambda cfg: {},
        _import("reinforce", "tokengym.agents.teaching.runners", "run_reinforce"),
    ),
    "tabular_q": Algorithm(
        "tabular_q",
        "Watkins' tabular Q-learning on hashed observations of command-level games (tokengym.agents.teaching)",
        "tokengym.agents.teaching.tabular_q",
        False,
        False,
        False,
        _import("tabular_q", "tokengym.agents.teaching.tabular_q", "train_tabular_q"),
        _import("tabular_q", "tokengym.agents.teaching.tabular_q", "TabularQAgent"),
        lambda cfg: {},
        _import("tabular_q", "tokengym.agents.teaching.runners", "run_tabular_q"),
    ),
}
"""The algorithms ``tokengym train`` knows, by name."""


def build_model(
    cfg: TrainConfig,
    venv: Any,
    tensorboard_log: str | None = None,
    algorithm_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """The one way to build an algorithm with its language-model policy and buffer: ``train()``, the presets and
    the benchmarks all call it.

    Args:
        cfg: the configuration (algorithm, model, hyperparameters).
        venv: the vectorised environments (:func:`make_vec_envs`, or a caller's own).
        tensorboard_log: TensorBoard folder, or ``None``.
        algorithm_kwargs: more constructor arguments of the SB3 algorithm, applied last (for example ``device``,
            or ``rollout_buffer_kwargs`` of a preset); they replace the configuration's arguments of the same name.

    Raises:
        AlgorithmUnavailableError: the algorithm's module is missing.
        ValueError: a DQN replay buffer larger than the memory available (checked before allocating).
    """
    algo = ALGORITHMS[cfg.algo]
    if algo.trainer is not None:
        raise ValueError(f"{cfg.algo} is not an SB3 algorithm and has no model to build; train it with train(cfg)")
    kwargs = {**algo.arguments(cfg), "tensorboard_log": tensorboard_log, "verbose": 0, **(algorithm_kwargs or {})}
    if not algo.on_policy:
        from tokengym.agents.replay import check_replay_memory

        # Refuses, before anything is allocated, a replay buffer larger than the memory available.
        check_replay_memory(venv.observation_space, venv.action_space, kwargs["buffer_size"], n_envs=venv.num_envs)
    return algo.algorithm_class()(algo.policy_class(), venv, **kwargs)


# ------------------------------------------------------------------------------------------- environments


def env_kwargs_for_model(model_name: str, env_kwargs: dict[str, Any]) -> dict[str, Any]:
    """``env_kwargs`` with the model's tokenizer, so that actions are the model's tokens."""
    if "tokenizer" in env_kwargs or str(model_name) in model_names():
        return dict(env_kwargs)
    return {**env_kwargs, "tokenizer": str(model_name)}


def make_env(env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
    """``gym.make`` whose error for an argument the environment does not take lists the ones it does."""
    try:
        return gym.make(env_id, **env_kwargs)
    except TypeError as err:
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if unexpected is None:
            raise
        creator = gym.envs.registration.load_env_creator(gym.spec(env_id).entry_point)
        known = [p for p in inspect.signature(creator).parameters if p not in ("self", "render_mode")]
        raise ValueError(
            f"{env_id} takes no argument {unexpected.group(1)!r} (from --reward, --split or --env-kwargs); "
            f"it takes: {', '.join(known)}"
        ) from err


def is_command_level(env: gym.Env) -> bool:
    """Whether the environment is a command-level game (it lists its commands in the observation)."""
    space = env.observation_space
    return isinstance(space, gym.spaces.Dict) and "command_ids" in space.spaces


def command_level_error(env_id: str) -> ValueError:
    token_id = env_id.replace("Cmd-", "-")
    return ValueError(
        f"{env_id} is a command-level game: its observation lists the admissible commands (command_ids), not "
        f"the token contract that language-model policies read, so they cannot train on it. Train on the token-level "
        f'{token_id} instead, or use a classic agent with SB3\'s "MultiInputPolicy" (outside this command).'
    )


def has_action_masks(env: gym.Env) -> bool:
    return callable(getattr(env.unwrapped, "action_masks", None))


def check_env_for_algorithm(cfg: TrainConfig, env: gym.Env) -> None:
    """Refuse, with what to do instead, an environment whose spaces the algorithm cannot take."""
    if is_command_level(env):
        raise command_level_error(cfg.env_id)
    from tokengym.envs.core import TokenEnv

    if cfg.group_size > 1 and not isinstance(env.unwrapped, TokenEnv):
        raise ValueError(
            f"group_size={cfg.group_size} repeats prompts of token-level tokengym tasks; {cfg.env_id} is not one "
            "(use --group-size 1)"
        )
    if cfg.algo == "dqn" and has_action_masks(env):
        raise ValueError(
            f"{cfg.env_id} restricts actions with action_masks(), which DQN ignores: its TD target maximises over "
            "every token, legal or not, of the next state. Use --algo maskable_ppo (or ppo, which learns without "
            "the mask)."
        )
    if cfg.algo == "maskable_ppo" and not has_action_masks(env) and cfg.nlpo_top_p is None:
        raise ValueError(
            f"{cfg.env_id} has no action_masks(), which maskable_ppo needs; ask for NLPO masks with --nlpo-top-p "
            "(for example 0.9), or use --algo ppo"
        )


def make_vec_envs(cfg: TrainConfig, seed: int) -> Any:
    """``n_envs`` monitored copies, in this process or one subprocess each (``cfg.vec_env``)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

    from tokengym.envs.wrappers import RepeatTask

    grouped = cfg.group_size > 1
    subprocesses = cfg.vec_env == "subproc" or (cfg.vec_env == "auto" and cfg.n_envs > 1)
    return make_vec_env(
        # Subprocesses import the environment's module by this prefix, which registers tokengym's envs there.
        MODULE_PREFIX + cfg.env_id,
        n_envs=cfg.n_envs,
        seed=seed,
        env_kwargs=env_kwargs_for_model(cfg.model_name, cfg.stored_env_kwargs),
        vec_env_cls=SubprocVecEnv if subprocesses else DummyVecEnv,
        wrapper_class=RepeatTask if grouped else None,
        wrapper_kwargs={"times": cfg.group_size} if grouped else None,
    )
