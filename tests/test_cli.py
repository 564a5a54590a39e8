"""The `tokengym` command: list, train, eval, sft and play, in-process on a micro model with tiny budgets.

Checkpoints: train -> checkpoint -> eval, resume from the saved step with the saved weights, and a specific
error (with nothing written) for damaged checkpoints, checkpoints of another run, and bad input.
"""

import contextlib
import io
import json
import shutil
from pathlib import Path

import gymnasium as gym
import pytest
import torch
from cli_runner import run_cli
from safetensors.torch import load_file
from stable_baselines3.common.callbacks import BaseCallback

from tokengym.agents.running.algorithms import ALGORITHMS, make_vec_envs
from tokengym.agents.running.checkpoint import (
    CONFIG_FILE,
    POLICY_FILE,
    list_checkpoints,
    load_checkpoint,
    save_checkpoint,
)
from tokengym.agents.running.train import TrainConfig, load_policy, train
from tokengym.cli import main
from tokengym.rewards import make_reward

ENV = "TokenSubset-v0"
BUDGET = ["--steps", "32", "--n-steps", "16", "--batch-size", "16", "--no-progress"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Micro models run fastest on one thread, and do not oversubscribe cores shared with other work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time: proof that nothing was written."""
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, micro_lm):
    """A PPO run of 32 steps with an adaptive KL penalty, unnormalised advantages and a checkpoint every 16 steps."""
    run = tmp_path_factory.mktemp("run") / "ppo"
    code, out, err = run_cli(
        "train", ENV, "--model", micro_lm, *BUDGET, "--checkpoint-every", "16", "--kl-coef", "0.05",
        "--target-kl", "0.01", "--no-normalize-advantage", "--out", str(run),
    )  # fmt: skip
    assert code == 0, err
    assert "Checkpoint:" in out
    return run


# ------------------------------------------------------------------------------------------------ list


def test_list_shows_the_algorithms():
    code, out, _ = run_cli("list")
    assert code == 0 and "Algorithms" in out
    for name in ALGORITHMS:
        assert f"  {name} " in out
    with pytest.raises(SystemExit), contextlib.redirect_stdout(io.StringIO()) as help_text:
        main(["train", "--help"])
    assert f"One of: {', '.join(ALGORITHMS)}." in " ".join(help_text.getvalue().split())
    # Each env's own default reward, not its base class's.
    support = out[out.index("DialogueSupport-v0") :].splitlines()[1]
    assert "task_success" in support and "relevance_lexical" not in support


# ----------------------------------------------------------------------------------------------- train


def test_train_writes_safetensors_checkpoints_and_tensorboard_logs(trained_run):
    steps = [int(json.loads((p / CONFIG_FILE).read_text())["num_timesteps"]) for p in list_checkpoints(trained_run)]
    assert steps == [16, 32]
    final = list_checkpoints(trained_run)[-1]
    meta = json.loads((final / CONFIG_FILE).read_text())
    assert meta["algorithm"] == "ppo" and meta["env_id"] == ENV and meta["final"] is True
    assert meta["vocab_size"] == 4096 and meta["seed"] == 0 and meta["env_kwargs"] == {}
    assert meta["hyperparameters"]["normalize_advantage"] is False
    assert set(meta["kl"]) == {"kl_coef", "target_kl", "horizon"} and meta["kl"]["kl_coef"] != 0.05  # adapted
    assert {"torch", "stable-baselines3", "safetensors", "tokengym"} <= set(meta["versions"])
    tensors = load_file(str(final / POLICY_FILE))
    assert "lm.transformer.wte.weight" in tensors and "lm.lm_head.weight" not in tensors  # tied: stored once
    assert meta["tied_weights"] == {"lm.lm_head.weight": "lm.transformer.wte.weight"}
    assert not [p for p in (trained_run / "checkpoints").iterdir() if p.name.startswith(".")]  # no leftovers

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (trained_run / "tb").iterdir()
    accumulator = EventAccumulator(str(events))
    accumulator.Reload()
    tags = set(accumulator.Tags()["scalars"])
    assert {"rollout/ep_rew_mean", "rewards/odd_share", "rewards/kl", "train/kl_coef"} <= tags


def test_an_existing_run_is_not_overwritten(trained_run, micro_lm):
    before = snapshot(trained_run)
    code, _, err = run_cli("train", ENV, "--model", micro_lm, *BUDGET, "--out", str(trained_run))
    assert code == 2 and "already holds a run" in err and "--resume" in err
    assert snapshot(trained_run) == before


def test_resume_continues_from_the_saved_step_with_the_saved_weights(trained_run, micro_lm, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    saved = load_checkpoint(list_checkpoints(run)[-1])
    stray = run / "checkpoints" / ".step-000000048.tmp-x1y2"  # what a crash in the middle of a write leaves
    stray.mkdir()
    (stray / POLICY_FILE).write_bytes(b"partial")

    class AtStart(BaseCallback):
        def _on_training_start(self) -> None:
            self.steps = self.model.num_timesteps
            self.weights = {k: v.detach().clone() for k, v in self.model.policy.state_dict().items()}
            self.adam = self.model.policy.optimizer.state_dict()["state"][0]["exp_avg"].clone()

        def _on_step(self) -> bool:
            return True

    at_start, logged = AtStart(), []
    cfg = TrainConfig(
        env_id=ENV, model_name=micro_lm, total_timesteps=64, n_steps=16, batch_size=16, kl_coef=0.05,
        target_kl=0.01, out_dir=str(run), resume=True, progress_bar=False, tensorboard=False,
    )  # fmt: skip
    result = train(cfg, callbacks=[at_start], log=logged.append)

    assert at_start.steps == saved.num_timesteps == 32 and result.start_step == 32
    assert at_start.weights.keys() == saved.policy_state.keys()
    for name, tensor in saved.policy_state.items():
        assert torch.equal(at_start.weights[name], tensor), name
    assert torch.equal(at_start.adam, saved.optimizer_state["state"][0]["exp_avg"])
    assert f"KL coefficient {saved.meta['kl']['kl_coef']:.6g}" in logged[0]
    assert result.num_timesteps == 64
    final = load_checkpoint(result.checkpoint)
    assert final.num_timesteps == 64 and final.meta["n_updates"] > saved.meta["n_updates"]
    assert not all(torch.equal(final.policy_state[k], v) for k, v in saved.policy_state.items())


def test_resume_with_nothing_to_resume_errors(tmp_path, micro_lm):
    out = tmp_path / "empty"
    code, _, err = run_cli("train", ENV, "--model", micro_lm, *BUDGET, "--resume", "--out", str(out))
    assert code == 2 and "no checkpoint to resume" in err
    assert not out.exists()


def corrupt(ckpt: Path, how: str) -> None:
    meta_path = ckpt / CONFIG_FILE
    meta = json.loads(meta_path.read_text())
    if how == "truncated":
        data = (ckpt / POLICY_FILE).read_bytes()
        (ckpt / POLICY_FILE).write_bytes(data[: len(data) // 2])
    elif how == "unreadable":  # damaged so that the checksum agrees: safetensors itself must refuse it
        (ckpt / POLICY_FILE).write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{bad}")
        import hashlib

        meta["files"][POLICY_FILE] = hashlib.sha256((ckpt / POLICY_FILE).read_bytes()).hexdigest()
        meta_path.write_text(json.dumps(meta))
    elif how == "missing_json":
        meta_path.unlink()
    elif how == "other_env":
        meta_path.write_text(json.dumps({**meta, "env_id": "Dialogue-v0"}))
    elif how == "other_model":
        meta_path.write_text(json.dumps({**meta, "model_name": "tiny"}))


@pytest.mark.parametrize(
    ("how", "on_eval", "on_resume"),
    [
        ("truncated", "does not match the checksum", "does not match the checksum"),
        ("unreadable", "cannot be read", "cannot be read"),
        ("missing_json", "checkpoint.json is missing", "checkpoint.json is missing"),
        ("other_env", "was trained on Dialogue-v0, not TokenSubset-v0", "env_id is 'Dialogue-v0' there"),
        ("other_model", "does not fit its policy", "model_name is 'tiny' there"),
    ],
)
def test_damaged_or_foreign_checkpoints_get_specific_errors(trained_run, micro_lm, tmp_path, how, on_eval, on_resume):
    run = tmp_path / "run"
    shutil.copytree(trained_run, run)
    corrupt(list_checkpoints(run)[-1], how)
    before = snapshot(run)

    code, out, err = run_cli("eval", ENV, "--model", str(list_checkpoints(run)[-1]), "--episodes", "1")
    assert code == 2 and on_eval in err and not out, err
    code, _, err = run_cli("train", ENV, "--model", micro_lm, *BUDGET, "--steps", "64", "--resume", "--out", str(run))
    assert code == 2 and on_resume in err, err
    assert snapshot(run) == before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", ENV, "--algo", "ppoo"], "unknown algorithm 'ppoo'; did you mean 'ppo'"),
        (["train", "dialogue-v1"], "unknown environment 'dialogue-v1'; did you mean 'Dialogue-v0'"),
        (["train", "TextNavCmd-v0"], "command-level game: its observation lists the admissible commands"),
        (["train", "TextNav-v0", "--algo", "dqn"], "action_masks(), which DQN ignores"),
        (["train", ENV, "--algo", "maskable_ppo"], "has no action_masks(), which maskable_ppo needs"),
        (["train", ENV, "--target-kl", "0.1"], "pass a starting kl_coef > 0"),
        (["train", ENV, "--algo", "dqn", "--group-size", "2"], "on-policy algorithms, not dqn"),
        (["train", ENV, "--reward", "rouge_l"], "TokenSubset-v0 takes no argument 'reward'"),
        (["train", ENV, "--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
        (["train", ENV, "--algo", "a2c", "--no-normalize-advantage"], "applies to ppo, maskable_ppo and trpo"),
        (["sft", "TextNav-v0"], "TextNav-v0's games record no walkthrough"),
        (["eval", "TextNavCmd-v0"], "MultiInputPolicy"),
        (["eval", ENV, "--split", "test"], "TokenSubset-v0 has no data splits"),
    ],
)
def test_bad_input_gets_a_specific_error_and_writes_nothing(argv, message, tmp_path, micro_lm):
    out = tmp_path / "out"
    extra = ["--model", micro_lm] + {"train": ["--out", str(out), "--no-progress"], "sft": ["--out", str(out)]}.get(
        argv[0], []
    )
    code, stdout, err = run_cli(*argv, *extra)
    assert code == 2 and message in err, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("algo", "env", "extra"),
    [
        ("a2c", ENV, []),
        ("trpo", ENV, []),
        ("maskable_ppo", "CoinCollector-v0", []),  # the game's own masks
        ("maskable_ppo", ENV, ["--nlpo-top-p", "0.9"]),  # NLPO's nucleus masks on a task without masks
        ("dqn", ENV, ["--learning-starts", "8", "--buffer-size", "64"]),
    ],
    ids=["a2c", "trpo", "maskable_ppo", "maskable_ppo-nlpo", "dqn"],
)
def test_every_algorithm_trains_and_its_checkpoint_evaluates(algo, env, extra, tmp_path, micro_lm):
    ok, why = ALGORITHMS[algo].available()
    assert ok, why  # every algorithm's package is a dependency: a missing one is a failure, not a skip
    code, out, err = run_cli("train", env, "--algo", algo, "--model", micro_lm, *BUDGET, "--out", str(tmp_path), *extra)
    assert code == 0, err
    assert json.loads((list_checkpoints(tmp_path)[-1] / CONFIG_FILE).read_text())["num_timesteps"] >= 32
    code, out, err = run_cli("eval", env, "--model", str(tmp_path), "--episodes", "1", "--json")
    assert code == 0, err
    assert json.loads(out)["checkpoint"]["algorithm"] == algo


def test_train_config_checks_its_invariants():
    with pytest.raises(ValueError, match="must divide"):
        TrainConfig(env_id=ENV, n_steps=16, batch_size=12)
    with pytest.raises(ValueError, match="less than one rollout"):
        TrainConfig(env_id=ENV, total_timesteps=8, n_steps=16)
    with pytest.raises(ValueError, match="on-policy"):
        TrainConfig(env_id=ENV, algo="dqn", kl_coef=0.1)
    with pytest.raises(ValueError, match="maskable_ppo"):
        TrainConfig(env_id=ENV, nlpo_top_p=0.9)
    with pytest.raises(ValueError, match="reward once"):
        TrainConfig(env_id="Dialogue-v0", reward="rouge_l", env_kwargs={"reward": "bleu"})
    assert TrainConfig(env_id="tokengym:Dialogue-v0").env_id == "Dialogue-v0"


def test_more_than_one_env_runs_in_subprocesses(micro_lm):
    from stable_baselines3.common.vec_env import SubprocVecEnv

    venv = make_vec_envs(TrainConfig(env_id=ENV, model_name=micro_lm, n_envs=2, n_steps=16, batch_size=16), seed=0)
    try:
        assert isinstance(venv, SubprocVecEnv)
        assert venv.reset()["input_ids"].shape == (2, 16)
    finally:
        venv.close()


# ------------------------------------------------------------------------------------------------ eval


def test_eval_from_a_checkpoint_prints_mean_std_components_and_samples(trained_run):
    code, out, _ = run_cli("eval", ENV, "--model", str(trained_run), "--episodes", "3", "--seed", "5")
    assert code == 0
    assert "checkpoint of ppo at step 32" in out and "mean reward" in out and "±" in out
    assert "odd_share" in out and "seed 5, return" in out and "completion:" in out


def test_eval_json_is_one_parseable_object(trained_run, micro_lm):
    code, out, _ = run_cli("eval", ENV, "--model", str(trained_run), "--episodes", "2", "--json", "--deterministic")
    assert code == 0
    report = json.loads(out)
    assert report["episodes"] == 2 and len(report["returns"]) == 2 and report["deterministic"] is True
    assert report["checkpoint"]["num_timesteps"] == 32 and "odd_share" in report["components"]
    assert abs(report["mean"] - sum(report["returns"]) / 2) < 1e-9
    code, again, _ = run_cli("eval", ENV, "--model", str(trained_run), "--episodes", "2", "--json", "--deterministic")
    assert json.loads(again)["returns"] == report["returns"]  # seeded and greedy: the same episodes
    code, out, _ = run_cli("eval", ENV, "--model", micro_lm, "--episodes", "1", "--json")
    assert code == 0 and json.loads(out)["checkpoint"] is None


# ------------------------------------------------------------------------------------------------- sft


def test_sft_writes_a_model_folder_that_train_and_eval_load(tmp_path, micro_lm):
    folder = tmp_path / "sft"
    small = ["--env-kwargs", '{"max_prompt_len": 32, "max_new_tokens": 8}']
    code, out, err = run_cli("sft", "Dialogue-v0", "--model", micro_lm, "--out", str(folder), "--steps", "2",
                             "--batch-size", "2", *small)  # fmt: skip
    assert code == 0, err
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", str(folder), "--episodes", "1", "--json", *small)
    assert code == 0, err
    assert "relevance_lexical" in json.loads(out)["components"]
    code, _, err = run_cli("train", "Dialogue-v0", "--model", str(folder), "--steps", "16", "--n-steps", "16",
                           "--batch-size", "16", "--no-progress", "--out", str(tmp_path / "run"), *small)  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli("sft", "Dialogue-v0", "--model", micro_lm, "--out", str(folder), "--steps", "1")
    assert code == 2 and "not empty" in err


# ------------------------------------------------------------------------------------------------ play


def test_play_a_dialogue_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("Hello! How can I help you today?\n:reset\n:quit\n"))
    code, out, _ = run_cli("play", "Dialogue-v0", "--seed", "3")
    assert code == 0
    assert "episode 1 (seed 3)" in out and "Assistant:" in out and "relevance_lexical=" in out
    assert "episode over: return" in out and "reference:" in out
    assert "episode 3 (seed 5)" in out and out.rstrip().endswith("bye")  # :reset started episode 3


def test_play_a_command_level_game_from_stdin_until_end_of_input(monkeypatch):
    _, info = gym.make("TextNavCmd-v0").reset(seed=0)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{info['admissible_commands'][0]}\ndance wildly\n"))
    code, out, _ = run_cli("play", "TextNavCmd-v0")
    assert code == 0
    assert "commands: " in out and "Turns left: 49" in out and "reward " in out
    assert "'dance wildly' is not one of the offered commands" in out and out.rstrip().endswith("bye")


# ---------------------------------------------------------------------------------------- checkpoint files


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    model = torch.nn.Linear(3, 2)
    meta = {
        "algorithm": "ppo", "env_id": ENV, "env_kwargs": {}, "model_name": "tiny", "vocab_size": 2, "seed": 0,
        "num_timesteps": 1, "policy_kwargs": {},
    }  # fmt: skip
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    folder = save_checkpoint(tmp_path / "ckpt", model.state_dict(), opt.state_dict(), meta)
    loaded = load_checkpoint(folder)
    assert torch.equal(loaded.policy_state["weight"], model.weight)
    assert torch.equal(loaded.optimizer_state["state"][0]["exp_avg_sq"], opt.state_dict()["state"][0]["exp_avg_sq"])
    assert loaded.optimizer_state["param_groups"][0]["betas"] == (0.9, 0.999)

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("tokengym.agents.running.checkpoint.save_file", fail)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(folder, model.state_dict(), None, {**meta, "num_timesteps": 2})
    assert load_checkpoint(folder).num_timesteps == 1
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_eval_on_summarization_reports_every_metric_on_the_held_out_split(micro_lm):
    code, out, err = run_cli("eval", "Summarization-v0", "--model", micro_lm, "--episodes", "2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["split"] == "test"  # held out by default
    expected = {"rouge_1", "rouge_2", "rouge_l", "bleu", "chrf", "semantic_similarity", "faithfulness"}
    assert expected | {"compression", "fact_coverage"} == set(report["metrics"])
    # Each completion's metrics are the reward functions' own values on it.
    sample = report["samples"][0]
    env = gym.make("Summarization-v0", split="test")
    env.reset(seed=sample["seed"])
    columns = {k: [v] for k, v in env.unwrapped.current_sample.columns.items()}
    for name in ("rouge_l", "faithfulness", "fact_coverage"):
        assert sample["metrics"][name] == pytest.approx(
            make_reward(name)([sample["prompt"]], [sample["completion"]], **columns)[0]
        )
    code, out, _ = run_cli("eval", "Summarization-v0", "--model", micro_lm, "--episodes", "1", "--split", "train")
    assert code == 0 and "split train" in out and "fact_coverage" in out and "± " in out
    code, out, _ = run_cli("eval", "Summarization-v0", "--model", micro_lm, "--episodes", "1", "--metrics", "none")
    assert code == 0 and "metrics (mean" not in out


def test_train_with_group_baselines_and_a_temperature(tmp_path, micro_lm):
    cfg = TrainConfig(
        env_id=ENV,
        model_name=micro_lm,
        total_timesteps=64,
        n_steps=32,
        batch_size=32,
        group_size=4,
        temperature=0.7,
        normalize_advantage=False,
        out_dir=str(tmp_path),
        progress_bar=False,
        tensorboard=False,
    )
    result = train(cfg, log=lambda *a: None)
    buffer = result.model.rollout_buffer
    assert buffer.baseline == "group" and buffer.grouped_fraction > 0.5
    assert result.model.normalize_advantage is False
    assert result.num_timesteps == 64
    # The temperature is the policy's own and comes back with the checkpoint.
    assert json.loads((result.checkpoint / CONFIG_FILE).read_text())["policy_kwargs"]["temperature"] == 0.7
    assert load_policy(str(result.checkpoint), ENV).policy.temperature == 0.7
    with pytest.raises(ValueError, match="temperature must be positive"):
        TrainConfig(env_id=ENV, temperature=0)


def test_train_help_lists_every_config_field_with_its_docstring(capsys, monkeypatch):
    import dataclasses

    monkeypatch.setenv("COLUMNS", "100000")  # no wrapping, so that hyphenated words stay whole
    from tokengym.agents.running.config import TrainConfig
    from tokengym.cli.flags import field_docs, plain

    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    docs = field_docs(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if field.name == "env_id":
            continue  # the positional argument
        assert "--" + field.name.replace("_", "-") in text, field.name
        assert plain(docs[field.name]) in text, field.name


def test_config_flags_parse_types_and_leave_defaults_to_the_config():
    import argparse

    from tokengym.agents.running.config import TrainConfig
    from tokengym.cli.flags import add_config_flags, config_arguments

    parser = argparse.ArgumentParser()
    add_config_flags(parser, TrainConfig, aliases={"learning_rate": ("--lr",)}, skip=("env_id",))
    args = parser.parse_args(
        ["--lr", "3e-5", "--target-kl", "none", "--env-kwargs", '{"max_new_tokens": 8}', "--no-normalize-advantage"]
    )
    assert config_arguments(args, TrainConfig) == {
        "learning_rate": 3e-5,
        "target_kl": None,
        "env_kwargs": {"max_new_tokens": 8},
        "normalize_advantage": False,
    }
    for bad in (["--lr", "inf"], ["--kl-coef", "nan"], ["--n-steps", "1.5"]):
        with pytest.raises(SystemExit), contextlib.redirect_stderr(io.StringIO()):
            parser.parse_args(bad)
    with pytest.raises(ValueError, match="--env-kwargs must be a JSON object"):
        config_arguments(parser.parse_args(["--env-kwargs", "[1]"]), TrainConfig)
