"""What a reward-weight sweep measured, as data and a picture: the table, the Pareto front and the summary.

:func:`write_reports` turns the held-out scores of every run of a sweep
(:class:`~tokengym.agents.running.sweep.RunScores`) into:

- ``table.csv``: tidy rows of weight x component, with the mean over every held-out episode of every seed and its
  standard error (between the seeds' means when there are two seeds or more: what another seed would give;
  between the episodes when there is one);
- ``table.md``: the same as a Markdown table, a row per weight;
- ``pareto.png``: each weight's means of two components against each other with their standard errors, the
  Pareto front (the weights no other weight beats on both) highlighted and every point labelled with its weight;
- ``summary.json``: the table, the front, and whether each component moves monotonically with the weight, and in
  the direction its weight says (reported, never asserted: a short run can be noisy).

Every component is higher-is-better (rewards and penalties alike), so the front maximises both axes.

Example:
    >>> pareto_front([(0.0, 0.9, -0.4), (1.0, 0.7, -0.1), (2.0, 0.6, -0.2)])
    [0.0, 1.0]
    >>> direction([0.9, 0.8, 0.8, 0.6]), direction([0.1, 0.3, 0.2])
    ('decreasing', 'not monotone')
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tokengym.data.loaders import write_text_atomic

if TYPE_CHECKING:
    from tokengym.agents.running.sweep import RunScores, SweepConfig

__all__ = ["component_rows", "direction", "pareto_front", "plot_pareto", "spearman", "summarise", "write_reports"]

TABLE_CSV = "table.csv"
TABLE_MD = "table.md"
PLOT_FILE = "pareto.png"
SUMMARY_FILE = "summary.json"
CSV_COLUMNS = ("weight", "component", "mean", "stderr", "stderr_over", "episodes", "seeds")


def component_rows(runs: Sequence[RunScores], weights: Sequence[float]) -> list[dict[str, Any]]:
    """Tidy rows, one per weight and component: the mean over every episode of every seed, and its standard error.

    With two seeds or more the standard error is that of the seeds' means (``stderr_over`` is ``"seeds"``): it
    holds the evaluation's noise and the training's; with one seed, that of the episodes (``"episodes"``).

    Example:
        >>> from tokengym.agents.running.sweep import RunScores
        >>> runs = [RunScores(0.0, s, "c", 8, [0, 1], [0.0, 0.0], {"a": [s, s + 1.0]}, ["", ""]) for s in (0, 1)]
        >>> row = component_rows(runs, [0.0])[0]
        >>> row["mean"], row["stderr"], row["stderr_over"]
        (1.0, 0.5, 'seeds')
    """
    rows = []
    names = list(dict.fromkeys(name for run in runs for name in run.components))
    for weight in weights:
        mine = [run for run in runs if run.weight == weight]
        for name in names:
            per_seed = [np.asarray(run.components.get(name, [0.0] * len(run.returns)), dtype=float) for run in mine]
            values = np.concatenate(per_seed)
            if len(per_seed) > 1:
                means = np.asarray([v.mean() for v in per_seed])
                stderr, over = float(means.std(ddof=1) / np.sqrt(len(means))), "seeds"
            else:
                spread = values.std(ddof=1) if len(values) > 1 else 0.0
                stderr, over = float(spread / np.sqrt(len(values))), "episodes"
            rows.append(
                {
                    "weight": float(weight),
                    "component": name,
                    "mean": float(values.mean()),
                    "stderr": stderr,
                    "stderr_over": over,
                    "episodes": len(values),
                    "seeds": len(per_seed),
                }
            )
    return rows


def pareto_front(points: Sequence[tuple[float, float, float]]) -> list[float]:
    """The weights of the points ``(weight, x, y)`` that no other point beats: at least as high on both axes and
    higher on one. In the order given."""
    front = []
    for weight, x, y in points:
        beaten = any(ox >= x and oy >= y and (ox > x or oy > y) for _, ox, oy in points)
        if not beaten:
            front.append(weight)
    return front


def direction(values: Sequence[float]) -> str:
    """How ``values`` move in order: ``"increasing"`` or ``"decreasing"`` (each step the same way or level, one at
    least strictly), ``"flat"`` (all equal) or ``"not monotone"``."""
    steps = np.diff(np.asarray(values, dtype=float))
    if not steps.any():
        return "flat"
    if (steps >= 0).all():
        return "increasing"
    if (steps <= 0).all():
        return "decreasing"
    return "not monotone"


def spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Spearman's rank correlation of ``a`` and ``b`` (ties share their mean rank); ``None`` when one is constant.

    Example:
        >>> spearman([0, 1, 2, 3], [0.9, 0.8, 0.85, 0.1])
        -0.8
    """
    ranks = [_ranks(np.asarray(v, dtype=float)) for v in (a, b)]
    if any(r.std() == 0 for r in ranks):
        return None
    return round(float(np.corrcoef(*ranks)[0, 1]), 6)


def _ranks(values: np.ndarray) -> np.ndarray:
    order = values.argsort(kind="stable")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(len(values), dtype=float)
    for value in np.unique(values):
        tied = values == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def summarise(cfg: SweepConfig, runs: Sequence[RunScores], names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The sweep's summary: settings, table, front, and each component's direction along the weights.

    ``names`` maps a term of the spec to the name of its component where the two differ (a quoted reference to a
    reward of one's own is reported under its function's name).
    """
    names = dict(names or {})
    term_of = {component: term for term, component in names.items()}
    x, y = names.get(cfg.x, cfg.x), names.get(cfg.y, cfg.y)
    rows = component_rows(runs, cfg.weights)
    components = list(dict.fromkeys(row["component"] for row in rows))
    mean = {(row["weight"], row["component"]): row["mean"] for row in rows}
    negative = any(w < 0 for w in cfg.weights)
    monotone = {}
    for name in components:
        means = [mean[(w, name)] for w in cfg.weights]
        monotone[name] = _movement(
            cfg.weights, means, cfg.template.expected_direction(term_of.get(name, name), negative)
        )
    judged = [entry["as_expected"] for entry in monotone.values() if entry["as_expected"] is not None]
    missing = [axis for axis in (x, y) if axis not in components]
    missing += [
        names.get(t, t) for t in (*cfg.template.fixed, *cfg.template.swept) if names.get(t, t) not in components
    ]
    if missing:
        raise ValueError(f"the environment reported no component {missing[0]!r}; it reported {components}")
    # The reward's two parts, F + w*S: S should not fall as w rises, F not rise over weights that are not negative.
    at = [
        cfg.template.parts({t: mean[(w, names.get(t, t))] for t in (*cfg.template.fixed, *cfg.template.swept)})
        for w in cfg.weights
    ]
    parts = {
        "fixed": _movement(cfg.weights, [f for f, _ in at], None if negative else "decreasing"),
        "swept": _movement(cfg.weights, [s for _, s in at], "increasing"),
    }
    # Better is higher for a term the reward pays, lower for one it charges.
    sign_x, sign_y = (cfg.template.sign(term_of.get(axis, axis)) for axis in (x, y))
    points = [(w, sign_x * mean[(w, x)], sign_y * mean[(w, y)]) for w in cfg.weights]
    return {
        "env_id": cfg.train.env_id,
        "reward": cfg.template.text,
        "model_name": cfg.train.model_name,
        "algorithm": cfg.train.algo,
        "total_timesteps": cfg.train.total_timesteps,
        "weights": list(cfg.weights),
        "specs": [{"weight": w, "spec": cfg.spec(w)} for w in cfg.weights],
        "seeds": list(cfg.seeds),
        "eval_episodes": cfg.eval_episodes,
        "eval_seed": cfg.eval_seed,
        "components": components,
        "table": rows,
        "monotone": monotone,
        "trade_off_as_expected": bool(judged) and all(judged),
        "parts": parts,
        "pareto": {
            "x": x,
            "y": y,
            "x_better": _better(sign_x),
            "y_better": _better(sign_y),
            "front": pareto_front(points),
        },
        "runs": [
            {
                "weight": run.weight,
                "seed": run.seed,
                "checkpoint": run.checkpoint,
                "num_timesteps": run.num_timesteps,
                "trained_now": run.trained,
                "minutes": round(run.minutes, 3),
                "mean_return": float(np.mean(run.returns)),
            }
            for run in runs
        ],
    }


def _movement(weights: Sequence[float], means: Sequence[float], expected: str | None) -> dict[str, Any]:
    found = direction(means)
    return {
        "direction": found,
        "expected": expected,
        "as_expected": None if expected is None else found == expected,
        "spearman": spearman(weights, means),
        "means": [float(m) for m in means],
    }


def _better(sign: float) -> str:
    return "higher" if sign > 0 else "lower"


def markdown_table(summary: dict[str, Any]) -> str:
    """The table as Markdown: a row per weight, a column per component (mean ± standard error), the front."""
    names, front = summary["components"], set(summary["pareto"]["front"])
    cells = {(row["weight"], row["component"]): row for row in summary["table"]}
    over = {row["stderr_over"] for row in summary["table"]}
    lines = [
        f"| w | {' | '.join(names)} | on the front ({summary['pareto']['x']}, {summary['pareto']['y']}) |",
        f"|---|{'---|' * len(names)}---|",
    ]
    for weight in summary["weights"]:
        row = [f"{cells[(weight, n)]['mean']:.3f} ± {cells[(weight, n)]['stderr']:.3f}" for n in names]
        lines.append(f"| {weight:g} | {' | '.join(row)} | {'yes' if weight in front else ''} |")
    seeds, episodes = len(summary["seeds"]), summary["eval_episodes"]
    lines.append(
        f"\nMean over {episodes} held-out episodes x {seeds} seed(s) ± standard error over the "
        f"{' and '.join(sorted(over))}; {summary['env_id']}, reward {summary['reward']!r}, "
        f"{summary['total_timesteps']:,} token steps of {summary['algorithm']} from {summary['model_name']!r}."
    )
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[dict[str, Any]]) -> str:
    """The tidy rows as CSV text."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def plot_pareto(summary: dict[str, Any], path: Path) -> None:
    """Write the PNG of the two plotted components' means (error bars: standard errors), the front highlighted and
    joined, every point labelled with its weight."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x_name, y_name, front = summary["pareto"]["x"], summary["pareto"]["y"], summary["pareto"]["front"]
    cells = {(row["weight"], row["component"]): row for row in summary["table"]}
    fig, ax = plt.subplots(figsize=(6.5, 4.8))
    for number, weight in enumerate(summary["weights"]):
        x, y = cells[(weight, x_name)], cells[(weight, y_name)]
        on_front = weight in front
        ax.errorbar(
            x["mean"],
            y["mean"],
            xerr=x["stderr"],
            yerr=y["stderr"],
            fmt="o",
            ms=8 if on_front else 6,
            color="tab:red" if on_front else "tab:gray",
            ecolor="0.6",
            capsize=3,
            zorder=3,
        )
        # labels alternate between the upper right and the lower left, so that neighbouring weights' do not overlap
        offset, align = ((7, 5), "left") if number % 2 == 0 else ((-7, -13), "right")
        ax.annotate(
            f"w={weight:g}", (x["mean"], y["mean"]), textcoords="offset points", xytext=offset, ha=align, fontsize=9
        )
    line = sorted((cells[(w, x_name)]["mean"], cells[(w, y_name)]["mean"]) for w in front)
    ax.plot(*zip(*line, strict=True), "-", color="tab:red", lw=1.5, zorder=2, label="Pareto front")
    if len(front) < len(summary["weights"]):
        ax.plot([], [], "o", color="tab:gray", label="dominated")
    ax.margins(0.12)  # room for the labels
    pareto = summary["pareto"]
    ax.set_xlabel(f"{x_name} (held-out mean; {pareto['x_better']} is better)")
    ax.set_ylabel(f"{y_name} (held-out mean; {pareto['y_better']} is better)")
    seeds = len(summary["seeds"])
    ax.set_title(
        f"{summary['env_id']}: {summary['reward']}\n{summary['eval_episodes']} held-out episodes x {seeds} seed(s), "
        f"{summary['total_timesteps']:,} steps per run",
        fontsize=9,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_reports(
    cfg: SweepConfig, runs: Sequence[RunScores], out: Path, names: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[Path]]:
    """Write the table (CSV and Markdown), the plot and the summary into ``out``; returns the summary and the
    four paths (``names`` as in :func:`summarise`)."""
    summary = summarise(cfg, runs, names)
    paths = [out / TABLE_CSV, out / TABLE_MD, out / PLOT_FILE, out / SUMMARY_FILE]
    write_text_atomic(paths[0], csv_table(summary["table"]))
    write_text_atomic(paths[1], markdown_table(summary))
    plot_pareto(summary, paths[2])
    write_text_atomic(paths[3], json.dumps(summary, indent=2, allow_nan=False) + "\n")
    return summary, paths
