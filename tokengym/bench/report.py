"""What a bench grid writes besides its cells: tidy CSV tables, a Markdown leaderboard and PNG plots.

- ``runs.csv``: one row per cell (task, agent, seed, budget, raw and normalised score, steps, seconds);
- ``episodes.csv``: one row per evaluation episode (reset seed, return, won, length);
- ``curves.csv``: one row per training episode (the step it ended at, its return);
- ``leaderboard.md``: the aggregate IQM and mean with 95% intervals, the normalised score per task, the
  probability of improvement (:mod:`tokengym.bench.stats`); no timings, so the same grid gives the same file;
- ``statistics.json``: the same figures as data;
- ``learning_curves.png``: per task, each learning agent's training-episode return over its budget (mean over
  seeds, with a 95% bootstrap band); ``aggregate.png``: each agent's IQM and mean with their intervals.

Example:
    >>> write_reports(out, suite, records, stats)             # doctest: +SKIP
    {'runs': PosixPath('out/runs.csv'), ...}
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tokengym.bench.stats import Statistics, aggregate, binned_curve, interval
from tokengym.bench.suite import AgentSpec, Suite
from tokengym.data.loaders import write_text_atomic

CURVE_BINS = 10
"""Windows of the budget a learning curve is drawn on."""


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return buffer.getvalue()


def tables(records: Sequence[Mapping[str, Any]], stats: Statistics) -> dict[str, str]:
    """The three tidy CSV tables, as text."""
    runs, episodes, curves = [], [], []
    for r in records:
        normalised = stats.normalised[r["agent"]][r["task"]][stats.seeds.index(int(r["seed"]))]
        base = {"suite_task": r["task"], "env_id": r["env_id"], "agent": r["agent"], "seed": r["seed"]}
        runs.append(
            {
                **base,
                "agent_kind": r["agent_kind"],
                "budget": r["budget"],
                "num_timesteps": r["num_timesteps"],
                "score_kind": r["score_kind"],
                "score": repr(float(r["score"])),
                "normalised_score": repr(float(normalised)),
                "train_seconds": f"{r['train_seconds']:.2f}",
                "eval_seconds": f"{r['eval_seconds']:.2f}",
            }
        )
        episodes.extend({**base, **e, "return": repr(float(e["return"]))} for e in r["episodes"])
        curves.extend({**base, "step": step, "return": repr(float(value))} for step, value in r["curve"])
    head = ["suite_task", "env_id", "agent", "seed"]
    return {
        "runs": _csv(
            runs,
            [
                *head,
                "agent_kind",
                "budget",
                "num_timesteps",
                "score_kind",
                "score",
                "normalised_score",
                "train_seconds",
                "eval_seconds",
            ],
        ),
        "episodes": _csv(episodes, [*head, "episode", "reset_seed", "return", "won", "length"]),
        "curves": _csv(curves, [*head, "step", "return"]),
    }


def leaderboard(suite: Suite, agents: Sequence[AgentSpec], stats: Statistics) -> str:
    """The Markdown leaderboard (see the module's docstring)."""
    plans = {plan.task.name: plan for plan in suite.plans if plan.task.name in stats.tasks}
    described = {a.name: a for a in agents}
    lines = [
        f"# tokengym bench: suite `{suite.name}` (version {suite.version})",
        "",
        f"Seeds {', '.join(map(str, stats.seeds))}; scores normalised per task: 0 = the random agent's mean, "
        "1 = the task's reference. Intervals: 95% stratified-bootstrap confidence intervals (rliable's estimates).",
        "",
        "## Aggregate (over the tasks each agent plays)",
        "",
        "| rank | agent | tasks | IQM | mean |",
        "|---:|---|---:|---|---|",
    ]
    for rank, agent in enumerate(stats.ranking(), start=1):
        count = len(stats.normalised[agent])
        lines.append(f"| {rank} | {agent} | {count} | {stats.iqm[agent].text()} | {stats.mean[agent].text()} |")
    lines += ["", "## Per task (mean normalised score over seeds)", ""]
    lines.append("| agent | " + " | ".join(stats.tasks) + " |")
    lines.append("|---|" + "---|" * len(stats.tasks))
    for agent in stats.ranking():
        cells = [stats.per_task[agent][t].text(2) if t in stats.per_task[agent] else "-" for t in stats.tasks]
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    lines += ["", "Raw scores (mean over seeds) and the scale of each task:", ""]
    lines.append("| task | environment | score | budget | eval episodes | random (0) | reference (1) |")
    lines.append("|---|---|---|---:|---:|---:|---:|")
    for task in stats.tasks:
        plan = plans[task]
        lines.append(
            f"| {task} | {plan.task.env_id} | {plan.task.score} | {plan.budget} | {plan.eval_episodes} | "
            f"{stats.random_means[task]:.3f} | {stats.references[task]:.3f} |"
        )
    if stats.improvement:
        columns = [a for a in stats.agents if any(a in row for row in stats.improvement.values())]
        lines += ["", "## Probability of improvement P(row > column), over the tasks both play", ""]
        lines.append("| agent | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---|" * len(columns))
        for x, row in stats.improvement.items():
            cells = [row[y].text(2) if y in row else "-" for y in columns]
            lines.append(f"| {x} | " + " | ".join(cells) + " |")
    lines += ["", "## Agents", ""]
    for agent in stats.agents:
        spec = described.get(agent)
        lines.append(f"- `{agent}`: {spec.description if spec is not None else ''}")
    return "\n".join(lines) + "\n"


def plot_curves(path: Path, suite: Suite, records: Sequence[Mapping[str, Any]], stats: Statistics) -> Path:
    """Per task, each learning agent's binned training return: mean over seeds with a 95% bootstrap band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    budgets = {plan.task.name: plan.budget for plan in suite.plans}
    n = len(stats.tasks)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, task in zip(axes.flat, stats.tasks, strict=False):
        budget = budgets[task]
        x = (np.arange(CURVE_BINS) + 0.5) * budget / CURVE_BINS
        for number, agent in enumerate(stats.agents):
            mine = [r for r in records if r["task"] == task and r["agent"] == agent and r["curve"]]
            if not mine:
                continue
            curves = np.stack([binned_curve(r["curve"], budget, CURVE_BINS) for r in mine])
            mean, low, high = np.full(CURVE_BINS, np.nan), np.full(CURVE_BINS, np.nan), np.full(CURVE_BINS, np.nan)
            for b in range(CURVE_BINS):
                values = curves[:, b][~np.isnan(curves[:, b])]
                if len(values):
                    mean[b], (low[b], high[b]) = interval([values], aggregate("mean"), 500, seed=number)
            (line,) = ax.plot(x, mean, label=agent)
            ax.fill_between(x, low, high, alpha=0.2, color=line.get_color())
        ax.set_title(task)
        ax.set_xlabel("training steps")
        ax.set_ylabel("training episode return")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_aggregates(path: Path, stats: Statistics) -> Path:
    """Each agent's aggregate IQM and mean of normalised scores, with their 95% intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    order = stats.ranking()[::-1]
    fig, axes = plt.subplots(1, 2, figsize=(10, 0.45 * len(order) + 1.5), sharey=True)
    for ax, (title, table) in zip(axes, (("IQM", stats.iqm), ("Mean", stats.mean)), strict=True):
        values = np.array([table[a].value for a in order])
        errors = np.array(
            [[table[a].value - table[a].low for a in order], [table[a].high - table[a].value for a in order]]
        )
        ax.barh(order, values, xerr=errors, color="tab:blue", alpha=0.7, capsize=3)
        ax.axvline(0.0, color="grey", linewidth=0.8)
        ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
        ax.set_title(f"{title} normalised score (95% CI)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_reports(
    out: Path, suite: Suite, agents: Sequence[AgentSpec], records: Sequence[Mapping[str, Any]], stats: Statistics
) -> dict[str, Path]:
    """Write every table, the leaderboard, the statistics and the plots under ``out``; returns their paths."""
    out = Path(out)
    paths = {name: write_text_atomic(out / f"{name}.csv", text) for name, text in tables(records, stats).items()}
    paths["leaderboard"] = write_text_atomic(out / "leaderboard.md", leaderboard(suite, agents, stats))
    paths["statistics"] = write_text_atomic(out / "statistics.json", json.dumps(stats.as_dict(), indent=1))
    paths["learning_curves"] = plot_curves(out / "learning_curves.png", suite, records, stats)
    paths["aggregate"] = plot_aggregates(out / "aggregate.png", stats)
    return paths
