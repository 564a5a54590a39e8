"""Steps per second of the text games under a random admissible policy, single env.

For each game and level it prints:
- ``cmd/s``: command-level steps per second (``<Game>Cmd-v0`` through ``gym.make``, so with Gymnasium's
  default wrappers and TimeLimit); each step picks a random slot among those ``action_masks()`` marks, and
  the time covers the mask, the choice, the step and the resets. Target >= 20k/s.
- ``game cmd/s``: the same policy on the bare game object (no tokens, no Gymnasium): the game logic alone.
- ``tok/s``: token-level steps per second (``<Game>-v0``), each token drawn at random among those
  ``action_masks()`` allows, so every command is admissible; resets included.
- ``tok/cmd``: mean tokens per command at token level (end-of-sequence included).

Then, when ``textworld`` is installed (``pip install 'tokengym[textworld]'``), a TextWorld section: for each
challenge, one generated game (from the tokengym cache, generated on first use), one command sequence (a seeded
random admissible policy, episodes of at most 100 commands) and the same requested ``EnvInfos``, played
- ``ours``: through ``TW<Game>Cmd-v0`` (``gym.make``, a pool of that one game), stepping the command's slot;
- ``raw``: through ``textworld.start`` (TextWorld's own environment, what ours wraps);
- ``tw gym``: through ``textworld.gym`` (TextWorld's gym API, which reloads the game at every reset).
Each is made and started before the clock starts; the clock covers the episodes, each begun with a reset. It
prints steps/s of each (per second of this process's CPU time; the median of ``--trials`` interleaved runs) and
ours' overhead over ``raw`` (target <= 10%).

    python benchmarks/textgame_throughput.py [--seconds 2] [--levels 1 2 3] [--games TextNav ...]
        [--tw-steps 500] [--trials 3] [--tw-games tw-cooking ...] [--no-textworld]
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

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


# CPU time of this process (Jericho's interpreter runs in it): on a machine shared with other work, wall-clock
# time would charge either side for the others' time slices.
TEXTWORLD_CLOCK = time.process_time
# One game per challenge: settings that give episodes of some length under a random policy.
TEXTWORLD_GAMES = {
    "tw-coin_collector": ("TWCoinCollectorCmd-v0", {"level": 10}, {}),
    "tw-treasure_hunter": ("TWTreasureHunterCmd-v0", {"level": 15}, {}),
    "tw-simple": ("TWSimpleCmd-v0", {}, {}),
    "tw-cooking": (
        "TWCookingCmd-v0",
        {},
        {"recipe": 2, "take": 2, "go": 6, "open": True, "cook": True, "cut": True},
    ),
}


def textworld_sequence(textworld, path: str, infos, steps: int, seed: int = 0) -> list[list[str]]:
    """Episodes of a seeded random admissible policy on the raw game, ``steps`` commands in all."""
    rng = np.random.default_rng(seed)
    env = textworld.start(path, request_infos=infos)
    episodes: list[list[str]] = []
    total = 0
    while total < steps:
        state, episode = env.reset(), []
        while len(episode) < 100 and total < steps:
            commands = state["admissible_commands"]
            command = commands[rng.integers(len(commands))]
            episode.append(command)
            total += 1
            state, _, done = env.step(command)
            if done:
                break
        episodes.append(episode)
    env.close()
    return episodes


def textworld_raw(textworld, path: str, infos, episodes: list[list[str]]) -> float:
    env = textworld.start(path, request_infos=infos)
    env.reset()  # started and loaded, as ours is after its first reset
    clock = TEXTWORLD_CLOCK
    start = clock()
    for episode in episodes:
        env.reset()
        for command in episode:
            env.step(command)
    elapsed = clock() - start
    env.close()
    return sum(map(len, episodes)) / elapsed


def textworld_gym(textworld, path: str, infos, episodes: list[list[str]]) -> float:
    import textworld.gym

    env_id = textworld.gym.register_game(path, request_infos=infos, max_episode_steps=100)
    env = textworld.gym.make(env_id)
    env.reset()
    clock = TEXTWORLD_CLOCK
    start = clock()
    for episode in episodes:
        env.reset()  # TextWorld's gym API loads the game again at every reset
        for command in episode:
            env.step(command)
    elapsed = clock() - start
    env.close()
    return sum(map(len, episodes)) / elapsed


def textworld_ours(env_id: str, kwargs: dict, episodes: list[list[str]]) -> float:
    env = gym.make(env_id, **kwargs)
    env.reset(seed=0)  # starts TextWorld's engine and loads the pool's game
    clock = TEXTWORLD_CLOCK
    start = clock()
    for i, episode in enumerate(episodes):
        _, info = env.reset()
        for command in episode:
            _, _, terminated, truncated, info = env.step(info["admissible_commands"].index(command))
        assert terminated or truncated or i == len(episodes) - 1, "the episode should end with the raw one"
    elapsed = clock() - start
    env.close()
    return sum(map(len, episodes)) / elapsed


def textworld_section(names: list[str], steps: int, trials: int) -> None:
    try:
        from tokengym.envs.games.textworld_cache import import_textworld

        textworld = import_textworld()
    except ImportError as exc:
        print(f"\nTextWorld section skipped: {exc}")
        return
    print(f"\nTextWorld, command level vs raw TextWorld: {steps} commands, median of {trials} runs")
    print(f"{'challenge':<20}{'ours/s':>9}{'raw/s':>9}{'tw gym/s':>10}{'overhead':>10}")
    for name in names:
        env_id, env_kwargs, options = TEXTWORLD_GAMES[name]
        kwargs = {**env_kwargs, "game_kwargs": {"pool_size": 1, **options}}
        env = gym.make(env_id, **kwargs)
        game = env.unwrapped.game
        infos = game._request_infos()  # the very EnvInfos ours asks for
        path = str(game.pool[0].game_file)
        env.close()
        episodes = textworld_sequence(textworld, path, infos, steps)
        runs: dict[str, list[float]] = {"ours": [], "raw": [], "gym": []}
        for _ in range(trials):  # interleaved, so that a busy machine slows all three alike
            runs["ours"].append(textworld_ours(env_id, kwargs, episodes))
            runs["raw"].append(textworld_raw(textworld, path, infos, episodes))
            runs["gym"].append(textworld_gym(textworld, path, infos, episodes))
        ours, raw, tw_gym = (statistics.median(runs[k]) for k in ("ours", "raw", "gym"))
        overhead = raw / ours - 1
        print(f"{name:<20}{ours:>9,.0f}{raw:>9,.0f}{tw_gym:>10,.0f}{overhead:>+10.1%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement (default 2)")
    parser.add_argument("--levels", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--games", nargs="*", default=list(IDS.values()), help="game names as in the env ids")
    parser.add_argument("--tw-steps", type=int, default=500, help="commands per TextWorld run (default 500)")
    parser.add_argument("--trials", type=int, default=3, help="TextWorld runs per backend (default 3)")
    parser.add_argument("--tw-games", nargs="*", default=list(TEXTWORLD_GAMES), choices=list(TEXTWORLD_GAMES))
    parser.add_argument("--no-textworld", action="store_true", help="skip the TextWorld section")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'game':<16}{'level':>6}{'cmd/s':>10}{'game cmd/s':>12}{'tok/s':>10}{'tok/cmd':>9}")
    for game_name, prefix in IDS.items():
        if prefix not in args.games:
            continue
        for level in args.levels:
            cmd = command_level(f"{prefix}Cmd-v0", level, args.seconds)
            bare = game_only(game_name, level, args.seconds)
            tok, per_command = token_level(f"{prefix}-v0", level, args.seconds)
            print(f"{prefix:<16}{level:>6}{cmd:>10,.0f}{bare:>12,.0f}{tok:>10,.0f}{per_command:>9.1f}", flush=True)
    if not args.no_textworld and args.tw_games:
        textworld_section(args.tw_games, args.tw_steps, args.trials)


if __name__ == "__main__":
    main()
