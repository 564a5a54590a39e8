"""``tokengym list`` and ``tokengym episodes``: what is registered, and real episodes of each environment.

Both cover every environment tokengym registers: the ones that need no extra, then TextWorld's, marked as
needing the ``textworld`` extra (``pip install 'tokengym[textworld]'``). ``episodes`` plays TextWorld's games
where the extra is installed (a pool as small as the episodes asked for, generated on first use and cached) and
says how to install it where it is not.
"""

from __future__ import annotations

import argparse
import importlib.util
import textwrap
import time
from typing import Any

import gymnasium as gym
import numpy as np

TEXTWORLD_EXTRA = "pip install 'tokengym[textworld]'"


def textworld_installed() -> bool:
    """Whether the ``textworld`` extra is installed."""
    return importlib.util.find_spec("textworld") is not None


def _textworld_summary(env_id: str) -> str:
    """A TextWorld environment's mode and game, read from its class (making one would generate games)."""
    from tokengym.envs import TEXTWORLD_ENVIRONMENTS

    creator = gym.envs.registration.load_env_creator(TEXTWORLD_ENVIRONMENTS[env_id][0])
    mode = "command level" if env_id.endswith("Cmd-v0") else "token level"
    return f"{mode}; {creator.game_cls.DOC.summary}"


def cmd_list(args: argparse.Namespace) -> int:
    from tokengym.agents.lm.loading import model_names
    from tokengym.agents.running.algorithms import ALGORITHMS
    from tokengym.envs import ENVIRONMENTS, TEXTWORLD_ENVIRONMENTS, registered_ids, textworld_ids
    from tokengym.rewards import get_reward, reward_names

    print("Environments:")
    for env_id in registered_ids():
        env = gym.make(env_id)
        u = env.unwrapped
        space = ", ".join(f"{k} {v.dtype} {v.shape}" for k, v in env.observation_space.spaces.items())
        print(
            f"  {env_id:<22} obs Dict({space})  action Discrete({env.action_space.n})  "
            f"max_episode_steps {ENVIRONMENTS[env_id][1]}"
        )
        reward = getattr(u, "reward_spec", None)
        print(f"  {'':<22} reward: {reward or 'defined by the task (see its docstring)'}")
        env.close()
    installed = textworld_installed()
    status = "installed; games are generated on first use and cached" if installed else "not installed"
    print(f"TextWorld environments (need the textworld extra, {TEXTWORLD_EXTRA}: {status}):")
    for env_id in textworld_ids():
        mark = "" if installed else "  [needs the textworld extra]"
        print(f"  {env_id:<22} max_episode_steps {TEXTWORLD_ENVIRONMENTS[env_id][1]}{mark}")
        print(f"  {'':<22} {_textworld_summary(env_id)}")
    print("Rewards:")
    for name in reward_names():
        try:
            fn = get_reward(name)
        except (ValueError, TypeError, OSError) as err:  # a reward that needs arguments (learned: a model folder)
            print(f"  {name:<18} built with arguments (without them: {' '.join(str(err).split())})")
            continue
        low, high = getattr(fn, "range", ("?", "?"))
        doc = (type(fn).__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<18} [{low:g}, {high:g}]  {doc}")
    print(f"  {'your own':<18} a function, as module:function or path/to/file.py[:function] (--reward, --metrics)")
    print("Models:")
    for name in model_names():
        print(f"  {name:<18} embedded (see tokengym/assets/{name}/README.md); any Hugging Face id or folder works too")
    print("Algorithms (tokengym train --algo NAME):")
    for name, algo in ALGORITHMS.items():
        ok, why = algo.available()
        print(f"  {name:<18} {algo.summary}" + ("" if ok else f"  [unavailable: {why}]"))
    return 0


class RandomPolicy:
    """A uniform random action, among the legal ones where the environment offers ``action_masks()``.

    Example:
        >>> policy = RandomPolicy(4, np.random.default_rng(0))
        >>> policy.predict(None, action_masks=np.array([False, False, True, False]))[0]
        2
    """

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng = int(n), rng

    def predict(self, obs: Any, deterministic: bool = False, action_masks: np.ndarray | None = None) -> tuple:
        if action_masks is None:
            return int(self.rng.integers(self.n)), None
        return int(self.rng.choice(np.flatnonzero(action_masks))), None


def _print_episode(label: str, text: str, total: float, components: dict[str, float]) -> None:
    from tokengym.cli.main import _shorten

    parts = ", ".join(f"{k}={v:+.3f}" for k, v in components.items())
    print(f"    {label:<9} {_shorten(text, 160)!r}")
    print(f"    {'':<9} return {total:+.3f}  (summed over the episode: {parts})")


def _episode_envs(args: argparse.Namespace) -> list[str]:
    from tokengym.agents.running.config import check_env_id
    from tokengym.envs import all_ids

    return [check_env_id(env_id) for env_id in args.env] if args.env else all_ids()


def cmd_episodes(args: argparse.Namespace) -> int:
    from tokengym.agents.episodes import play_episodes
    from tokengym.agents.running.config import MAX_SEED
    from tokengym.cli.main import _shorten
    from tokengym.envs import TextActionWrapper, textworld_ids
    from tokengym.envs.games.textworld_game import TextWorldGame

    if args.seed + args.episodes - 1 > MAX_SEED:
        raise ValueError(
            f"--seed {args.seed} with --episodes {args.episodes} goes past the largest seed, {MAX_SEED}; lower one "
            "of them"
        )
    env_ids = _episode_envs(args)  # an unknown --env is refused before any episode
    import tokengym

    print(f"tokengym {tokengym.__version__}: {args.episodes} episode(s) of each environment\n")
    rng = np.random.default_rng(args.seed)
    for env_id in env_ids:
        kwargs: dict[str, Any] = {}
        if env_id in textworld_ids():
            if not textworld_installed():
                print(f"== {env_id}  [needs the textworld extra: {TEXTWORLD_EXTRA}]\n")
                continue
            pool = min(args.episodes, TextWorldGame.DEFAULT_POOL_SIZE)
            kwargs = {"game_kwargs": {"pool_size": pool}}
            print(f"== {env_id}  (reward: the game's score; a pool of {pool} game(s), generated on first use)")
        env = gym.make(env_id, **kwargs)
        reward_fn = getattr(env.unwrapped, "reward_fn", None)
        if env_id not in textworld_ids():
            print(f"== {env_id}  (reward: {reward_fn!r})" if reward_fn else f"== {env_id}  (reward: the game's score)")
        start, steps = time.perf_counter(), 0
        policy = RandomPolicy(env.action_space.n, rng)
        seeds = range(args.seed, args.seed + args.episodes)
        for number, episode in enumerate(play_episodes(policy, env, seeds)):
            info = episode.reset_info
            prompt = info.get("prompt", info.get("text", ""))
            print(f"  episode {number}, prompt:")
            print(textwrap.indent(textwrap.fill(_shorten(prompt, 600), 100), "    | "))
            end = episode.end_info
            text = end.get("completion", end.get("command", ""))
            _print_episode("random", text, episode.episode_return, episode.components)
            steps += episode.length
            reference = end.get("references")
            if reference is not None:
                text_env = TextActionWrapper(gym.make(env_id, **kwargs))
                text_env.reset(seed=episode.seed)
                _, ref_total, _, _, ref_info = text_env.step(reference)
                _print_episode("reference", reference, ref_total, ref_info.get("reward_components", {}))
        print(f"  {steps} random steps in {time.perf_counter() - start:.2f}s\n")
        env.close()
    print("A random policy writes noise (games: random legal actions); a reference shows what a good completion earns.")
    print("`tokengym demo` trains a language-model policy on Dialogue-v0.")
    return 0
