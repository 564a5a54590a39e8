"""``tokengym eval``: score a model, checkpoint or run folder on seeded held-out episodes, or compare two.

The command is :func:`~tokengym.agents.running.evaluate.evaluate_model` and a printer: the rules the episodes
were played under (seeds, sampling, split, action masks) come first, then the mean reward and its components, the
task's metrics and sample outputs. ``--compare M2`` scores a second model on the same episodes under the same rules
and prints the two side by side with their paired difference.
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Callable
from typing import Any

from tokengym.cli.flags import int_in, json_object


def add_eval(sub: Any, seed: Callable[[str], int]) -> None:
    """The ``eval`` subcommand's parser."""
    ev = sub.add_parser(
        "eval",
        help="evaluate a model or checkpoint on seeded held-out episodes (or compare two)",
        description="Score a model on seeded episodes: the held-out split where the environment has splits "
        "(test unless --split), the environment's action masks for every model where it offers them (unless "
        "--no-masks), sampled tokens seeded by --seed (greedy with --deterministic).",
    )
    ev.add_argument("env", help="environment id")
    ev.add_argument("--model", default="tiny", help="tiny, hub id, model folder, checkpoint or run folder")
    ev.add_argument("--episodes", type=int_in(1), default=16, help="episodes, one per seed (default 16)")
    ev.add_argument("--seed", type=seed, default=0, help="seed of the first episode and of sampling (default 0)")
    ev.add_argument("--json", action="store_true", help="print one JSON object and nothing else")
    ev.add_argument("--deterministic", action="store_true", help="greedy tokens instead of sampling")
    ev.add_argument(
        "--split",
        default=None,
        help="data split (default: test, for environments with splits, TextWorld games included; train to compare)",
    )
    ev.add_argument(
        "--masks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="play every model with the environment's action_masks() where it has them (default: on; --no-masks "
        "plays a model as a policy trained without masks would)",
    )
    ev.add_argument(
        "--reward",
        default=None,
        metavar="SPEC",
        help="score with this reward instead of the task's or the checkpoint's: a spec, or your own function as "
        "module:function or path/to/file.py[:function]",
    )
    ev.add_argument(
        "--metrics",
        default="default",
        metavar="SPEC",
        help="metrics to score every completion with, as a reward spec or your own function (module:function, "
        "file.py:function) (default: the env's own list, e.g. ROUGE, BLEU, chrF, faithfulness for summarization; "
        "none: only the reward)",
    )
    ev.add_argument(
        "--compare",
        default=None,
        metavar="MODEL",
        help="also score this model on the same episodes under the same rules, and print both with the paired "
        "difference (MODEL minus --model)",
    )
    ev.add_argument("--samples", type=int_in(0), default=3, help="sample outputs to print (default 3)")
    ev.add_argument("--env-kwargs", metavar="JSON", help="arguments of gym.make as a JSON object")
    ev.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from tokengym.agents.running.evaluate import evaluate_model

    env_kwargs = {} if args.env_kwargs is None else json_object(args.env_kwargs, "--env-kwargs")
    if args.reward is not None:
        if "reward" in env_kwargs:
            raise ValueError("give the reward once: either --reward or --env-kwargs '{\"reward\": ...}'")
        env_kwargs["reward"] = args.reward

    def score(model: str, kwargs: dict[str, Any]) -> Any:
        return evaluate_model(
            model,
            args.env,
            episodes=args.episodes,
            seed=args.seed,
            split=args.split,
            deterministic=args.deterministic,
            metrics=args.metrics,
            env_kwargs=kwargs,
            masks=args.masks,
        )

    first = score(args.model, env_kwargs)
    second = None
    if args.compare is not None:
        # The same episodes: the second model plays the environment the first played (a checkpoint's arguments
        # included), with its own tokenizer unless one was given.
        same = {k: v for k, v in first.loaded.env_kwargs.items() if k != "tokenizer" or "tokenizer" in env_kwargs}
        second = score(args.compare, same)
    if args.json:
        payload = first.as_dict()
        if second is not None:
            payload = {"model": first.as_dict(), "compare": second.as_dict(), "difference": _difference(first, second)}
        print(json.dumps(payload))
        return 0
    if second is None:
        _print_evaluation(first, args.samples)
    else:
        _print_comparison(first, second, args.samples)
    return 0


def _origin(evaluation: Any) -> str:
    ckpt = evaluation.loaded.checkpoint
    if ckpt is None:
        return "no checkpoint"
    return f"checkpoint of {ckpt.meta['algorithm']} at step {ckpt.num_timesteps}"


def _print_evaluation(evaluation: Any, samples: int) -> None:
    report = evaluation.report
    print(f"tokengym eval: {evaluation.env_id}, model {evaluation.model!r} ({_origin(evaluation)})")
    print(evaluation.rules())
    print(f"mean reward {report.mean:+.3f} ± {report.std:.3f}")
    for name, value in report.components.items():
        print(f"  {name:<22}{value:+.3f}")
    if report.metrics:
        print("metrics (mean ± std over the completions)")
        width = max(22, 1 + max(map(len, report.metrics)))  # long names (a task's own figures) keep a gap
        for name, stats in report.metrics.items():
            print(f"  {name:<{width}}{stats['mean']:+.3f} ± {stats['std']:.3f}{report.metric_notes.get(name, '')}")
    for sample in report.samples[:samples]:
        _print_sample(sample)


def _print_sample(sample: dict[str, Any], label: str = "") -> None:
    from tokengym.cli.main import _shorten, _tail

    print(f"\n  {label}seed {sample['seed']}, return {sample['return']:+.3f}")
    print(textwrap.indent(_tail(sample["prompt"], 400), "    | "))
    if len(sample["turns"]) > 1:  # a conversation or a game: every turn, not only the last
        for number, turn in enumerate(sample["turns"], 1):
            print(f"    turn {number} ({turn['reward']:+.3f}): {_shorten(turn['completion'], 200)!r}")
            if turn.get("user_reply"):
                print(f"      user: {_shorten(turn['user_reply'], 200)!r}")
    print(f"    completion: {_shorten(sample['completion'], 200)!r}")
    if sample.get("reference") is not None:
        print(f"    reference:  {_shorten(sample['reference'], 200)!r}")


def _difference(first: Any, second: Any) -> dict[str, float]:
    from tokengym.agents.running.evaluate import paired_difference

    mean, stderr = paired_difference(first.report, second.report)
    pairs = list(zip(first.report.returns, second.report.returns, strict=True))
    return {
        "mean": mean,
        "stderr": stderr,
        "better": sum(b > a for a, b in pairs),
        "worse": sum(b < a for a, b in pairs),
        "tied": sum(b == a for a, b in pairs),
    }


def _print_comparison(first: Any, second: Any, samples: int) -> None:
    a, b = first.report, second.report
    print(
        f"tokengym eval: {first.env_id}, {first.model!r} ({_origin(first)}) against {second.model!r} "
        f"({_origin(second)}), on the same episodes"
    )
    print(first.rules() if first.masks == second.masks else f"{first.rules()}; {second.model!r}: {second.rules()}")
    width = max(12, len(first.model[-24:]), len(second.model[-24:])) + 2
    print(f"{'':<22}{first.model[-24:]:>{width}}{second.model[-24:]:>{width}}")
    print(f"{'mean reward':<22}{a.mean:>+{width}.3f}{b.mean:>+{width}.3f}")
    print(f"{'std':<22}{a.std:>{width}.3f}{b.std:>{width}.3f}")
    for name in dict.fromkeys([*a.components, *b.components]):
        left, right = a.components.get(name, float("nan")), b.components.get(name, float("nan"))
        print(f"  {name:<20}{left:>+{width}.3f}{right:>+{width}.3f}")
    for name in dict.fromkeys([*a.metrics, *b.metrics]):
        left, right = (r.metrics.get(name, {}).get("mean", float("nan")) for r in (a, b))
        print(f"  {name:<20}{left:>+{width}.3f}{right:>+{width}.3f}")
    diff = _difference(first, second)
    print(
        f"\n{second.model!r} minus {first.model!r}: {diff['mean']:+.3f} ± {diff['stderr']:.3f} (standard error over "
        f"{len(a.returns)} paired episodes; better on {diff['better']}, worse on {diff['worse']}, tied on "
        f"{diff['tied']})"
    )
    for left, right in list(zip(a.samples, b.samples, strict=True))[:samples]:
        _print_sample(left, f"{first.model!r}: ")
        _print_sample(right, f"{second.model!r}: ")
