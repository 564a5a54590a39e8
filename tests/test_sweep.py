"""Reward-weight sweeps (``tokengym sweep``, :mod:`tokengym.agents.running.sweep`): the spec's sweep variable,
refusals before anything trains, a real sweep of two weights on a micro model with its table, plot and summary,
and a rerun that skips the finished runs."""

import csv
import doctest
import json

import pytest
from cli_runner import run_cli

from tokengym.agents.running import sweep as sweep_module
from tokengym.agents.running import sweep_report
from tokengym.agents.running.checkpoint import list_checkpoints
from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.sweep import (
    RunScores,
    SweepConfig,
    SweepSettingsError,
    SweepSpecError,
    read_template,
    run_folder,
    run_sweep,
)
from tokengym.agents.running.sweep_report import summarise, write_reports

ENV = "Summarization-v0"
SPEC = "fact_coverage + w*verbosity(max_words=3)"
ENV_KWARGS = {"difficulty": 1, "max_prompt_len": 64, "max_new_tokens": 8}
SMALL = {"total_timesteps": 32, "n_envs": 2, "vec_env": "dummy", "n_steps": 16, "batch_size": 32, "n_epochs": 1}


def small_config(model, **overrides):
    train = TrainConfig(
        env_id=ENV,
        model_name=model,
        reward=SPEC,
        env_kwargs=ENV_KWARGS,
        progress_bar=False,
        tensorboard=False,
        **{**SMALL, **overrides.pop("train", {})},
    )
    return SweepConfig(train=train, **{"weights": (0.0, 1.0), "eval_episodes": 3, **overrides})


def assert_one_line_error(code, err, message):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tokengym sweep: error: "), err
    assert message in lines[0], err


def test_the_sweep_variable_weighs_terms_and_is_replaced_by_each_weight():
    template = read_template("rouge_l - w*verbosity(max_words=30) + bleu*w")
    assert template.swept == {"verbosity": -1.0, "bleu": 1.0}
    assert template.fixed == {"rouge_l": 1.0}
    assert template.spec(0.25) == "rouge_l - 0.25*verbosity(max_words=30) + bleu*0.25"
    assert template.spec(-1) == "rouge_l - -1.0*verbosity(max_words=30) + bleu*-1.0"
    # a term w charges falls as w rises, one it pays rises; the one fixed term falls over weights >= 0 only
    assert template.expected_direction("verbosity") == "decreasing" and template.sign("verbosity") == -1
    assert template.expected_direction("bleu") == "increasing" and template.sign("bleu") == 1
    assert template.expected_direction("rouge_l") == "decreasing"
    assert template.expected_direction("rouge_l", negative_weights=True) is None
    assert template.parts({"rouge_l": 0.5, "verbosity": -0.2, "bleu": 0.1}) == pytest.approx((0.5, 0.3))
    qa = read_template("answer_correct + abstention - w*fabrication")
    assert qa.expected_direction("fabrication") == "decreasing" and qa.expected_direction("abstention") is None
    # a quoted reward of one's own keeps its letters: only the name w is the variable
    quoted = read_template('fact_coverage + w*"my_rewards.py:wordy"')
    assert quoted.spec(2) == 'fact_coverage + 2.0*"my_rewards.py:wordy"'


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("fact_coverage + verbosity", SweepSpecError, "has no sweep variable"),
        ("fact_coverage + w*verbosity(max_words=w)", SweepSpecError, "not for an argument of verbosity"),
        ("w*fact_coverage + w*verbosity", SweepSpecError, "w weighs every term"),
        ("fact_coverage + w", SweepSpecError, "may only weigh a term"),
        ("fact_coverage + 2*w*verbosity", SweepSpecError, "may only weigh a term"),
        ("fact_coverage + w*verbosity(", ValueError, "does not parse"),
    ],
)
def test_specs_that_cannot_be_swept_are_refused(spec, error, message):
    with pytest.raises(error, match=message):
        read_template(spec)


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ((0.5,), "at least two weights (only 0.5)"),
        ((0, 0.5, 0.50), "weight 0.5 is given twice"),
        ((0, "1"), "weight '1' is not a number"),
        ((0, True), "weight True is not a number"),
        ((0, float("nan")), "is not a finite number"),
    ],
)
def test_the_configuration_refuses_bad_weights(weights, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        small_config("tiny", weights=weights)


def test_the_configuration_sorts_weights_and_checks_every_run_before_training():
    assert small_config("tiny", weights=(2, 0, 0.5)).weights == (0.0, 0.5, 2.0)
    with pytest.raises(ValueError, match="less than one rollout"):
        small_config("tiny", train={"total_timesteps": 8})
    with pytest.raises(ValueError, match="x='rouge_l' is not a term of the reward spec"):
        small_config("tiny", x="rouge_l")
    with pytest.raises(ValueError, match="seed 1 is given twice"):
        small_config("tiny", seeds=(1, 1))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--reward", "fact_coverage + verbosity", "--weights", "0,1"], "has no sweep variable"),
        (["--reward", SPEC, "--weights", "0,abc"], "weight 'abc' is not a number"),
        (["--reward", SPEC, "--weights", "0,,1"], "empty weight between commas"),
        (["--reward", SPEC, "--weights", "1"], "at least two weights"),
        (["--reward", SPEC, "--weights", "0,1,1.0"], "weight 1 is given twice"),
        (["--reward", SPEC, "--weights", "0,1", "--seeds", "0,x"], "seed 'x' is not an integer"),
        (["--reward", "fact_coverage + w*no_such_reward", "--weights", "0,1"], "no_such_reward"),
        (["--reward", SPEC, "--weights", "0,1", "--steps", "4"], "less than one rollout"),
    ],
)
def test_the_command_refuses_bad_input_in_one_line_and_writes_nothing(tmp_path, argv, message):
    out = tmp_path / "sweep"
    code, _, err = run_cli("sweep", ENV, *argv, "--out", str(out))
    assert_one_line_error(code, err, message)
    assert not out.exists()


def test_a_sweep_writes_its_table_plot_and_summary_and_a_rerun_skips_finished_runs(micro_lm, tmp_path):
    out = tmp_path / "sweep"
    code, stdout, err = run_cli(
        "sweep", ENV, "--reward", SPEC, "--weights", "1,0", "--model", micro_lm, "--steps", "32", "--n-envs", "2",
        "--vec-env", "dummy", "--n-steps", "16", "--batch-size", "32", "--n-epochs", "1",
        "--env-kwargs", json.dumps(ENV_KWARGS), "--eval-episodes", "3", "--no-progress", "--no-tensorboard",
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    assert "2 run(s), 2 trained now" in stdout and "Pareto front (fact_coverage against verbosity)" in stdout

    with open(out / "table.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["weight"], r["component"]) for r in rows] == [
        ("0.0", "fact_coverage"), ("0.0", "verbosity"), ("1.0", "fact_coverage"), ("1.0", "verbosity"),
    ]  # fmt: skip
    assert all(r["episodes"] == "3" and r["seeds"] == "1" and r["stderr_over"] == "episodes" for r in rows)
    assert (out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "table.md").read_text()
    assert table.startswith("| w | fact_coverage | verbosity |") and "\n| 0 | " in table and "\n| 1 | " in table

    summary = json.loads((out / "summary.json").read_text())
    assert summary["weights"] == [0.0, 1.0] and summary["components"] == ["fact_coverage", "verbosity"]
    assert [s["spec"] for s in summary["specs"]] == [
        "fact_coverage + 0.0*verbosity(max_words=3)", "fact_coverage + 1.0*verbosity(max_words=3)",
    ]  # fmt: skip
    assert summary["monotone"]["verbosity"]["expected"] == "increasing"
    assert summary["monotone"]["fact_coverage"]["expected"] == "decreasing"
    assert set(summary["pareto"]["front"]) <= {0.0, 1.0} and summary["pareto"]["front"]
    for weight in (0.0, 1.0):
        run = run_folder(out, weight, 0)
        scores = json.loads((run / "eval.json").read_text())
        assert scores["episodes"] == [0, 1, 2] and len(scores["components"]["verbosity"]) == 3
        assert scores["spec"] == f"fact_coverage + {weight!r}*verbosity(max_words=3)"
        # each run's checkpoint trained on its own weight's reward
        meta = json.loads((list_checkpoints(run)[-1] / "checkpoint.json").read_text())
        assert meta["env_kwargs"]["reward"] == scores["spec"] and meta["final"]

    finished = {w: list_checkpoints(run_folder(out, w, 0)) for w in (0.0, 1.0)}
    stamps = {w: (paths[-1] / "policy.safetensors").stat().st_mtime_ns for w, paths in finished.items()}
    with pytest.raises(FileExistsError, match="pass --resume"):
        run_sweep(small_config(micro_lm), out, log=lambda *a: None)
    with pytest.raises(SweepSettingsError, match=r"learning_rate was 0\.0001, now 0\.001"):
        run_sweep(small_config(micro_lm, resume=True, train={"learning_rate": 1e-3}), out, log=lambda *a: None)

    messages = []
    result = run_sweep(small_config(micro_lm, weights=(0, 1, 2), resume=True), out, log=messages.append)
    assert [run.trained for run in result.runs] == [False, False, True]
    assert sum("finished already (32 steps): not trained again" in m for m in messages) == 2
    assert sum("reused from" in m for m in messages) == 2
    for weight, paths in finished.items():
        assert list_checkpoints(run_folder(out, weight, 0)) == paths
        assert (paths[-1] / "policy.safetensors").stat().st_mtime_ns == stamps[weight]
    assert result.summary["weights"] == [0.0, 1.0, 2.0]
    assert len(result.summary["table"]) == 6


def test_a_resumed_sweep_with_more_steps_trains_each_run_further(micro_lm, tmp_path):
    out = tmp_path / "sweep"
    run_sweep(small_config(micro_lm, eval_episodes=1), out, log=lambda *a: None)
    result = run_sweep(
        small_config(micro_lm, eval_episodes=1, resume=True, train={"total_timesteps": 64}), out, log=lambda *a: None
    )
    assert all(run.trained and run.num_timesteps == 64 for run in result.runs)
    steps = [path.name for path in list_checkpoints(run_folder(out, 0.0, 0))]
    assert steps == ["step-000000032", "step-000000064"]
    with pytest.raises(SweepSettingsError, match="it may only rise"):
        run_sweep(small_config(micro_lm, resume=True, train={"total_timesteps": 32}), out, log=lambda *a: None)


def fake_runs(means_by_weight, episodes=4):
    """Runs whose every episode scores the given means, with a spread of ±0.1 around them."""
    runs = []
    for weight, means in means_by_weight.items():
        components = {name: [m - 0.1, m + 0.1] * (episodes // 2) for name, m in means.items()}
        runs.append(RunScores(weight, 0, "ckpt", 32, list(range(episodes)), [0.0] * episodes, components, [""] * 4))
    return runs


def test_the_summary_reports_directions_and_the_front_without_asserting_them(tmp_path):
    cfg = small_config("tiny", weights=(0, 0.5, 1, 2))
    runs = fake_runs(
        {
            0.0: {"fact_coverage": 0.9, "verbosity": -0.5},
            0.5: {"fact_coverage": 0.8, "verbosity": -0.2},
            1.0: {"fact_coverage": 0.6, "verbosity": -0.3},  # beaten by w=0.5 on both
            2.0: {"fact_coverage": 0.5, "verbosity": 0.0},
        }
    )
    summary, paths = write_reports(cfg, runs, tmp_path)
    assert summary["pareto"] == {
        "x": "fact_coverage", "y": "verbosity", "x_better": "higher", "y_better": "higher", "front": [0.0, 0.5, 2.0],
    }  # fmt: skip
    assert summary["monotone"]["fact_coverage"]["direction"] == "decreasing"
    assert summary["monotone"]["fact_coverage"]["as_expected"] is True
    assert summary["monotone"]["verbosity"]["direction"] == "not monotone"
    assert summary["monotone"]["verbosity"]["as_expected"] is False
    assert summary["trade_off_as_expected"] is False
    # the reward's parts F + w*S: F = fact_coverage falls; S = verbosity does not rise throughout
    assert summary["parts"]["fixed"]["means"] == pytest.approx([0.9, 0.8, 0.6, 0.5])
    assert summary["parts"]["fixed"]["as_expected"] is True and summary["parts"]["swept"]["as_expected"] is False
    row = next(r for r in summary["table"] if r["weight"] == 0.5 and r["component"] == "verbosity")
    assert row["mean"] == pytest.approx(-0.2) and row["stderr"] == pytest.approx(0.2 / 3**0.5 / 2)
    assert "| 1 | 0.600 ± 0.058 | -0.300 ± 0.058 |  |" in paths[1].read_text()
    assert all(path.stat().st_size > 0 for path in paths)
    # two seeds: the standard error is that of the seeds' means
    two = fake_runs({0.0: {"verbosity": -0.4}}) + fake_runs({0.0: {"verbosity": -0.2}})
    two[1].seed = 1
    (row,) = sweep_report.component_rows(two, [0.0])
    assert row["stderr_over"] == "seeds" and row["stderr"] == pytest.approx(0.1) and row["seeds"] == 2


def test_a_charged_term_is_better_lower_and_a_quoted_reward_goes_by_its_function_name():
    train = TrainConfig(env_id=ENV, reward='fact_coverage - w*"wordy.py:wordy"')
    cfg = SweepConfig(train=train, weights=(0, 1, 2))
    runs = fake_runs(
        {
            0.0: {"fact_coverage": 0.9, "wordy": 30.0},
            1.0: {"fact_coverage": 0.7, "wordy": 12.0},
            2.0: {"fact_coverage": 0.6, "wordy": 14.0},  # more words and less coverage than w=1: beaten
        }
    )
    summary = summarise(cfg, runs, {"fact_coverage": "fact_coverage", "wordy.py:wordy": "wordy"})
    assert summary["pareto"] == {
        "x": "fact_coverage", "y": "wordy", "x_better": "higher", "y_better": "lower", "front": [0.0, 1.0],
    }  # fmt: skip
    assert summary["monotone"]["wordy"]["expected"] == "decreasing"
    assert summary["monotone"]["wordy"]["direction"] == "not monotone"
    assert summary["monotone"]["fact_coverage"]["as_expected"] is True


def test_docstring_examples():
    assert doctest.testmod(sweep_module).failed == 0
    assert doctest.testmod(sweep_report).failed == 0
