"""One cell of a bench grid: train an agent on a task with a seed, score it on held-out episodes, and store it.

:func:`run_cell` is what every backend runs (here, in a worker process or as a Ray task): it seeds everything
from the cell's seed, trains in a scratch folder it removes afterwards (:func:`tokengym.bench.agents.train_agent`),
and scores the agent on the task's held-out episodes. The result is a JSON-safe record; the driver writes it to
``cells/<task>/<agent>/seed-<s>.json`` atomically (:func:`write_result`), so a killed run leaves whole results
only, and a rerun skips the cells whose result is there (:func:`read_result`).

The held-out episodes are the same for every agent on a task: reset seeds ``1000000..1000000+N-1``
(:func:`~tokengym.agents.textgame.held_out_seeds`, never drawn by training) on the test split where the
environment has splits (a TextWorld game: a test pool of ``N`` games). Language models sample their tokens at the
task's temperature, with torch seeded by the cell's seed; command-level agents play greedily.

Example:
    >>> from tokengym.bench.suite import expand_cells, load_suite
    >>> suite = load_suite("micro")
    >>> record = run_cell(expand_cells(suite, suite.agent_specs())[0])     # doctest: +SKIP
    >>> record["score"], len(record["episodes"])                           # doctest: +SKIP
    (0.4, 10)
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from tokengym.bench.suite import Cell, SuiteError
from tokengym.data.loaders import write_text_atomic

RESULT_FORMAT = 1
"""The version of a cell's result record."""


class ResultsFolderError(SuiteError):
    """A results folder written by another grid (another suite, version, budget or agent setting)."""


def eval_kwargs_for(cell: Cell) -> dict[str, Any]:
    """The environment arguments of the held-out episodes (the test split, or a test pool of games)."""
    from tokengym.agents.running.splits import held_out_kwargs
    from tokengym.agents.textgame import unseen_games_kwargs
    from tokengym.envs import textworld_ids

    task = cell.plan.task
    kwargs, _ = held_out_kwargs(task.env_id, task.env_kwargs)
    if task.env_id in textworld_ids():
        kwargs = unseen_games_kwargs(task.env_id, kwargs, games=cell.plan.eval_episodes)
    return kwargs


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators: a worker that ran another cell before starts alike."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_cell(cell: Cell, sys_path: list[str] | None = None) -> dict[str, Any]:
    """Train and score one cell; returns its result record (see the module's docstring).

    Args:
        cell: the cell.
        sys_path: folders to put on ``sys.path`` first (a bring-your-own agent's, for workers started elsewhere).
    """
    import sys

    import torch

    for folder in reversed(sys_path or []):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    import tokengym  # noqa: F401  (registers the environments in a fresh worker)
    from tokengym.bench.agents import train_agent

    torch.set_num_threads(1)
    seed_everything(cell.seed)
    task, plan = cell.plan.task, cell.plan
    kwargs = eval_kwargs_for(cell)
    work = Path(tempfile.mkdtemp(prefix="tokengym-bench-"))
    try:  # the scratch folder goes after scoring: a trained model's tokenizer is read from it
        start = time.perf_counter()
        trained = train_agent(cell, kwargs, work)
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        episodes = _score(cell, trained)
        eval_seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    values = [float(e["won"]) if task.score == "won" else e["return"] for e in episodes]
    return {
        "format": RESULT_FORMAT,
        "cell": cell.name,
        "key": cell.key,
        "task": task.name,
        "env_id": task.env_id,
        "agent": cell.agent.name,
        "agent_kind": cell.agent.kind,
        "seed": cell.seed,
        "budget": plan.budget,
        "score_kind": task.score,
        "score": float(np.mean(values)),
        "num_timesteps": int(trained.num_timesteps),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "episodes": episodes,
        "curve": trained.curve.points(),
    }


def _score(cell: Cell, trained: Any) -> list[dict[str, Any]]:
    """Play the held-out episodes with the trained agent: one record per episode."""
    import torch

    from tokengym.agents.episodes import play_episodes
    from tokengym.agents.running.algorithms import make_env
    from tokengym.agents.textgame import held_out_seeds

    task = cell.plan.task
    env = make_env(task.env_id, trained.env_kwargs)
    episodes = []
    try:
        with torch.random.fork_rng():
            torch.manual_seed(cell.seed)
            deterministic = task.level == "command"
            seeds = held_out_seeds(cell.plan.eval_episodes)
            for number, episode in enumerate(play_episodes(trained.predictor, env, seeds, deterministic)):
                won = episode.end_info.get("won")
                if task.score == "won" and won is None:
                    raise SuiteError(f"task {task.name!r} scores wins, but {task.env_id} reports no info['won']")
                episodes.append(
                    {
                        "episode": number,
                        "reset_seed": int(episode.seed),
                        "return": float(episode.episode_return),
                        "won": None if won is None else bool(won),
                        "length": int(episode.length),
                    }
                )
    finally:
        env.close()
    return episodes


def result_path(out: Path, cell: Cell) -> Path:
    return Path(out) / cell.relative_path()


def write_result(out: Path, record: dict[str, Any]) -> Path:
    """Write a cell's record atomically to its place under ``out``."""
    task, agent, seed = record["task"], record["agent"], record["seed"]
    return write_text_atomic(Path(out) / "cells" / task / agent / f"seed-{seed}.json", json.dumps(record, indent=1))


def read_result(out: Path, cell: Cell) -> dict[str, Any] | None:
    """The stored result of ``cell``, or ``None`` when it has not finished.

    Raises:
        ResultsFolderError: the stored result belongs to another grid (another key), or is unreadable.
    """
    path = result_path(out, cell)
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as err:
        raise ResultsFolderError(f"{path}: unreadable cell result ({err}); delete it to run the cell again") from None
    if not isinstance(record, dict) or record.get("key") != cell.key:
        raise ResultsFolderError(
            f"{path} was written by another grid (its settings differ from cell {cell.name} of this one); use "
            "another --out, or delete the folder to start again"
        )
    return record
