"""The teaching algorithms behind ``tokengym train --algo reinforce|tabular_q``: bring your own algorithm.

A row of :data:`~tokengym.agents.running.algorithms.ALGORITHMS` whose ``trainer`` is set is not an SB3 class:
:func:`~tokengym.agents.running.train.train` hands the whole run to that function, which takes the
:class:`~tokengym.agents.running.config.TrainConfig` and returns a
:class:`~tokengym.agents.running.train.TrainResult`. This module is the adapter of each teaching algorithm: it maps
the configuration's fields onto the algorithm's own configuration, refuses the settings the algorithm does not
read (rather than ignoring them), trains, writes what it learned and scores it on held-out episodes.

What each writes in the run folder (``--out``):

- ``reinforce``: ``model/``, a model folder (``save_pretrained`` and the tokenizer) that ``tokengym eval ENV
  --model RUN/model`` scores; ``learning_curve.png``; ``history.json``, the statistics of every update. The
  baseline is a running mean, or RLOO with ``--group-size G`` (G >= 2); the others (``value``, ``grpo``,
  ``none``) are :class:`~tokengym.agents.teaching.reinforce.ReinforceConfig`'s, from Python.
- ``tabular_q``: ``q_table.json`` (:meth:`~tokengym.agents.teaching.tabular_q.TabularQAgent.save`) and
  ``learning_curve.png``; it is scored here, on its training games and on unseen ones (``tokengym eval`` scores
  language models only).

Example:
    >>> from tokengym.agents.running.config import TrainConfig
    >>> cfg = TrainConfig(env_id="TextNavCmd-v0", algo="tabular_q", total_timesteps=500, out_dir="runs/q")
    >>> run_tabular_q(cfg).checkpoint                              # doctest: +SKIP
    PosixPath('runs/q/q_table.json')
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.teaching.reinforce import ReinforceConfig, train_reinforce
from tokengym.agents.teaching.tabular_q import TabularQAgent, TabularQConfig, play_greedy, train_tabular_q

COMMON_FIELDS = (
    "env_id",
    "algo",
    "total_timesteps",
    "seed",
    "reward",
    "env_kwargs",
    "out_dir",
    "eval_episodes",
    "progress_bar",
    "tensorboard",
)
"""TrainConfig fields every teaching algorithm reads (``tensorboard`` and ``progress_bar`` are display only)."""
REINFORCE_FIELDS = (*COMMON_FIELDS, "model_name", "n_steps", "learning_rate", "gamma", "group_size", "kl_coef")
"""TrainConfig fields ``--algo reinforce`` reads."""
TABULAR_Q_FIELDS = (*COMMON_FIELDS, "learning_rate", "gamma")
"""TrainConfig fields ``--algo tabular_q`` reads."""


def check_reads_only(cfg: TrainConfig, reads: Sequence[str]) -> None:
    """Refuse a configuration that sets, away from its default, a field the algorithm does not read.

    Raises:
        ValueError: naming the flags and what the algorithm reads.
    """
    ignored = [
        "--" + f.name.replace("_", "-")
        for f in dataclasses.fields(TrainConfig)
        if f.name not in reads and getattr(cfg, f.name) != _default(f)
    ]
    if ignored:
        flags = ", ".join("--" + name.replace("_", "-") for name in reads if name not in ("env_id", "algo"))
        raise ValueError(f"{cfg.algo} does not use {', '.join(ignored)}; it reads {flags}")


def _default(item: dataclasses.Field) -> Any:
    if item.default is not dataclasses.MISSING:
        return item.default
    return item.default_factory()  # type: ignore[misc]


def given(cfg: TrainConfig, name: str) -> bool:
    """Whether ``cfg.name`` differs from TrainConfig's default (whose value suits an SB3 language-model run)."""
    return getattr(cfg, name) != _default(next(f for f in dataclasses.fields(TrainConfig) if f.name == name))


def _write_json(path: Path, record: Any) -> None:
    from tokengym.data.loaders import write_text_atomic

    write_text_atomic(path, json.dumps(record, indent=1, allow_nan=False) + "\n")


def _refuse_existing(out: Path, name: str) -> None:
    if (out / name).exists():
        raise FileExistsError(f"{str(out)!r} already holds a run ({name}); choose another --out")


# --------------------------------------------------------------------------------------------- reinforce


def reinforce_config(cfg: TrainConfig) -> ReinforceConfig:
    """The REINFORCE configuration of a TrainConfig: ``--group-size G`` (G >= 2) gives RLOO, else a running mean."""
    check_reads_only(cfg, REINFORCE_FIELDS)
    if cfg.resume:
        raise ValueError("reinforce does not resume runs; start a new one")
    grouped = cfg.group_size > 1
    return ReinforceConfig(
        env_id=cfg.env_id,
        env_kwargs=cfg.stored_env_kwargs,
        model_name=cfg.model_name,
        total_timesteps=cfg.total_timesteps,
        n_steps=cfg.n_steps,
        learning_rate=cfg.learning_rate,
        gamma=cfg.gamma,
        baseline="rloo" if grouped else "mean",
        group_size=cfg.group_size if grouped else ReinforceConfig.group_size,
        kl_coef=cfg.kl_coef,
        seed=cfg.seed,
    )


def run_reinforce(cfg: TrainConfig, callbacks: Iterable[Any] = (), log: Callable[..., None] = print) -> Any:
    """``tokengym train ENV --algo reinforce``: train, save the model folder, score it as ``tokengym eval`` does.

    Raises:
        ValueError: a setting REINFORCE does not read, SB3 callbacks, or a task it cannot play.
        FileExistsError: a run folder that already holds a model.
    """
    from tokengym.agents.running.curves import plot_learning_curve
    from tokengym.agents.running.evaluate import evaluate_model
    from tokengym.agents.running.train import TrainResult
    from tokengym.agents.supervised.sft import save_tokenizer_files

    if list(callbacks):
        raise ValueError("reinforce is not an SB3 algorithm and takes no SB3 callbacks")
    rcfg = reinforce_config(cfg)
    out = Path(cfg.out_dir)
    _refuse_existing(out, "model")
    baseline = f"RLOO over {rcfg.group_size} plays of each prompt" if rcfg.baseline == "rloo" else "a running mean"
    log(
        f"Training reinforce on {cfg.env_id} from {cfg.model_name!r}: {cfg.total_timesteps} tokens, a step every "
        f"{rcfg.n_steps}+ tokens, baseline {baseline}, learning rate {rcfg.learning_rate:g}"
    )

    def progress(stats: dict[str, float]) -> None:
        if cfg.progress_bar:
            log(f"  step {int(stats['global_step']):>7}  mean return {stats['charts/episodic_return']:+.3f}")

    result = train_reinforce(rcfg, on_update=progress)
    folder = out / "model"
    result.model.save_pretrained(str(folder), safe_serialization=True)
    save_tokenizer_files(cfg.model_name, result.tokenizer, folder)
    _write_json(out / "history.json", {"config": asdict(rcfg), "updates": result.history})
    held_out = None
    if cfg.eval_episodes:
        log(f"Scoring the trained model on {cfg.eval_episodes} held-out episodes, as tokengym eval does...")
        reward = {"reward": cfg.stored_env_kwargs["reward"]} if "reward" in cfg.stored_env_kwargs else {}
        held_out = evaluate_model(str(folder), cfg.env_id, episodes=cfg.eval_episodes, metrics=None, env_kwargs=reward)
    curve = out / "learning_curve.png"
    plot_learning_curve(
        result.episode_ends,
        result.episode_returns,
        curve,
        f"reinforce on {cfg.env_id} from '{cfg.model_name}'",
        trained=None if held_out is None else held_out.report.mean,
        held_out=f"held-out ({cfg.eval_episodes} episodes)",
    )
    recent = result.episode_returns[-100:]
    return TrainResult(
        run_dir=out,
        checkpoint=folder,
        start_step=0,
        num_timesteps=result.num_timesteps,
        episodes=len(recent),
        mean_return=float(np.mean(recent)) if recent else None,
        minutes=result.seconds / 60,
        tensorboard_dir=None,
        checkpoints=[folder],
        model=result.model,
        held_out=held_out,
        learning_curve=curve,
    )


# --------------------------------------------------------------------------------------------- tabular Q


def tabular_q_config(cfg: TrainConfig) -> TabularQConfig:
    """The tabular Q-learning configuration of a TrainConfig.

    TrainConfig's defaults for ``learning_rate`` (1e-4) and ``gamma`` (1.0) are a language model's; left at them,
    the table takes :class:`TabularQConfig`'s own (``alpha`` 0.5, ``gamma`` 0.95). ``env_kwargs`` are the game's
    arguments as given (none: the game's defaults).
    """
    check_reads_only(cfg, TABULAR_Q_FIELDS)
    if cfg.resume:
        raise ValueError("tabular_q does not resume runs; start a new one")
    defaults = TabularQConfig()
    return TabularQConfig(
        env_id=cfg.env_id,
        env_kwargs=cfg.stored_env_kwargs,
        total_steps=cfg.total_timesteps,
        learning_rate=cfg.learning_rate if given(cfg, "learning_rate") else defaults.learning_rate,
        gamma=cfg.gamma if given(cfg, "gamma") else defaults.gamma,
        seed=cfg.seed,
    )


def run_tabular_q(cfg: TrainConfig, callbacks: Iterable[Any] = (), log: Callable[..., None] = print) -> Any:
    """``tokengym train GAMECmd-v0 --algo tabular_q``: train a table, save it, score it against a random player
    on its training games and on ``eval_episodes`` unseen ones.

    Raises:
        ValueError: a setting tabular Q-learning does not read, SB3 callbacks, or a game that is not command-level.
        FileExistsError: a run folder that already holds a table.
    """
    import gymnasium as gym

    from tokengym.agents.running.algorithms import is_command_level, make_env
    from tokengym.agents.running.curves import plot_learning_curve
    from tokengym.agents.running.train import TrainResult
    from tokengym.agents.textgame import RandomCommandAgent, held_out_seeds

    if list(callbacks):
        raise ValueError("tabular_q is not an SB3 algorithm and takes no SB3 callbacks")
    qcfg = tabular_q_config(cfg)
    out = Path(cfg.out_dir)
    _refuse_existing(out, "q_table.json")
    env: gym.Env = make_env(qcfg.env_id, qcfg.env_kwargs)
    try:
        if not is_command_level(env):
            raise ValueError(
                f"tabular_q plays command-level games, whose observation lists the admissible commands; {cfg.env_id} "
                "is not one (try TextNavCmd-v0, CoinCollectorCmd-v0, WordleCmd-v0 or TwentyQuestionsCmd-v0)"
            )
        log(
            f"Training tabular_q on {cfg.env_id} ({qcfg.games} games): {qcfg.total_steps} commands, alpha "
            f"{qcfg.learning_rate:g}, gamma {qcfg.gamma:g}, epsilon {qcfg.epsilon_start:g} -> {qcfg.epsilon_end:g}"
        )
        result = train_tabular_q(qcfg, env)
        table = result.agent.save(out / "q_table.json", result.meta())
        log(f"{len(result.agent.table)} states in the table after {len(result.episode_returns)} episodes")
        games = list(result.train_games or [])
        if games:
            trained = play_greedy(result.agent, env, games)
            random = play_greedy(RandomCommandAgent(seed=cfg.seed), env, games)
            log(f"Training games ({len(games)}): greedy table {np.mean(trained):+.3f}, random {np.mean(random):+.3f}")
        if cfg.eval_episodes:
            unseen = held_out_seeds(cfg.eval_episodes)
            scored = play_greedy(TabularQAgent.load(table, seed=cfg.seed), env, unseen)
            random = play_greedy(RandomCommandAgent(seed=cfg.seed), env, unseen)
            log(
                f"Unseen games ({len(unseen)}): table {np.mean(scored):+.3f}, random {np.mean(random):+.3f} (a table "
                "knows only the states it met; elsewhere it plays at random)"
            )
    finally:
        env.close()
    curve = out / "learning_curve.png"
    plot_learning_curve(result.episode_ends, result.episode_returns, curve, f"tabular_q on {cfg.env_id}")
    recent = result.episode_returns[-100:]
    return TrainResult(
        run_dir=out,
        checkpoint=table,
        start_step=0,
        num_timesteps=result.steps,
        episodes=len(recent),
        mean_return=float(np.mean(recent)),
        minutes=result.seconds / 60,
        tensorboard_dir=None,
        checkpoints=[table],
        model=result.agent,
        learning_curve=curve,
        evaluable=False,
    )
