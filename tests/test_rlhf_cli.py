"""``tokengym dpo`` and ``tokengym rlhf``: a run of each on a micro model, and every refusal in one line, exit
status 2, with nothing written."""

import json

import pytest
from cli_runner import run_cli

from tokengym.feedback import Preference, write_preferences
from tokengym.feedback.dpo import REPORT_FILE

ENV_KWARGS = {"max_prompt_len": 32, "max_new_tokens": 8}


def please_pairs(n):
    return [Preference(f"User: request {i}?\nAssistant:", f"sure please {i}", f"sure {i}") for i in range(n)]


def assert_one_line_error(code, err, command, message):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"tokengym {command}: error: "), err
    assert message in lines[0], err


@pytest.fixture
def prefs_file(tmp_path):
    path = tmp_path / "prefs.jsonl"
    write_preferences(path, please_pairs(40))
    return path


def test_dpo_command_trains_and_writes_a_model_folder(micro_lm, prefs_file, tmp_path):
    out = tmp_path / "model"
    code, stdout, err = run_cli(
        "dpo", "--prefs", str(prefs_file), "--out", str(out), "--model", micro_lm, "--lr", "0.01", "--epochs", "1",
        "--env-kwargs", json.dumps(ENV_KWARGS), "--eval-episodes", "2", "--max-length", "64",
    )  # fmt: skip
    assert code == 0, err
    assert "held out: preference accuracy" in stdout and "Gold reward on 2 held-out prompts" in stdout
    assert (out / "model.safetensors").is_file() and (out / REPORT_FILE).is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--beta", "0"], "beta must be positive"),
        (["--eval-fraction", "0.95"], "eval_fraction must be in"),
        (["--env-kwargs", '{"split": "test"}'], "must not set ['split']"),
        (["--model", "no/such/folder/here"], "does not exist"),
    ],
)
def test_dpo_command_refuses_bad_input_and_writes_nothing(prefs_file, tmp_path, extra, message):
    out = tmp_path / "model"
    code, _, err = run_cli("dpo", "--prefs", str(prefs_file), "--out", str(out), *extra)
    assert_one_line_error(code, err, "dpo", message)
    assert not out.exists()


def test_dpo_command_refuses_a_bad_file_and_a_taken_folder(prefs_file, tmp_path):
    missing = tmp_path / "missing.jsonl"
    code, _, err = run_cli("dpo", "--prefs", str(missing), "--out", str(tmp_path / "a"))
    assert_one_line_error(code, err, "dpo", "missing.jsonl")
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("mine")
    code, _, err = run_cli("dpo", "--prefs", str(prefs_file), "--out", str(tmp_path / "taken"))
    assert_one_line_error(code, err, "dpo", "not empty")
    assert not (tmp_path / "a").exists() and [p.name for p in (tmp_path / "taken").iterdir()] == ["x"]


def test_rlhf_command_runs_a_round_and_refuses_another_config_in_its_folder(micro_lm, tmp_path):
    out = tmp_path / "run"
    small = [
        "--model", micro_lm, "--env-kwargs", json.dumps(ENV_KWARGS), "--rounds", "1", "--pairs-per-round", "6",
        "--rm-epochs", "1", "--ppo-steps", "32", "--n-envs", "2", "--n-steps", "16", "--batch-size", "32",
        "--group-size", "1", "--eval-episodes", "4", "--curve-episodes", "2", "--out", str(out),
    ]  # fmt: skip
    code, stdout, err = run_cli("rlhf", "Dialogue-v0", *small)
    assert code == 0, err
    assert "round 1: reward model accuracy" in stdout and "Over-optimisation:" in stdout
    assert f"tokengym eval Dialogue-v0 --model {out / 'round-1' / 'policy'} --reward" in stdout
    code, _, err = run_cli("rlhf", "Dialogue-v0", *small, "--kl-coef", "0.5", "--resume")
    assert_one_line_error(code, err, "rlhf", "kl_coef is 0.1 there, 0.5 here")
    code, _, err = run_cli("rlhf", "Dialogue-v0", *small)
    assert_one_line_error(code, err, "rlhf", "pass --resume")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["Dialogue-v0", "--rounds", "0"], "rounds must be"),
        (["TokenSubset-v0", "--env-kwargs", "{}", "--group-size", "1"], "no train and test split"),
        (["Dialogue-v0", "--env-kwargs", '{"reward": "politeness"}'], "must not set ['reward']"),
        (["Dialogue-v0", "--kl-coef", "0", "--target-kl", "0.1"], "target_kl adapts"),
        (["Dialogue-v0", "--gold", "politenes"], "politenes"),
        (["Dialogue-v0", "--resume"], "holds no RLHF run to resume"),
        (["Dialogue-v0", "--kl-coef", "nan"], "not a finite number"),
    ],
)
def test_rlhf_command_refuses_bad_input_and_writes_nothing(tmp_path, argv, message):
    out = tmp_path / "run"
    code, _, err = run_cli("rlhf", *argv, "--out", str(out))
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not out.exists()
