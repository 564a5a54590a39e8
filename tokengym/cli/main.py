"""The ``tokengym`` command.

tokengym list              the registered environments, reward names, embedded models and algorithms
tokengym demo [--steps N] [--seed S] [--out DIR]
                           the main job: PPO from the embedded model on Dialogue-v0, zero-shot vs trained
                           reward on held-out prompts, sample replies, a learning-curve PNG
tokengym episodes [--episodes N] [--seed S]
                           real episodes of every environment: a random policy, then the reference
                           text played through the string-level wrapper, with reward components
tokengym train ENV --algo ALGO --model M --steps N [--out DIR] [--resume] [--checkpoint-every N] ...
                           train a language-model policy with an SB3 algorithm; safetensors checkpoints
tokengym eval ENV --model M [--episodes N] [--seed S] [--json] [--deterministic] [--split S] [--metrics SPEC]
                           mean, spread and components of the reward and the task's metrics over seeded
                           held-out episodes, with samples
tokengym sft ENV --model M --out DIR [--steps N]
                           supervised warm start on the task's references or a TextWorld game's
                           walkthroughs; writes a loadable model folder
tokengym play ENV          play an environment yourself, at the string level (":reset", ":quit")
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import shutil
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import tokengym
from tokengym.cli.errors import OneLineParser, run_command
from tokengym.cli.flags import add_config_flags, config_arguments, int_in, json_object
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
        reward = getattr(u, "reward_spec", None)
        print(f"  {'':<22} reward: {reward or 'defined by the task (see its docstring)'}")
        env.close()
    print("Rewards:")
    for name in reward_names():
        fn = get_reward(name)
        low, high = getattr(fn, "range", ("?", "?"))
        doc = (type(fn).__doc__ or "").strip().splitlines()[0]
        print(f"  {name:<18} [{low:g}, {high:g}]  {doc}")
    from tokengym.agents.lm.loading import model_names

    print("Models:")
    for name in model_names():
        print(f"  {name:<18} embedded (see tokengym/assets/{name}/README.md); any Hugging Face id or folder works too")
    from tokengym.agents.running.algorithms import ALGORITHMS

    print("Algorithms (tokengym train --algo NAME):")
    for name, algo in ALGORITHMS.items():
        ok, why = algo.available()
        print(f"  {name:<18} {algo.summary}" + ("" if ok else f"  [unavailable: {why}]"))
    return 0


def _tail(text: str, width: int = 300) -> str:
    """The end of a long text (where a prompt's latest turn is)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else "..." + text[-(width - 3) :]


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
    from tokengym.agents.running.checkpoint import latest_checkpoint
    from tokengym.agents.running.demo import DemoConfig, demo_preset, format_report, run_demo

    out = Path(args.out)
    if latest_checkpoint(out) is not None:  # never overwrite a run: the next free folder beside it
        out = next(p for i in itertools.count(2) if latest_checkpoint(p := out.with_name(f"{out.name}-{i}")) is None)
        print(f"{args.out} holds an earlier run; this one goes to {out}")
    steps = {} if args.steps is None else {"total_timesteps": args.steps}
    train = demo_preset(seed=args.seed, out_dir=str(out), progress_bar=not args.no_progress, **steps)
    cfg = DemoConfig(train=train)
    print(f"tokengym {tokengym.__version__} demo: PPO on {train.env_id} from the embedded '{train.model_name}' model")
    print(format_report(run_demo(cfg)))
    return 0


def _check_seeds(seed: int, episodes: int) -> None:
    """Episodes take the seeds ``seed .. seed + episodes - 1``; all of them must be valid seeds."""
    from tokengym.agents.running.config import MAX_SEED

    if seed + episodes - 1 > MAX_SEED:
        raise ValueError(
            f"--seed {seed} with --episodes {episodes} goes past the largest seed, {MAX_SEED}; lower one of them"
        )


def cmd_episodes(args: argparse.Namespace) -> int:
    _check_seeds(args.seed, args.episodes)
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


def _json_object(text: str | None, flag: str) -> dict[str, Any]:
    return {} if text is None else json_object(text, flag)


def cmd_train(args: argparse.Namespace) -> int:
    from tokengym.agents.running.config import TrainConfig
    from tokengym.agents.running.train import train

    settings = config_arguments(args, TrainConfig)
    settings.setdefault("algo", "ppo")
    settings.setdefault("out_dir", f"runs/{args.env.removeprefix('tokengym:').lower()}-{settings['algo']}")
    cfg = TrainConfig(env_id=args.env, **settings)
    result = train(cfg)
    mean = "n/a" if result.mean_return is None else f"{result.mean_return:+.3f}"
    print(
        f"Trained to step {result.num_timesteps} (from {result.start_step}) in {result.minutes:.1f} min; "
        f"{result.episodes} recent episodes, mean return {mean}"
    )
    print(f"Checkpoint: {result.checkpoint}")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    print(f"Evaluate:   tokengym eval {cfg.env_id} --model {result.checkpoint}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from tokengym.agents.running.algorithms import make_env
    from tokengym.agents.running.config import check_env_id
    from tokengym.agents.running.evaluate import evaluate_policy_text
    from tokengym.agents.running.train import load_policy
    from tokengym.envs.core import TokenEnv
    from tokengym.rewards import make_reward

    _check_seeds(args.seed, args.episodes)
    overrides = _json_object(args.env_kwargs, "--env-kwargs")
    env_id = check_env_id(args.env)
    # The metrics spec is read before the model loads: a typo costs nothing.
    metrics = None if args.metrics in ("none", "default") else make_reward(args.metrics)
    split = args.split if args.split is not None else overrides.get("split")
    if split is None and _takes_split(env_id):
        split = "test"  # evaluation is on held-out data unless asked otherwise
    if split is not None:
        overrides["split"] = split
    loaded = load_policy(args.model, env_id, overrides)
    env = make_env(env_id, loaded.env_kwargs)
    ckpt = loaded.checkpoint
    seeds = range(args.seed, args.seed + args.episodes)
    if args.metrics == "default" and isinstance(env.unwrapped, TokenEnv):
        metrics = "default"  # the env's own list (eval_metrics())
    if metrics is not None and not isinstance(env.unwrapped, TokenEnv):
        env.close()
        raise ValueError(f"--metrics scores completions of token-level envs; {env_id} is not one (use --metrics none)")
    # A maskable policy gets the env's action masks, as in training: the masking rule of tokengym.agents.episodes.
    report = evaluate_policy_text(
        loaded.policy, env, seeds, deterministic=args.deterministic, sample_seed=args.seed, metrics=metrics
    )
    env.close()
    source = None if ckpt is None else {"path": str(ckpt.path), "algorithm": ckpt.meta["algorithm"]}
    if ckpt is not None:
        source["num_timesteps"] = ckpt.num_timesteps
    if args.json:
        payload = {
            "env_id": env_id,
            "model": args.model,
            "base_model": loaded.model_name,
            "checkpoint": source,
            "seeds": [seeds.start, seeds.stop - 1],
            "deterministic": args.deterministic,
            "split": split,
            **report.as_dict(),
            "returns": report.returns,
        }
        print(json.dumps(payload))
        return 0
    origin = f"checkpoint of {source['algorithm']} at step {source['num_timesteps']}" if source else "no checkpoint"
    print(f"tokengym eval: {env_id}, model {args.model!r} ({origin})")
    mode = "greedy" if args.deterministic else "sampled"
    print(f"{len(report.returns)} episodes (seeds {seeds.start}-{seeds.stop - 1}, {mode}, split {split or 'none'})")
    print(f"mean reward {report.mean:+.3f} ± {report.std:.3f}")
    for name, value in report.components.items():
        print(f"  {name:<22}{value:+.3f}")
    if report.metrics:
        print("metrics (mean ± std over the completions)")
        for name, stats in report.metrics.items():
            print(f"  {name:<22}{stats['mean']:+.3f} ± {stats['std']:.3f}{report.metric_notes.get(name, '')}")
    for sample in report.samples[: args.samples]:
        print(f"\n  seed {sample['seed']}, return {sample['return']:+.3f}")
        print(textwrap.indent(_tail(sample["prompt"], 400), "    | "))
        if len(sample["turns"]) > 1:  # a conversation or a game: every turn, not only the last
            for number, turn in enumerate(sample["turns"], 1):
                print(f"    turn {number} ({turn['reward']:+.3f}): {_shorten(turn['completion'], 200)!r}")
                if turn.get("user_reply"):
                    print(f"      user: {_shorten(turn['user_reply'], 200)!r}")
        print(f"    completion: {_shorten(sample['completion'], 200)!r}")
        if sample.get("reference") is not None:
            print(f"    reference:  {_shorten(sample['reference'], 200)!r}")
    return 0


def _takes_split(env_id: str) -> bool:
    """Whether the registered env has a ``split`` argument (then ``eval`` defaults to its ``test`` split)."""
    import gymnasium as gym

    try:
        spec = gym.spec(env_id)
    except gym.error.Error:
        return False  # make_env gives the specific error
    creator = spec.entry_point
    if isinstance(creator, str):
        creator = gym.envs.registration.load_env_creator(creator)
    try:
        return "split" in inspect.signature(creator).parameters
    except (TypeError, ValueError):
        return False


def cmd_sft(args: argparse.Namespace) -> int:
    from tokengym.agents.running.algorithms import command_level_error, is_command_level, make_env
    from tokengym.agents.running.checkpoint import fsync_tree, move_into_place, staging_folder
    from tokengym.agents.running.guards import check_output_folder
    from tokengym.agents.supervised.sft import SFTConfig, demonstration_pairs, supervised_finetune
    from tokengym.envs.games.token_env import TextGameTokenEnv

    # Settings first (numbers, ranges, the env id), then the folder, then a probe env: cheapest checks first.
    cfg = SFTConfig(env_id=args.env, **config_arguments(args, SFTConfig))
    if not args.out.strip():
        raise ValueError("--out must name a folder, not an empty string")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{str(out)!r} already exists and is not empty; choose another --out")
    check_output_folder(out)
    probe = make_env(cfg.env_id, cfg.env_kwargs)
    try:
        if is_command_level(probe):
            raise command_level_error(cfg.env_id)
        demonstration_pairs(probe, 1, seed=0)  # no demonstrations (no references, no walkthroughs): say so now
        walkthroughs = isinstance(probe.unwrapped, TextGameTokenEnv)
    finally:
        probe.close()
    kind = "walkthrough turns" if walkthroughs else "reference completions"
    print(f"tokengym sft: {cfg.steps} steps of {cfg.batch_size} {kind} of {cfg.env_id} from {cfg.model_name!r}")
    staging = staging_folder(out)
    try:
        report = supervised_finetune(cfg, out=staging)
        fsync_tree(staging)
        move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    print(f"loss {report['first_loss']:.3f} -> {report['last_loss']:.3f} in {report['minutes']:.1f} min")
    print(f"Model folder: {out}")
    print(f"Use it:       tokengym train {cfg.env_id} --model {out}    tokengym eval {cfg.env_id} --model {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from tokengym.agents.running.config import MAX_SEED

    seed = int_in(0, MAX_SEED)
    parser = OneLineParser(prog="tokengym", description="Token-level Gymnasium environments for language.")
    parser.add_argument("--version", action="version", version=f"tokengym {tokengym.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments and rewards").set_defaults(func=cmd_list)
    demo = sub.add_parser("demo", help="train PPO on Dialogue-v0 from the embedded model, show before/after")
    demo.add_argument("--steps", type=int_in(1), default=None, help="PPO token steps (default: the preset's 16384)")
    demo.add_argument("--seed", type=seed, default=0, help="seed (default 0)")
    demo.add_argument(
        "--out", default="runs/demo", help="run folder: checkpoint, learning curve, TensorBoard logs (runs/demo)"
    )
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)
    episodes = sub.add_parser("episodes", help="run real episodes of every environment with a random policy")
    episodes.add_argument("--episodes", type=int_in(1), default=2, help="episodes per environment (default 2)")
    episodes.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default 0)")
    episodes.set_defaults(func=cmd_episodes)
    _add_train(sub)
    _add_eval(sub, seed)
    _add_sft(sub)
    play = sub.add_parser("play", help="play an environment yourself in the terminal, at the string level")
    play.add_argument("env", help="environment id (any registered one, command-level games too)")
    play.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default 0)")
    play.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    play.set_defaults(func=_cmd_play)
    for command in sub.choices.values():  # an unknown flag is reported by its command's parser (main())
        command.set_defaults(command_parser=command)
    return parser


TRAIN_FLAG_ALIASES = {"model_name": ("--model",), "total_timesteps": ("--steps",), "learning_rate": ("--lr",)}
TRAIN_FLAG_ALIASES |= {"out_dir": ("--out",), "progress_bar": ("--progress",)}
"""Short flags of ``tokengym train`` beside the ones named after TrainConfig's fields."""


def _cmd_play(args: argparse.Namespace) -> int:
    from tokengym.cli.play import cmd_play

    return cmd_play(args)


def _add_train(sub: Any) -> None:
    from tokengym.agents.running.algorithms import ALGORITHMS
    from tokengym.agents.running.config import VEC_ENVS, TrainConfig

    train = sub.add_parser(
        "train",
        help="train a language-model policy with an SB3 algorithm, with checkpoints",
        description="Train a language-model policy with a Stable-Baselines3 algorithm. Every flag is a field of "
        "tokengym.agents.running.config.TrainConfig; flags left out take its defaults.",
    )
    train.add_argument("env", help="environment id, e.g. Dialogue-v0 (`tokengym list` shows them)")
    add_config_flags(
        train,
        TrainConfig,
        aliases=TRAIN_FLAG_ALIASES,
        skip=("env_id",),
        shown_defaults={"out_dir": "runs/<env>-<algo>"},
        values={"algo": list(ALGORITHMS), "vec_env": VEC_ENVS},
    )
    train.set_defaults(func=cmd_train)


def _add_eval(sub: Any, seed: Callable[[str], int]) -> None:
    ev = sub.add_parser("eval", help="evaluate a model or checkpoint on seeded episodes")
    ev.add_argument("env", help="environment id")
    ev.add_argument("--model", default="tiny", help="tiny, hub id, model folder, checkpoint or run folder")
    ev.add_argument("--episodes", type=int_in(1), default=16, help="episodes, one per seed (default 16)")
    ev.add_argument("--seed", type=seed, default=0, help="seed of the first episode and of sampling (default 0)")
    ev.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    ev.add_argument("--deterministic", action="store_true", help="greedy tokens instead of sampling")
    ev.add_argument(
        "--split", default=None, help="data split (default: test, for environments with splits; train to compare)"
    )
    ev.add_argument(
        "--metrics",
        default="default",
        metavar="SPEC",
        help="metrics to score every completion with, as a reward spec (default: the env's own list, e.g. ROUGE, "
        "BLEU, chrF, faithfulness for summarization; none: only the reward)",
    )
    ev.add_argument("--samples", type=int_in(0), default=3, help="sample outputs to print (default 3)")
    ev.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    ev.set_defaults(func=cmd_eval)


def _add_sft(sub: Any) -> None:
    from tokengym.agents.supervised.sft import SFTConfig

    sft = sub.add_parser(
        "sft",
        help="supervised warm start on the task's demonstrations; writes a model folder",
        description="Supervised fine-tuning on a task's demonstrations. The flags beside --out are the fields of "
        "tokengym.agents.supervised.sft.SFTConfig; flags left out take its defaults.",
    )
    sft.add_argument(
        "env",
        help="environment id with reference completions (Dialogue-v0, Summarization-v0) or a token-level "
        "TextWorld game (its walkthroughs)",
    )
    sft.add_argument("--out", required=True, metavar="DIR", help="new model folder (must not exist or be empty)")
    add_config_flags(sft, SFTConfig, aliases={"model_name": ("--model",)}, skip=("env_id",))
    sft.set_defaults(func=cmd_sft)


def main(argv: list[str] | None = None) -> int:
    """Run ``tokengym`` with ``argv``; bad input ends with one line on standard error and exit status 2.

    The boundary (:func:`tokengym.cli.errors.run_command`) is the same for every command; what counts as bad
    input is listed in :mod:`tokengym.cli.errors`.
    """
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return run_command(args.command, args.func, args)


if __name__ == "__main__":
    sys.exit(main())
