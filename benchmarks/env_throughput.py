"""Token-steps per second of every registered environment under a random policy.

For each environment it prints, single env (``gym.make``, so with Gymnasium's default wrappers and TimeLimit):
- ``all``: every step, resets and episode-end rewards included;
- ``per-token``: the steps inside an episode only (the O(1) token dynamics), target >= 100k/s;
- ``episode end``: microseconds for the last step (decode + reward) and for a reset;
and the same random policy through SB3's ``DummyVecEnv`` of 8 (token-steps summed over the 8 envs).

    python benchmarks/env_throughput.py [--seconds 3] [--envs Dialogue-v0 ...]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import tokengym
from tokengym.envs import registered_ids


def single_env(env_id: str, seconds: float, seed: int = 0) -> dict[str, float]:
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    actions = rng.integers(env.action_space.n, size=1 << 16).tolist()
    env.reset(seed=seed)
    for a in actions[:200]:  # warm-up: imports, caches, the passive checker's first step
        if any(env.step(a)[2:4]):
            env.reset()
    steps = mid_steps = ends = 0
    mid_time = end_time = reset_time = 0.0
    clock = time.perf_counter
    start = clock()
    while clock() - start < seconds:
        for a in actions:
            t0 = clock()
            _, _, terminated, truncated, _ = env.step(a)
            t1 = clock()
            steps += 1
            if terminated or truncated:
                ends += 1
                end_time += t1 - t0
                env.reset()
                reset_time += clock() - t1
            else:
                mid_steps += 1
                mid_time += t1 - t0
            if steps % 4096 == 0 and clock() - start >= seconds:
                break
    total = clock() - start
    return {
        "all": steps / total,
        "per_token": mid_steps / mid_time,
        "end_us": 1e6 * end_time / max(ends, 1),
        "reset_us": 1e6 * reset_time / max(ends, 1),
        "episodes": ends,
    }


def vec_env(env_id: str, seconds: float, n_envs: int = 8, seed: int = 0) -> float:
    from stable_baselines3.common.vec_env import DummyVecEnv

    venv = DummyVecEnv([lambda: gym.make(env_id)] * n_envs)
    venv.seed(seed)
    venv.reset()
    rng = np.random.default_rng(seed)
    batches = rng.integers(venv.action_space.n, size=(1024, n_envs))
    for b in batches[:50]:
        venv.step(b)
    steps = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for b in batches:
            venv.step(b)
        steps += len(batches) * n_envs
    return steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="measuring time per figure")
    parser.add_argument("--envs", nargs="*", default=registered_ids())
    args = parser.parse_args()
    print(f"tokengym {tokengym.__version__}, random policy, {args.seconds:g}s per figure")
    header = f"{'env':<20}{'all/s':>11}{'per-token/s':>13}{'end µs':>9}{'reset µs':>10}{'DummyVecEnv(8)/s':>18}"
    print(header)
    print("-" * len(header))
    for env_id in args.envs:
        s = single_env(env_id, args.seconds)
        v = vec_env(env_id, args.seconds)
        print(
            f"{env_id:<20}{s['all']:>11,.0f}{s['per_token']:>13,.0f}{s['end_us']:>9.0f}{s['reset_us']:>10.0f}{v:>18,.0f}"
        )


if __name__ == "__main__":
    main()
