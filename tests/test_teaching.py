"""The teaching algorithms: REINFORCE on a language model, tabular Q-learning on a command-level game."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from cli_runner import run_cli

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.lm.loading import load_lm
from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.train import train
from tokengym.agents.teaching import ReinforceConfig, TabularQAgent, TabularQConfig, train_reinforce, train_tabular_q
from tokengym.agents.teaching.reinforce import evaluate_returns, group_advantages, play_episode, returns_to_go
from tokengym.agents.teaching.runners import reinforce_config, tabular_q_config
from tokengym.agents.teaching.tabular_q import play_greedy, state_key
from tokengym.agents.textgame import RandomCommandAgent

GAME = {"level": 2, "max_turns": 12}


def random_token_returns(env, seeds):
    rng = np.random.default_rng(0)
    returns = []
    for seed in seeds:
        env.reset(seed=seed)
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total, done = total + reward, terminated or truncated
        returns.append(total)
    return returns


# --------------------------------------------------------------------------------------------- REINFORCE


@pytest.mark.slow
@pytest.mark.parametrize("baseline", ["mean", "rloo"])
def test_reinforce_learns_the_token_subset_and_beats_random(baseline):
    cfg = ReinforceConfig(total_timesteps=1024, learning_rate=1e-3, baseline=baseline, seed=0)
    result = train_reinforce(cfg)
    env = gym.make("TokenSubset-v0", tokenizer=result.tokenizer)
    held_out = range(32)  # training draws its prompts from seeds >= 1,000,000
    trained = np.mean(evaluate_returns(result.model, env, held_out))
    random = np.mean(random_token_returns(env, held_out))
    assert 0.35 < random < 0.65  # half the vocabulary is odd
    assert trained > random + 0.25
    assert result.history[-1]["charts/episodic_return"] > result.history[0]["charts/episodic_return"]


def test_reinforce_same_seed_same_run(micro_lm):
    def run(seed):
        cfg = ReinforceConfig(model_name=micro_lm, total_timesteps=48, n_steps=16, learning_rate=1e-3, seed=seed)
        return train_reinforce(cfg)

    first, second, other = run(0), run(0), run(1)
    assert first.episode_returns == second.episode_returns and first.history == second.history
    for a, b in zip(first.model.parameters(), second.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert first.episode_returns != other.episode_returns


@pytest.mark.parametrize("baseline", ["none", "value", "grpo"])
def test_reinforce_every_baseline_steps(micro_lm, baseline):
    start = [p.detach().clone() for p in load_lm(micro_lm)[0].parameters()]
    cfg = ReinforceConfig(model_name=micro_lm, total_timesteps=32, n_steps=16, baseline=baseline, group_size=2)
    result = train_reinforce(cfg)
    assert len(result.history) == 2 and result.num_timesteps >= 32
    assert all(np.isfinite(list(h.values())).all() for h in result.history)
    assert (result.value_head is not None) == (baseline == "value")
    assert any(not torch.equal(a, b) for a, b in zip(start, result.model.parameters(), strict=True))


def test_reinforce_kl_penalty_measures_the_drift_from_the_start(micro_lm):
    cfg = ReinforceConfig(model_name=micro_lm, total_timesteps=48, n_steps=16, learning_rate=1e-2, kl_coef=0.1)
    history = train_reinforce(cfg).history
    assert history[0]["losses/kl"] == 0.0  # the first batch is scored by the model it was sampled from
    assert any(h["losses/kl"] != 0.0 for h in history[1:])


def test_returns_to_go_and_group_advantages():
    rewards = torch.tensor([[0.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    valid = torch.tensor([[True, True, True], [True, True, False]])
    assert returns_to_go(rewards, valid, 0.5).tolist() == [[0.25, 0.5, 1.0], [1.5, 1.0, 0.0]]
    totals = torch.tensor([1.0, 0.0, 0.0, 3.0, 1.0, 2.0])
    rloo = group_advantages(totals, 3, "rloo")
    assert torch.allclose(rloo, torch.tensor([1.0, -0.5, -0.5, 1.5, -1.5, 0.0]))
    grpo = group_advantages(totals, 3, "grpo").view(2, 3)
    assert torch.allclose(grpo.mean(1), torch.zeros(2), atol=1e-6)
    assert torch.allclose(grpo.std(1), torch.ones(2), atol=1e-4)


def test_reinforce_refuses_bad_settings_and_tasks(micro_lm):
    with pytest.raises(ValueError, match="baseline must be one of"):
        ReinforceConfig(baseline="critic")
    with pytest.raises(ValueError, match="group_size must be at least 2"):
        ReinforceConfig(baseline="rloo", group_size=1)
    with pytest.raises(ValueError, match="learning_rate must be positive"):
        ReinforceConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="not a token-level task"):
        train_reinforce(ReinforceConfig(env_id="TextNavCmd-v0", model_name=micro_lm, total_timesteps=8))
    model, codec = load_lm(micro_lm)
    with pytest.raises(ValueError, match="multi-turn"):
        play_episode(model, gym.make("DialogueChat-v0", tokenizer=codec, max_new_tokens=2), seed=0, greedy=True)


# --------------------------------------------------------------------------------------------- tabular Q


def test_tabular_q_learns_its_games_and_beats_random():
    result = train_tabular_q(TabularQConfig(env_kwargs=GAME, total_steps=12_000, games=4, seed=0))
    env = gym.make("TextNavCmd-v0", **GAME)
    games = list(result.train_games)
    trained = np.mean(play_greedy(result.agent, env, games))
    random = np.mean([np.mean(play_greedy(RandomCommandAgent(seed=s), env, games)) for s in range(5)])
    assert random < 0.4 and trained > random + 0.5


def test_tabular_q_same_seed_same_table_and_the_table_round_trips(tmp_path):
    cfg = TabularQConfig(env_kwargs=GAME, total_steps=1500, games=2, seed=3)
    first, second = train_tabular_q(cfg), train_tabular_q(cfg)
    assert first.episode_returns == second.episode_returns
    assert first.agent.table.keys() == second.agent.table.keys()
    assert all(np.array_equal(first.agent.table[k], second.agent.table[k]) for k in first.agent.table)
    path = first.agent.save(tmp_path / "q.json", first.meta())
    loaded = TabularQAgent.load(path)
    assert all(np.array_equal(loaded.table[k], v) for k, v in first.agent.table.items())
    assert loaded.table.keys() == first.agent.table.keys()
    obs, _ = gym.make("TextNavCmd-v0", **GAME).reset(seed=first.train_games[0])
    assert state_key(obs) in loaded.table  # the first state of a training game was met
    assert json.loads(path.read_text())["meta"]["algorithm"] == "tabular_q"


def test_tabular_q_refuses_bad_settings_and_files(tmp_path):
    with pytest.raises(ValueError, match="learning_rate"):
        TabularQConfig(learning_rate=0.0)
    with pytest.raises(ValueError, match="gamma must be in"):
        TabularQConfig(gamma=1.5)
    with pytest.raises(ValueError, match="games"):
        TabularQConfig(games=-1)
    with pytest.raises(ValueError, match="command"):
        train_tabular_q(TabularQConfig(env_id="TokenSubset-v0", env_kwargs={}, total_steps=5))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not a readable Q-table"):
        TabularQAgent.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(ValueError, match="format version"):
        TabularQAgent.load(tmp_path / "old.json")


# --------------------------------------------------------------------------------------------- the CLI


def test_train_cli_runs_tabular_q(tmp_path):
    out = tmp_path / "q"
    code, stdout, err = run_cli(
        "train", "TextNavCmd-v0", "--algo", "tabular_q", "--steps", "600", "--env-kwargs", json.dumps(GAME),
        "--out", str(out), "--eval-episodes", "4",
    )  # fmt: skip
    assert code == 0, err
    assert (out / "q_table.json").is_file() and (out / "learning_curve.png").is_file()
    assert "Unseen games (4)" in stdout and "Training games (8)" in stdout
    assert "tokengym eval" not in stdout  # eval scores language models; the table was scored by the run itself
    code, _, err = run_cli("train", "TextNavCmd-v0", "--algo", "tabular_q", "--steps", "10", "--out", str(out))
    assert code != 0 and "already holds a run" in err


def test_train_cli_runs_reinforce_and_eval_scores_its_model(tmp_path, micro_lm):
    out = tmp_path / "r"
    code, stdout, err = run_cli(
        "train", "TokenSubset-v0", "--algo", "reinforce", "--model", micro_lm, "--steps", "32", "--n-steps", "16",
        "--group-size", "2", "--out", str(out), "--eval-episodes", "2", "--no-progress",
    )  # fmt: skip
    assert code == 0, err
    assert "RLOO over 2 plays" in stdout and "Held-out: mean reward" in stdout
    history = json.loads((out / "history.json").read_text())
    assert history["config"]["baseline"] == "rloo" and len(history["updates"]) >= 1
    code, stdout, err = run_cli("eval", "TokenSubset-v0", "--model", str(out / "model"), "--episodes", "2", "--json")
    assert code == 0, err and json.loads(stdout)["episodes"] == 2


def test_train_refuses_settings_a_teaching_algorithm_does_not_read(tmp_path):
    code, _, err = run_cli(
        "train", "TokenSubset-v0", "--algo", "reinforce", "--batch-size", "32", "--out", str(tmp_path)
    )
    assert code != 0 and "reinforce does not use --batch-size" in err
    with pytest.raises(ValueError, match="tabular_q does not use --n-epochs"):
        tabular_q_config(TrainConfig(env_id="TextNavCmd-v0", algo="tabular_q", n_epochs=3))
    with pytest.raises(ValueError, match="on-policy"):  # the table's own check: a KL penalty needs a policy
        TrainConfig(env_id="TextNavCmd-v0", algo="tabular_q", kl_coef=0.1)
    with pytest.raises(ValueError, match="command-level"):
        train(TrainConfig(env_id="TokenSubset-v0", algo="tabular_q", out_dir=str(tmp_path / "x")))
    mapped = reinforce_config(TrainConfig(env_id="TokenSubset-v0", algo="reinforce", group_size=4))
    assert mapped.baseline == "rloo" and mapped.group_size == 4
    defaults = tabular_q_config(TrainConfig(env_id="TextNavCmd-v0", algo="tabular_q"))
    assert defaults.learning_rate == 0.5 and defaults.gamma == 0.95  # an LM's 1e-4 and 1.0 are not the table's
    assert (
        tabular_q_config(TrainConfig(env_id="TextNavCmd-v0", algo="tabular_q", learning_rate=0.2)).learning_rate == 0.2
    )
