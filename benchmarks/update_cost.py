"""Cost of one policy update with a language-model policy: TRPO against PPO; memory of MaskablePPO's masks.

TRPO's update solves for its step with conjugate gradient, and each iteration is a Fisher-vector product: a
second backward pass through the gradient graph of the whole LM. This script times ``train()`` on the same
rollout (the embedded "tiny" model, Dialogue-v0 with 32 prompt + 32 new tokens, 4 environments x 64 steps;
each model built as ``tokengym train`` builds it, by ``build_model``) for PPO (4 epochs of minibatches of 64),
for TRPO as ``tokengym train`` runs it (``LMTRPO``: the actor's gradients in one backward pass each) with
sb3-contrib's settings (15 conjugate-gradient steps, 10 critic passes) and with tokengym's defaults (10 and 5),
and for sb3-contrib's own ``TRPO`` class with its settings (built by hand with the same arguments: it takes the
gradients one parameter tensor at a time), and prints each update's seconds and its ratio to PPO's.

It also prints the bytes of the action masks a MaskablePPO rollout keeps: sb3-contrib's float32 array against
tokengym's bit-packed one, for the demo's rollout shape (8 environments x 128 steps x 4,096 tokens).

    python benchmarks/update_cost.py [--threads 1] [--repeats 2]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.lm.buffers import EpisodeMaskableDictRolloutBuffer
from tokengym.agents.running.algorithms import build_model, make_vec_envs
from tokengym.agents.running.config import TrainConfig

N_ENVS, N_STEPS = 4, 64
ENV_KWARGS = {"max_prompt_len": 32, "max_new_tokens": 32}


def make(algo: str, batch_size: int, n_epochs: int = 1, **algorithm_kwargs) -> Any:
    """The model ``tokengym train --algo ALGO`` builds, for this rollout shape (tokengym's defaults otherwise)."""
    cfg = TrainConfig(
        env_id="Dialogue-v0",
        algo=algo,
        env_kwargs=ENV_KWARGS,
        n_envs=N_ENVS,
        vec_env="dummy",
        n_steps=N_STEPS,
        batch_size=batch_size,
        n_epochs=n_epochs,
    )
    return build_model(cfg, make_vec_envs(cfg, seed=0), algorithm_kwargs=algorithm_kwargs)


def make_sb3_contrib_trpo() -> Any:
    """sb3-contrib's own ``TRPO`` with the arguments ``build_model`` gives ``LMTRPO`` (its settings: cg 15, critic
    10), the reference for what ``LMTRPO``'s one-pass gradients save."""
    from sb3_contrib import TRPO

    from tokengym.agents.lm.policy import LMActorCriticPolicy
    from tokengym.agents.running.algorithms import ALGORITHMS

    cfg = TrainConfig(
        env_id="Dialogue-v0",
        algo="trpo",
        env_kwargs=ENV_KWARGS,
        n_envs=N_ENVS,
        vec_env="dummy",
        n_steps=N_STEPS,
        batch_size=128,
        cg_max_steps=15,
        n_critic_updates=10,
    )
    return TRPO(LMActorCriticPolicy, make_vec_envs(cfg, seed=0), verbose=0, **ALGORITHMS["trpo"].arguments(cfg))


def update_seconds(model, repeats: int) -> float:
    """Median seconds of ``train()`` over ``repeats`` rollouts (each collected first, not timed)."""
    _, callback = model._setup_learn(N_ENVS * N_STEPS * (repeats + 1), None)
    callback.init_callback(model)
    times = []
    for _ in range(repeats):
        model.collect_rollouts(model.env, callback, model.rollout_buffer, N_STEPS)
        start = time.perf_counter()
        model.train()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    runs = {
        "PPO (4 epochs, minibatch 64)": make("ppo", batch_size=64, n_epochs=4),
        "TRPO (tokengym defaults: cg 10, critic 5 x 128)": make("trpo", batch_size=128),
        "TRPO (cg 15, critic 10 x 128)": make("trpo", batch_size=128, cg_max_steps=15, n_critic_updates=10),
        "sb3-contrib TRPO class (cg 15, critic 10 x 128)": make_sb3_contrib_trpo(),
    }
    seconds = {name: update_seconds(model, args.repeats) for name, model in runs.items()}
    ppo = next(iter(seconds.values()))
    print(f"update of one rollout ({N_ENVS} x {N_STEPS} tokens, 'tiny' model, {args.threads} thread(s)):")
    for name, s in seconds.items():
        print(f"  {name:50s} {s:7.2f} s   {s / ppo:5.1f}x PPO")

    env = gym.make("Dialogue-v0")
    shape = (128, env.observation_space, env.action_space)
    plain = MaskableDictRolloutBuffer(*shape, n_envs=8)
    packed = EpisodeMaskableDictRolloutBuffer(*shape, n_envs=8)
    observations = sum(v.nbytes for v in plain.observations.values())
    print("MaskablePPO rollout of 8 x 128 steps, 4,096 tokens:")
    print(f"  float32 masks (sb3-contrib)   {plain.action_masks.nbytes / 2**20:8.2f} MiB")
    print(f"  bit-packed masks (tokengym)   {packed.action_masks.nbytes / 2**20:8.2f} MiB")
    print(f"  observations (for scale)      {observations / 2**20:8.2f} MiB")


if __name__ == "__main__":
    main()
