"""Win rate on unseen games of the text-game agents vs random play: command-level LSTM-DQN, BOW-DQN and PPO, and
token-level MaskablePPO with the embedded language model "tiny" writing each command under the game's masks.

For each env, each learning agent trains from scratch on each seed for a fixed budget of steps, on games drawn
from the training seeds (``tokengym.agents.textgame.TRAIN_SEEDS``; a TextWorld game plays its ``train``
split's pool); it is then scored greedily on the same held-out games (``TEST_SEEDS``: no training game's seed;
TextWorld: a pool of ``--episodes`` games of the ``test`` split). The random agent plays the same games, once
per seed. The table gives the win rate's mean and standard deviation over seeds, its range, the mean return
and turns, and the training time.

An env is a command-level id, optionally followed by its ``gym.make`` arguments as JSON:
``'TextNavCmd-v0{"level": 2}'``; the language model plays the same game at token level (the id without
``Cmd``), with the same arguments. The default is TextNav's smallest game (level 1: 4 rooms, no doors) with 5
turns: under the registered 50 turns a random walk wins every game; with 5 it wins about 45%, while walking
toward the goal room named in the exits and never straight back wins all.

TextWorld's coin collector at level 5 (a route of five rooms; needs the ``textworld`` extra) takes larger
budgets, a training pool of 1,000 generated games (generated on the first run, about 15 minutes, then cached)
and the last command in the status line: the rooms on the route have an exit back and one onward, and nothing
in the room says which is which. The README's figures come from::

    python benchmarks/textgame_winrate.py --env 'TWCoinCollectorCmd-v0{"level": 5, "max_turns": 10,
        "game_kwargs": {"pool_size": 1000, "history": 1}}' --dqn-steps 30000 --ppo-steps 30000 --lm-steps 0
        --episodes 200

``--agents lm_sft_maskable_ppo`` (TextWorld games only) warm-starts the language model on the walkthroughs of
training games (``--sft-steps`` supervised steps of 16 turns, ``tokengym.agents.supervised.sft``), scores it as it is
(``lm_sft``), then trains it with MaskablePPO for ``--lm-steps`` token steps and scores it again. Its advantages
are not normalised: a model that wins most plays of a game has group advantages of exactly 0 on them, and
normalising (SB3's default) shifts those zeros by the mean of the rest (the critic's advantages on the few turns
no other play reached), which pushed the commands that won down: 1.000 after the warm start, 0.28 after 8k
token steps (one seed, 50 games). The README's figure for it::

    python benchmarks/textgame_winrate.py --env 'TWCoinCollectorCmd-v0{"level": 5, "max_turns": 10,
        "game_kwargs": {"pool_size": 1000, "history": 1, "objective": false}}' --agents lm_sft_maskable_ppo
        --lm-steps 8192 --lm-episodes 100 --episodes 200 --jobs 2

``--test-kwargs`` adds arguments to the evaluation envs only (merged one level deep). ``--lm-steps 0`` leaves
the language model out (it is the slow part: about 85 token steps/s on one core on TextNav); ``--agents`` picks
the learning agents to run (random always plays). Each training run uses one thread; ``--jobs N`` runs N of them
at a time in worker processes (the training times then share the machine; results are the same).

    python benchmarks/textgame_winrate.py [--env ID{JSON} ...] [--seeds 0 1 2] [--dqn-steps 6000]
        [--ppo-steps 12000] [--lm-steps 49152] [--episodes 500] [--lm-episodes 200] [--test-kwargs JSON]
        [--agents lstm_dqn bow_dqn ppo lm_maskable_ppo lm_sft_maskable_ppo] [--jobs 1] [--sft-steps 300]
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.running.presets import AGENT_KINDS, LM_AGENT_KINDS, make_agent
from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune
from tokengym.agents.textgame import (
    RandomCommandAgent,
    evaluate_win_rate,
    held_out_seeds,
    make_train_env,
    unseen_games_kwargs,
)

DEFAULT_ENVS = ('TextNavCmd-v0{"level": 1, "max_turns": 5}',)
LM_GROUP = 4  # plays of each game in a row for the language model's group baseline
LM_ENVS = 8  # its parallel games (each rollout: 8 x 128 token steps)
LM_SFT = "lm_sft_maskable_ppo"  # the language model warm-started on the training games' walkthroughs, then PPO
# A warm-started model wins most plays of a game, so most group advantages are exactly 0; normalising them (SB3's
# default) would shift those zeros by the mean of the rest and push down the very commands that won.
SFT_PPO = {"normalize_advantage": False}


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
    lm_steps: int = 49_152
    """Token steps of training for the language model (0: leave it out)."""
    episodes: int = 500
    """Held-out games each command-level agent is scored on (the same games for every agent)."""
    lm_episodes: int = 200
    """Held-out games the language model is scored on (the first ``lm_episodes`` of the others)."""
    test_kwargs: dict[str, Any] = field(default_factory=dict)
    """Extra ``gym.make`` arguments for the evaluation envs only."""
    agents: list[str] = field(default_factory=lambda: list(AGENT_KINDS + LM_AGENT_KINDS))
    """The learning agents to train and score (the language models also need ``lm_steps`` > 0; ``LM_SFT``, which
    learns from walkthroughs, is for TextWorld games and is not among the defaults)."""
    sft_steps: int = 300
    """Supervised steps (16 walkthrough turns each) of ``LM_SFT``'s warm start."""
    jobs: int = 1
    """Training runs at a time (worker processes, one thread each)."""

    def __post_init__(self) -> None:
        if not self.envs or not self.seeds:
            raise ValueError("give at least one env and one seed")
        known = (*AGENT_KINDS, *LM_AGENT_KINDS, LM_SFT)
        unknown = sorted(set(self.agents) - set(known))
        if unknown:
            raise ValueError(f"unknown agents {unknown}; choose from {known}")
        if self.jobs < 1:
            raise ValueError(f"jobs must be at least 1, not {self.jobs}")
        if min(self.dqn_steps, self.ppo_steps, self.episodes, self.lm_episodes, self.sft_steps) < 1:
            raise ValueError("dqn_steps, ppo_steps, episodes, lm_episodes and sft_steps must be positive")
        if self.lm_steps < 0:
            raise ValueError(f"lm_steps must be >= 0, not {self.lm_steps}")


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


def token_level_id(env_id: str) -> str:
    """The token-level twin of a command-level id: ``TextNavCmd-v0`` -> ``TextNav-v0``."""
    name, _, version = env_id.rpartition("-")
    if not name.endswith("Cmd"):
        raise ValueError(f"{env_id} is not a command-level id (<Game>Cmd-v0)")
    return f"{name.removesuffix('Cmd')}-{version}"


def train_and_score(
    kind: str,
    env_id: str,
    env_kwargs: dict[str, Any],
    test_kwargs: dict[str, Any],
    seeds: range,
    steps: int,
    seed: int,
    sft_steps: int = 0,
) -> tuple[Any, float, tuple[Any, float] | None]:
    """Train one agent on one seed and score it: ``(report, seconds, (SFT-only report, SFT seconds) or None)``."""
    torch.set_num_threads(1)
    lm = kind in LM_AGENT_KINDS + (LM_SFT,)
    venv = make_train_env(env_id, env_kwargs, seed=seed, n_envs=LM_ENVS if lm else 4, group_size=LM_GROUP if lm else 1)
    sft = None
    if kind == LM_SFT:
        with tempfile.TemporaryDirectory(prefix="textgame_sft_") as folder:
            start = time.perf_counter()
            cfg = SFTConfig(env_id=env_id, env_kwargs=env_kwargs, steps=sft_steps, seed=seed)
            supervised_finetune(cfg, out=folder)
            sft_seconds = time.perf_counter() - start
            model = make_agent(LM_AGENT_KINDS[0], venv, seed=seed, model_name=folder, hyperparameters=SFT_PPO)
        sft = (evaluate_win_rate(model, env_id, seeds, env_kwargs=test_kwargs), sft_seconds)
    else:
        model = make_agent(kind, venv, seed=seed)
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start + (sft[1] if sft else 0.0)
    return evaluate_win_rate(model, env_id, seeds, env_kwargs=test_kwargs), seconds, sft


def run_env(cfg: Config, spec: str) -> list[dict[str, Any]]:
    env_id, env_kwargs = parse_env(spec)
    test_kwargs = merge(unseen_games_kwargs(env_id, env_kwargs, games=cfg.episodes), cfg.test_kwargs)
    seeds = held_out_seeds(cfg.episodes)
    rows = []
    random_runs = [evaluate_win_rate(RandomCommandAgent(s), env_id, seeds, env_kwargs=test_kwargs) for s in cfg.seeds]
    rows.append({"agent": "random", "steps": 0, "runs": random_runs, "seconds": [0.0] * len(cfg.seeds)})
    plans = [
        (kind, env_id, cfg.ppo_steps if kind == "ppo" else cfg.dqn_steps, seeds)
        for kind in AGENT_KINDS
        if kind in cfg.agents
    ]
    for kind in (*LM_AGENT_KINDS, LM_SFT):
        if cfg.lm_steps and kind in cfg.agents:
            plans.append((kind, token_level_id(env_id), cfg.lm_steps, held_out_seeds(cfg.lm_episodes)))
    jobs = [(plan, seed) for plan in plans for seed in cfg.seeds]
    calls = [
        (kind, train_id, env_kwargs, test_kwargs, games, steps, seed, cfg.sft_steps)
        for (kind, train_id, steps, games), seed in jobs
    ]
    results = []
    for ((kind, *_), seed), (report, took, sft) in zip(jobs, run_jobs(calls, cfg.jobs), strict=True):
        results.append((report, took, sft))
        if sft is not None:
            print(f"  {kind} seed {seed}: after the warm start alone, win rate {sft[0].win_rate:.3f} ({sft[1]:.0f} s)")
        print(f"  {kind} seed {seed}: win rate {report.win_rate:.3f} ({took:.0f} s)", flush=True)
    for i, (kind, _, steps, _) in enumerate(plans):
        mine = results[i * len(cfg.seeds) : (i + 1) * len(cfg.seeds)]
        if kind == LM_SFT:
            warm = [sft for _, _, sft in mine if sft is not None]
            rows.append(
                {
                    "agent": "lm_sft",
                    "steps": cfg.sft_steps,
                    "runs": [r for r, _ in warm],
                    "seconds": [t for _, t in warm],
                }
            )
        rows.append(
            {"agent": kind, "steps": steps, "runs": [r for r, _, _ in mine], "seconds": [t for _, t, _ in mine]}
        )
    return rows


def run_jobs(calls: list[tuple], jobs: int) -> Iterator[tuple[Any, float, Any]]:
    """``train_and_score(*call)`` for each call, in order: here, or ``jobs`` at a time in worker processes."""
    if jobs == 1:
        yield from itertools.starmap(train_and_score, calls)
        return
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(train_and_score, *zip(*calls, strict=True))


def print_table(spec: str, cfg: Config, rows: list[dict[str, Any]]) -> None:
    print(f"\n{spec}: win rate on {cfg.episodes} unseen games, {len(cfg.seeds)} seeds (mean ± std over seeds)")
    if cfg.lm_steps:
        print(f"(lm_*: token level, on the first {cfg.lm_episodes} of those games; steps are token steps, lm_sft's")
        print(" supervised steps of 16 walkthrough turns; lm_sft_maskable_ppo's time includes its warm start)")
    print(f"| {'agent':<19} | {'steps':>6} | {'win rate':<13} | {'min..max':<12} | return | turns | train s |")
    print(f"|{'-' * 21}|{'-' * 8}|{'-' * 15}|{'-' * 14}|--------|-------|---------|")
    for row in rows:
        wins = np.array([r.win_rate for r in row["runs"]])
        returns = np.mean([r.mean_return for r in row["runs"]])
        turns = np.mean([r.mean_turns for r in row["runs"]])
        steps = row["steps"] or "-"
        print(
            f"| {row['agent']:<19} | {steps:>6} | {wins.mean():.3f} ± {wins.std():.3f} | "
            f"{wins.min():.3f}..{wins.max():.3f} | {returns:6.3f} | {turns:5.2f} | {np.mean(row['seconds']):7.1f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", action="append", dest="envs", help="env id[JSON arguments]; repeat for several")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--dqn-steps", type=int, default=6_000)
    parser.add_argument("--ppo-steps", type=int, default=12_000)
    parser.add_argument("--lm-steps", type=int, default=49_152)
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--lm-episodes", type=int, default=200)
    parser.add_argument("--test-kwargs", type=json.loads, default={})
    parser.add_argument("--agents", nargs="+", default=list(AGENT_KINDS + LM_AGENT_KINDS))
    parser.add_argument("--jobs", type=int, default=1, help="training runs at a time, in worker processes")
    parser.add_argument("--sft-steps", type=int, default=300, help=f"supervised warm-start steps of {LM_SFT}")
    args = parser.parse_args()
    cfg = Config(
        envs=args.envs or list(DEFAULT_ENVS),
        seeds=args.seeds,
        dqn_steps=args.dqn_steps,
        ppo_steps=args.ppo_steps,
        lm_steps=args.lm_steps,
        episodes=args.episodes,
        lm_episodes=args.lm_episodes,
        test_kwargs=args.test_kwargs,
        agents=args.agents,
        jobs=args.jobs,
        sft_steps=args.sft_steps,
    )
    torch.set_num_threads(1)
    start = time.perf_counter()
    for spec in cfg.envs:
        print(f"{spec}:", flush=True)
        print_table(spec, cfg, run_env(cfg, spec))
    print(f"\ntotal {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
