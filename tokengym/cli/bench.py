"""``tokengym bench``: run a suite of tasks x agents x seeds and rank the agents, with intervals.

tokengym bench [--suite quick|standard|micro|FILE.yaml] [--agent module:Name ...] [--out DIR] [--jobs N]
               [--backend local|ray] [--ray-address ADDR] [--agents A ...] [--tasks T ...] [--seeds S ...]
                    runs the cells not yet in DIR, then writes runs.csv, episodes.csv, curves.csv, leaderboard.md,
                    statistics.json, learning_curves.png and aggregate.png there

The scalar flags are generated from :class:`~tokengym.bench.run.BenchConfig` (:mod:`tokengym.cli.flags`); the list
flags (``--agent``, ``--agents``, ``--tasks``, ``--seeds``) are declared here.
"""

from __future__ import annotations

import argparse
from typing import Any

from tokengym.cli.flags import add_config_flags, config_arguments, int_in

__all__ = ["add_bench", "cmd_bench"]


def add_bench(sub: Any) -> None:
    """Declare ``tokengym bench`` on the top-level subparsers ``sub``."""
    from tokengym.agents.running.config import MAX_SEED
    from tokengym.bench.run import BenchConfig
    from tokengym.bench.runners import BACKENDS
    from tokengym.bench.suite import bundled_suites

    bench = sub.add_parser(
        "bench",
        help="benchmark agents (yours too) on a fixed grid: leaderboard with intervals, tables, plots",
        description="Run a suite of tasks x agents x seeds x budgets, skipping the cells already in the results "
        "folder, and rank the agents: normalised scores (0 = random, 1 = each task's reference), aggregate IQM and "
        "mean with 95% stratified-bootstrap intervals and the probability of improvement (rliable). The flags "
        "beside --agent, --agents, --tasks and --seeds are the fields of tokengym.bench.run.BenchConfig.",
    )
    add_config_flags(
        bench,
        BenchConfig,
        aliases={"out_dir": ("--out",), "progress_bar": ("--progress",)},
        skip=("agents", "custom_agents", "tasks", "seeds"),
        values={"suite": [*bundled_suites(), "FILE.yaml[:NAME]"], "backend": BACKENDS},
    )
    bench.add_argument(
        "--agent",
        action="append",
        dest="custom_agents",
        metavar="REFERENCE",
        help="your algorithm, module:Name or path/to/file.py:Name: an SB3 BaseAlgorithm subclass or a function "
        "train(env_fn, budget, seed) -> policy; repeat for more",
    )
    bench.add_argument(
        "--agents", nargs="+", metavar="NAME", help="only these of the suite's agents (random always runs)"
    )
    bench.add_argument("--tasks", nargs="+", metavar="NAME", help="only these of the suite's tasks")
    bench.add_argument("--seeds", nargs="+", type=int_in(0, MAX_SEED), metavar="S", help="seeds instead of the suite's")
    bench.set_defaults(func=cmd_bench, command_parser=bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from tokengym.bench.run import BenchConfig, run_bench

    settings = config_arguments(args, BenchConfig)
    for name in ("agents", "tasks", "seeds"):
        if getattr(args, name, None) is not None:
            settings[name] = list(getattr(args, name))
    if args.custom_agents:
        settings["custom_agents"] = list(args.custom_agents)
    cfg = BenchConfig(**settings)
    result = run_bench(cfg)
    print(
        f"{result.ran} cell(s) ran"
        + (f" on {result.runner}" if result.ran else "")
        + f", {result.skipped} finished before"
    )
    print()
    print(result.leaderboard)
    for name, path in result.paths.items():
        print(f"{name + ':':<17}{path}")
    return 0
