"""Behaviour of the token-level core, shown on Dialogue-v0 and Summarization-v0."""

import pickle

import gymnasium as gym
import numpy as np
import pytest

from tokengym.envs.core import fit_prompt
from tokengym.tokenizer import load_tokenizer


@pytest.fixture
def env():
    return gym.make("Dialogue-v0").unwrapped


def test_layout_is_prompt_then_generated_then_pad(env):
    obs, info = env.reset(seed=3)
    n = env.prompt_length
    assert env.codec.decode(obs["input_ids"][:n]) == info["prompt"][-len(env.codec.decode(obs["input_ids"][:n])) :]
    assert (obs["input_ids"][n:] == env.codec.pad_id).all()
    ids = env.codec.encode(" Hello there")
    for t in ids:
        obs, *_ = env.step(t)
    assert obs["input_ids"][n : n + len(ids)].tolist() == ids
    assert obs["attention_mask"].sum() == n + len(ids)
    assert env.completion_ids == ids


def test_eos_terminates_and_reports_text(env):
    env.reset(seed=0)
    ids = env.codec.encode(" Sure, I can help.")
    for t in ids:
        assert env.step(t)[1:4] == (0.0, False, False)
    obs, reward, terminated, truncated, info = env.step(env.codec.eos_id)
    assert terminated and not truncated
    assert info["completion"] == "Sure, I can help."
    assert set(info["reward_components"]) == {"relevance_lexical", "verbosity", "repetition", "brevity"}
    assert reward == pytest.approx(
        env.reward_fn.score([info["prompt"]], [info["completion"]], references=[info["references"]])[0][0]
    )
    assert obs["input_ids"][env.prompt_length + len(ids)] == env.codec.eos_id


@pytest.mark.parametrize(
    ("action", "error", "match"),
    [
        (9000, ValueError, r"action 9000 is outside Discrete\(4096\)"),
        (-1, ValueError, r"action -1 is outside Discrete\(4096\)"),
        (3.5, TypeError, "is not an integer token id"),
        ("hello", TypeError, "use TextActionWrapper"),
        (True, TypeError, "is not an integer token id"),
        (np.array([1.0]), TypeError, "is not an integer token id"),
    ],
)
def test_bad_actions_are_refused_and_env_stays_usable(env, action, error, match):
    env.reset(seed=0)
    env.step(5)
    before = env._obs()
    with pytest.raises(error, match=match):
        env.step(action)
    after = env._obs()
    assert all(np.array_equal(before[k], after[k]) for k in before)
    env.step(6)


def test_numpy_integer_actions_are_accepted(env):
    env.reset(seed=0)
    env.step(np.int64(5))
    env.step(np.array(6))
    env.step(np.array([7], dtype=np.int32))
    assert env.completion_ids == [5, 6, 7]


def test_step_before_reset_and_after_the_end(env):
    with pytest.raises(RuntimeError, match="call reset\\(\\) before step\\(\\)"):
        env.step(5)
    env.reset(seed=0)
    env.step(env.codec.eos_id)
    with pytest.raises(RuntimeError, match="episode is over \\(terminated\\); call reset"):
        env.step(5)
    env.reset()
    env.step(5)


def test_failing_reward_leaves_episode_unchanged():
    calls = []

    def flaky(prompts, completions, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("reward server down")
        return [1.0]

    env = gym.make("Dialogue-v0", reward=flaky).unwrapped
    env.reset(seed=0)
    env.step(5)
    with pytest.raises(RuntimeError, match="reward server down"):
        env.step(env.codec.eos_id)
    assert env.completion_ids == [5]
    assert env.step(env.codec.eos_id)[1:3] == (1.0, True)


def test_same_seed_same_prompt_other_seed_other_prompt():
    a, b = gym.make("Summarization-v0"), gym.make("Summarization-v0")
    assert np.array_equal(a.reset(seed=11)[0]["input_ids"], b.reset(seed=11)[0]["input_ids"])
    assert not np.array_equal(a.reset(seed=12)[0]["input_ids"], b.reset(seed=11)[0]["input_ids"])


def test_fit_prompt_sides_and_suffix():
    assert fit_prompt([1, 2, 3, 4, 5], 4, "left", suffix=[9]) == [3, 4, 5, 9]
    assert fit_prompt([1, 2, 3, 4, 5], 4, "right", suffix=[9]) == [1, 2, 3, 9]
    assert fit_prompt([1, 2], 4, "left") == [1, 2]
    with pytest.raises(ValueError, match="leaves no room"):
        fit_prompt([1], 2, suffix=[7, 8, 9])
    with pytest.raises(ValueError, match="truncation side"):
        fit_prompt([1], 2, side="middle")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_prompt_len": 0}, "max_prompt_len must be a positive integer"),
        ({"max_new_tokens": 2.5}, "max_new_tokens must be a positive integer"),
        ({"render_mode": "video"}, "render_mode must be None or one of"),
        ({"reward": "rouge_q"}, "unknown reward 'rouge_q'"),
        ({"reward": "rouge_l +* bleu"}, "does not parse"),
        ({"source": "web"}, "unknown dialogue source 'web'"),
        ({"split": "validation"}, "unknown split 'validation'"),
    ],
)
def test_bad_constructor_arguments(kwargs, match):
    with pytest.raises((ValueError, KeyError, TypeError), match=match):
        gym.make("Dialogue-v0", **kwargs)


def test_render_ansi_shows_prompt_and_completion():
    env = gym.make("Dialogue-v0", render_mode="ansi")
    env.reset(seed=0)
    for t in env.unwrapped.codec.encode(" Good morning"):
        env.step(t)
    text = env.render()
    assert text.endswith("Assistant: Good morning")
    frame = gym.make("Dialogue-v0", render_mode="rgb_array")
    frame.reset(seed=0)
    image = frame.render()
    assert image.dtype == np.uint8 and image.shape == (360, 640, 3) and (image < 128).any()


def test_any_transformers_tokenizer_object_or_path(tmp_path):
    from transformers import AutoTokenizer

    from tokengym.tokenizer import default_tokenizer_dir

    hf = AutoTokenizer.from_pretrained(str(default_tokenizer_dir()))
    env = gym.make("Dialogue-v0", tokenizer=hf)
    env.reset(seed=0)
    assert env.action_space.n == len(hf)
    hf.save_pretrained(str(tmp_path / "tok"))
    env2 = gym.make("Dialogue-v0", tokenizer=str(tmp_path / "tok"))
    assert np.array_equal(env.reset(seed=4)[0]["input_ids"], env2.reset(seed=4)[0]["input_ids"])
    pickle.loads(pickle.dumps(env2.unwrapped)).reset(seed=0)


def test_tokenizer_without_pad_pads_with_eos_and_hub_id_offline_is_explained(hub_offline):
    from tokenizers import Tokenizer

    raw = Tokenizer.from_str(load_tokenizer().backend.to_str())
    codec = load_tokenizer(raw)
    assert codec.pad_id == 1 and codec.eos_id == 0
    with pytest.raises(OSError, match="pass tokenizer='some/folder'"):
        load_tokenizer("no-such-org/no-such-tokenizer")
    with pytest.raises(TypeError, match="tokenizer must be"):
        load_tokenizer(12)
