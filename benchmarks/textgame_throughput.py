"""Steps per second of the text games under a random admissible policy, single env.

For each game and level it prints:
- ``cmd/s``: command-level steps per second (``<Game>Cmd-v0`` through ``gym.make``, so with Gymnasium's
  default wrappers and TimeLimit); each step picks a random slot among those ``action_masks()`` marks, and
  the time covers the mask, the choice, the step and the resets. Target >= 20k/s.
- ``game cmd/s``: the same policy on the bare game object (no tokens, no Gymnasium): the game logic alone.
- ``tok/s``: token-level steps per second (``<Game>-v0``), each token drawn at random among those
  ``action_masks()`` allows, so every command is admissible; resets included.
- ``tok/cmd``: mean tokens per command at token level (end-of-sequence included).

    python benchmarks/textgame_throughput.py [--seconds 2] [--levels 1 2 3] [--games TextNav ...]
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

import tokengym  # noqa: F401  (registers the environments)
from tokengym.envs.games import GAMES

IDS = {
    "twenty_questions": "TwentyQuestions",
    "wordle": "Wordle",
    "textnav": "TextNav",
    "coin_collector": "CoinCollector",
}


def command_level(env_id: str, level: int, seconds: float, seed: int = 0) -> float:
    env = gym.make(env_id, level=level)
    unwrapped = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps = 0
    clock = time.perf_counter
    start = clock()
    while True:
        for _ in range(1000):
            slots = np.flatnonzero(unwrapped.action_masks())
            _, _, terminated, truncated, _ = env.step(int(slots[rng.integers(len(slots))]))
            steps += 1
            if terminated or truncated:
                env.reset()
        elapsed = clock() - start
        if elapsed >= seconds:
            return steps / elapsed


def game_only(game_name: str, level: int, seconds: float, seed: int = 0) -> float:
    game = GAMES[game_name](level=level)
    rng = np.random.default_rng(seed)
    game.reset(rng=rng)
    steps = 0
    clock = time.perf_counter
    start = clock()
    while True:
        for _ in range(1000):
            commands = game.offered_commands()
            game.step(commands[rng.integers(len(commands))])
            game.text()
            steps += 1
            if game.done:
                game.reset(rng=rng)
        elapsed = clock() - start
        if elapsed >= seconds:
            return steps / elapsed


def token_level(env_id: str, level: int, seconds: float, seed: int = 0) -> tuple[float, float]:
    env = gym.make(env_id, level=level)
    unwrapped = env.unwrapped
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    steps = commands = 0
    clock = time.perf_counter
    start = clock()
    while True:
        for _ in range(1000):
            allowed = np.flatnonzero(unwrapped.action_masks())
            _, _, terminated, truncated, info = env.step(int(allowed[rng.integers(len(allowed))]))
            steps += 1
            commands += bool(info)
            if terminated or truncated:
                env.reset()
        elapsed = clock() - start
        if elapsed >= seconds:
            return steps / elapsed, steps / max(commands, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--games", nargs="*", default=list(IDS.values()), help="game names as in the env ids")
    args = parser.parse_args()
    print(f"{'game':<16}{'level':>6}{'cmd/s':>10}{'game cmd/s':>12}{'tok/s':>10}{'tok/cmd':>9}")
    for game_name, prefix in IDS.items():
        if prefix not in args.games:
            continue
        for level in args.levels:
            cmd = command_level(f"{prefix}Cmd-v0", level, args.seconds)
            bare = game_only(game_name, level, args.seconds)
            tok, per_command = token_level(f"{prefix}-v0", level, args.seconds)
            print(f"{prefix:<16}{level:>6}{cmd:>10,.0f}{bare:>12,.0f}{tok:>10,.0f}{per_command:>9.1f}", flush=True)


if __name__ == "__main__":
    main()
