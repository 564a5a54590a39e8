"""Train a language-model policy with a Stable-Baselines3 algorithm: the engine behind ``tokengym train``.

It reads top to bottom: the callbacks, then :func:`train` (configured by :class:`TrainConfig`) — check
the environment against the algorithm, find the resume point, build the vectorised environments and the model
(from the table of :mod:`tokengym.agents.running.algorithms`), restore a checkpoint, learn with callbacks (progress
bar, TensorBoard, reward components, KL penalty, periodic checkpoints) and write the final checkpoint.
:func:`load_policy` gives back a trained policy for evaluation.

Example:
    >>> from tokengym.agents.running.train import TrainConfig, train
    >>> cfg = TrainConfig(env_id="Dialogue-v0", algo="ppo", total_timesteps=1024, out_dir="runs/x")
    >>> result = train(cfg)          # doctest: +SKIP
    >>> result.checkpoint            # doctest: +SKIP
    PosixPath('runs/x/checkpoints/step-000001024')
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from tokengym.agents.lm.loading import resolve_model_path
from tokengym.agents.running.algorithms import (
    ALGORITHMS,
    build_model,
    check_env_for_algorithm,
    env_kwargs_for_model,
    has_action_masks,
    make_env,
    make_vec_envs,
    policy_kwargs_for,
)
from tokengym.agents.running.checkpoint import (
    Checkpoint,
    CheckpointError,
    check_compatible,
    checkpoint_folder,
    latest_checkpoint,
    load_run_checkpoint,
    resolve_checkpoint,
    same_model_key,
    save_checkpoint,
)
from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.curves import EpisodeLogCallback, plot_learning_curve
from tokengym.agents.running.guards import (
    FiniteTrainingCallback,
    TrainingDivergedError,
    check_finite_state,
    check_output_folder,
    check_rollout_memory,
)
from tokengym.agents.running.policies import LoadedPolicy, load_policy  # noqa: F401  (their home until now)

# ---------------------------------------------------------------------------------------------- callbacks


class RewardComponentsCallback(BaseCallback):
    """Log each reward component's mean episode total as ``rewards/<component>`` (from ``info["reward_components"]``).

    Components are summed over an episode (text games report them per command), then averaged over the
    episodes that ended since the last log; an episode without a component counts 0 for it.
    """

    def _init_callback(self) -> None:
        self._running: list[dict[str, float]] = [{} for _ in range(self.training_env.num_envs)]
        self._finished: list[dict[str, float]] = []

    def _on_step(self) -> bool:
        dones = self.locals.get("dones", [])
        for i, info in enumerate(self.locals.get("infos", [])):
            running = self._running[i]
            for name, value in info.get("reward_components", {}).items():
                running[name] = running.get(name, 0.0) + float(value)
            if i < len(dones) and dones[i]:
                self._finished.append(running)
                self._running[i] = {}
        return True

    def _on_rollout_end(self) -> None:
        if not self._finished:
            return
        names = sorted({name for episode in self._finished for name in episode})
        for name in names:
            self.logger.record(f"rewards/{name}", float(np.mean([e.get(name, 0.0) for e in self._finished])))
        self._finished = []


class PeriodicCheckpointCallback(BaseCallback):
    """Call ``save()`` every ``every`` token steps, at the start of a rollout.

    At that point every step taken so far has been learned from and the weights are those of the last update,
    so a run resumed from the checkpoint continues exactly where the update loop stood.
    """

    def __init__(self, every: int, save: Callable[[], Path]) -> None:
        super().__init__()
        self.every, self.save, self._next = int(every), save, 0

    def _on_training_start(self) -> None:
        self._next = (self.model.num_timesteps // self.every + 1) * self.every

    def _on_rollout_start(self) -> None:
        steps = self.model.num_timesteps
        if steps >= self._next:
            self.save()
            self._next = (steps // self.every + 1) * self.every

    def _on_step(self) -> bool:
        return True


# ------------------------------------------------------------------------------------------------ training


@dataclass
class TrainResult:
    """What a run did and wrote.

    ``episodes`` and ``mean_return`` are SB3's ``rollout/ep_rew_mean``: the last (up to 100) training episodes
    that ended, on training data, sampled as in training; ``episodes_running`` counts those that had not ended
    when training stopped, which it leaves out. ``held_out`` is the evaluation of the final checkpoint under the
    rules of ``tokengym eval`` (:attr:`TrainConfig.eval_episodes`), the figure to compare with it.
    """

    run_dir: Path
    checkpoint: Path
    start_step: int
    num_timesteps: int
    episodes: int
    mean_return: float | None
    minutes: float
    tensorboard_dir: Path | None
    checkpoints: list[Path]
    model: Any = field(repr=False)
    episodes_running: int = 0
    held_out: Any = field(default=None, repr=False)
    evaluable: bool = True
    """Whether ``tokengym eval`` scores ``checkpoint`` (a language model); a Q-table is scored by its own run."""
    learning_curve: Path | None = None


def checkpoint_meta(cfg: TrainConfig, model: Any, kl: BaseCallback | None, final: bool) -> dict[str, Any]:
    """The JSON description of the model's state now."""
    hyper = {k: v for k, v in asdict(cfg).items() if k not in ("env_kwargs", "reward", "resume", "progress_bar")}
    return {
        "algorithm": cfg.algo,
        "env_id": cfg.env_id,
        "env_kwargs": cfg.stored_env_kwargs,
        "model_name": same_model_key(cfg.model_name),
        "vocab_size": int(model.action_space.n),
        "seed": cfg.seed,
        "num_timesteps": int(model.num_timesteps),
        "n_updates": int(getattr(model, "_n_updates", 0)),
        "kl": kl.state() if kl is not None else None,
        "policy_kwargs": policy_kwargs_for(cfg),
        "hyperparameters": hyper,
        "final": final,
    }


def restore(model: Any, ckpt: Checkpoint) -> None:
    """Load a checkpoint's weights, optimizer state and step counters into a freshly built model."""
    if ckpt.meta["vocab_size"] != int(model.action_space.n):
        raise CheckpointError(
            f"checkpoint {str(ckpt.path)!r} has {ckpt.meta['vocab_size']} actions, this environment "
            f"{model.action_space.n}"
        )
    try:
        model.policy.load_state_dict(ckpt.policy_state, strict=True)
        if ckpt.optimizer_state is not None:
            model.policy.optimizer.load_state_dict(ckpt.optimizer_state)
    except (RuntimeError, ValueError, KeyError) as err:
        raise CheckpointError(f"checkpoint {str(ckpt.path)!r} does not fit this model: {err}") from err
    model.num_timesteps = ckpt.num_timesteps
    if hasattr(model, "_n_updates"):
        model._n_updates = int(ckpt.meta.get("n_updates", 0))


def find_resume_point(cfg: TrainConfig) -> Checkpoint | None:
    """The checkpoint to resume, or ``None`` for a new run; refuses to overwrite a run without ``resume``."""
    run_dir = Path(cfg.out_dir)
    latest = latest_checkpoint(run_dir)
    if not cfg.resume:
        if latest is not None:
            raise FileExistsError(
                f"{str(run_dir)!r} already holds a run (latest checkpoint: {latest.name}); pass --resume to continue "
                "it, or choose another --out"
            )
        return None
    if latest is None:
        raise CheckpointError(f"--resume: {str(run_dir)!r} holds no checkpoint to resume; start without --resume")
    # Empty step folders are skipped with a warning; a damaged newest checkpoint is refused, naming the valid one.
    ckpt = load_run_checkpoint(run_dir, skip_damaged=False)
    check_compatible(
        ckpt, algorithm=cfg.algo, env_id=cfg.env_id, env_kwargs=cfg.stored_env_kwargs, model_name=cfg.model_name
    )
    if ckpt.num_timesteps >= cfg.total_timesteps:
        raise ValueError(
            f"the run already has {ckpt.num_timesteps} steps, at least the {cfg.total_timesteps} asked for; "
            "raise --steps to train further"
        )
    return ckpt


def tensorboard_dir(cfg: TrainConfig, log: Callable[..., None]) -> Path | None:
    if not cfg.tensorboard:
        return None
    if importlib.util.find_spec("tensorboard") is None:
        log("TensorBoard logs skipped: the tensorboard package is not installed (pip install tensorboard)")
        return None
    return Path(cfg.out_dir) / "tb"


def train(cfg: TrainConfig, callbacks: Sequence[BaseCallback] = (), log: Callable[..., None] = print) -> TrainResult:
    """Train, checkpointing along the way; returns what was done and where it went.

    Args:
        cfg: the configuration.
        callbacks: more SB3 callbacks, run after the built-in ones.
        log: where progress messages go.

    Raises:
        ValueError: an environment the algorithm cannot take, or settings that contradict each other.
        FileExistsError: the run folder holds a run and ``resume`` is off.
        CheckpointError: nothing to resume, or a checkpoint that is corrupted or from another run.
        AlgorithmUnavailableError: the algorithm's module is missing.
        TrainingDivergedError: a loss, gradient, parameter or policy output that is not finite (a learning rate
            far too high); training stops and no checkpoint is written from it.
    """
    from stable_baselines3.common.callbacks import CallbackList

    from tokengym.agents.lm.kl import KLPenaltyCallback

    algo = ALGORITHMS[cfg.algo]
    if algo.trainer is not None:  # not an SB3 class: the algorithm runs the whole run (tokengym.agents.teaching)
        return algo.trainer()(cfg, callbacks, log)
    start_time = time.perf_counter()
    if resolve_checkpoint_or_none(cfg.model_name) is not None:
        raise ValueError(
            f"--model {cfg.model_name!r} is a training checkpoint; continue its run with --resume --out <run folder>, "
            "or start from a model folder (save_pretrained, or `tokengym sft`)"
        )
    resolve_model_path(cfg.model_name)  # a model folder that is missing or holds no model: said plainly
    check_output_folder(cfg.out_dir)

    # Everything is checked before anything is built or written.
    probe = make_env(cfg.env_id, env_kwargs_for_model(cfg.model_name, cfg.stored_env_kwargs))
    try:
        check_env_for_algorithm(cfg, probe)
        check_model_fits(cfg.model_name, probe)
        masked_env = has_action_masks(probe)
        if algo.on_policy:
            check_rollout_memory(probe.observation_space, cfg.n_steps, cfg.n_envs)
    finally:
        probe.close()
    algo.policy_class()  # an unavailable algorithm fails here, before any folder is made
    ckpt = find_resume_point(cfg)
    start = ckpt.num_timesteps if ckpt is not None else 0

    # Seeding: a resumed run draws new episodes rather than replaying the first ones.
    seed = cfg.seed + start
    run_dir = Path(cfg.out_dir)
    tb_dir = tensorboard_dir(cfg, log)
    venv = make_vec_envs(cfg, seed)
    try:
        model = build_model(replace(cfg, seed=seed), venv, None if tb_dir is None else str(tb_dir))
        if ckpt is not None:
            restore(model, ckpt)
            kl_state = ckpt.meta.get("kl") or {}
            coef = f", KL coefficient {kl_state['kl_coef']:.6g}" if "kl_coef" in kl_state else ""
            log(f"Resumed {cfg.algo} from {ckpt.path} at step {start}{coef}")

        kl_callback = None
        if ckpt is not None and ckpt.meta.get("kl") and not cfg.kl_coef > 0:
            log("Note: the checkpoint trained with a KL penalty; this run has none (pass --kl-coef to keep it)")
        if cfg.kl_coef > 0:
            saved = (ckpt.meta.get("kl") if ckpt is not None else None) or {}
            kl_callback = KLPenaltyCallback(
                kl_coef=float(saved.get("kl_coef", cfg.kl_coef)),
                target_kl=cfg.target_kl,
                horizon=int(saved.get("horizon", cfg.kl_horizon)),
                # The reference is the starting model, also after a resume (the policy's weights have moved).
                reference=None if ckpt is None else cfg.model_name,
            )
        written: list[Path] = []

        hint = divergence_hint(cfg)

        def save(final: bool = False) -> Path:
            path = checkpoint_folder(run_dir, model.num_timesteps)
            optimizer = getattr(model.policy, "optimizer", None)
            check_finite_state(model.policy, optimizer, int(model.num_timesteps), hint)  # never save a broken model
            state = optimizer.state_dict() if optimizer else None
            save_checkpoint(path, model.policy.state_dict(), state, checkpoint_meta(cfg, model, kl_callback, final))
            written.append(path)
            return path

        # The finiteness check comes first: a broken update stops the run before a periodic checkpoint saves it.
        episode_log = EpisodeLogCallback()
        steps: list[BaseCallback] = [FiniteTrainingCallback(hint), RewardComponentsCallback(), episode_log]
        if kl_callback is not None:
            steps.append(kl_callback)
        if cfg.nlpo_top_p is not None:
            from tokengym.agents.lm.nlpo import NLPOMaskCallback

            steps.append(NLPOMaskCallback(top_p=cfg.nlpo_top_p, update_every=cfg.nlpo_update_every))
        if cfg.checkpoint_every:
            steps.append(PeriodicCheckpointCallback(cfg.checkpoint_every, save))
        steps.extend(callbacks)

        log(
            f"Training {cfg.algo} ({algo.summary}) on {cfg.env_id} from {cfg.model_name!r}: steps {start} to "
            f"{cfg.total_timesteps}, {cfg.n_envs} env(s)" + (f", TensorBoard logs in {tb_dir}" if tb_dir else "")
        )
        learn_kwargs = {"use_masking": masked_env} if algo.masked else {}
        try:
            model.learn(
                cfg.total_timesteps - start,
                callback=CallbackList(steps),
                progress_bar=cfg.progress_bar,
                reset_num_timesteps=ckpt is None,
                tb_log_name=cfg.algo,
                **learn_kwargs,
            )
            final = save(final=True)
        except TrainingDivergedError as err:
            kept = written[-1] if written else (ckpt.path if ckpt is not None else None)
            where = f"; the run's latest valid checkpoint is {kept}" if kept is not None else ""
            raise TrainingDivergedError(f"{err}{where}") from err
    finally:
        venv.close()
    minutes = (time.perf_counter() - start_time) / 60
    held_out = None
    if cfg.eval_episodes:
        from tokengym.agents.running.evaluate import evaluate_model

        log(f"Scoring the final checkpoint on {cfg.eval_episodes} held-out episodes, as tokengym eval does...")
        # The checkpoint as tokengym eval loads it, under its rules; a reward of the user's own is named again
        # (a checkpoint never runs code by itself).
        stored = cfg.stored_env_kwargs
        reward = {"reward": stored["reward"]} if "reward" in stored else {}
        held_out = evaluate_model(str(final), cfg.env_id, episodes=cfg.eval_episodes, metrics=None, env_kwargs=reward)
        if tb_dir is not None:  # beside rollout/ep_rew_mean in TensorBoard, at the checkpoint's step
            model.logger.record("eval/mean_reward", held_out.report.mean)
            model.logger.record("eval/std_reward", held_out.report.std)
            model.logger.dump(model.num_timesteps)
    curve = run_dir / "learning_curve.png"
    plot_learning_curve(
        episode_log.steps,
        episode_log.returns,
        curve,
        f"{cfg.algo} on {cfg.env_id} from '{cfg.model_name}'",
        trained=None if held_out is None else held_out.report.mean,
        held_out=f"held-out ({cfg.eval_episodes} episodes)",
    )
    returns = [float(e["r"]) for e in model.ep_info_buffer]
    return TrainResult(
        run_dir=run_dir,
        checkpoint=final,
        start_step=start,
        num_timesteps=int(model.num_timesteps),
        episodes=len(returns),
        mean_return=float(np.mean(returns)) if returns else None,
        minutes=minutes,
        tensorboard_dir=tb_dir,
        checkpoints=written,
        model=model,
        episodes_running=episode_log.running,
        held_out=held_out,
        learning_curve=curve,
    )


def check_model_fits(model_name: str, env: Any) -> None:
    """Refuse, before anything is built or written, a model whose output vocabulary is not the environment's
    action space (a model of 50,257 tokens on an environment made with the embedded 4,096-token tokenizer would
    otherwise fail at its first out-of-range token, mid-run). Reads the model's configuration only.

    Raises:
        ValueError: naming both sizes and what to do.
    """
    from tokengym.agents.lm.loading import model_config
    from tokengym.agents.lm.spaces import vocabulary_mismatch

    try:
        outputs = getattr(model_config(model_name), "vocab_size", None)
    except OSError:
        return  # not readable here (a hub id offline): load_lm says why when the policy is built
    if isinstance(outputs, int) and outputs != int(env.action_space.n):
        raise ValueError(vocabulary_mismatch(f"model {model_name!r}", outputs, int(env.action_space.n)))


def divergence_hint(cfg: TrainConfig) -> str:
    """What to change when a run diverges: the learning rate, and the settings that scale the loss where they are
    far from their usual values."""
    unusual = [
        f"--{flag} {value:g}"
        for flag, value, usual in (
            ("value-lr-scale", cfg.value_lr_scale, 100),
            ("kl-coef", cfg.kl_coef, 10),
            ("ent-coef", abs(cfg.ent_coef), 10),
        )
        if value > usual
    ]
    hint = f"lower the learning rate (now --lr {cfg.learning_rate:g})"
    if unusual:
        hint += f" or {', '.join(unusual)}"
    if cfg.temperature < 0.01:
        hint += f", or raise --temperature (now {cfg.temperature:g})"
    return hint


def resolve_checkpoint_or_none(name: str) -> Path | None:
    """The checkpoint a model name points to, if it points to one (else ``None``; never raises)."""
    try:
        return resolve_checkpoint(name) if Path(name).expanduser().exists() else None
    except CheckpointError:
        return None
