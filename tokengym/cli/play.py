"""``tokengym play``: play any environment in the terminal, at the string level."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from tokengym.cli.main import _json_object, _shorten
from tokengym.envs import TextActionWrapper

PLAY_HELP = "type a reply (a command in games); ':reset' starts a new episode, ':quit' leaves"


def _play_view(env: Any) -> tuple[str, list[str] | None]:
    """The text the player sees now, and the admissible commands where the game lists them."""
    u = env.unwrapped
    if hasattr(u, "game"):  # a text game, token or command level: its text without the command prompt
        return str(u.game.text()), list(u.admissible_commands)
    sample = u.current_sample
    text = "" if sample is None else sample.prompt
    commands = getattr(u, "admissible_commands", None)
    return text, None if commands is None else list(commands)


def cmd_play(args: argparse.Namespace, read: Callable[[str], str] = input) -> int:
    from tokengym.agents.running.algorithms import is_command_level, make_env
    from tokengym.agents.running.config import check_env_id
    from tokengym.envs.games.command_env import CommandTextWrapper

    env_id = check_env_id(args.env)
    base = make_env(env_id, _json_object(args.env_kwargs, "--env-kwargs"))
    env = CommandTextWrapper(base) if is_command_level(base) else TextActionWrapper(base)
    print(f"tokengym play: {env_id} ({PLAY_HELP})")
    seed, episode, total = args.seed, 0, 0.0

    def start() -> None:
        nonlocal episode, total
        env.reset(seed=seed + episode)
        episode += 1
        total = 0.0
        print(f"\n== episode {episode} (seed {seed + episode - 1})")
        show()

    def show() -> None:
        text, commands = _play_view(env)
        print(text)
        if commands:
            print("commands: " + " | ".join(commands))

    start()
    while True:
        try:
            line = read("> ")
        except EOFError:
            print()
            break
        if line.strip() == ":quit":
            break
        if line.strip() == ":reset":
            start()
            continue
        if line.strip() in (":help", ":h"):
            print(PLAY_HELP)
            continue
        if isinstance(env, CommandTextWrapper) and env.unwrapped.slot_of(line) is None:
            print(f"({line.strip()!r} is not one of the offered commands: the game takes it as an unknown command)")
        try:
            _, reward, terminated, truncated, info = env.step(line)
        except (ValueError, TypeError) as err:
            print(f"not played: {err}")
            continue
        total += float(reward)
        parts = ", ".join(f"{k}={float(v):+.3f}" for k, v in info.get("reward_components", {}).items())
        print(f"reward {float(reward):+.3f}" + (f"  ({parts})" if parts else ""))
        if info.get("tokens_dropped"):
            print(f"({info['tokens_dropped']} token(s) past the episode's budget were not played)")
        if terminated or truncated:
            print(f"episode over: return {total:+.3f}")
            if info.get("references") is not None:
                print(f"reference: {_shorten(info['references'], 300)!r}")
            start()
        else:
            show()
    env.close()
    print("bye")
    return 0
