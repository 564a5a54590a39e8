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
    from tokengym.agents.lm import model_names

    print("Models:")
    for name in model_names():
        print(f"  {name:<18} embedded (see tokengym/assets/{name}/README.md); any Hugging Face id or folder works too")
    from tokengym.agents.algorithms import ALGORITHMS

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
    from tokengym.agents.demo import DemoConfig, format_report, run_demo

    steps = {} if args.steps is None else {"total_timesteps": args.steps}
    cfg = DemoConfig(seed=args.seed, out_dir=args.out, **steps)
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


def _json_object(text: str | None, flag: str) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag} must be a JSON object, for example '{{\"max_new_tokens\": 16}}': {err}") from err
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object (a mapping of argument names to values), not {text!r}")
    return value


def cmd_train(args: argparse.Namespace) -> int:
    from tokengym.agents.train import TrainConfig, train

    cfg = TrainConfig(
        env_id=args.env,
        algo=args.algo,
        model_name=args.model,
        total_timesteps=args.steps,
        seed=args.seed,
        n_envs=args.n_envs,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        n_epochs=args.n_epochs,
        learning_rate=args.lr,
        group_size=args.group_size,
        normalize_advantage=args.normalize_advantage,
        temperature=args.temperature,
        kl_coef=args.kl_coef,
        target_kl=args.target_kl,
        nlpo_top_p=args.nlpo_top_p,
        buffer_size=args.buffer_size,
        learning_starts=args.learning_starts,
        reward=args.reward,
        env_kwargs=_json_object(args.env_kwargs, "--env-kwargs"),
        out_dir=args.out or f"runs/{args.env.removeprefix('tokengym:').lower()}-{args.algo}",
        resume=args.resume,
        checkpoint_every=args.checkpoint_every,
        progress_bar=not args.no_progress,
        tensorboard=not args.no_tensorboard,
    )
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


class _MaskedPredictor:
    """A maskable policy that reads the legal actions from the environment it is evaluated on."""

    def __init__(self, policy: Any, env: Any) -> None:
        self.policy, self.env = policy, env

    def predict(self, obs: Any, deterministic: bool = False) -> Any:
        return self.policy.predict(obs, deterministic=deterministic, action_masks=self.env.unwrapped.action_masks())


def cmd_eval(args: argparse.Namespace) -> int:
    from tokengym.agents.algorithms import ALGORITHMS, has_action_masks, make_env
    from tokengym.agents.evaluate import evaluate_policy_text
    from tokengym.agents.train import load_policy
    from tokengym.envs.core import TokenEnv

    overrides = _json_object(args.env_kwargs, "--env-kwargs")
    env_id = args.env.removeprefix("tokengym:")
    split = args.split if args.split is not None else overrides.get("split")
    if split is None and _takes_split(env_id):
        split = "test"  # evaluation is on held-out data unless asked otherwise
    if split is not None:
        overrides["split"] = split
    loaded = load_policy(args.model, args.env, overrides)
    env = make_env(env_id, loaded.env_kwargs)
    predictor: Any = loaded.policy
    ckpt = loaded.checkpoint
    if ckpt is not None and ALGORITHMS[ckpt.meta["algorithm"]].masked and has_action_masks(env):
        predictor = _MaskedPredictor(loaded.policy, env)
    seeds = range(args.seed, args.seed + args.episodes)
    metrics = None if args.metrics == "none" else args.metrics
    if metrics is not None and not isinstance(env.unwrapped, TokenEnv):
        if args.metrics != "default":
            raise SystemExit(f"tokengym eval: --metrics scores completions of token-level envs; {env_id} is not one")
        metrics = None
    report = evaluate_policy_text(
        predictor, env, seeds, deterministic=args.deterministic, sample_seed=args.seed, metrics=metrics
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
    from tokengym.agents.algorithms import command_level_error, is_command_level, make_env
    from tokengym.agents.checkpoint import fsync_tree, move_into_place, staging_folder
    from tokengym.agents.sft import SFTConfig, demonstration_pairs, supervised_finetune
    from tokengym.envs.games.token_env import TextGameTokenEnv

    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{str(out)!r} already exists and is not empty; choose another --out")
    env_id = args.env.removeprefix("tokengym:")
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs")
    probe = make_env(env_id, env_kwargs)
    try:
        if is_command_level(probe):
            raise command_level_error(env_id)
        demonstration_pairs(probe, 1, seed=0)  # no demonstrations (no references, no walkthroughs): say so now
        walkthroughs = isinstance(probe.unwrapped, TextGameTokenEnv)
    finally:
        probe.close()
    cfg = SFTConfig(
        env_id=env_id,
        model_name=args.model,
        env_kwargs=env_kwargs,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
    )
    kind = "walkthrough turns" if walkthroughs else "reference completions"
    print(f"tokengym sft: {cfg.steps} steps of {cfg.batch_size} {kind} of {env_id} from {args.model!r}")
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
    print(f"Use it:       tokengym train {env_id} --model {out}    tokengym eval {env_id} --model {out}")
    return 0


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
    from tokengym.agents.algorithms import is_command_level, make_env
    from tokengym.envs.games.command_env import CommandTextWrapper

    env_id = args.env.removeprefix("tokengym:")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokengym", description="Token-level Gymnasium environments for language.")
    parser.add_argument("--version", action="version", version=f"tokengym {tokengym.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="registered environments and rewards").set_defaults(func=cmd_list)
    demo = sub.add_parser("demo", help="train PPO on Dialogue-v0 from the embedded model, show before/after")
    demo.add_argument("--steps", type=int, default=None, help="PPO token steps (default: DemoConfig.total_timesteps)")
    demo.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    demo.add_argument("--out", default="runs/demo", help="folder for the learning curve and model (runs/demo)")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo.set_defaults(func=cmd_demo)
    episodes = sub.add_parser("episodes", help="run real episodes of every environment with a random policy")
    episodes.add_argument("--episodes", type=int, default=2, help="episodes per environment (default 2)")
    episodes.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    episodes.set_defaults(func=cmd_episodes)
    _add_train(sub)
    _add_eval(sub)
    _add_sft(sub)
    play = sub.add_parser("play", help="play an environment yourself in the terminal, at the string level")
    play.add_argument("env", help="environment id (any registered one, command-level games too)")
    play.add_argument("--seed", type=int, default=0, help="seed of the first episode (default 0)")
    play.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    play.set_defaults(func=cmd_play)
    return parser


ALGORITHM_NAMES = ("ppo", "a2c", "trpo", "maskable_ppo", "dqn")  # tokengym.agents.algorithms.ALGORITHMS, unimported


def _add_train(sub: Any) -> None:
    train = sub.add_parser("train", help="train a language-model policy with an SB3 algorithm, with checkpoints")
    train.add_argument("env", help="environment id, e.g. Dialogue-v0 (`tokengym list` shows them)")
    train.add_argument("--algo", default="ppo", help=f"one of {', '.join(ALGORITHM_NAMES)} (default ppo)")
    train.add_argument("--model", default="tiny", help="starting model: tiny, a Hugging Face id or a folder")
    train.add_argument("--steps", type=int, default=4096, help="total token steps (default 4096)")
    train.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    train.add_argument(
        "--temperature", type=float, default=1.0, help="the policy's sampling temperature (default 1; the demo: 0.7)"
    )
    train.add_argument(
        "--group-size",
        type=int,
        default=1,
        help="serve each prompt N times in a row and judge replies against their siblings (group baseline; 1: critic)",
    )
    train.add_argument(
        "--no-normalize-advantage",
        dest="normalize_advantage",
        action="store_false",
        help="PPO, MaskablePPO, TRPO: leave advantages unnormalised (for group baselines on a warm-started model)",
    )
    train.add_argument("--kl-coef", type=float, default=0.0, help="per-token KL penalty to the starting model (0: off)")
    train.add_argument("--target-kl", type=float, default=None, help="adapt the KL coefficient toward this KL")
    train.add_argument("--n-envs", type=int, default=1, help="parallel environments; >1 runs subprocesses")
    train.add_argument("--reward", metavar="SPEC", help='reward spec, e.g. "rouge_l + 0.5*verbosity"')
    train.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    train.add_argument("--n-steps", type=int, default=128, help="rollout length per environment (default 128)")
    train.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    train.add_argument("--n-epochs", type=int, default=2, help="PPO epochs per rollout (default 2)")
    train.add_argument("--nlpo-top-p", type=float, default=None, help="maskable_ppo: NLPO nucleus masks (e.g. 0.9)")
    train.add_argument("--buffer-size", type=int, default=10_000, help="dqn: replay buffer size (default 10000)")
    train.add_argument("--learning-starts", type=int, default=100, help="dqn: steps before learning (default 100)")
    train.add_argument("--out", metavar="DIR", help="run folder (default runs/<env>-<algo>)")
    train.add_argument("--resume", action="store_true", help="continue from the run folder's latest checkpoint")
    train.add_argument("--checkpoint-every", type=int, default=0, metavar="N", help="checkpoint every N steps")
    train.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs")
    train.set_defaults(func=cmd_train)


def _add_eval(sub: Any) -> None:
    ev = sub.add_parser("eval", help="evaluate a model or checkpoint on seeded episodes")
    ev.add_argument("env", help="environment id")
    ev.add_argument("--model", default="tiny", help="tiny, hub id, model folder, checkpoint or run folder")
    ev.add_argument("--episodes", type=int, default=16, help="episodes, one per seed (default 16)")
    ev.add_argument("--seed", type=int, default=0, help="seed of the first episode and of sampling (default 0)")
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
    ev.add_argument("--samples", type=int, default=3, help="sample outputs to print (default 3)")
    ev.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    ev.set_defaults(func=cmd_eval)


def _add_sft(sub: Any) -> None:
    sft = sub.add_parser("sft", help="supervised warm start on the task's demonstrations; writes a model folder")
    sft.add_argument(
        "env",
        help="environment id with reference completions (Dialogue-v0, Summarization-v0) or a token-level "
        "TextWorld game (its walkthroughs)",
    )
    sft.add_argument("--model", default="tiny", help="starting model (default tiny)")
    sft.add_argument("--out", required=True, metavar="DIR", help="new model folder (must not exist or be empty)")
    sft.add_argument("--steps", type=int, default=200, help="optimisation steps (default 200)")
    sft.add_argument("--batch-size", type=int, default=16, help="pairs per step (default 16)")
    sft.add_argument("--lr", type=float, default=3e-4, help="learning rate (default 3e-4)")
    sft.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    sft.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    sft.set_defaults(func=cmd_sft)


COMMANDS_WITH_INPUT_ERRORS = ("train", "eval", "sft", "play")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "episodes", 1) < 1:
        print("tokengym: --episodes must be at least 1", file=sys.stderr)
        return 2
    if args.command not in COMMANDS_WITH_INPUT_ERRORS:
        return args.func(args)
    from tokengym.agents.algorithms import AlgorithmUnavailableError

    try:
        return args.func(args)
    except (ValueError, OSError, AlgorithmUnavailableError) as err:
        # Bad input (settings, environments, models, checkpoints): one line saying what to do, no traceback.
        print(f"tokengym {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
