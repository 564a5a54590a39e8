"""The one episode runner under every evaluation: its masking rule, its records, its determinism, and the three
consumers (``evaluate_policy_text``, ``evaluate_win_rate``, ``tokengym eval``) agreeing on masks."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch
from cli_runner import run_cli

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.episodes import Episode, play_episodes, takes_action_masks, uses_action_masks
from tokengym.agents.running.evaluate import evaluate_policy_text
from tokengym.agents.running.train import load_policy
from tokengym.agents.textgame import RandomCommandAgent, evaluate_win_rate, held_out_seeds
from tokengym.envs.games.token_env import TextGameTokenEnv

SMALL = {"level": 1, "max_turns": 5}
GAME = "CoinCollector-v0"
GAME_KWARGS = {"max_turns": 4}
BUDGET = ["--steps", "32", "--n-steps", "16", "--batch-size", "16", "--no-progress"]


class _Unmaskable:
    """SB3's plain ``predict``: never given masks."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, deterministic=False):
        return self.rng.integers(4), None


class _CatchAll(_Unmaskable):
    def predict(self, obs, deterministic=False, **kwargs):
        assert not kwargs, kwargs
        return super().predict(obs, deterministic)


@pytest.fixture(scope="module")
def maskable_checkpoint(tmp_path_factory, micro_lm):
    """A MaskablePPO checkpoint of the micro model on a token-level game (a few steps: its play is near random)."""
    run = tmp_path_factory.mktemp("maskable")
    args = ["--algo", "maskable_ppo", "--model", micro_lm, *BUDGET, "--out", str(run)]
    code, _, err = run_cli("train", GAME, *args, "--env-kwargs", json.dumps(GAME_KWARGS))
    assert code == 0, err
    return str(run)


@pytest.fixture
def legal_steps(monkeypatch):
    """Whether each token played in a token-level game was allowed by the game's action_masks() at the time."""
    played = []
    step = TextGameTokenEnv.step

    def checked(self, action):
        played.append(bool(self.action_masks()[int(action)]))
        return step(self, action)

    monkeypatch.setattr(TextGameTokenEnv, "step", checked)
    return played


# ------------------------------------------------------------------------------------------------ the rule


def test_masks_go_to_a_predict_that_names_them_on_an_env_that_has_them(micro_lm):
    command_game = gym.make("TextNavCmd-v0", **SMALL)
    plain_task = gym.make("TokenSubset-v0")
    assert uses_action_masks(RandomCommandAgent(0), command_game)
    assert not uses_action_masks(RandomCommandAgent(0), plain_task)  # no action_masks() to give
    assert not uses_action_masks(_Unmaskable(0), command_game)
    assert not takes_action_masks(_CatchAll(0))  # a catch-all is not a promise to honour masks
    plain = load_policy(micro_lm, GAME, masks=False).policy  # asked to play unmasked: the PPO policy
    assert not uses_action_masks(plain, gym.make(GAME))
    assert uses_action_masks(load_policy(micro_lm, GAME).policy, gym.make(GAME))  # by default, every model masks
    with pytest.raises(TypeError, match="predict"):
        play_episodes(object(), command_game, [0])  # refused on the call, before any episode
    episodes = list(play_episodes(_CatchAll(0), command_game, range(3)))
    assert [e.seed for e in episodes] == [0, 1, 2] and not any(e.masked for e in episodes)


def test_an_episode_records_every_step_and_its_summaries():
    env = gym.make("Dialogue-v0")
    rng = np.random.default_rng(0)

    class Babbler:
        def predict(self, obs, deterministic=False):
            return rng.integers(env.action_space.n), None

    (episode,) = play_episodes(Babbler(), env, [4])
    assert isinstance(episode, Episode) and episode.seed == 4 and not episode.masked
    assert episode.length == len(episode.rewards) == len(episode.infos) > 0
    assert episode.episode_return == pytest.approx(sum(episode.rewards))
    assert episode.end_info is episode.infos[-1] and episode.reset_info["prompt"]
    summed = {}
    for info in episode.infos:
        for name, value in info.get("reward_components", {}).items():
            summed[name] = summed.get(name, 0.0) + value
    assert episode.components == pytest.approx(summed) and summed
    ends = [(info, reward) for info, reward in zip(episode.infos, episode.rewards, strict=True) if "completion" in info]
    assert [t["completion"] for t in episode.turns] == [info["completion"] for info, _ in ends]
    assert [t["reward"] for t in episode.turns] == [reward for _, reward in ends]


# ------------------------------------------------------------------------------------------ determinism


def test_the_same_seeds_give_the_same_episodes():
    env = gym.make("TextNavCmd-v0", **SMALL)
    first, again = ([e.actions for e in play_episodes(RandomCommandAgent(1), env, range(5))] for _ in range(2))
    assert first == again
    assert all(e.masked for e in play_episodes(RandomCommandAgent(1), env, range(2)))
    reports = [evaluate_win_rate(RandomCommandAgent(0), env, held_out_seeds(10)) for _ in range(2)]
    assert reports[0] == reports[1]


def test_evaluate_policy_text_repeats_itself_and_reports_the_runner_episodes(micro_lm):
    policy = load_policy(micro_lm, "Dialogue-v0").policy
    reports = [evaluate_policy_text(policy, "Dialogue-v0", range(2), sample_seed=3).as_dict() for _ in range(2)]
    assert reports[0] == reports[1]
    with torch.random.fork_rng():
        torch.manual_seed(3)
        episodes = list(play_episodes(policy, gym.make("Dialogue-v0"), range(2)))
    assert reports[0]["samples"] == reports[1]["samples"]
    assert [s["return"] for s in reports[0]["samples"]] == [e.episode_return for e in episodes]
    assert [s["turns"] for s in reports[0]["samples"]] == [e.turns for e in episodes]


def test_random_agent_win_rates_are_unchanged():
    """The figures the random agent gave before evaluation moved onto the runner (same seeds, same games)."""
    small = evaluate_win_rate(RandomCommandAgent(seed=0), "TextNavCmd-v0", held_out_seeds(100), env_kwargs=SMALL)
    assert (sum(small.wins), sum(small.turns)) == (44, 420)
    assert small.turns[:10] == [2, 5, 3, 2, 2, 5, 2, 2, 2, 4]
    rich = evaluate_win_rate(
        RandomCommandAgent(seed=0), "TextNavCmd-v0", held_out_seeds(30), env_kwargs={"level": 3, "max_turns": 15}
    )
    assert (rich.win_rate, rich.mean_turns, round(sum(rich.returns), 6)) == (0.0, 15.0, 0.6)
    coins = evaluate_win_rate(RandomCommandAgent(seed=3), "CoinCollectorCmd-v0", range(10))
    assert coins.win_rate == 1.0 and coins.turns == [22, 10, 7, 5, 2, 2, 7, 2, 8, 11]


# ------------------------------------------------------------------------------------ the three consumers


def test_a_maskable_policy_plays_only_legal_tokens_through_every_consumer(maskable_checkpoint, legal_steps):
    code, out, err = run_cli("eval", GAME, "--model", maskable_checkpoint, "--episodes", "2", "--json")
    assert code == 0, err
    assert legal_steps and all(legal_steps)
    through_cli = json.loads(out)
    loaded = load_policy(maskable_checkpoint, GAME)
    assert loaded.env_kwargs["max_turns"] == GAME_KWARGS["max_turns"]
    assert uses_action_masks(loaded.policy, gym.make(GAME, **loaded.env_kwargs))
    legal_steps.clear()
    report = evaluate_policy_text(loaded.policy, GAME, range(2), env_kwargs=loaded.env_kwargs)
    assert legal_steps and all(legal_steps)
    assert report.returns == through_cli["returns"]  # the CLI is evaluate_policy_text with the same rule
    legal_steps.clear()
    greedy = evaluate_win_rate(loaded.policy, GAME, range(3), env_kwargs=loaded.env_kwargs)
    assert legal_steps and all(legal_steps)
    same = evaluate_policy_text(loaded.policy, GAME, range(3), deterministic=True, env_kwargs=loaded.env_kwargs)
    assert greedy.returns == same.returns


def test_a_policy_asked_to_play_without_masks_plays_illegal_tokens(micro_lm, legal_steps):
    """The control: the same game with the plain PPO policy, to which no masks are given, plays illegal tokens."""
    policy = load_policy(micro_lm, GAME, masks=False).policy
    (episode,) = play_episodes(policy, gym.make(GAME, **GAME_KWARGS), [0])
    assert not episode.masked and not all(legal_steps)


def test_the_zero_shot_model_and_a_ppo_checkpoint_play_under_the_masks_as_maskable_ppo_does(
    micro_lm, tmp_path, legal_steps
):
    """Same rules for every model: the zero-shot baseline and a PPO checkpoint (trained without masks) are scored
    under the game's masks, and the output says so; --no-masks plays them unmasked, and says that too."""
    code, out, err = run_cli(
        "eval", GAME, "--model", micro_lm, "--episodes", "2", "--env-kwargs", json.dumps(GAME_KWARGS)
    )
    assert code == 0, err
    assert "action masks applied" in out and legal_steps and all(legal_steps)
    run = tmp_path / "ppo"
    code, _, err = run_cli(
        "train", GAME, "--model", micro_lm, *BUDGET, "--out", str(run), "--env-kwargs", json.dumps(GAME_KWARGS)
    )
    assert code == 0, err
    legal_steps.clear()
    code, out, err = run_cli("eval", GAME, "--model", str(run), "--episodes", "2", "--json")
    assert code == 0, err
    assert json.loads(out)["action_masks"] == "applied" and json.loads(out)["masked"] and all(legal_steps)
    legal_steps.clear()
    code, out, err = run_cli("eval", GAME, "--model", str(run), "--episodes", "2", "--no-masks")
    assert code == 0, err
    assert "action masks off" in out and not all(legal_steps)
    code, out, _ = run_cli("eval", "Dialogue-v0", "--model", micro_lm, "--episodes", "1", "--metrics", "none")
    assert code == 0 and "no action masks (the env has none)" in out
