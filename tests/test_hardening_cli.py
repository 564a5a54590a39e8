"""The command line keeps its promise, and training never saves a broken model.

Bad input to any command ends with one line on standard error (``tokengym <command>: error: ...``), exit status
2 and nothing written; numeric settings are checked by type and range in the configuration dataclasses, so that
library callers get the same errors. A run whose loss, gradients, parameters or policy outputs stop being finite
stops with a message naming the step and what to change, and writes no checkpoint of it.
"""

import argparse
import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import typing

import numpy as np
import pytest
import torch
from cli_runner import run_cli

from tokengym.agents.running.checkpoint import CONFIG_FILE, list_checkpoints
from tokengym.agents.running.config import FLOAT_LIMITS, INT_LIMITS, MAX_SEED, TrainConfig
from tokengym.agents.running.demo import DemoConfig
from tokengym.agents.running.guards import FiniteTrainingCallback, TrainingDivergedError, check_finite_state
from tokengym.agents.running.train import train
from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune
from tokengym.cli.errors import SHOW_TRACEBACK, error_message, run_command

ENV = "TokenSubset-v0"
BUDGET = ["--steps", "32", "--n-steps", "16", "--batch-size", "16", "--no-progress", "--no-tensorboard"]
DEEP_SPEC = "(" * 5000 + "rouge_l" + ")" * 5000


def assert_one_line_error(command: str, code: int, err: str, message: str) -> None:
    """Exit status 2 and one line saying what was wrong (beside the progress bars of model loading, if any)."""
    lines = [line for line in err.splitlines() if line.strip() and not line.endswith(("it/s]", "s/it]"))]
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith(f"tokengym {command}: error: ".replace(" :", ":")), err
    assert message in lines[0], err


# ----------------------------------------------------------------------------------- the one-line boundary

BAD_INPUT = [
    # Names: environments, rewards, metrics, models.
    (["train", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["eval", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["play", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["sft", "Nope-v0"], "unknown environment 'Nope-v0'"),
    (["train", "Dialogue-v0", "--reward", "rouge_x"], "unknown reward 'rouge_x'; did you mean 'rouge_l'"),
    (["eval", "Dialogue-v0", "--metrics", "bogus"], "unknown reward 'bogus'"),
    (["train", "Dialogue-v0", "--reward", DEEP_SPEC], "reward spec"),
    (["eval", "Dialogue-v0", "--metrics", DEEP_SPEC], "reward spec"),
    (["train", ENV, "--model", "/nonexistent/model"], "model folder '/nonexistent/model' does not exist"),
    (["eval", ENV, "--model", "/nonexistent/model"], "model folder '/nonexistent/model' does not exist"),
    (["sft", "Dialogue-v0", "--model", "/nonexistent/model"], "model folder '/nonexistent/model' does not exist"),
    # Environment arguments.
    (["train", "Dialogue-v0", "--env-kwargs", '{"users": []}'], "users"),
    (["eval", "Dialogue-v0", "--env-kwargs", '{"users": []}'], "users"),
    (["play", "Dialogue-v0", "--env-kwargs", '{"users": []}'], "users"),
    (["train", ENV, "--env-kwargs", "[" * 100_000], "--env-kwargs is nested too deeply"),
    (["eval", ENV, "--env-kwargs", '{"max_new_tokens": NaN}'], "numbers must be finite"),
    (["play", ENV, "--env-kwargs", '{"max_new_tokens": 1e999}'], "numbers must be finite"),
    (["play", ENV, "--env-kwargs", '{"tokenizer": 5}'], "the environment refused its arguments: tokenizer must be"),
    # Output folders that cannot be written, found before training rather than after it.
    (["train", ENV, "--out", ""], "out_dir (--out) must name a folder, not an empty string"),
    (["sft", "Dialogue-v0", "--out", ""], "--out must name a folder, not an empty string"),
    (["train", ENV, "--out", __file__], "is a file; name a folder"),
    (["train", ENV, "--out", f"{__file__}/run"], "which is a file; name a folder"),
    # Numbers: train's from TrainConfig's fields, the others' from their flags.
    (["train", ENV, "--seed", "-1"], "seed must be a non-negative integer"),
    (["train", ENV, "--seed", str(MAX_SEED + 1)], "seed must be a non-negative integer up to 4,294,967,295"),
    (["train", ENV, "--lr", "inf"], "argument --lr/--learning-rate: 'inf' is not a finite number"),
    (["train", ENV, "--lr", "nan"], "'nan' is not a finite number"),
    (["train", ENV, "--lr", "-1"], "learning_rate must be positive and finite, not -1.0"),
    (["train", ENV, "--kl-coef", "inf"], "argument --kl-coef: 'inf' is not a finite number"),
    (["train", ENV, "--kl-coef", "-0.1"], "kl_coef must be a finite number >= 0"),
    (["train", ENV, "--temperature", "inf"], "argument --temperature: 'inf' is not a finite number"),
    (["train", ENV, "--temperature", "0"], "temperature must be positive"),
    (["train", ENV, "--gamma", "2"], "gamma must be in (0, 1], not 2.0"),
    (["train", ENV, "--n-envs", "100000"], "n_envs must be a positive integer up to 256"),
    (["train", ENV, "--checkpoint-every", "-1"], "checkpoint_every must be a non-negative integer"),
    (["train", ENV, "--n-steps", "1.5"], "argument --n-steps: invalid int value: '1.5'"),
    (["eval", ENV, "--samples", "-1"], "argument --samples: must be a non-negative integer, not -1"),
    (["eval", ENV, "--episodes", "0"], "argument --episodes: must be a positive integer, not 0"),
    (["eval", ENV, "--seed", "-1"], "argument --seed: must be a non-negative integer"),
    (["eval", ENV, "--seed", "99999999999999999999"], "argument --seed: must be a non-negative integer"),
    (["eval", ENV, "--episodes", "100000000000"], "goes past the largest seed"),
    (["demo", "--steps", "-5"], "argument --steps: must be a positive integer, not -5"),
    (["demo", "--seed", "-1"], "argument --seed: must be a non-negative integer"),
    (["episodes", "--episodes", "0"], "argument --episodes: must be a positive integer"),
    (["episodes", "--seed", "-1"], "argument --seed: must be a non-negative integer"),
    (["play", ENV, "--seed", "-1"], "argument --seed: must be a non-negative integer"),
    (["sft", "Dialogue-v0", "--steps", "0"], "steps must be a positive integer, not 0"),
    (["sft", "Dialogue-v0", "--batch-size", "0"], "batch_size must be a positive integer, not 0"),
    (["sft", "Dialogue-v0", "--lr", "inf"], "argument --lr: 'inf' is not a finite number"),
    (["sft", "Dialogue-v0", "--lr", "0"], "lr must be positive and finite"),
    (["sft", "Dialogue-v0", "--seed", "-1"], "seed must be a non-negative integer"),
    # Flags and commands that do not exist.
    (["train", ENV, "--no-such-flag", "1"], "unrecognized arguments: --no-such-flag 1"),
    (["trian", ENV], "argument command: invalid choice: 'trian'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_INPUT, ids=[" ".join(a)[:60] for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path, monkeypatch, micro_lm):
    monkeypatch.chdir(tmp_path)  # default output folders (runs/...) would appear here
    model = [] if "--model" in argv else ["--model", micro_lm]
    extra = {
        "train": ["--out", "out", *BUDGET, *model],
        "eval": ["--episodes", "1"] * ("--episodes" not in argv) + model,
        "sft": ["--out", "out", "--steps", "1", "--batch-size", "1", *model],
        "demo": ["--out", "out", "--no-progress"],
    }.get(argv[0], [])
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # play reads nothing
    code, _, err = run_cli(*argv[:1], *extra, *argv[1:])  # the case's own flags last: they win
    assert_one_line_error(argv[0] if argv[0] != "trian" else "", code, err, message)
    assert not list(tmp_path.iterdir()), "bad input wrote files"


def test_the_console_script_prints_one_line_and_exits_2(tmp_path):
    """The real process: exit status and standard error as a shell sees them."""
    done = subprocess.run(
        [sys.executable, "-m", "tokengym.cli", "eval", "Nope-v0"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2 and done.stderr.startswith("tokengym eval: error: unknown environment 'Nope-v0'")
    assert len(done.stderr.strip().splitlines()) == 1 and not done.stdout and not list(tmp_path.iterdir())


def _raiser(err: BaseException):
    def command(args: argparse.Namespace) -> int:
        raise err

    return command


@pytest.mark.parametrize(
    "err",
    [KeyError("key"), TypeError("bad call"), AttributeError("x"), IndexError("i"), RuntimeError("torch")],
    ids=lambda e: type(e).__name__,
)
def test_bugs_keep_their_traceback(err):
    """Only the documented bad-input types become one line; anything else is a bug and must be seen as one."""
    with pytest.raises(type(err)):
        run_command("eval", _raiser(err), argparse.Namespace())


def test_the_traceback_can_be_asked_for(monkeypatch):
    with contextlib.redirect_stderr(io.StringIO()):
        assert run_command("eval", _raiser(ValueError("bad")), argparse.Namespace()) == 2
    monkeypatch.setenv(SHOW_TRACEBACK, "1")
    with pytest.raises(ValueError, match="bad"):
        run_command("eval", _raiser(ValueError("bad")), argparse.Namespace())


def test_error_messages_are_one_readable_line():
    from gymnasium.error import NameNotFound

    from tokengym.envs.users.base import UserSimulatorError
    from tokengym.rewards.base import UnknownRewardError

    assert error_message(UnknownRewardError("unknown reward 'x'")) == "unknown reward 'x'"  # no KeyError quotes
    assert error_message(FileNotFoundError(2, "No such file or directory", "/a/b")) == (
        "No such file or directory: '/a/b'"
    )
    assert error_message(ValueError("two\nlines")) == "two lines"
    long = error_message(ValueError("a" * 5000 + " do this"))
    assert len(long) < 2100 and long.endswith("do this")
    assert "nested too deeply" in error_message(RecursionError("maximum recursion depth exceeded"))
    assert error_message(MemoryError()).startswith("out of memory")
    for err in (
        NameNotFound("Environment `Nope` doesn't exist."),
        UserSimulatorError("the user broke"),
        RecursionError("maximum recursion depth exceeded"),
        MemoryError(),
    ):
        with contextlib.redirect_stderr(io.StringIO()) as captured:
            assert run_command("play", _raiser(err), argparse.Namespace()) == 2
        assert captured.getvalue() == f"tokengym play: error: {error_message(err)}\n"


# ---------------------------------------------------------------------------------- configuration checks


def test_every_numeric_field_of_train_config_has_a_range():
    """The mechanism: a numeric field cannot be added without saying what values it takes."""
    hints = typing.get_type_hints(TrainConfig)
    numeric = {
        f.name: hints[f.name]
        for f in dataclasses.fields(TrainConfig)
        if {int, float} & {hints[f.name], *typing.get_args(hints[f.name])}
    }
    assert {n for n, h in numeric.items() if int in {h, *typing.get_args(h)}} == set(INT_LIMITS)
    assert {n for n, h in numeric.items() if float in {h, *typing.get_args(h)}} == set(FLOAT_LIMITS)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"learning_rate": float("inf")}, "learning_rate must be a finite number"),
        ({"learning_rate": float("nan")}, "learning_rate must be a finite number"),
        ({"kl_coef": float("inf")}, "kl_coef must be a finite number"),
        ({"temperature": float("inf")}, "temperature must be a finite number"),
        ({"temperature": -1.0}, "temperature must be positive"),
        ({"ent_coef": float("nan")}, "ent_coef must be a finite number"),
        ({"value_lr_scale": 0}, "value_lr_scale must be positive"),
        ({"gae_lambda": 1.5}, "gae_lambda must be in [0, 1]"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": MAX_SEED - 10}, "seed + total_timesteps must be at most"),
        ({"seed": 1.0}, "seed must be a non-negative integer"),
        ({"n_steps": True}, "n_steps must be a positive integer"),
        ({"learning_rate": "1e-4"}, "learning_rate must be a number"),
        ({"resume": "no"}, "resume must be True or False"),
        ({"env_kwargs": "x"}, "env_kwargs must be a mapping"),
        ({"env_kwargs": {"max_new_tokens": float("nan")}}, "env_kwargs must be JSON-serialisable with finite"),
        ({"model_name": None}, "model_name must be a string"),
        ({"env_id": 3}, "env_id must be a string"),
        ({"target_kl": 0.0, "kl_coef": 0.1}, "target_kl must be positive"),
    ],
)
def test_train_config_refuses_values_of_the_wrong_type_or_range(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TrainConfig(**{"env_id": ENV, **settings})


def test_train_config_stores_numpy_numbers_as_python_ones():
    cfg = TrainConfig(env_id=ENV, learning_rate=np.float32(1e-3), seed=np.int64(3), kl_coef=1)
    assert type(cfg.learning_rate) is float and type(cfg.seed) is int and type(cfg.kl_coef) is float
    json.dumps(dataclasses.asdict(cfg))  # checkpoints store the settings as JSON


def test_sft_and_demo_configs_check_their_fields():
    for settings, message in [
        ({"lr": float("inf")}, "lr must be a finite number"),
        ({"lr": 0.0}, "lr must be positive"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"steps": 2.0}, "steps must be a positive integer"),
        ({"env_id": "Nope-v0"}, "unknown environment 'Nope-v0'"),
        ({"env_kwargs": []}, "env_kwargs must be a mapping"),
    ]:
        with pytest.raises(ValueError, match=message):
            SFTConfig(**settings)
    with pytest.raises(ValueError, match="eval_episodes must be a positive integer"):
        DemoConfig(eval_episodes=1.5)
    with pytest.raises(ValueError, match="train must be a TrainConfig"):
        DemoConfig(train={"total_timesteps": 16})


# ------------------------------------------------------------------------------- training never saves NaN


def test_check_finite_state_names_losses_gradients_parameters_and_optimizer_state():
    layer = torch.nn.Linear(2, 2)
    optim = torch.optim.Adam(layer.parameters())
    layer(torch.ones(1, 2)).sum().backward()
    optim.step()
    check_finite_state(layer, optim, step=1, gradients=True, losses={"train/loss": 0.5})  # all finite
    with pytest.raises(TrainingDivergedError, match=r"the loss is not finite \(train/loss = nan\)"):
        check_finite_state(layer, None, step=1, losses={"train/loss": float("nan"), "train/clip_fraction": 0.1})
    layer.bias.grad[0] = float("inf")
    with pytest.raises(TrainingDivergedError, match=r"1 gradient tensor is not finite \(first: bias\)"):
        check_finite_state(layer, None, step=1, gradients=True)
    optim.state[layer.weight]["exp_avg_sq"][0, 0] = float("inf")
    with pytest.raises(TrainingDivergedError, match="1 optimizer state tensor is not finite"):
        check_finite_state(layer, optim, step=1)
    with torch.no_grad():
        layer.weight[0, 0] = float("-inf")
    with pytest.raises(TrainingDivergedError, match=r"at step 7: 1 parameter tensor is not finite .*lower the lr"):
        check_finite_state(layer, None, step=7, hint="lower the lr")


def test_the_callback_refuses_non_finite_policy_outputs():
    class Model:
        num_timesteps = 32
        rollout_buffer = type("Buffer", (), {"values": np.array([[0.1], [np.nan]]), "log_probs": np.zeros((2, 1))})

    callback = FiniteTrainingCallback(hint="lower the learning rate")
    callback.model, callback._rollouts = Model(), 2
    with pytest.raises(TrainingDivergedError, match=r"step 32: the policy's values are not finite \(1 of them\)"):
        callback._on_rollout_end()
    callback._rollouts = 1  # the first rollout: no update has happened, so the model itself is broken
    with pytest.raises(TrainingDivergedError, match="broken before any update"):
        callback._on_rollout_end()


def test_a_diverging_run_stops_and_writes_no_checkpoint(tmp_path, micro_lm):
    """--lr 1e30 made every weight NaN after the first update, and the run saved them with valid checksums."""
    run = tmp_path / "run"
    code, out, err = run_cli(
        "train", ENV, "--model", micro_lm, *BUDGET, "--checkpoint-every", "16", "--lr", "1e30", "--out", str(run)
    )
    assert_one_line_error("train", code, err, "training diverged at step 16: the loss is not finite")
    assert "parameter tensors are not finite" in err and "no checkpoint was written" in err and "--lr 1e+30" in err
    assert "Checkpoint:" not in out and list_checkpoints(run) == []
    assert not (run / "checkpoints").exists() or not list((run / "checkpoints").iterdir())


def test_a_resumed_run_that_diverges_names_the_last_valid_checkpoint(tmp_path, micro_lm):
    run = tmp_path / "run"
    settings = dict(env_id=ENV, model_name=micro_lm, n_steps=16, batch_size=16, progress_bar=False, tensorboard=False)
    train(TrainConfig(**settings, total_timesteps=16, out_dir=str(run)), log=lambda *a: None)
    (valid,) = list_checkpoints(run)
    before = (valid / CONFIG_FILE).read_bytes()
    cfg = TrainConfig(**settings, total_timesteps=48, checkpoint_every=16, out_dir=str(run), resume=True)
    with pytest.raises(TrainingDivergedError, match=f"at step 32.*latest valid checkpoint is {valid}"):
        train(dataclasses.replace(cfg, learning_rate=1e30), log=lambda *a: None)
    assert list_checkpoints(run) == [valid] and (valid / CONFIG_FILE).read_bytes() == before


def test_a_broken_starting_model_is_refused_before_training(tmp_path, micro_lm):
    from transformers import AutoModelForCausalLM

    broken = tmp_path / "broken"
    shutil.copytree(micro_lm, broken)
    model = AutoModelForCausalLM.from_pretrained(str(broken))
    with torch.no_grad():
        model.transformer.h[0].mlp.c_fc.weight.fill_(float("nan"))
    model.save_pretrained(str(broken))
    cfg = TrainConfig(
        env_id=ENV, model_name=str(broken), total_timesteps=16, n_steps=16, batch_size=16, out_dir=str(tmp_path / "r"),
        progress_bar=False, tensorboard=False,
    )  # fmt: skip
    with pytest.raises(TrainingDivergedError, match="broken before any update: 1 parameter tensor is not finite"):
        train(cfg, log=lambda *a: None)
    assert list_checkpoints(tmp_path / "r") == []


def test_sft_that_diverges_writes_no_model_folder(tmp_path, micro_lm):
    """One step at lr 1e30 leaves finite weights of size 1e30, which no longer compute: refused too."""
    out = tmp_path / "sft"
    code, _, err = run_cli(
        "sft", "Dialogue-v0", "--model", micro_lm, "--out", str(out), "--steps", "1", "--batch-size", "2",
        "--lr", "1e30", "--env-kwargs", '{"max_prompt_len": 32, "max_new_tokens": 8}',
    )  # fmt: skip
    assert_one_line_error("sft", code, err, "training diverged at step 1: the loss is not finite")
    assert "lower the learning rate (now 1e+30, --lr)" in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".sft")]


def test_sft_stops_at_the_first_non_finite_loss(micro_lm, monkeypatch):
    import tokengym.agents.supervised.sft as sft

    losses = iter([1.0, float("nan")])
    real = sft.sft_loss

    def loss(model, batch, pad_id):
        value = real(model, batch, pad_id)
        return value * 0 + next(losses)

    monkeypatch.setattr(sft, "sft_loss", loss)
    cfg = SFTConfig(env_id="Dialogue-v0", model_name=micro_lm, steps=3, batch_size=1, env_kwargs={"max_new_tokens": 8})
    with pytest.raises(TrainingDivergedError, match=r"at step 1: the loss is not finite \(loss = nan\)"):
        supervised_finetune(cfg, out=None)


def test_a_rollout_larger_than_memory_is_refused_before_anything_is_built(tmp_path, monkeypatch, micro_lm):
    """NumPy reserves a rollout buffer lazily: a typo in --n-steps would fail only when memory runs out."""
    monkeypatch.setattr("tokengym.agents.replay.available_bytes", lambda: 100_000_000)
    run = tmp_path / "run"
    code, _, err = run_cli(
        "train", ENV, "--model", micro_lm, "--steps", "1000000", "--n-steps", "1000000", "--batch-size", "1000",
        "--no-progress", "--out", str(run),
    )  # fmt: skip
    assert_one_line_error("train", code, err, "n_envs*n_steps = 1,000,000 steps takes 0.2 GB (160 bytes a step)")
    assert "use --n-steps 312,500 or less" in err and not run.exists()


def test_an_output_folder_that_cannot_be_written_is_found_before_training(tmp_path, micro_lm):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # the superuser writes anyway: make the write fail another way
            locked.chmod(0o700)
            (locked / "runs").write_text("a file where a folder goes")
            out = locked / "runs" / "ppo"
        else:
            out = locked / "ppo"
        code, stdout, err = run_cli("train", ENV, "--model", micro_lm, *BUDGET, "--out", str(out))
        assert code == 2 and "--out" in err and "Training" not in stdout, err
        assert not out.exists() and not [p for p in locked.iterdir() if p.name.startswith(".tokengym")]
    finally:
        locked.chmod(0o700)
