"""tokengym bench on a micro grid: outputs, resume, reproducibility, Ray = local, bring-your-own, bad input."""

from __future__ import annotations

import csv
import importlib.util
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli

from tokengym.bench import BenchConfig, run_bench
from tokengym.bench.agents import AgentReferenceError, load_custom_agent
from tokengym.bench.cells import ResultsFolderError
from tokengym.bench.stats import aggregate, compute_statistics, improvement_interval, interval
from tokengym.bench.suite import SuiteError, load_suite

BYO = "tokengym.bench.example_agent:train"
SUITE = """
version: 1
tasks:
  nav:
    env_id: TextNavCmd-v0
    env_kwargs: {level: 1, max_turns: 5}
    level: command
    score: won
    reference: 1.0
agents:
  random: {kind: random}
  lstm_dqn: {kind: command, preset: lstm_dqn}
suites:
  tiny:
    seeds: [0, 1]
    tasks:
      nav: {budget: BUDGET, eval_episodes: 6, agents: [random, lstm_dqn]}
"""


def suite_file(folder: Path, budget: int = 250) -> str:
    path = folder / "suite.yaml"
    path.write_text(SUITE.replace("BUDGET", str(budget)))
    return str(path)


def config(tmp: Path, out: str, **kwargs) -> BenchConfig:
    return BenchConfig(
        suite=suite_file(tmp), out_dir=str(tmp / out), custom_agents=[BYO], progress_bar=False, reps=200, **kwargs
    )


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bench")
    return tmp, run_bench(config(tmp, "a"), log=lambda *a: None)


def test_outputs_cover_every_cell_and_episode(first_run):
    tmp, result = first_run
    out = tmp / "a"
    assert result.ran == 6 and result.skipped == 0  # 3 agents x 2 seeds
    with open(out / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert sorted((r["agent"], r["seed"]) for r in runs) == sorted(
        (a, s) for a in ("random", "lstm_dqn", "command_bandit") for s in ("0", "1")
    )
    with open(out / "episodes.csv") as f:
        assert len(list(csv.DictReader(f))) == 6 * 6
    random_norm = [float(r["normalised_score"]) for r in runs if r["agent"] == "random"]
    assert np.mean(random_norm) == pytest.approx(0.0)  # the random agent is the 0 of the scale
    board = (out / "leaderboard.md").read_text()
    assert "IQM" in board and "command_bandit" in board and "Probability of improvement" in board
    for plot in ("learning_curves.png", "aggregate.png"):
        assert (out / plot).read_bytes()[:4] == b"\x89PNG"
    stats = json.loads((out / "statistics.json").read_text())
    for agent in ("random", "lstm_dqn", "command_bandit"):
        iqm = stats["iqm"][agent]
        assert iqm["low"] <= iqm["value"] <= iqm["high"]
    assert set(stats["probability_of_improvement"]) == {"command_bandit"}  # the custom agent against the baselines


def test_rerun_skips_finished_cells_and_resumes_a_killed_run(first_run):
    tmp, result = first_run
    out = tmp / "a"
    again = run_bench(config(tmp, "a"), log=lambda *a: None)
    assert (again.ran, again.skipped) == (0, 6)
    assert again.leaderboard == result.leaderboard
    # A run killed before two cells finished: their results are missing, a half-written temporary file is left.
    (out / "cells" / "nav" / "lstm_dqn" / "seed-1.json").unlink()
    (out / "cells" / "nav" / "random" / "seed-0.json").unlink()
    (out / "cells" / "nav" / "random" / ".seed-0.json.x.tmp").write_text('{"half')
    resumed = run_bench(config(tmp, "a"), log=lambda *a: None)
    assert (resumed.ran, resumed.skipped) == (2, 4)
    assert resumed.leaderboard == result.leaderboard


def test_same_command_and_seeds_give_the_same_table(first_run, tmp_path):
    tmp, result = first_run
    other = run_bench(
        BenchConfig(
            suite=suite_file(tmp_path),
            out_dir=str(tmp_path / "b"),
            custom_agents=[BYO],
            progress_bar=False,
            reps=200,
            jobs=2,
        ),
        log=lambda *a: None,
    )
    assert other.leaderboard == result.leaderboard  # a process pool of 2 workers, another folder: the same table


def test_ray_backend_gives_the_same_table_as_the_local_pool(first_run, tmp_path):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("ray is not installed (pip install 'tokengym[ray]')")
    tmp, result = first_run
    ray_run = run_bench(
        BenchConfig(
            suite=suite_file(tmp_path),
            out_dir=str(tmp_path / "r"),
            custom_agents=[BYO],
            progress_bar=False,
            reps=200,
            backend="ray",
            jobs=2,
        ),
        log=lambda *a: None,
    )
    assert ray_run.runner.startswith("Ray")
    assert ray_run.leaderboard == result.leaderboard


def test_bring_your_own_algorithm_class_runs_and_is_ranked(tmp_path):
    result = run_bench(
        BenchConfig(
            suite=suite_file(tmp_path, budget=64),
            out_dir=str(tmp_path / "c"),
            progress_bar=False,
            reps=200,
            custom_agents=["tokengym.bench.example_agent:CommandA2C"],
            agents=["random"],
            seeds=[0],
        ),
        log=lambda *a: None,
    )
    assert result.stats.agents == ["random", "CommandA2C"]
    assert result.stats.improvement["CommandA2C"]["random"].value in (0.0, 0.5, 1.0)


def test_a_file_reference_loads_too(tmp_path):
    path = tmp_path / "my_agent.py"
    path.write_text("from tokengym.bench.example_agent import train as mine\n")
    spec = load_custom_agent(f"{path}:mine")
    assert spec.kind == "custom" and spec.levels == ("command",)


@pytest.mark.parametrize(
    "reference, message",
    [
        ("no_such_module_xyz:Algo", "no module named 'no_such_module_xyz'"),
        ("tokengym.bench.example_agent:Missing", "has no 'Missing'"),
        ("tokengym.bench.example_agent:offered_commands", "train(env_fn, budget, seed)"),
        ("tokengym.bench.example_agent:BestCommandPolicy", "not an SB3 BaseAlgorithm subclass"),
        ("tokengym.bench.stats:CONFIDENCE", "not an algorithm"),
        ("not a reference", "write module:Name"),
    ],
)
def test_bad_agent_references_are_refused(reference, message):
    with pytest.raises(AgentReferenceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_custom_agent(reference)


def test_bad_input_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "never"
    with pytest.raises(SuiteError, match="unknown suite 'nope'"):
        run_bench(BenchConfig(suite="nope", out_dir=str(out)))
    with pytest.raises(SuiteError, match="unknown task 'chess'"):
        run_bench(BenchConfig(suite="micro", out_dir=str(out), tasks=["chess"]))
    with pytest.raises(SuiteError, match="unknown agent 'alphazero'"):
        run_bench(BenchConfig(suite="micro", out_dir=str(out), agents=["alphazero"]))
    with pytest.raises(SuiteError, match="budget must be an integer >= 1"):
        load_suite(suite_file(tmp_path, budget=0))
    with pytest.raises(AgentReferenceError, match="no module named"):
        run_bench(BenchConfig(suite="micro", out_dir=str(out), custom_agents=["nowhere_xyz:Algo"]))
    with pytest.raises(ValueError, match="unknown backend"):
        BenchConfig(backend="spark")
    with pytest.raises(ValueError, match="--ray-address goes with --backend ray"):
        BenchConfig(ray_address="auto")
    assert not out.exists()


def test_a_results_folder_of_another_grid_is_refused(first_run, tmp_path):
    tmp, _ = first_run
    other_budget = tmp_path / "suite2"
    other_budget.mkdir()
    cfg = BenchConfig(suite=suite_file(other_budget, budget=300), out_dir=str(tmp / "a"), progress_bar=False)
    before = sorted(p.stat().st_mtime_ns for p in (tmp / "a").rglob("*.json"))
    with pytest.raises(ResultsFolderError, match="other task plans"):
        run_bench(cfg)
    assert sorted(p.stat().st_mtime_ns for p in (tmp / "a").rglob("*.json")) == before
    with pytest.raises(ResultsFolderError, match="not a tokengym bench results folder"):
        run_bench(BenchConfig(suite="micro", out_dir=str(tmp_path / "suite2")))


def test_missing_ray_names_the_extra(monkeypatch, tmp_path):
    import tokengym.bench.runners as runners

    monkeypatch.setattr(runners.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(runners.RayUnavailableError, match=r"pip install 'tokengym\[ray\]'"):
        runners.make_runner("ray")


def test_cli_bad_input_is_one_line(tmp_path):
    code, _, err = run_cli("bench", "--suite", "micro", "--out", str(tmp_path / "x"), "--agent", "nowhere_xyz:A")
    assert code == 2 and err.count("\n") == 1 and "no module named 'nowhere_xyz'" in err
    assert not (tmp_path / "x").exists()


def rliable_directly(scores, func, reps, seed):
    """rliable's own interval estimates, seeded the way tokengym seeds them (rliable 1.2 draws from numpy's global
    generator), with rliable's defaults: percentile intervals, 95%."""
    from rliable import library

    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arch 7 deprecates random_state
        return library.get_interval_estimates(scores, func, reps=reps, random_state=np.random.RandomState(seed))


def test_statistics_use_rliable_and_are_seeded():
    from rliable import metrics

    scores = [np.array([0.0, 0.5, 1.0, 0.2]), np.array([0.3, 0.4, 0.9, 0.1])]
    matrix = np.stack(scores, axis=1)
    np.random.seed(99)
    before = np.random.get_state()[1].copy()
    first = interval(scores, aggregate("iqm"), reps=300, seed=3)
    assert np.array_equal(np.random.get_state()[1], before)  # numpy's global generator is left as it was
    np.random.seed(7)  # ...and its state does not change the interval
    assert first == interval(scores, aggregate("iqm"), reps=300, seed=3)
    assert first != interval(scores, aggregate("iqm"), reps=300, seed=4)
    points, cis = rliable_directly({"a": matrix}, lambda s: np.array([metrics.aggregate_iqm(s)]), 300, 3)
    assert first == (points["a"][0], (cis["a"][0, 0], cis["a"][1, 0]))
    assert first[0] == pytest.approx(metrics.aggregate_iqm(matrix))
    assert first[1][0] < first[0] < first[1][1]

    records = [
        {"task": task, "agent": agent, "seed": s, "score": v}
        for agent, by_task in (
            ("random", {"t": [0.2, 0.4, 0.3], "u": [0.0, 0.1, 0.2]}),
            ("good", {"t": [0.9, 1.0, 0.8], "u": [0.5, 0.9, 0.7]}),
        )
        for task, values in by_task.items()
        for s, v in enumerate(values)
    ]
    stats = compute_statistics(records, {"t": 1.0, "u": 1.0}, reps=200)
    assert stats.normalised["good"]["t"] == pytest.approx([(0.9 - 0.3) / 0.7, 1.0, (0.8 - 0.3) / 0.7])
    good = np.stack([stats.normalised["good"]["t"], stats.normalised["good"]["u"]], axis=1)
    points, cis = rliable_directly(  # "good" is the grid's agent number 1, its seed
        {"good": good},
        lambda s: np.concatenate([[metrics.aggregate_iqm(s), metrics.aggregate_mean(s)], s.mean(axis=0)]),
        200,
        1,
    )
    found = [stats.iqm["good"], stats.mean["good"], stats.per_task["good"]["t"], stats.per_task["good"]["u"]]
    assert [(e.value, e.low, e.high) for e in found] == list(zip(points["good"], *cis["good"], strict=True))
    assert stats.mean["good"].low < stats.mean["good"].value < stats.mean["good"].high
    pair = tuple(np.stack([stats.raw[a]["t"], stats.raw[a]["u"]], axis=1) for a in ("random", "good"))
    points, cis = rliable_directly({"random,good": pair}, metrics.probability_of_improvement, 100, 0)
    worse = stats.improvement["random"]["good"]
    assert (worse.value, worse.low, worse.high) == (points["random,good"], *cis["random,good"])
    assert stats.improvement["good"]["random"].as_dict() == {"value": 1.0, "low": 1.0, "high": 1.0}
    with pytest.raises(ValueError, match="equals the random agent's mean"):
        compute_statistics(records, {"t": 0.3, "u": 1.0}, reps=200)


def test_runs_that_all_scored_alike_have_a_zero_width_interval():
    flat = [np.full(4, 0.5), np.full(4, 0.5)]
    assert interval(flat, aggregate("iqm"), reps=100) == (0.5, (0.5, 0.5))
    assert improvement_interval(flat, flat, reps=100) == (0.5, (0.5, 0.5))


def test_bundled_suites_check():
    for name in ("quick", "standard", "micro"):
        suite = load_suite(name)
        assert all("random" in plan.agents for plan in suite.plans)
    assert len(load_suite("standard").seeds) >= 5
