"""Checks that any token-level environment should pass; run them on your own environments too.

Example:
    >>> from tokengym.testing import check_token_env
    >>> check_token_env("Dialogue-v0")        # raises AssertionError naming the first broken contract
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from tokengym.envs.core import TokenEnv
from tokengym.envs.wrappers import TextActionWrapper

EnvSource = str | Callable[[], gym.Env]


def _maker(env: EnvSource, **kwargs: Any) -> Callable[[], gym.Env]:
    if isinstance(env, str):
        return lambda: gym.make(env, **kwargs)
    return env


def _actions(env: gym.Env, n: int, seed: int) -> list[int]:
    """Random token ids that avoid end-of-sequence, so episodes run to their budget."""
    rng = np.random.default_rng(seed)
    eos = env.unwrapped.codec.eos_id
    vocab = env.action_space.n
    return [int(a) if a != eos else (eos + 1) % vocab for a in rng.integers(vocab, size=n)]


def check_spaces(env: EnvSource) -> None:
    """The observation and action spaces follow the token contract, and observations lie in them."""
    e = _maker(env)()
    u = e.unwrapped
    assert isinstance(u, TokenEnv), f"{type(u).__name__} is not a TokenEnv"
    assert isinstance(e.action_space, gym.spaces.Discrete), "the action space must be Discrete(vocab_size)"
    assert e.action_space.n == u.codec.vocab_size
    space = e.observation_space
    assert isinstance(space, gym.spaces.Dict) and set(space.spaces) == {"input_ids", "attention_mask"}
    assert space["input_ids"].dtype == np.int32 and space["attention_mask"].dtype == np.int8
    length = u.max_prompt_len + u.max_new_tokens
    assert space["input_ids"].shape == (length,) and space["attention_mask"].shape == (length,)
    obs, _ = e.reset(seed=0)
    assert space.contains(obs)
    mask = obs["attention_mask"]
    n = int(mask.sum())
    assert n > 0 and mask[:n].all() and not mask[n:].any(), "the prompt must be contiguous and right-padded"
    before = obs["input_ids"].copy()
    obs2, *_ = e.step(_actions(e, 1, 0)[0])
    assert space.contains(obs2)
    assert int(obs2["attention_mask"].sum()) == n + 1, "one step appends exactly one token"
    assert np.array_equal(obs2["input_ids"][:n], before[:n]), "a step must not change the prompt"
    assert not np.shares_memory(obs["input_ids"], obs2["input_ids"]), "observations must be fresh arrays"


def check_gymnasium(env: EnvSource) -> None:
    """Gymnasium's own ``check_env`` on the unwrapped environment."""
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(_maker(env)().unwrapped, skip_render_check=True)


def check_sb3(env: EnvSource) -> None:
    """Stable-Baselines3's ``check_env``: the environment can be trained on with SB3."""
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_env(_maker(env)(), warn=False, skip_render_check=True)


def _rollout(env: gym.Env, seed: int, actions: list[int], episodes: int = 2) -> list[tuple]:
    trace: list[tuple] = []
    obs, info = env.reset(seed=seed)
    trace.append(("reset", obs["input_ids"].tobytes(), info.get("prompt")))
    done_episodes, i = 0, 0
    while done_episodes < episodes:
        obs, reward, terminated, truncated, info = env.step(actions[i % len(actions)])
        i += 1
        trace.append((obs["input_ids"].tobytes(), reward, terminated, truncated, info.get("completion")))
        if terminated or truncated:
            done_episodes += 1
            obs, info = env.reset()
            trace.append(("reset", obs["input_ids"].tobytes(), info.get("prompt")))
    return trace


def check_determinism(env: EnvSource, seed: int = 123) -> None:
    """The same seed and actions give the same episodes (observations, rewards, flags, texts)."""
    make = _maker(env)
    a, b = make(), make()
    actions = _actions(a, 500, seed)
    assert _rollout(a, seed, actions) == _rollout(b, seed, actions), "same seed, different episodes"
    first = [make().reset(seed=s)[0]["input_ids"].tobytes() for s in range(8)]
    assert len(set(first)) > 1, "different seeds should give different prompts"


def check_pickle(env: EnvSource) -> None:
    """A pickled environment, mid-episode, continues exactly like the original."""
    e = _maker(env)()
    e.reset(seed=7)
    actions = _actions(e, 500, 7)
    for a in actions[:3]:
        e.step(a)
    clone = pickle.loads(pickle.dumps(e))
    for a in actions[3:40]:
        r1, r2 = e.step(a), clone.step(a)
        assert np.array_equal(r1[0]["input_ids"], r2[0]["input_ids"]) and r1[1:4] == r2[1:4]
        if r1[2] or r1[3]:
            break


def check_time_limit(env_id: str) -> None:
    """Episodes end by the registered ``max_episode_steps``; a shorter ``TimeLimit`` truncates earlier."""
    e = gym.make(env_id)
    limit = e.spec.max_episode_steps
    assert limit is not None, f"{env_id} must be registered with max_episode_steps"
    assert limit == e.unwrapped.max_new_tokens, "max_episode_steps must equal max_new_tokens"
    e.reset(seed=0)
    for t, a in enumerate(_actions(e, limit, 0), start=1):
        _, reward, terminated, truncated, info = e.step(a)
        if t < limit:
            assert not (terminated or truncated) and np.isfinite(reward) and info == {}
    assert truncated and not terminated, "the budget's last step must truncate"
    assert "reward_components" in info and "completion" in info, "the completion is scored when truncated"
    short = gym.make(env_id, max_episode_steps=3)
    short.reset(seed=0)
    flags = [short.step(a)[3] for a in _actions(short, 3, 1)]
    assert flags == [False, False, True], "TimeLimit(3) must truncate on the third step"
    e.reset(seed=1)
    _, reward, terminated, truncated, info = e.step(e.unwrapped.codec.eos_id)
    assert terminated and not truncated and "reward_components" in info, "EOS must terminate and score"


def check_text_wrapper(env: EnvSource) -> None:
    """The environment can be driven with whole strings through :class:`TextActionWrapper`."""
    e = TextActionWrapper(_maker(env)())
    e.reset(seed=0)
    _, reward, terminated, truncated, info = e.step("Thank you!")
    assert terminated and not truncated
    assert info["completion"] == "Thank you!"
    assert np.isfinite(reward) and info["tokens_dropped"] == 0


def check_token_env(env: EnvSource) -> None:
    """Run every check above (``check_time_limit`` only for registered ids)."""
    for check in (check_spaces, check_gymnasium, check_sb3, check_determinism, check_pickle, check_text_wrapper):
        check(env)
    if isinstance(env, str):
        check_time_limit(env)


ALL_CHECKS = {
    "spaces": check_spaces,
    "gymnasium": check_gymnasium,
    "sb3": check_sb3,
    "determinism": check_determinism,
    "pickle": check_pickle,
    "text_wrapper": check_text_wrapper,
}
