"""The learned reward: a reward model in a reward spec, inside an environment, pickled, and refused early."""

import math
import pickle

import gymnasium as gym
import numpy as np
import pytest

import tokengym  # noqa: F401
from tokengym.envs import TextActionWrapper
from tokengym.feedback import Preference
from tokengym.feedback.reward_model import (
    RewardModelConfig,
    RewardModelError,
    RewardModelNotFoundError,
    load_reward_model,
    train_reward_model,
)
from tokengym.rewards import LearnedReward, make_reward
from tokengym.rewards.learned import cached_reward_model


def _prefs(n):
    rng = np.random.default_rng(0)
    words = ["sure", "okay", "we", "can", "do", "that", "now", "later", "fine", "good"]
    out = []
    for i in range(n):
        plain = " ".join(rng.choice(words, size=4))
        out.append(Preference(f"User: {i}?\nAssistant:", "please " + plain, plain))
    return out


@pytest.fixture(scope="module")
def rm_path(micro_lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("learned") / "rm"
    config = RewardModelConfig(epochs=1, lr=1e-2, batch_size=16, max_length=96, eval_fraction=0.0)
    train_reward_model(_prefs(32), base=micro_lm, config=config, out=out)
    return str(out)


def test_learned_reward_in_a_dialogue_episode(rm_path):
    env = TextActionWrapper(gym.make("Dialogue-v0", reward=f"learned(path={rm_path!r}) + 0.2*verbosity(max_words=5)"))
    env.reset(seed=3)
    prompt = env.unwrapped.current_sample.prompt
    _, reward, terminated, _, info = env.step("Sure, please come in.")
    assert terminated
    parts = info["reward_components"]
    assert set(parts) == {"learned", "verbosity"}
    expected = load_reward_model(rm_path).score([prompt], [info["completion"]], normalize=True)[0]
    assert parts["learned"] == pytest.approx(expected, abs=1e-5)
    assert reward == pytest.approx(parts["learned"] + 0.2 * parts["verbosity"], abs=1e-6)


def test_batched_scores_match_one_by_one_and_are_finite(rm_path):
    fn = LearnedReward(rm_path, batch_size=2)
    prompts = ["p"] * 4
    texts = ["", "the cat", "the the the the the the the the", "A fine reply about the weather today, thanks!"]
    batched = fn(prompts, texts, references=["r"] * 4)
    assert batched == pytest.approx([fn(["p"], [t])[0] for t in texts], abs=1e-5)
    assert all(math.isfinite(v) for v in batched)
    raw = LearnedReward(rm_path, normalize=False)(prompts, texts)
    assert raw == pytest.approx(load_reward_model(rm_path).score(prompts, texts), abs=1e-5)
    assert fn([], []) == []
    with pytest.raises(ValueError, match="2 prompts but 1 completions"):
        fn(["a", "b"], ["c"])


def test_pickles_its_settings_not_its_weights(rm_path):
    reward = make_reward(f"learned(path={rm_path!r}, batch_size=4)")
    reward(["p"], ["warm up the model"])
    blob = pickle.dumps(reward)
    assert len(blob) < 2_000
    copy = pickle.loads(blob)
    assert copy(["p"], ["please"]) == pytest.approx(reward(["p"], ["please"]))
    env = gym.make("Dialogue-v0", reward=f"learned(path={rm_path!r})")
    assert len(pickle.dumps(env.unwrapped.reward_fn)) < 2_000


def test_the_model_loads_once_per_folder_and_version(rm_path, tmp_path):
    first = cached_reward_model(rm_path)
    assert cached_reward_model(rm_path) is first
    assert cached_reward_model(rm_path + "/.") is first  # the resolved folder is the key
    retrained = tmp_path / "rm"
    config = RewardModelConfig(epochs=1, lr=1e-2, batch_size=16, max_length=96, eval_fraction=0.0, seed=1)
    train_reward_model(_prefs(16), base=rm_path, config=config, out=retrained)
    old = cached_reward_model(str(retrained))
    train_reward_model(_prefs(16), base=rm_path, config=RewardModelConfig(**{**vars(config), "seed": 2}), out=retrained)
    assert cached_reward_model(str(retrained)) is not old  # new weights, new SHA-256: loaded again


def test_a_missing_path_fails_when_the_env_is_built(tmp_path):
    missing = str(tmp_path / "no-model")
    with pytest.raises(RewardModelNotFoundError, match="does not exist"):
        gym.make("Dialogue-v0", reward=f"learned(path={missing!r})")
    with pytest.raises(FileNotFoundError):
        make_reward(f"learned(path={missing!r}) + 0.2*verbosity")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardModelNotFoundError, match="holds no reward model"):
        gym.make("Dialogue-v0", reward=f"learned(path={str(tmp_path / 'empty')!r})")


def test_a_damaged_model_fails_at_the_first_score(rm_path, tmp_path):
    import shutil

    folder = tmp_path / "rm"
    shutil.copytree(rm_path, folder)
    data = bytearray((folder / "model.safetensors").read_bytes())
    data[-3] ^= 0xFF
    (folder / "model.safetensors").write_bytes(bytes(data))
    fn = LearnedReward(str(folder))  # the folder looks complete: the weights are checked when they load
    with pytest.raises(RewardModelError, match="SHA-256"):
        fn(["p"], ["q"])


@pytest.mark.parametrize(
    "kwargs, error",
    [({"batch_size": 0}, ValueError), ({"device": 0}, TypeError), ({"normalize": "yes"}, TypeError)],
)
def test_bad_settings_are_refused(rm_path, kwargs, error):
    with pytest.raises(error):
        LearnedReward(rm_path, **kwargs)


def test_a_learned_reward_path_is_not_taken_for_code():
    from tokengym.rewards.external import spec_references

    assert spec_references("learned(path='models/rm') + 0.2*verbosity") == []
    assert spec_references("learned(path='models/rm') + 0.5*'my_rewards.py:shouting'") == ["my_rewards.py:shouting"]
