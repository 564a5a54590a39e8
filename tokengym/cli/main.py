"""The ``tokengym`` command.

tokengym list              the registered environments (TextWorld's marked as needing the extra), reward names,
                           embedded models and algorithms
tokengym demo [--steps N] [--seed S] [--out DIR]
                           the main job: PPO from the embedded model on Dialogue-v0, zero-shot vs trained
                           reward on held-out prompts, sample replies, a learning-curve PNG
tokengym episodes [--episodes N] [--seed S] [--env ID]
                           real episodes of every environment (TextWorld's where the extra is installed): a
                           random policy, then the reference text played through the string-level wrapper,
                           with the return and each reward component summed over the episode
tokengym train ENV --algo ALGO --model M --steps N [--out DIR] [--resume] [--checkpoint-every N] ...
                           train a language-model policy with an SB3 algorithm; safetensors checkpoints; the
                           final one scored as `tokengym eval` scores it, and a learning-curve PNG
tokengym eval ENV --model M [--episodes N] [--seed S] [--json] [--deterministic] [--split S] [--metrics SPEC]
              [--reward SPEC] [--no-masks] [--compare M2]
                           mean, spread and components of the reward and the task's metrics over seeded
                           held-out episodes, every model under the env's action masks, with samples; or
                           two models side by side on the same episodes
tokengym sft ENV --model M --out DIR [--steps N] [--no-progress]
                           supervised warm start on the task's references or a TextWorld game's
                           walkthroughs, with a progress bar; writes a loadable model folder
tokengym play ENV          play an environment yourself, at the string level (":reset", ":quit")
tokengym feedback add|serve|label|export --db FILE ...
                           people judge pairs of completions (a local page with an access token, or the
                           terminal) into a SQLite store; export writes preference JSONL
tokengym rlhf ENV [--rounds N] [--human] [--resume] ...
                           rounds of pairs from the policy, judgements, a reward model on all of them, PPO
                           against it with a KL penalty, held-out gold and learned reward against KL
tokengym dpo --prefs FILE --out DIR
                           DPO on a preference file: the offline baseline beside RLHF
tokengym bench --suite quick|standard|FILE [--agent MODULE:OBJ] [--backend local|ray] [--out DIR]
                           a grid of tasks x agents x seeds x budgets, resumable; a leaderboard with rliable's
                           intervals, tidy CSVs and plots
tokengym sweep ENV --reward 'A + w*B' --weights 0,0.5,1,2 [--seeds 0,1] [--resume] ...
                           one policy per reward weight, every component scored on held-out episodes, a table
                           and a Pareto-front plot
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
from pathlib import Path
from typing import Any

import tokengym
from tokengym.cli.bench import add_bench
from tokengym.cli.errors import OneLineParser, run_command
from tokengym.cli.evaluation import add_eval
from tokengym.cli.feedback import add_feedback
from tokengym.cli.flags import add_config_flags, config_arguments, int_in, json_object
from tokengym.cli.rlhf import add_rlhf
from tokengym.cli.sweep import add_sweep


def _shorten(text: str, width: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _tail(text: str, width: int = 300) -> str:
    """The end of a long text (where a prompt's latest turn is)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else "..." + text[-(width - 3) :]


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
    print(f"Trained to step {result.num_timesteps} (from {result.start_step}) in {result.minutes:.1f} min")
    print(format_training_episodes(result))
    if result.held_out is not None:
        held = result.held_out
        print(
            f"Held-out: mean reward {held.report.mean:+.3f} ± {held.report.std:.3f} over {held.rules()}; "
            f"the same as `tokengym eval {cfg.env_id} --model {result.checkpoint} --episodes {cfg.eval_episodes}`"
        )
    print(f"Checkpoint: {result.checkpoint}")
    print(f"Learning curve: {result.learning_curve}")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard: tensorboard --logdir {result.tensorboard_dir}")
    if result.evaluable:
        print(f"Evaluate:   tokengym eval {cfg.env_id} --model {result.checkpoint}")
    return 0


def format_training_episodes(result: Any) -> str:
    """The training episodes' line: how many ended, their mean return, and how many were still running."""
    if result.mean_return is None:
        ended = "no training episode ended"
    else:
        ended = (
            f"{result.episodes} recent training episode(s) ended, mean return {result.mean_return:+.3f} "
            "(training data, the policy as it was while they were played)"
        )
    if not result.episodes_running:
        return f"Training: {ended}"
    return (
        f"Training: {ended}; {result.episodes_running} still running at the end are not counted (in a short run "
        "on a game, the episodes that end are the quick wins)"
    )


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
    listing = sub.add_parser("list", help="registered environments (TextWorld's too), rewards, models, algorithms")
    listing.set_defaults(func=_cmd_list)
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
    episodes.add_argument(
        "--env", action="append", metavar="ID", help="only this environment (repeat for more; default: all of them)"
    )
    episodes.set_defaults(func=_cmd_episodes)
    _add_train(sub)
    add_eval(sub, seed)
    _add_sft(sub)
    play = sub.add_parser("play", help="play an environment yourself in the terminal, at the string level")
    play.add_argument("env", help="environment id (any registered one, command-level games too)")
    play.add_argument("--seed", type=seed, default=0, help="seed of the first episode (default 0)")
    play.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    play.set_defaults(func=_cmd_play)
    add_feedback(sub)
    add_rlhf(sub)
    add_bench(sub)
    add_sweep(sub)
    for command in sub.choices.values():  # an unknown flag is reported by its command's parser (main())
        command.set_defaults(command_parser=command)
    return parser


TRAIN_FLAG_ALIASES = {"model_name": ("--model",), "total_timesteps": ("--steps",), "learning_rate": ("--lr",)}
TRAIN_FLAG_ALIASES |= {"out_dir": ("--out",), "progress_bar": ("--progress",)}
"""Short flags of ``tokengym train`` beside the ones named after TrainConfig's fields."""


def _cmd_list(args: argparse.Namespace) -> int:
    from tokengym.cli.catalogue import cmd_list

    return cmd_list(args)


def _cmd_episodes(args: argparse.Namespace) -> int:
    from tokengym.cli.catalogue import cmd_episodes

    return cmd_episodes(args)


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
    add_config_flags(
        sft, SFTConfig, aliases={"model_name": ("--model",), "progress_bar": ("--progress",)}, skip=("env_id",)
    )
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
