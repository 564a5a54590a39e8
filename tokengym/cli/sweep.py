"""``tokengym sweep``: a reward-weight trade-off, one policy per weight, every component scored on held-out episodes.

The command is :func:`~tokengym.agents.running.sweep.run_sweep` and a printer. Its training flags are those of
``tokengym train``, generated from :class:`~tokengym.agents.running.config.TrainConfig` (the reward, seed, run
folder and evaluation are the sweep's own); its other flags come from
:class:`~tokengym.agents.running.sweep.SweepConfig`, and ``--weights`` and ``--seeds`` take comma-separated
numbers.
"""

from __future__ import annotations

import argparse
from typing import Any

from tokengym.cli.flags import add_config_flags, config_arguments

__all__ = ["add_sweep", "cmd_sweep"]

_SWEEP_SETS = ("env_id", "reward", "seed", "out_dir", "resume", "eval_episodes")
"""TrainConfig fields the sweep sets itself, so ``tokengym train``'s flags for them are not declared here."""


def add_sweep(sub: Any) -> None:
    """Declare ``tokengym sweep`` on the top-level subparsers ``sub``."""
    from tokengym.agents.running.algorithms import ALGORITHMS
    from tokengym.agents.running.config import VEC_ENVS, TrainConfig
    from tokengym.agents.running.sweep import SweepConfig
    from tokengym.cli.main import TRAIN_FLAG_ALIASES

    sweep = sub.add_parser(
        "sweep",
        help="reward-weight trade-off: one policy per weight of a reward term, a table and a Pareto-front plot",
        description="Train one policy per value of w in a reward spec such as 'fact_coverage + w*verbosity(ratio=0.7)' "
        "(per seed), score every reward component on held-out episodes, and write a table of weight x component "
        "(mean and standard error), a Pareto-front plot and a JSON summary that says whether each component moves "
        "with w the way its weight says. Rerun with --resume to skip the runs that finished. The training flags are "
        "those of tokengym train (fields of TrainConfig); flags left out take its defaults.",
    )
    sweep.add_argument("env", help="environment id, e.g. Summarization-v0 (`tokengym list` shows them)")
    sweep.add_argument(
        "--reward",
        required=True,
        metavar="SPEC",
        help="the reward spec to sweep, with w as the weight of one or more terms: 'A + w*B', 'A - w*B'",
    )
    sweep.add_argument(
        "--weights", required=True, metavar="W1,W2,...", help="the values of w, at least two, e.g. 0,0.25,0.5,1,2"
    )
    sweep.add_argument("--seeds", default="0", metavar="S1,S2,...", help="training seeds, one run each (default: 0)")
    sweep.add_argument("--out", default=None, metavar="DIR", help="the sweep's folder (default: runs/sweep-<env>)")
    add_config_flags(sweep, SweepConfig, skip=("train", "weights", "seeds"), shown_defaults={"x": "", "y": ""})
    add_config_flags(
        sweep,
        TrainConfig,
        aliases=TRAIN_FLAG_ALIASES,
        skip=_SWEEP_SETS,
        values={"algo": list(ALGORITHMS), "vec_env": VEC_ENVS},
    )
    sweep.set_defaults(func=cmd_sweep, command_parser=sweep)


def cmd_sweep(args: argparse.Namespace) -> int:
    from tokengym.agents.running.config import TrainConfig
    from tokengym.agents.running.sweep import SweepConfig, parse_numbers, run_sweep

    # Everything is checked (the spec, the numbers, every run's settings) before the sweep's folder is touched.
    weights = parse_numbers(args.weights, "weight")
    seeds = parse_numbers(args.seeds, "seed", integers=True)
    # The sweep's flags and train's share some names (--reward, --resume, --eval-episodes): each goes to its own.
    settings = {k: v for k, v in config_arguments(args, TrainConfig).items() if k not in _SWEEP_SETS}
    train = TrainConfig(env_id=args.env, reward=args.reward, **settings)
    own = {k: v for k, v in config_arguments(args, SweepConfig).items() if k not in ("weights", "seeds")}
    cfg = SweepConfig(train=train, weights=weights, seeds=seeds, **own)
    out = args.out if args.out is not None else f"runs/sweep-{cfg.train.env_id.lower()}"
    result = run_sweep(cfg, out)
    summary = result.summary
    trained = sum(run.trained for run in result.runs)
    print(
        f"\n{len(result.runs)} run(s), {trained} trained now and {len(result.runs) - trained} finished before, "
        f"in {result.minutes:.1f} min\n"
    )
    print(result.table_md.read_text(encoding="utf-8"))
    parts = {f"the reward's {k} part": v for k, v in summary["parts"].items()}  # F and S of F + w*S
    for name, entry in {**summary["monotone"], **parts}.items():
        expected = "" if entry["expected"] is None else f" (its weight says {entry['expected']})"
        rho = "n/a" if entry["spearman"] is None else f"{entry['spearman']:+.2f}"
        print(f"{name}: {entry['direction']} with w{expected}; rank correlation with w {rho}")
    front = ", ".join(f"{w:g}" for w in summary["pareto"]["front"])
    print(f"Pareto front ({summary['pareto']['x']} against {summary['pareto']['y']}): w = {front}")
    print(f"Table:   {result.table_csv}  {result.table_md}")
    print(f"Plot:    {result.plot}")
    print(f"Summary: {result.summary_file}")
    return 0
