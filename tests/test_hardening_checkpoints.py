"""Checkpoints check themselves, and run folders skip what is not a valid checkpoint.

``checkpoint.json`` is checked against its schema before anything in it is used (every damaged variant gets a
specific :class:`CheckpointError`); a tie can never replace a stored tensor; NaN tensors are neither written nor
loaded; ``eval`` and ``--resume`` of a run folder skip an empty (or, for ``eval``, damaged) newest step folder
and say which one they took; staging folders of killed writes are removed by the next write.
"""

import dataclasses
import json
import os
import re
import shutil
import warnings
from pathlib import Path

import pytest
import torch
from cli_runner import run_cli

from tokengym.agents.running import checkpoint as ck
from tokengym.agents.running.checkpoint import (
    CONFIG_FILE,
    OPTIMIZER_FILE,
    POLICY_FILE,
    CheckpointError,
    CheckpointWarning,
    checkpoint_folder,
    latest_checkpoint,
    list_checkpoints,
    load_checkpoint,
    load_run_checkpoint,
    open_checkpoint,
    save_checkpoint,
)
from tokengym.agents.running.train import TrainConfig, load_policy, train

ENV = "TokenSubset-v0"
META = {
    "algorithm": "ppo", "env_id": ENV, "env_kwargs": {}, "model_name": "tiny", "vocab_size": 10, "seed": 0,
    "num_timesteps": 1, "policy_kwargs": {}, "n_updates": 1, "final": False, "hyperparameters": {"lr": 0.001},
    "kl": {"kl_coef": 0.05, "target_kl": 0.01, "horizon": 100},
}  # fmt: skip
DEEP = json.loads("[" * 40 + "]" * 40)
SHA_OF_NOTHING = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


class Tied(torch.nn.Module):
    """A tiny model with a tied head (stored once, re-tied on load) and two layers of the same shape."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(10, 4)
        self.norm1 = torch.nn.LayerNorm(4)
        self.norm2 = torch.nn.LayerNorm(4)
        self.head = torch.nn.Linear(4, 10, bias=False)
        self.head.weight = self.emb.weight


def write(folder: Path, model: torch.nn.Module | None = None, **meta) -> Path:
    model = model or Tied()
    opt = torch.optim.Adam(model.parameters())
    model.head(model.norm2(model.norm1(model.emb(torch.tensor([1, 2]))))).sum().backward()
    opt.step()
    return save_checkpoint(folder, model.state_dict(), opt.state_dict(), {**META, **meta})


def edit(folder: Path, change) -> None:
    path = folder / CONFIG_FILE
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


# --------------------------------------------------------------------------------------- checkpoint.json schema


def test_a_whole_checkpoint_round_trips_with_its_ties(tmp_path):
    folder = write(tmp_path / "ckpt")
    loaded = load_checkpoint(folder)
    assert loaded.meta["tied_weights"] == {"head.weight": "emb.weight"}
    assert loaded.policy_state["head.weight"] is loaded.policy_state["emb.weight"]
    Tied().load_state_dict(loaded.policy_state, strict=True)


def setter(key, value):
    return lambda m: m.__setitem__(key, value)


def nested(key, inner, value):
    return lambda m: m[key].__setitem__(inner, value)


DAMAGED_DESCRIPTIONS = [
    ("truncated", '{"format": "tokengym.checkpoint", "files": {', "is not valid JSON"),
    ("a list", "[1]", "is not a tokengym checkpoint description"),
    ("empty", "", "is not valid JSON"),
    ("nested 100k deep", '{"format": "tokengym.checkpoint", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", "too deep"),
    ("nested 40 deep", setter("env_kwargs", {"a": DEEP}), "nested more than 32 levels deep"),
    ("NaN", '{"format": "tokengym.checkpoint", "seed": NaN}', "non-finite number .NaN is not"),
    ("1e400", '{"format": "tokengym.checkpoint", "seed": 1e400}', "non-finite number .the number 1e400"),
    ("-Infinity", '{"format": "tokengym.checkpoint", "seed": -Infinity}', "non-finite number"),
    ("format", setter("format", "other"), "is not a tokengym checkpoint description"),
    ("format_version true", setter("format_version", True), "has format version True; this tokengym reads version 1"),
    ("format_version '1'", setter("format_version", "1"), "has format version '1'"),
    ("format_version 2", setter("format_version", 2), "has format version 2"),
    (
        "files null policy",
        nested("files", POLICY_FILE, None),
        r"'files.policy.safetensors' must be a SHA-256 .* not null",
    ),
    ("files null optimizer", nested("files", OPTIMIZER_FILE, None), "'files.optimizer.safetensors' must be a SHA-256"),
    (
        "files short sha",
        nested("files", POLICY_FILE, "abc"),
        r"must be a SHA-256 \(64 lowercase hex digits\), not \"abc",
    ),
    ("files upper sha", nested("files", POLICY_FILE, "A" * 64), "must be a SHA-256"),
    ("files extra path", nested("files", "../x", "0" * 64), r"lists \"../x\", not a file of a checkpoint"),
    ("files 'x'", setter("files", "x"), "field 'files' must be an object of file names"),
    ("files empty", setter("files", {}), "lists no checksum for policy.safetensors"),
    ("files no optimizer", lambda m: m["files"].pop(OPTIMIZER_FILE), "lists no checksum for optimizer.safetensors"),
    ("optimizer listed, not stored", setter("optimizer", None), "lists optimizer.safetensors but stores no optimizer"),
    ("no files", lambda m: m.pop("files"), "lacks 'files'"),
    ("no algorithm", lambda m: m.pop("algorithm"), "lacks 'algorithm' \\(a non-empty string\\)"),
    ("tied_weights 'x'", setter("tied_weights", "x"), "field 'tied_weights' must be an object of strings"),
    ("tied_weights to 5", setter("tied_weights", {"head.weight": 5}), "'tied_weights' must be an object of strings"),
    ("tie chain", setter("tied_weights", {"a": "head.weight", "head.weight": "emb.weight"}), "itself a tied weight"),
    ("tie loop", setter("tied_weights", {"head.weight": "head.weight"}), "itself a tied weight"),
    ("vocab_size '10'", setter("vocab_size", "10"), "field 'vocab_size' must be an integer >= 1, not \"10\""),
    ("vocab_size 0", setter("vocab_size", 0), "'vocab_size' must be an integer >= 1, not 0"),
    ("vocab_size true", setter("vocab_size", True), "'vocab_size' must be an integer"),
    ("num_timesteps -5", setter("num_timesteps", -5), "'num_timesteps' must be an integer >= 0, not -5"),
    ("num_timesteps 2.0", setter("num_timesteps", 2.0), "'num_timesteps' must be an integer"),
    ("seed 1.5", setter("seed", 1.5), "'seed' must be an integer >= 0, not 1.5"),
    ("env_kwargs []", setter("env_kwargs", []), "'env_kwargs' must be a JSON object, not \\[\\]"),
    ("policy_kwargs null", setter("policy_kwargs", None), "'policy_kwargs' must be a JSON object, not null"),
    ("model_name ''", setter("model_name", ""), "'model_name' must be a non-empty string"),
    ("env_id 7", setter("env_id", 7), "'env_id' must be a non-empty string, not 7"),
    ("n_updates []", setter("n_updates", []), "'n_updates' must be an integer >= 0"),
    ("final 'yes'", setter("final", "yes"), "'final' must be true or false"),
    ("hyperparameters 1", setter("hyperparameters", 1), "'hyperparameters' must be a JSON object"),
    ("kl 'x'", setter("kl", "x"), "'kl' must be a JSON object or null"),
    ("kl_coef 'x'", nested("kl", "kl_coef", "x"), "'kl.kl_coef' must be a finite number >= 0"),
    ("kl_coef -1", nested("kl", "kl_coef", -1), "'kl.kl_coef' must be a finite number >= 0"),
    ("target_kl 0", nested("kl", "target_kl", 0), "'kl.target_kl' must be a finite number above 0 or null"),
    ("horizon 0", nested("kl", "horizon", 0), "'kl.horizon' must be an integer >= 1"),
    ("optimizer 'x'", setter("optimizer", "x"), "'optimizer' must be a JSON object or null"),
    ("param_groups {}", nested("optimizer", "param_groups", {}), "'optimizer.param_groups' must be a list"),
    ("lr 'x'", lambda m: m["optimizer"]["param_groups"][0].update(lr="x"), r"'optimizer.param_groups\[0\].lr'"),
    ("params ['a']", lambda m: m["optimizer"]["param_groups"][0].update(params=["a"]), r"param_groups\[0\].params'"),
    ("scalars key", nested("optimizer", "scalars", {"x": {}}), "'optimizer.scalars' has key 'x', not a parameter"),
    ("versions 'x'", setter("versions", "x"), "'versions' must be an object of strings"),
]


@pytest.mark.parametrize(
    ("change", "message"), [case[1:] for case in DAMAGED_DESCRIPTIONS], ids=[case[0] for case in DAMAGED_DESCRIPTIONS]
)
def test_every_damaged_description_gets_a_specific_error(tmp_path, change, message):
    folder = write(tmp_path / "ckpt")
    if isinstance(change, str):
        (folder / CONFIG_FILE).write_text(change)
    else:
        edit(folder, change)
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(folder)
    assert "\n" not in str(info.value) and str(folder) in str(info.value)


@pytest.mark.parametrize(
    ("ties", "message"),
    [
        ({"norm1.weight": "norm2.weight"}, "tied weight 'norm1.weight' would replace the stored tensor"),  # same shape
        ({"emb.weight": "norm1.weight"}, "tied weight 'emb.weight' would replace the stored tensor"),  # other shape
        ({"head.weight": "nope"}, "tied weight 'head.weight' points to missing 'nope'"),
    ],
)
def test_a_tie_can_never_replace_a_stored_layer(tmp_path, ties, message):
    folder = write(tmp_path / "ckpt")
    edit(folder, setter("tied_weights", ties))
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def test_damaged_tensor_files_are_refused(tmp_path, monkeypatch):
    folder = write(tmp_path / "ckpt")
    (folder / POLICY_FILE).write_bytes(b"")
    with pytest.raises(CheckpointError, match="does not match the checksum"):
        load_checkpoint(folder)
    edit(folder, nested("files", POLICY_FILE, SHA_OF_NOTHING))  # zero bytes, with a checksum that agrees
    with pytest.raises(CheckpointError, match=r"policy.safetensors cannot be read"):
        load_checkpoint(folder)
    folder = write(tmp_path / "ckpt2")
    (folder / OPTIMIZER_FILE).unlink()
    with pytest.raises(CheckpointError, match=r"optimizer.safetensors is missing"):
        load_checkpoint(folder)
    monkeypatch.setattr(ck, "MAX_DESCRIPTION_BYTES", 100)
    with pytest.raises(CheckpointError, match="too large to be a checkpoint description"):
        load_checkpoint(folder)
    (folder / CONFIG_FILE).write_bytes(b"\xff\xfe")
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match="is not valid JSON"):
        load_checkpoint(folder)


def test_nan_weights_are_neither_written_nor_loaded(tmp_path):
    model = Tied()
    with torch.no_grad():
        model.norm1.weight[0] = float("nan")
    with pytest.raises(CheckpointError, match=r"refusing to write .*'norm1.weight' holds NaN"):
        save_checkpoint(tmp_path / "ckpt", model.state_dict(), None, META)
    assert not list(tmp_path.iterdir()), "nothing written, no staging folder left"

    # A NaN checkpoint written before this check (valid checksums) is refused on loading.
    folder = write(tmp_path / "old")
    state = {k: v.clone() for k, v in ck.split_shared(Tied().state_dict())[0].items()}
    state["norm1.weight"][0] = float("nan")
    ck.save_file(state, str(folder / POLICY_FILE))
    edit(folder, nested("files", POLICY_FILE, ck.sha256_file(folder / POLICY_FILE)))
    with pytest.raises(CheckpointError, match=r"'norm1.weight' in policy.safetensors holds NaN"):
        load_checkpoint(folder)


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"seed": -1}, "'seed' must be an integer >= 0"),
        ({"kl": {"kl_coef": float("inf"), "target_kl": None, "horizon": 1}}, "'kl.kl_coef' must be a finite number"),
        ({"hyperparameters": {"lr": float("inf")}}, "refusing to write .*non-finite number .Out of range float"),
        ({"algorithm": None}, "'algorithm' must be a non-empty string"),
        ({"env_kwargs": {"a": DEEP}}, "nested more than 32 levels deep"),
    ],
)
def test_a_description_that_breaks_the_schema_is_never_written(tmp_path, meta, message):
    with pytest.raises(CheckpointError, match=message):
        write(tmp_path / "ckpt", **meta)
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------ staging leftovers


def test_the_next_write_removes_leftovers_of_killed_writes_and_nothing_else(tmp_path):
    run = tmp_path / "run"
    root = run / "checkpoints"
    write(checkpoint_folder(run, 16))
    past = 1_000_000_000  # long before the write below: these were left by a process killed earlier
    leftovers = {
        ".step-000000048.tmp-dead1": True,  # a killed write of another step
        ".step-000000032.tmp-dead2": True,  # a killed write of this step
        ".step-000000016.old-dead3": True,  # a replaced version whose replacement is in place
        ".step-000000064.old-dead4": False,  # the only copy: its replacement never arrived
        ".notes.tmp-abc": False,  # not a step folder's
        "step-000000008.tmp-x": False,  # not a staging name
    }
    for name in leftovers:
        (root / name).mkdir()
        (root / name / POLICY_FILE).write_bytes(b"partial")
        os.utime(root / name, (past, past))
    (root / ".step-000000049.tmp-file").write_text("a file of that name is not ours")
    (root / ".step-000000050.tmp-link").symlink_to(tmp_path)
    in_progress = root / ".step-000000099.tmp-live"  # changed after this write began: another writer's
    in_progress.mkdir()
    os.utime(in_progress, (4_000_000_000, 4_000_000_000))

    write(checkpoint_folder(run, 32))
    for name, removed in leftovers.items():
        assert (root / name).exists() != removed, name
    assert (root / ".step-000000049.tmp-file").is_file() and (root / ".step-000000050.tmp-link").is_symlink()
    assert in_progress.is_dir() and tmp_path.is_dir()
    assert [p.name for p in list_checkpoints(run)] == ["step-000000016", "step-000000032"]


def test_staging_folder_removes_older_staging_of_the_same_target(tmp_path):
    stale, other = tmp_path / ".model.tmp-dead", tmp_path / ".other.tmp-dead"
    for folder in (stale, other):
        folder.mkdir()
        os.utime(folder, (1_000_000_000, 1_000_000_000))
    staging = ck.staging_folder(tmp_path / "model")
    assert staging.is_dir() and not stale.exists() and other.exists()


# ------------------------------------------------------------------------------------------------ run folders


def make_run(root: Path, steps=(16, 32)) -> Path:
    run = root / "run"
    for step in steps:
        write(checkpoint_folder(run, step), num_timesteps=step)
    return run


def test_an_empty_newest_step_folder_is_skipped_with_a_warning(tmp_path):
    run = make_run(tmp_path)
    empty = checkpoint_folder(run, 48)
    empty.mkdir()
    assert latest_checkpoint(run).name == "step-000000032"
    for skip_damaged in (True, False):
        with pytest.warns(CheckpointWarning, match=r"using step-000000032.*skipped step-000000048 \(an empty folder\)"):
            assert load_run_checkpoint(run, skip_damaged=skip_damaged).num_timesteps == 32
    (empty / "notes.txt").write_text("x")
    with pytest.warns(CheckpointWarning, match=r"skipped step-000000048 \(no checkpoint files\)"):
        assert open_checkpoint(run).num_timesteps == 32
    with pytest.raises(CheckpointError, match=r"checkpoint.json is missing"):  # named explicitly: refused
        open_checkpoint(empty)


def test_a_damaged_newest_checkpoint_is_skipped_by_eval_and_refused_by_resume(tmp_path):
    run = make_run(tmp_path)
    edit(checkpoint_folder(run, 32), nested("files", POLICY_FILE, None))
    with pytest.warns(CheckpointWarning, match=r"using step-000000016.*skipped step-000000032 \(.*files.policy"):
        assert open_checkpoint(run).num_timesteps == 16
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(CheckpointError, match=r"files.policy.safetensors.*newest checkpoint of run folder .* to "
                           r"continue from step-000000016, the newest valid one"):  # fmt: skip
            load_run_checkpoint(run, skip_damaged=False)
    with pytest.raises(CheckpointError, match="must be a SHA-256"):
        open_checkpoint(checkpoint_folder(run, 32))
    edit(checkpoint_folder(run, 16), setter("seed", "0"))
    with pytest.raises(CheckpointError, match=r"holds no valid checkpoint: step-000000032 .*; step-000000016 .*seed"):
        open_checkpoint(run)
    with pytest.raises(CheckpointError, match=r"files.policy.safetensors' must be a SHA-256"):
        load_run_checkpoint(run, skip_damaged=False)
    shutil.rmtree(run / "checkpoints")
    (run / "checkpoints" / "step-000000016").mkdir(parents=True)
    with pytest.raises(CheckpointError, match="holds no checkpoint yet"):
        open_checkpoint(run)


# ------------------------------------------------------------------------------------ through train and the CLI


@pytest.fixture(scope="module")
def lm_run(tmp_path_factory, micro_lm):
    """A PPO run of 32 steps with checkpoints at 16 and 32."""
    run = tmp_path_factory.mktemp("hardening") / "ppo"
    cfg = TrainConfig(
        env_id=ENV, model_name=micro_lm, total_timesteps=32, n_steps=16, batch_size=16, checkpoint_every=16,
        out_dir=str(run), progress_bar=False, tensorboard=False,
    )  # fmt: skip
    train(cfg, log=lambda *a: None)
    return run, cfg


def test_resume_skips_an_empty_newest_step_and_cleans_leftovers(lm_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(lm_run[0], run)
    shutil.rmtree(checkpoint_folder(run, 32))
    checkpoint_folder(run, 32).mkdir()  # as an interrupted copy leaves it
    stray = run / "checkpoints" / ".step-000000048.tmp-dead"
    stray.mkdir()
    (stray / POLICY_FILE).write_bytes(b"x" * 1000)
    os.utime(stray, (1_000_000_000, 1_000_000_000))
    cfg = dataclasses.replace(lm_run[1], out_dir=str(run), resume=True, total_timesteps=48)
    with pytest.warns(CheckpointWarning, match=r"using step-000000016.*skipped step-000000032 \(an empty folder\)"):
        result = train(cfg, log=lambda *a: None)
    assert result.start_step == 16 and result.num_timesteps == 48
    assert not stray.exists()
    assert [p.name for p in list_checkpoints(run)] == ["step-000000016", "step-000000032", "step-000000048"]
    assert load_checkpoint(checkpoint_folder(run, 32)).num_timesteps == 32  # the empty folder was written over


def test_eval_of_a_run_folder_takes_the_newest_valid_checkpoint(lm_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(lm_run[0], run)
    ties = {"lm.transformer.h.0.ln_1.weight": "lm.transformer.h.0.ln_2.weight"}  # same shape: silently swapped before
    edit(checkpoint_folder(run, 32), setter("tied_weights", ties))
    before = snapshot(run)
    code, out, err = run_cli("eval", ENV, "--model", str(run), "--episodes", "1", "--json")
    assert code == 0, err
    assert re.search(r"tokengym eval: warning: .*using step-000000016.*would replace the stored tensor", err), err
    assert json.loads(out)["checkpoint"]["num_timesteps"] == 16
    code, _, err = run_cli("eval", ENV, "--model", str(checkpoint_folder(run, 32)), "--episodes", "1")
    assert code == 2 and "would replace the stored tensor" in err and len(err.strip().splitlines()) == 1
    budget = ["--steps", "64", "--n-steps", "16", "--batch-size", "16", "--no-progress"]
    code, _, err = run_cli("train", ENV, "--model", lm_run[1].model_name, *budget, "--resume", "--out", str(run))
    assert code == 2 and "to continue from step-000000016, the newest valid one" in err
    assert snapshot(run) == before


def test_a_checkpoint_whose_policy_settings_do_not_fit_gets_a_checkpoint_error(lm_run, tmp_path):
    folder = tmp_path / "ckpt"
    shutil.copytree(checkpoint_folder(lm_run[0], 32), folder)
    edit(folder, nested("policy_kwargs", "bogus", 1))
    with pytest.raises(CheckpointError, match="its policy_kwargs do not fit"):
        load_policy(str(folder), ENV)


def test_the_cli_shows_a_skipped_checkpoint_as_one_warning_line(lm_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(lm_run[0], run)
    checkpoint_folder(run, 48).mkdir()
    code, out, err = run_cli("eval", ENV, "--model", str(run), "--episodes", "1", "--json")
    assert code == 0, err
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 1 and lines[0].startswith("tokengym eval: warning: run folder "), err
    assert "using step-000000032" in lines[0] and "skipped step-000000048 (an empty folder)" in lines[0]
    assert json.loads(out)["checkpoint"]["num_timesteps"] == 32
