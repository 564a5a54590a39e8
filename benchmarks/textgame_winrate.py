"""Win rate on unseen games of the command-level baselines (LSTM-DQN, BOW-DQN, command-level PPO) vs random play.

For each env, each learning agent trains from scratch on each seed for a fixed budget of env steps, on games
drawn from the training seeds (``tokengym.agents.textgame.TRAIN_SEEDS``); it is then scored greedily on the same
``--episodes`` held-out games (``TEST_SEEDS``: no training game's seed). The random agent plays the same games,
once per seed. The table gives the win rate's mean and standard deviation over seeds, its range, the mean return
and turns, and the training time.

An env is an id, optionally followed by its ``gym.make`` arguments as JSON: ``'TextNavCmd-v0{"level": 2}'``.
The default is TextNav's smallest game (level 1: 4 rooms, no doors) with 5 turns: under the registered 50 turns
a random walk wins every game; with 5 it wins about 45%, while walking toward the goal room named in the exits
and never straight back wins all. ``--test-kwargs`` adds arguments to the evaluation envs only (merged one level
deep), for games with a split of their own: TextWorld's take ``'{"game_kwargs": {"split": "test"}}'``.

    python benchmarks/textgame_winrate.py [--env ID{JSON} ...] [--seeds 0 1 2] [--dqn-steps 6000]
        [--ppo-steps 12000] [--episodes 500] [--test-kwargs JSON]
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.textgame_eval import (
    AGENT_KINDS,
    RandomCommandAgent,
    evaluate_win_rate,
    held_out_seeds,
    make_agent,
    make_train_env,
)

DEFAULT_ENVS = ('TextNavCmd-v0{"level": 1, "max_turns": 5}',)


@dataclass
class Config:
    """What to train and how it is scored."""

    envs: list[str] = field(default_factory=lambda: list(DEFAULT_ENVS))
    """Command-level env ids, each optionally followed by its ``gym.make`` arguments as JSON."""
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    """Training seeds (each agent trains once per seed)."""
    dqn_steps: int = 6_000
    """Env steps of training for LSTM-DQN and BOW-DQN."""
    ppo_steps: int = 12_000
    """Env steps of training for command-level PPO."""
    episodes: int = 500
    """Held-out games each agent is scored on (the same games for every agent)."""
    test_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra ``gym.make`` arguments for the evaluation envs only."""

    def __post_init__(self) -> None:
        if not self.envs or not self.seeds:
            raise ValueError("give at least one env and one seed")
        if min(self.dqn_steps, self.ppo_steps, self.episodes) < 1:
            raise ValueError("dqn_steps, ppo_steps and episodes must be positive")


def parse_env(spec: str) -> tuple[str, dict[str, Any]]:
    """``'Id{"k": v}'`` -> ``("Id", {"k": v})``; a bare id has no arguments."""
    if "{" not in spec:
        return spec.strip(), {}
    start = spec.index("{")
    kwargs = json.loads(spec[start:])
    if not isinstance(kwargs, dict):
        raise ValueError(f"the arguments of {spec!r} must be a JSON object")
    return spec[:start].strip(), kwargs


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``extra``, dict values merged (so ``game_kwargs`` gains keys rather than being replaced)."""
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = {**out[key], **value} if both else value
    return out


def run_env(cfg: Config, spec: str) -> list[dict[str, Any]]:
    env_id, env_kwargs = parse_env(spec)
    test_kwargs = merge(env_kwargs, cfg.test_kwargs)
    seeds = held_out_seeds(cfg.episodes)
    rows = []
    random_runs = [evaluate_win_rate(RandomCommandAgent(s), env_id, seeds, env_kwargs=test_kwargs) for s in cfg.seeds]
    rows.append({"agent": "random", "steps": 0, "runs": random_runs, "seconds": [0.0] * len(cfg.seeds)})
    for kind in AGENT_KINDS:
        steps = cfg.ppo_steps if kind == "ppo" else cfg.dqn_steps
        runs, seconds = [], []
        for seed in cfg.seeds:
            model = make_agent(kind, make_train_env(env_id, env_kwargs, seed=seed), seed=seed)
            start = time.perf_counter()
            model.learn(steps)
            seconds.append(time.perf_counter() - start)
            runs.append(evaluate_win_rate(model, env_id, seeds, env_kwargs=test_kwargs))
            print(f"  {kind} seed {seed}: win rate {runs[-1].win_rate:.3f} ({seconds[-1]:.0f} s)", flush=True)
        rows.append({"agent": kind, "steps": steps, "runs": runs, "seconds": seconds})
    return rows


def print_table(spec: str, cfg: Config, rows: list[dict[str, Any]]) -> None:
    print(f"\n{spec}: win rate on {cfg.episodes} unseen games, {len(cfg.seeds)} seeds (mean ± std over seeds)")
    print(f"| {'agent':<9} | {'steps':>6} | {'win rate':<13} | {'min..max':<12} | return | turns | train s |")
    print(f"|{'-' * 11}|{'-' * 8}|{'-' * 15}|{'-' * 14}|--------|-------|---------|")
    for row in rows:
        wins = np.array([r.win_rate for r in row["runs"]])
        returns = np.mean([r.mean_return for r in row["runs"]])
        turns = np.mean([r.mean_turns for r in row["runs"]])
        steps = row["steps"] or "-"
        print(
            f"| {row['agent']:<9} | {steps:>6} | {wins.mean():.3f} ± {wins.std():.3f} | "
            f"{wins.min():.3f}..{wins.max():.3f} | {returns:6.3f} | {turns:5.2f} | {np.mean(row['seconds']):7.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", dest="envs", help="env id[JSON arguments]; repeat for several")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dqn-steps", type=int, default=6_000)
    parser.add_argument("--ppo-steps", type=int, default=12_000)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--test-kwargs", type=json.loads, default={})
    args = parser.parse_args()
    cfg = Config(
        envs=args.envs or list(DEFAULT_ENVS),
        seeds=args.seeds,
        dqn_steps=args.dqn_steps,
        ppo_steps=args.ppo_steps,
        episodes=args.episodes,
        test_kwargs=args.test_kwargs,
    )
    torch.set_num_threads(1)
    start = time.perf_counter()
    for spec in cfg.envs:
        print(f"{spec}:", flush=True)
        print_table(spec, cfg, run_env(cfg, spec))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
