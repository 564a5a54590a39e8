"""How each agent of a bench cell is trained into something that plays: built-in kinds and bring-your-own.

Every agent ends as a *predictor*, anything with SB3's ``predict(obs, state=None, episode_start=None,
deterministic=False)`` (and ``action_masks=`` where it takes the environment's masks), which the cell then scores
(:mod:`tokengym.bench.cells`). Nothing here has a training loop of its own: the language-model algorithms train
with :func:`tokengym.agents.running.train.train`, the supervised warm start with
:func:`~tokengym.agents.supervised.sft.supervised_finetune`, the command-level agents are
:func:`~tokengym.agents.running.presets.make_agent`'s presets, and every language-model policy is loaded for
scoring by :func:`~tokengym.agents.running.policies.load_policy`, under the rules of ``tokengym eval``.

**Bring your own algorithm** (``tokengym bench --agent REFERENCE``; ``module:Name`` or ``path/to/file.py:Name``):

- a subclass of SB3's ``BaseAlgorithm``: built as ``Name(policy, venv, seed=seed, verbose=0, **kwargs)`` on a
  ``DummyVecEnv`` of one training environment, trained with ``learn(budget, callback=...)`` and scored through
  its own ``predict``. ``policy`` is the class attribute ``bench_policy`` (default ``"MultiInputPolicy"``: every
  tokengym observation is a ``Dict``), ``kwargs`` the class attribute ``bench_kwargs`` (default none);
- or a callable ``train(env_fn, budget, seed) -> policy``: ``env_fn()`` makes a fresh training environment (a
  Gymnasium env; call it once or once per parallel copy), ``budget`` is the task's number of training steps,
  ``seed`` the cell's seed; the returned policy has SB3's ``predict``.

Either may set ``bench_levels`` (``("token",)``, ``("command",)`` or both, the default) to say which tasks it plays,
and ``bench_name`` (default: the attribute's name) for its row in the tables.

Example:
    >>> spec = load_custom_agent("tokengym.bench.example_agent:train")
    >>> spec.name, spec.kind, spec.levels
    ('command_bandit', 'custom', ('command',))
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from tokengym import references
from tokengym.bench.suite import LEVELS, AgentSpec, Cell, SuiteError

_MODULE_REFERENCE = references.MODULE_REFERENCE
_FILE_REFERENCE = re.compile(r"(?P<path>.+\.py):(?P<attr>[A-Za-z_]\w*)")
TRAIN_PARAMETERS = ("env_fn", "budget", "seed")
"""The parameters of the ``train`` callable protocol, in order."""


class AgentReferenceError(SuiteError):
    """A bring-your-own agent that cannot run: an import path that does not resolve, or an object that is not an
    algorithm (a ``BaseAlgorithm`` subclass or a ``train(env_fn, budget, seed)`` callable)."""


# ---------------------------------------------------------------------------------------- bring your own


def resolve_reference(reference: str) -> Any:
    """The object ``module:Name`` or ``path/to/file.py:Name`` names.

    Raises:
        AgentReferenceError: a malformed reference, a module or file that does not load, no such attribute.
    """
    text = reference.strip()
    file_match = _FILE_REFERENCE.fullmatch(text)
    if file_match is not None:
        module, attribute = _load_file(Path(file_match["path"]).expanduser(), text), file_match["attr"]
    elif _MODULE_REFERENCE.fullmatch(text):
        name, attribute = text.split(":")
        module = _import(name, text)
    else:
        raise AgentReferenceError(f"--agent {text!r}: write module:Name (an importable module) or path/to/file.py:Name")
    return references.attribute_of(module, attribute, label=f"--agent {text!r}", error=AgentReferenceError)


def _import(name: str, reference: str) -> Any:
    return references.import_module(name, label=f"--agent {reference!r}", error=AgentReferenceError)


def _load_file(path: Path, reference: str) -> Any:
    return references.load_file(
        path, label=f"--agent {reference!r}", error=AgentReferenceError, namespace="tokengym_bench_agent"
    )


def is_algorithm_class(value: Any) -> bool:
    from stable_baselines3.common.base_class import BaseAlgorithm

    return isinstance(value, type) and issubclass(value, BaseAlgorithm)


def load_custom_agent(reference: str) -> AgentSpec:
    """Check a bring-your-own agent (see the module's docstring) and describe it as an :class:`AgentSpec`.

    Raises:
        AgentReferenceError: it does not resolve, is neither protocol, or declares levels that do not exist.
    """
    value = resolve_reference(reference)
    attribute = reference.strip().rsplit(":", 1)[1]
    if is_algorithm_class(value):
        if inspect.isabstract(value):
            raise AgentReferenceError(f"--agent {reference!r}: {value.__name__} is abstract (it cannot be built)")
        what = f"SB3 algorithm {value.__module__}.{value.__name__}"
    elif isinstance(value, type):
        raise AgentReferenceError(
            f"--agent {reference!r}: class {value.__name__} is not an SB3 BaseAlgorithm subclass; give one, or a "
            "function train(env_fn, budget, seed) -> policy"
        )
    elif callable(value):
        try:
            params = list(inspect.signature(value).parameters)
        except (TypeError, ValueError):
            params = []
        if params[:3] != list(TRAIN_PARAMETERS):
            raise AgentReferenceError(
                f"--agent {reference!r}: a callable agent is train(env_fn, budget, seed) -> policy; "
                f"{attribute} takes ({', '.join(params)})"
            )
        what = f"train(env_fn, budget, seed) from {getattr(value, '__module__', '?')}"
    else:
        raise AgentReferenceError(
            f"--agent {reference!r} names a {type(value).__name__}, not an algorithm (an SB3 BaseAlgorithm subclass "
            "or a function train(env_fn, budget, seed) -> policy)"
        )
    levels = tuple(getattr(value, "bench_levels", LEVELS))
    if not levels or any(level not in LEVELS for level in levels):
        raise AgentReferenceError(f"--agent {reference!r}: bench_levels must list some of {', '.join(LEVELS)}")
    name = str(getattr(value, "bench_name", attribute))
    return AgentSpec(name, "custom", what, reference=reference.strip(), custom_levels=levels)


# ------------------------------------------------------------------------------------- learning curves


@dataclass
class Curve:
    """Training episodes as they ended: the step count then, and the episode's return."""

    steps: list[int] = field(default_factory=list)
    returns: list[float] = field(default_factory=list)

    def points(self) -> list[list[float]]:
        return [[int(s), float(r)] for s, r in zip(self.steps, self.returns, strict=True)]


def curve_callback(curve: Curve) -> Any:
    """An SB3 callback that adds each training episode's return to ``curve`` (summed from the rewards, so it needs
    no ``Monitor``)."""
    from stable_baselines3.common.callbacks import BaseCallback

    class CurveCallback(BaseCallback):
        def _init_callback(self) -> None:
            self._running = np.zeros(self.training_env.num_envs)

        def _on_step(self) -> bool:
            self._running += np.asarray(self.locals["rewards"], dtype=float)
            for i in np.flatnonzero(self.locals["dones"]):
                curve.steps.append(int(self.num_timesteps))
                curve.returns.append(float(self._running[i]))
                self._running[i] = 0.0
            return True

    return CurveCallback()


class EpisodeRecorder(gym.Wrapper):
    """Adds every ended episode's return to a shared :class:`Curve`, counting steps over all copies (the learning
    curve of a ``train(env_fn, budget, seed)`` agent)."""

    def __init__(self, env: gym.Env, curve: Curve, counter: list[int]) -> None:
        super().__init__(env)
        self.curve, self.counter, self._return = curve, counter, 0.0

    def reset(self, **kwargs: Any) -> Any:
        self._return = 0.0
        return self.env.reset(**kwargs)

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.counter[0] += 1
        self._return += float(reward)
        if terminated or truncated:
            self.curve.steps.append(self.counter[0])
            self.curve.returns.append(self._return)
        return obs, reward, terminated, truncated, info


# ---------------------------------------------------------------------------------------------- training


@dataclass
class Trained:
    """What an agent became: a predictor, the environment arguments it is scored under, its curve and steps."""

    predictor: Any
    env_kwargs: dict[str, Any]
    curve: Curve
    num_timesteps: int = 0


def train_agent(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    """Train ``cell``'s agent (in the scratch folder ``work``) and give it back ready to score on ``eval_kwargs``."""
    kind = cell.agent.kind
    builders: dict[str, Callable[[Cell, dict[str, Any], Path], Trained]] = {
        "random": _random,
        "zero_shot": _zero_shot,
        "sft": _sft,
        "train": _train,
        "command": _command,
        "custom": _custom,
    }
    return builders[kind](cell, eval_kwargs, work)


def _language_model(model: str, cell: Cell, eval_kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from tokengym.agents.running.policies import load_policy

    loaded = load_policy(model, cell.plan.task.env_id, eval_kwargs)
    if hasattr(loaded.policy, "temperature"):
        loaded.policy.temperature = cell.plan.task.temperature  # every language model samples alike on a task
    return loaded.policy, loaded.env_kwargs


def _random(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    if cell.plan.task.level == "command":
        from tokengym.agents.textgame import RandomCommandAgent

        return Trained(RandomCommandAgent(seed=cell.seed), eval_kwargs, Curve())
    from tokengym.agents.running.algorithms import make_env
    from tokengym.cli.catalogue import RandomPolicy

    probe = make_env(cell.plan.task.env_id, eval_kwargs)
    n = int(probe.action_space.n)
    probe.close()
    return Trained(RandomPolicy(n, np.random.default_rng(cell.seed)), eval_kwargs, Curve())


def _zero_shot(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    policy, kwargs = _language_model("tiny", cell, eval_kwargs)
    return Trained(policy, kwargs, Curve())


def _sft(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune

    task = cell.plan.task
    folder = work / "sft"
    cfg = SFTConfig(
        env_id=task.env_id, env_kwargs=task.env_kwargs, steps=cell.plan.sft_steps, seed=cell.seed, progress_bar=False
    )
    supervised_finetune(cfg, out=folder)
    policy, kwargs = _language_model(str(folder), cell, eval_kwargs)
    return Trained(policy, kwargs, Curve(), num_timesteps=cell.plan.sft_steps * cfg.batch_size)


def _train(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    from tokengym.agents.running.config import TrainConfig
    from tokengym.agents.running.train import train

    task, curve = cell.plan.task, Curve()
    cfg = TrainConfig(
        env_id=task.env_id,
        env_kwargs=task.env_kwargs,
        total_timesteps=cell.plan.budget,
        seed=cell.seed,
        temperature=task.temperature,
        out_dir=str(work / "run"),
        progress_bar=False,
        tensorboard=False,
        eval_episodes=0,  # the cell scores it, on the suite's episodes
        **cell.agent.settings,
    )
    result = train(cfg, callbacks=[curve_callback(curve)], log=lambda *args, **kwargs: None)
    policy, kwargs = _language_model(str(result.checkpoint), cell, eval_kwargs)
    return Trained(policy, kwargs, curve, result.num_timesteps)


def _command(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    from tokengym.agents.running.presets import make_agent
    from tokengym.agents.textgame import make_train_env

    curve = Curve()
    venv = make_train_env(cell.plan.task.env_id, cell.plan.task.env_kwargs, seed=cell.seed, n_envs=4)
    model = make_agent(cell.agent.preset, venv, seed=cell.seed)
    model.learn(cell.plan.budget, callback=curve_callback(curve))
    return Trained(model, eval_kwargs, curve, int(model.num_timesteps))


def training_env_fn(cell: Cell, curve: Curve | None = None) -> Callable[[], gym.Env]:
    """``env_fn`` of the ``train`` protocol: a fresh training environment of the cell's task on each call (games
    without data splits draw their games from the training seeds, :class:`~tokengym.agents.textgame.SeedPool`)."""
    from tokengym.agents.running.algorithms import make_env
    from tokengym.agents.running.splits import split_argument
    from tokengym.agents.textgame import SeedPool

    task, counter = cell.plan.task, [0]

    def env_fn() -> gym.Env:
        env = make_env(task.env_id, dict(task.env_kwargs))
        if task.score == "won" and split_argument(task.env_id) is None:
            env = SeedPool(env)
        return env if curve is None else EpisodeRecorder(env, curve, counter)

    return env_fn


def _custom(cell: Cell, eval_kwargs: dict[str, Any], work: Path) -> Trained:
    value = resolve_reference(cell.agent.reference or "")
    curve = Curve()
    if not is_algorithm_class(value):
        predictor = value(training_env_fn(cell, curve), cell.plan.budget, cell.seed)
        if not callable(getattr(predictor, "predict", None)):
            raise AgentReferenceError(
                f"--agent {cell.agent.reference!r} returned a {type(predictor).__name__}, which has no predict(obs, "
                "...) method (the policy protocol of SB3)"
            )
        return Trained(predictor, eval_kwargs, curve, curve.steps[-1] if curve.steps else 0)
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([training_env_fn(cell)])
    venv.seed(cell.seed)
    policy = getattr(value, "bench_policy", "MultiInputPolicy")
    model = value(policy, venv, seed=cell.seed, verbose=0, **dict(getattr(value, "bench_kwargs", {}) or {}))
    model.learn(cell.plan.budget, callback=curve_callback(curve))
    return Trained(model, eval_kwargs, curve, int(model.num_timesteps))
