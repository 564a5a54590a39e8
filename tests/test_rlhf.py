"""The RLHF loop: rounds end to end on a micro model, resuming, refusals, people as judges, the held-out measures."""

import doctest
import json
import shutil
import threading
import time

import pytest
import torch

from tokengym.feedback import dpo as dpo_module
from tokengym.feedback import held_out as held_out_module
from tokengym.feedback import human_judging as human_judging_module
from tokengym.feedback import rlhf_config as rlhf_config_module
from tokengym.feedback import rlhf_records as rlhf_records_module
from tokengym.feedback.human_judging import FeedbackTimeoutError
from tokengym.feedback.rlhf import RLHFConfig, RLHFSettingsError, run_rlhf
from tokengym.feedback.rlhf_records import RunFolder
from tokengym.feedback.store import FeedbackStore

ENV_KWARGS = {"max_prompt_len": 32, "max_new_tokens": 8}


def micro(micro_lm, out, **overrides):
    """A loop small enough for the test suite: 8 pairs a round, one PPO rollout of 32 tokens, 6 held-out prompts."""
    settings = {
        "model_name": micro_lm,
        "env_kwargs": ENV_KWARGS,
        "rounds": 2,
        "pairs_per_round": 8,
        "rm_epochs": 1,
        "rm_batch_size": 8,
        "ppo_steps": 32,
        "n_envs": 2,
        "n_steps": 16,
        "batch_size": 32,
        "group_size": 1,
        "learning_rate": 1e-3,  # the policy moves visibly in one update
        "eval_episodes": 6,
        "curve_episodes": 3,
        "out_dir": str(out),
    }
    return RLHFConfig(**{**settings, **overrides})


def quiet(*args):
    pass


def policy_weights(result):
    from safetensors.torch import load_file

    return load_file(str(result.checkpoint / "policy.safetensors"))


@pytest.fixture(scope="module")
def two_rounds(micro_lm, tmp_path_factory):
    """A finished two-round run, and the KL penalty callbacks it made (to check their reference)."""
    import tokengym.agents.lm.kl as kl_module

    made = []

    class Recording(kl_module.KLPenaltyCallback):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    original = kl_module.KLPenaltyCallback
    kl_module.KLPenaltyCallback = Recording
    try:
        out = tmp_path_factory.mktemp("rlhf") / "run"
        result = run_rlhf(micro(micro_lm, out), log=quiet)
    finally:
        kl_module.KLPenaltyCallback = original
    return result, made


def test_two_rounds_run_end_to_end_and_write_their_logs(two_rounds, micro_lm):
    result, _ = two_rounds
    run = RunFolder(result.out_dir)
    assert [r["round"] for r in result.rounds] == [1, 2] and result.rounds_skipped == 0
    first, second = result.rounds
    assert first["judgements_so_far"] == first["preferences"] > 0
    assert second["judgements_so_far"] == first["preferences"] + second["preferences"]  # every judgement so far
    assert second["ppo"]["num_timesteps"] == 64  # one model, trained on across rounds
    for record in result.rounds:
        ev = record["eval"]
        assert ev["episodes"] == 6 and len(ev["gold_values"]) == 6
        for key in ("gold", "gold_se", "learned", "learned_se", "kl", "kl_se"):
            assert isinstance(ev[key], float), key
        assert record["rm"]["path"].endswith("rm")
    assert result.zero_shot["kl"] == 0.0 and result.zero_shot["learned"] is None
    assert result.final["kl"] > 0  # the policy moved away from the starting model

    kinds = [(e["kind"], e["round"]) for e in result.log]
    assert kinds[0] == ("zero_shot", 0)
    assert kinds.count(("round", 1)) == 1 and kinds.count(("round", 2)) == 1
    assert kinds.count(("point", 1)) >= 2, "a curve inside each round: its start and its end at least"
    lines = run.log_file.read_text().splitlines()
    assert [json.loads(line) for line in lines] == result.log
    assert result.plot_file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    events = {p.parent.name for p in result.tensorboard_dir.rglob("events.out.tfevents.*")}
    assert {"rlhf", "ppo_0"} <= events

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(result.tensorboard_dir / "rlhf"))
    accumulator.Reload()
    assert {"rlhf/gold", "rlhf/learned", "rlhf/kl", "rlhf/rm_accuracy"} <= set(accumulator.Tags()["scalars"])
    assert len(accumulator.Scalars("rlhf/gold")) > 3  # more than one point a round

    from tokengym.agents.running.policies import load_policy

    loaded = load_policy(str(result.checkpoint), "Dialogue-v0", {"reward": "politeness"})  # scored on gold's part
    assert loaded.checkpoint.num_timesteps == 64
    assert "round-2" in loaded.checkpoint.meta["env_kwargs"]["reward"]  # trained on that round's reward model


def test_the_kl_reference_is_the_starting_model_in_every_round(two_rounds, micro_lm):
    from tokengym.agents.lm.loading import load_lm

    result, made = two_rounds
    assert len(made) == 1, "one penalty for the whole run: its coefficient carries over"
    start, _ = load_lm(micro_lm)
    reference = made[0].reference
    for (name, p), q in zip(start.named_parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q), name
    final = policy_weights(result)
    moved = final["lm.transformer.h.0.mlp.c_fc.weight"]
    assert not torch.equal(moved, dict(start.named_parameters())["transformer.h.0.mlp.c_fc.weight"])


def test_resume_skips_finished_rounds_and_matches_an_uninterrupted_run(two_rounds, micro_lm, tmp_path):
    result, _ = two_rounds
    out = tmp_path / "run"
    one = run_rlhf(micro(micro_lm, out, rounds=1), log=quiet)
    assert [r["round"] for r in one.rounds] == [1]
    resumed = run_rlhf(micro(micro_lm, out, rounds=2, resume=True), log=quiet)
    assert resumed.rounds_skipped == 1 and [r["round"] for r in resumed.rounds] == [1, 2]
    for name, tensor in policy_weights(result).items():
        assert torch.equal(tensor, policy_weights(resumed)[name]), name  # seeded per round: the same run
    assert resumed.final["gold_values"] == result.final["gold_values"]
    assert [e["kind"] for e in resumed.log].count("zero_shot") == 1

    messages = []
    again = run_rlhf(micro(micro_lm, out, rounds=2, resume=True), log=messages.append)
    assert again.rounds_skipped == 2 and len(again.rounds) == 2 and again.log == resumed.log
    assert any("All 2 round(s) of" in m and "are finished" in m for m in messages)


def test_an_interrupted_round_is_played_again_and_its_log_lines_dropped(two_rounds, micro_lm, tmp_path):
    result, _ = two_rounds
    out = tmp_path / "run"
    shutil.copytree(result.out_dir, out)
    (out / "round-2" / "record.json").unlink()  # as if killed after PPO, before the round's record
    assert RunFolder(out).finished_rounds() == 1
    resumed = run_rlhf(micro(micro_lm, out, resume=True), log=quiet)
    assert resumed.rounds_skipped == 1
    assert [(e["kind"], e["round"]) for e in resumed.log] == [(e["kind"], e["round"]) for e in result.log]
    assert resumed.final["gold_values"] == result.final["gold_values"]


def test_another_config_in_the_same_folder_is_refused_and_nothing_is_written(two_rounds, micro_lm):
    result, _ = two_rounds
    before = {p: p.stat().st_mtime_ns for p in result.out_dir.rglob("*")}
    with pytest.raises(RLHFSettingsError, match=r"kl_coef is 0.1 there, 0.2 here; ppo_steps is 32 there, 64 here"):
        run_rlhf(micro(micro_lm, result.out_dir, ppo_steps=64, kl_coef=0.2, resume=True), log=quiet)
    with pytest.raises(RLHFSettingsError, match="ppo_steps"):  # said at once, even without --resume
        run_rlhf(micro(micro_lm, result.out_dir, ppo_steps=64), log=quiet)
    with pytest.raises(FileExistsError, match="pass --resume"):
        run_rlhf(micro(micro_lm, result.out_dir), log=quiet)
    assert {p: p.stat().st_mtime_ns for p in result.out_dir.rglob("*")} == before


def test_refusals_before_anything_is_written(micro_lm, tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="holds no RLHF run to resume"):
        run_rlhf(micro(micro_lm, out, resume=True), log=quiet)
    with pytest.raises(ValueError, match="no train and test split"):
        run_rlhf(micro(micro_lm, out, env_id="TokenSubset-v0", env_kwargs={}), log=quiet)
    with pytest.raises(ValueError, match="not a single-reply"):
        run_rlhf(micro(micro_lm, out, env_id="DialogueChat-v0", env_kwargs={}), log=quiet)
    with pytest.raises(ValueError, match="cannot score"):
        run_rlhf(micro(micro_lm, out, gold="engagement"), log=quiet)  # needs the user's reaction to the reply
    assert not out.exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="holds no RLHF run"):
        run_rlhf(micro(micro_lm, tmp_path / "other"), log=quiet)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rounds": 0}, "rounds must be"),
        ({"env_kwargs": {"reward": "politeness"}}, "must not set"),
        ({"target_kl": 0.1, "kl_coef": 0.0}, "target_kl adapts"),
        ({"curve_episodes": 7}, "exceeds eval_episodes"),
        ({"ppo_steps": 16}, "less than one rollout"),
        ({"batch_size": 24}, "must divide"),
        ({"gold": "politenes"}, "politenes"),
        ({"labeller_noise": 1.5}, "labeller_noise"),
        ({"env_id": "Dialog-v0"}, "unknown environment"),
    ],
)
def test_config_checks(micro_lm, tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        micro(micro_lm, tmp_path / "run", **overrides)


# People as judges -------------------------------------------------------------------------------------------------


def labeller_thread(db, stop, verdict="A", rater="thread-rater"):
    """Judges every pair it finds in the store (once the loop has made it) until told to stop."""

    def work():
        while not db.exists():
            if stop.wait(0.02):
                return
        with FeedbackStore(db, create=False) as store:
            while not stop.is_set():
                pair = store.next_pair(rater)
                if pair is None:
                    stop.wait(0.02)
                    continue
                store.record(pair.id, verdict, rater=rater)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_human_judges_are_waited_for(micro_lm, tmp_path):
    out = tmp_path / "run"
    stop = threading.Event()
    thread = labeller_thread(out / "feedback.db", stop)
    messages = []
    try:
        result = run_rlhf(micro(micro_lm, out, rounds=1, human=True, human_poll_s=0.05), log=messages.append)
    finally:
        stop.set()
        thread.join(5)
    [record] = result.rounds
    assert record["preferences"] == record["pairs"] > 0
    assert any(f"tokengym feedback serve --db {out / 'feedback.db'}" in m for m in messages)
    from tokengym.feedback.preferences import read_preferences

    prefs = read_preferences(out / "round-1" / "preferences.jsonl")
    assert {p.rater for p in prefs} == {"thread-rater"}
    assert all(p.metadata["round"] == 1 and p.metadata["verdict"] == "A" for p in prefs)


def test_human_judges_time_out_cleanly_and_a_resume_picks_up_their_judgements(micro_lm, tmp_path):
    out = tmp_path / "run"
    cfg = micro(micro_lm, out, rounds=1, human=True, human_timeout_s=0.3, human_poll_s=0.05)
    started = time.monotonic()
    with pytest.raises(FeedbackTimeoutError, match=r"0 of \d+ pairs judged after 0.3 s"):
        run_rlhf(cfg, log=quiet)
    assert time.monotonic() - started < 60
    run = RunFolder(out)
    assert run.finished_rounds() == 0 and not (out / "round-1" / "record.json").exists()
    with FeedbackStore(out / "feedback.db", create=False) as store:  # judged later, while nothing runs
        for pair in store.pairs():
            store.record(pair.id, "B", rater="later")
    resumed = run_rlhf(micro(micro_lm, out, rounds=1, human=True, human_timeout_s=0.3, resume=True), log=quiet)
    assert resumed.rounds[0]["preferences"] == resumed.rounds[0]["pairs"]


# The held-out measures --------------------------------------------------------------------------------------------


def test_kl_per_token_is_zero_against_itself_and_positive_against_another_model(micro_lm):
    from tokengym.agents.lm.loading import load_lm
    from tokengym.feedback.held_out import kl_per_token, sample_replies

    lm, codec = load_lm(micro_lm)
    other, _ = load_lm(micro_lm)
    with torch.no_grad():
        other.lm_head.weight.add_(0.5 * torch.randn_like(other.lm_head.weight))
    prompts = [codec.encode("User: Hi!\nAssistant:"), codec.encode("User: What now?\nAssistant:")]
    replies = sample_replies(lm, codec, prompts, max_new_tokens=6, temperature=0.7, seed=1)
    assert replies == sample_replies(lm, codec, prompts, max_new_tokens=6, temperature=0.7, seed=1)  # seeded
    assert kl_per_token(lm, lm, prompts, replies, 0.7) == pytest.approx([0.0, 0.0], abs=1e-6)
    assert all(kl > 0.01 for kl in kl_per_token(lm, other, prompts, replies, 0.7))


def test_doctests_run():
    for module in (held_out_module, human_judging_module, rlhf_config_module, rlhf_records_module, dpo_module):
        assert doctest.testmod(module).failed == 0, module.__name__
