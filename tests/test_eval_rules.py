"""One checkpoint, one answer: ``tokengym train``'s closing evaluation is ``tokengym eval`` of its checkpoint, on
the same held-out games, under the same masks and sampling; every model is scored under the env's masks; the
held-out split is the default everywhere, TextWorld's games included."""

import importlib.util
import json
import re

import gymnasium as gym
import pytest
from cli_runner import run_cli

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.running.evaluate import EvalReport, paired_difference
from tokengym.agents.running.policies import load_policy
from tokengym.agents.running.splits import held_out_kwargs, merge_env_kwargs, split_argument, with_split

HAVE_TEXTWORLD = importlib.util.find_spec("textworld") is not None
needs_textworld = pytest.mark.skipif(not HAVE_TEXTWORLD, reason="needs the textworld extra")
pytestmark = pytest.mark.filterwarnings("ignore:Game .* is not fully supported")
BUDGET = ["--algo", "maskable_ppo", "--steps", "32", "--n-steps", "16", "--batch-size", "16", "--no-progress"]
HELD_OUT = re.compile(r"Held-out: mean reward ([+-]\d+\.\d+) ± (\d+\.\d+) over (.+); the same as `(tokengym eval .+)`")


@pytest.fixture(scope="module")
def tw_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("tokengym_cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TOKENGYM_CACHE_DIR", str(root))
        yield root


def _train_then_eval(env_id, micro_lm, run, env_kwargs, episodes=2):
    """Train through the CLI, then run the eval command its closing line names; both outputs."""
    code, out, err = run_cli(
        "train", env_id, "--model", micro_lm, *BUDGET, "--out", str(run), "--env-kwargs", json.dumps(env_kwargs),
        "--eval-episodes", str(episodes),
    )  # fmt: skip
    assert code == 0, err
    held_out = HELD_OUT.search(out)
    assert held_out is not None, out
    command = held_out.group(4).split()[1:]  # eval ENV --model CHECKPOINT --episodes N, exactly as printed
    code, eval_out, err = run_cli(*command, "--json")
    assert code == 0, err
    return out, held_out, json.loads(eval_out)


def test_training_prints_the_figure_tokengym_eval_gives_for_its_checkpoint_on_a_pure_python_game(micro_lm, tmp_path):
    out, held_out, report = _train_then_eval("CoinCollector-v0", micro_lm, tmp_path / "run", {"max_turns": 4}, 3)
    assert f"{report['mean']:+.3f}" == held_out.group(1) and f"{report['std']:.3f}" == held_out.group(2)
    assert held_out.group(3) == "3 episodes (seeds 0-2, sampled, split none, action masks applied)"
    assert report["action_masks"] == "applied" and report["masked"] and report["seeds"] == [0, 2]
    assert re.search(r"Training: (\d+ recent training episode\(s\) ended|no training episode ended)", out)
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 5_000
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (logs,) = (tmp_path / "run" / "tb").iterdir()
    events = EventAccumulator(str(logs))
    events.Reload()
    (logged,) = events.Scalars("eval/mean_reward")  # the training logs hold the held-out figure too
    assert logged.value == pytest.approx(report["mean"], abs=1e-6) and logged.step == 32
    # the Python API gives the same episodes
    from tokengym.agents.running.evaluate import evaluate_model

    again = evaluate_model(str(tmp_path / "run"), "CoinCollector-v0", episodes=3)
    assert again.report.returns == report["returns"]
    # compared with the starting model: the same games, under the run's settings (max_turns 4), the same rules
    code, out, err = run_cli(*held_out.group(4).split()[1:], "--compare", micro_lm, "--json")
    assert code == 0, err
    both = json.loads(out)
    assert [s["prompt"] for s in both["model"]["samples"]] == [s["prompt"] for s in both["compare"]["samples"]]
    assert (
        all(len(s["turns"]) <= 4 for s in both["compare"]["samples"]) and both["compare"]["action_masks"] == "applied"
    )


@needs_textworld
def test_training_prints_the_figure_tokengym_eval_gives_for_its_checkpoint_on_a_textworld_game(
    micro_lm, tmp_path, tw_cache
):
    env_kwargs = {"max_turns": 2, "game_kwargs": {"pool_size": 2}}
    out, held_out, report = _train_then_eval("TWCoinCollector-v0", micro_lm, tmp_path / "run", env_kwargs)
    assert f"{report['mean']:+.3f}" == held_out.group(1)
    assert held_out.group(3) == "2 episodes (seeds 0-1, sampled, split test, action masks applied)"
    assert report["split"] == "test" and report["action_masks"] == "applied"
    # --split takes TextWorld's split (refused before); --split train plays the training games
    code, out, err = run_cli("eval", "TWCoinCollector-v0", "--model", str(tmp_path / "run"), "--episodes", "1",
                             "--split", "train", "--samples", "0")  # fmt: skip
    assert code == 0, err
    assert "split train" in out
    # overriding one game option keeps the others the run trained with (game_kwargs are merged, not replaced)
    loaded = load_policy(str(tmp_path / "run"), "TWCoinCollector-v0", {"game_kwargs": {"split": "test"}})
    assert loaded.env_kwargs["game_kwargs"] == {"pool_size": 2, "split": "test"}


def test_every_model_is_scored_under_the_masks_and_the_output_says_so(micro_lm):
    code, out, err = run_cli(
        "eval", "CoinCollector-v0", "--model", micro_lm, "--episodes", "2", "--env-kwargs", '{"max_turns": 2}'
    )
    assert code == 0, err
    assert "2 episodes (seeds 0-1, sampled, split none, action masks applied)" in out
    assert "invalid               +0.000" in out  # a masked policy writes admissible commands only
    code, out, err = run_cli("eval", "CoinCollector-v0", "--model", micro_lm, "--episodes", "2", "--no-masks",
                             "--env-kwargs", '{"max_turns": 2}')  # fmt: skip
    assert code == 0, err
    assert "action masks off" in out


def test_splits_are_written_where_each_environment_reads_them():
    assert split_argument("Summarization-v0") == "split"
    assert split_argument("TWCoinCollector-v0") == "game_kwargs" == split_argument("TWCookingCmd-v0")
    assert split_argument("TextNav-v0") is None and split_argument("TokenSubset-v0") is None
    assert held_out_kwargs("Dialogue-v0", {}) == ({"split": "test"}, "test")
    assert held_out_kwargs("Dialogue-v0", {"split": "train"}) == ({"split": "train"}, "train")
    assert held_out_kwargs("TWSimple-v0", {"game_kwargs": {"goal": "brief"}}) == (
        {"game_kwargs": {"goal": "brief", "split": "test"}},
        "test",
    )
    assert held_out_kwargs("TextNav-v0", {"level": 2}) == ({"level": 2}, None)
    assert with_split("TWCoinCollector-v0", {"game_kwargs": {"split": "train"}}, "valid")["game_kwargs"] == {
        "split": "valid"
    }
    with pytest.raises(ValueError, match="TextNav-v0 has no data splits"):
        with_split("TextNav-v0", {}, "test")
    assert merge_env_kwargs({"level": 2, "game_kwargs": {"a": 1}}, {"game_kwargs": {"b": 2}}) == {
        "level": 2,
        "game_kwargs": {"a": 1, "b": 2},
    }


def test_a_split_for_an_environment_without_splits_is_one_line(micro_lm):
    code, out, err = run_cli("eval", "TextNav-v0", "--model", micro_lm, "--split", "test")
    assert code == 2 and not out
    assert err.strip() == (
        "tokengym eval: error: TextNav-v0 has no data splits (each episode is drawn from its seed); leave out "
        "--split for it"
    )


def test_compare_scores_two_models_on_the_same_episodes(micro_lm):
    args = ["--episodes", "2", "--metrics", "none", "--env-kwargs", '{"max_new_tokens": 8}']
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", micro_lm, "--compare", "tiny", *args, "--json")
    assert code == 0, err
    both = json.loads(out)
    assert both["model"]["seeds"] == both["compare"]["seeds"] == [0, 1]
    single = json.loads(run_cli("eval", "Dialogue-v0", "--model", micro_lm, *args, "--json")[1])
    assert both["model"]["returns"] == single["returns"]  # the same episodes as a single evaluation
    expected = sum(b - a for a, b in zip(both["model"]["returns"], both["compare"]["returns"], strict=True)) / 2
    assert both["difference"]["mean"] == pytest.approx(expected)
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", micro_lm, "--compare", "tiny", *args, "--samples", "1")
    assert code == 0, err
    assert "on the same episodes" in out and "minus" in out and "paired episodes" in out


def test_paired_difference():
    mean, stderr = paired_difference(EvalReport([0.0, 1.0, 0.5], {}), EvalReport([1.0, 1.0, 0.5], {}))
    assert mean == pytest.approx(1 / 3) and stderr == pytest.approx((1 / 3) ** 0.5 / 3**0.5)
    with pytest.raises(ValueError, match="same episodes"):
        paired_difference(EvalReport([0.0], {}), EvalReport([0.0, 1.0], {}))


def test_a_maskable_policy_for_the_zero_shot_model_holds_the_same_weights(micro_lm):
    masked = load_policy(micro_lm, "CoinCollector-v0")
    plain = load_policy(micro_lm, "CoinCollector-v0", masks=False)
    assert masked.masks == "applied" and plain.masks == "off"
    assert set(masked.policy.state_dict()) == set(plain.policy.state_dict())
    assert load_policy(micro_lm, "Dialogue-v0").masks == "none"
    assert gym.make("CoinCollector-v0").unwrapped.action_masks().any()
