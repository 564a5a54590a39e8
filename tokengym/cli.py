"""The ``tokengym`` command.

tokengym list              the registered environments, reward names and embedded models
tokengym demo [--steps N] [--seed S] [--out DIR]
                           the main job: PPO from the embedded model on Dialogue-v0, zero-shot vs trained
                           reward on held-out prompts, sample replies, a learning-curve PNG
tokengym episodes [--episodes N] [--seed S]
                           real episodes of every environment: a random policy, then the reference
                           text played through the string-level wrapper, with reward components
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time

import gymnasium as gym
import numpy as np

import tokengym
from tokengym.envs import ENVIRONMENTS, TextActionWrapper, registered_ids
from tokengym.rewards import get_reward, reward_names


def _shorten(text: str, width: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def cmd_list(args: argparse.Namespace) -> int:
    print("Environments:")
    for env_id in registered_ids():
        env = gym.make(env_id)
        u = env.unwrapped
        space = ", ".join(f"{k} {v.dtype} {v.shape}" for k, v in env.observation_space.spaces.items())
        print(
            f"  {env_id:<22} obs Dict({space})  action Discrete({env.action_space.n})  "
            f"max_episode_steps {ENVIRONMENTS[env_id][1]}"
        )
        reward = getattr(u, "default_reward", None)
        print(f"  {'':<22} reward: {reward or 'defined by the task (see its docstring)'}")
        env.close()
    print("Rewards:")
    for name in reward_names():
        fn = get_reward(name)
        low, high = getattr(fn, "range", ("?", "?"))
        doc = (type(fn).__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<18} [{low:g}, {high:g}]  {doc}")
    from tokengym.agents.lm import model_names

    print("Models:")
    for name in model_names():
        print(f"  {name:<18} embedded (see tokengym/assets/{name}/README.md); any Hugging Face id or folder works too")
    return 0


def _print_episode(label: str, info: dict, total: float) -> None:
    parts = ", ".join(f"{k}={v:+.3f}" for k, v in info.get("reward_components", {}).items())
    print(f"    {label:<9} {_shorten(info.get('completion', info.get('command', '')), 160)!r}")
    print(f"    {'':<9} reward {total:+.3f}  ({parts})")


def _random_action(env: gym.Env, rng: np.random.Generator) -> int:
    """A uniform action, among the legal ones where the environment says which (``action_masks()``)."""
    masks = getattr(env.unwrapped, "action_masks", None)
    if masks is None:
        return int(rng.integers(env.action_space.n))
    return int(rng.choice(np.flatnonzero(masks())))


def cmd_demo(args: argparse.Namespace) -> int:
    from tokengym.agents.demo import DemoConfig, format_report, run_demo

    cfg = DemoConfig(total_timesteps=args.steps, seed=args.seed, out_dir=args.out)
    print(f"tokengym {tokengym.__version__} demo: PPO on {cfg.env_id} from the embedded '{cfg.model_name}' model")
    result = run_demo(cfg, progress_bar=not args.no_progress)
    print(format_report(result))
    return 0


def cmd_episodes(args: argparse.Namespace) -> int:
    print(f"tokengym {tokengym.__version__}: {args.episodes} episode(s) of every registered environment\n")
    rng = np.random.default_rng(args.seed)
    for env_id in registered_ids():
        env = gym.make(env_id)
        reward_fn = getattr(env.unwrapped, "reward_fn", None)
        print(f"== {env_id}  (reward: {reward_fn!r})" if reward_fn else f"== {env_id}  (reward: the game's score)")
        steps, start = 0, time.perf_counter()
        for episode in range(args.episodes):
            seed = args.seed + episode
            obs, info = env.reset(seed=seed)
            prompt = info.get("prompt", info.get("text", ""))
            print(f"  episode {episode}, prompt ({int(obs['attention_mask'].sum())} tokens):")
            print(textwrap.indent(textwrap.fill(_shorten(prompt, 600), 100), "    | "))
            total, done = 0.0, False
            while not done:
                obs, reward, terminated, truncated, info = env.step(_random_action(env, rng))
                total += reward
                steps += 1
                done = terminated or truncated
            _print_episode("random", info, total)
            reference = info.get("references")
            if reference is not None:
                text_env = TextActionWrapper(gym.make(env_id))
                text_env.reset(seed=seed)
                _, ref_total, _, _, ref_info = text_env.step(reference)
                _print_episode("reference", ref_info, ref_total)
        elapsed = time.perf_counter() - start
        print(f"  {steps} random steps in {elapsed:.2f}s\n")
        env.close()
    print("A random policy writes noise (games: random legal actions); a reference shows what a good completion earns.")
    print("`tokengym demo` trains a language-model policy on Dialogue-v0.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokengym", description="Token-level Gymnasium environments for language.")
    parser.add_argument("--version", action="version", version=f"tokengym {tokengym.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments and rewards").set_defaults(func=cmd_list)
    demo = sub.add_parser("demo", help="train PPO on Dialogue-v0 from the embedded model, show before/after")
    demo.add_argument("--steps", type=int, default=8192, help="PPO token steps (default 8192)")
    demo.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    demo.add_argument("--out", default="runs/demo", help="folder for the learning curve and model (runs/demo)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)
    episodes = sub.add_parser("episodes", help="run real episodes of every environment with a random policy")
    episodes.add_argument("--episodes", type=int, default=2, help="episodes per environment (default 2)")
    episodes.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    episodes.set_defaults(func=cmd_episodes)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "episodes", 1) < 1:
        print("tokengym: --episodes must be at least 1", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
