"""The contract suite, parametrized over every registered environment (shipped as tokengym.testing)."""

import gymnasium as gym
import pytest

import tokengym
from tokengym import testing

ENV_IDS = tokengym.registered_ids()


@pytest.mark.parametrize("check", list(testing.ALL_CHECKS), ids=str)
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_contract(env_id, check):
    testing.ALL_CHECKS[check](env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_time_limit(env_id):
    testing.check_time_limit(env_id)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_make_with_module_prefix_in_a_fresh_interpreter(env_id):
    import subprocess
    import sys

    code = f"import gymnasium as gym; env = gym.make('tokengym:{env_id}'); env.reset(seed=0); print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_every_registered_env_is_versioned_with_a_time_limit():
    for env_id in ENV_IDS:
        spec = gym.spec(env_id)
        assert spec.version is not None and spec.max_episode_steps is not None


def test_subproc_vec_env_runs_every_env():
    import numpy as np
    from stable_baselines3.common.vec_env import SubprocVecEnv

    for env_id in ENV_IDS:
        # Subprocesses start fresh: the module prefix imports tokengym (and registers its envs) there.
        venv = SubprocVecEnv([lambda env_id=env_id: gym.make(f"tokengym:{env_id}")] * 2)
        # At least one whole episode: 60 steps, or more for multi-turn games (their registered step limit).
        steps = max(60, gym.spec(env_id).max_episode_steps)
        try:
            venv.seed(0)
            obs = venv.reset()
            assert obs["input_ids"].shape[0] == 2
            finished = 0
            for _ in range(steps):
                obs, rewards, dones, infos = venv.step(np.array([5, 6]))
                finished += int(dones.sum())
                assert all("reward_components" in info for info, done in zip(infos, dones, strict=True) if done)
            assert finished >= 2, "each env finishes an episode within its step budget"
        finally:
            venv.close()
