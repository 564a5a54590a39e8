"""The teaching algorithms against random play, over training seeds: REINFORCE (the embedded model "tiny" on
``TokenSubset-v0``) and tabular Q-learning (``TextNavCmd-v0``).

REINFORCE trains from "tiny" on each seed for ``--reinforce-steps`` tokens with each ``--baselines`` baseline,
on prompts drawn from reset seeds >= 1,000,000; it is then scored on ``--episodes`` held-out prompts (seeds
0..N-1, sampled tokens) beside a uniform random token policy and the untrained model on the same prompts.
TokenSubset pays 1/8 per odd token, so random play and the untrained model earn about 0.5 and a policy that has
learnt the subset 1.

Tabular Q-learning trains on each seed for ``--q-steps`` commands on TextNav level 2 in 12 turns (7 rooms, a
locked door and its key), on the first ``--q-games`` training games in turn; the greedy table is scored on those
games (the states it has met) and on ``--episodes`` unseen games (``held_out_seeds``), where it knows no state
and plays at random: the limit of a table, and the reason for DQN. The random agent plays the same games, once
per seed.

Each row gives the mean over seeds and its standard error (the spread of the seeds' means / sqrt(seeds)),
and the mean difference to random play with its standard error (paired by seed).

    python benchmarks/teaching_algorithms.py [--seeds 0 1 2] [--reinforce-steps 2048] [--lr 1e-3]
        [--baselines none mean value rloo] [--q-steps 20000] [--q-games 8] [--episodes 64]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.lm.loading import load_lm
from tokengym.agents.teaching.reinforce import ReinforceConfig, evaluate_returns, train_reinforce
from tokengym.agents.teaching.tabular_q import TabularQConfig, play_greedy, train_tabular_q
from tokengym.agents.textgame import RandomCommandAgent, held_out_seeds
from tokengym.feedback.held_out import mean_and_error, paired_difference

GAME = {"level": 2, "max_turns": 12}


def random_token_returns(env: gym.Env, seeds: range, seed: int) -> list[float]:
    """One episode per prompt seed with uniformly random tokens."""
    rng = np.random.default_rng(seed)
    returns = []
    for s in seeds:
        env.reset(seed=s)
        done, total = False, 0.0
        while not done:
            _, reward, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return returns


def summary(name: str, per_seed: list[float], random: list[float]) -> str:
    """A row: mean ± standard error over seeds, and the paired difference to random."""
    mean, se = mean_and_error(per_seed)
    gain, dse = paired_difference(random, per_seed)
    seeds = " ".join(f"{v:.3f}" for v in per_seed)
    return f"  {name:<34} {mean:.3f} ± {se:.3f}   vs random {gain:+.3f} ± {dse:.3f}   [{seeds}]"


def bench_reinforce(args: argparse.Namespace) -> None:
    model, codec = load_lm("tiny")
    env = gym.make("TokenSubset-v0", tokenizer=codec)
    held_out = range(args.episodes)
    random = [float(np.mean(random_token_returns(env, held_out, s))) for s in args.seeds]
    zero_shot = [float(np.mean(evaluate_returns(model, env, held_out, sample_seed=s))) for s in args.seeds]
    print(f"REINFORCE on TokenSubset-v0 from 'tiny', {args.reinforce_steps} tokens, {args.episodes} held-out prompts")
    print(summary("random tokens", random, random))
    print(summary("tiny, untrained", zero_shot, random))
    for baseline in args.baselines:
        scores, seconds = [], []
        for seed in args.seeds:
            cfg = ReinforceConfig(
                total_timesteps=args.reinforce_steps, learning_rate=args.lr, baseline=baseline, seed=seed
            )
            start = time.perf_counter()
            result = train_reinforce(cfg)
            seconds.append(time.perf_counter() - start)
            scores.append(float(np.mean(evaluate_returns(result.model, env, held_out, sample_seed=seed))))
        print(summary(f"reinforce, baseline {baseline}", scores, random) + f"  {np.mean(seconds):.0f} s/run")


def bench_tabular_q(args: argparse.Namespace) -> None:
    env = gym.make("TextNavCmd-v0", **GAME)
    unseen = list(held_out_seeds(args.episodes))
    print(
        f"Tabular Q-learning on TextNavCmd-v0 {GAME}, {args.q_steps} commands on {args.q_games} games; "
        f"{args.episodes} unseen games"
    )
    rows: dict[str, list[float]] = {k: [] for k in ("seen", "seen_random", "unseen", "unseen_random", "states")}
    seconds = []
    for seed in args.seeds:
        result = train_tabular_q(
            TabularQConfig(env_kwargs=GAME, total_steps=args.q_steps, games=args.q_games, seed=seed), env
        )
        seconds.append(result.seconds)
        games = list(result.train_games)
        rows["seen"].append(float(np.mean(play_greedy(result.agent, env, games))))
        rows["seen_random"].append(float(np.mean(play_greedy(RandomCommandAgent(seed=seed), env, games))))
        rows["unseen"].append(float(np.mean(play_greedy(result.agent, env, unseen))))
        rows["unseen_random"].append(float(np.mean(play_greedy(RandomCommandAgent(seed=seed), env, unseen))))
        rows["states"].append(len(result.agent.table))
    print(summary("random, training games", rows["seen_random"], rows["seen_random"]))
    print(summary("greedy table, training games", rows["seen"], rows["seen_random"]))
    print(summary("random, unseen games", rows["unseen_random"], rows["unseen_random"]))
    print(summary("greedy table, unseen games", rows["unseen"], rows["unseen_random"]))
    print(f"  states in the table: {np.mean(rows['states']):.0f}; {np.mean(seconds):.1f} s/run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reinforce-steps", type=int, default=2048, help="REINFORCE: tokens per run")
    parser.add_argument("--lr", type=float, default=1e-3, help="REINFORCE: learning rate")
    parser.add_argument("--baselines", nargs="+", default=["none", "mean", "value", "rloo"])
    parser.add_argument("--q-steps", type=int, default=20_000, help="tabular Q: commands per run")
    parser.add_argument("--q-games", type=int, default=8, help="tabular Q: training games")
    parser.add_argument("--episodes", type=int, default=64, help="held-out prompts / unseen games")
    args = parser.parse_args()
    torch.set_num_threads(1)
    bench_tabular_q(args)
    bench_reinforce(args)


if __name__ == "__main__":
    main()
