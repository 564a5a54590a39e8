"""The statistics of a bench grid: normalised scores, aggregate IQM and mean with 95% intervals, and the
probability of improvement, after Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".

- **Normalised score** of a run on a task: ``(score - random) / (reference - random)``, where ``random`` is the
  random agent's mean score on the task in the same grid (so the random agent averages 0) and ``reference`` is
  the task's stated reference (1; ``suites.yaml`` says how each was stated).
- **Aggregates** over the tasks an agent plays: the interquartile mean (IQM) and the mean of its runs x tasks
  matrix of normalised scores, each with a 95% stratified-bootstrap confidence interval; the mean normalised score
  on each task, with its interval, from the same resamples.
- **Probability of improvement** ``P(X > Y)``: the chance that a run of X beats a run of Y on a task, averaged
  over the tasks both play, with its 95% interval.

The metrics and the intervals are ``rliable``'s: ``rliable.metrics.aggregate_iqm``, ``aggregate_mean`` and
``probability_of_improvement``, and ``rliable.library.get_interval_estimates`` with percentile intervals. For a
runs x tasks matrix it runs rliable's stratified bootstrap (the runs of each task resampled with replacement,
independently of the other tasks); for the probability of improvement, a pair ``(x_scores, y_scores)``, each
agent's runs resampled independently within each task. rliable 1.2 draws its resampling indices from numpy's
global random generator (``np.random.choice``), not from the ``random_state`` it is given, so
:func:`interval_estimates` seeds that generator for the call and puts its state back afterwards: the same scores
and seed give the same interval whatever ran before (not thread-safe, like any use of the global generator).
Where every run of an agent scored alike the resamples all equal the point estimate, and rliable's interval has
zero width.

Example:
    >>> import numpy as np
    >>> point, (low, high) = interval([np.array([0.1, 0.2, 0.3]), np.array([0.5, 0.6, 0.7])], aggregate("mean"))
    >>> round(point, 3), low <= point <= high
    (0.4, True)
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import numpy as np

RLIABLE_EXTRA = "pip install 'tokengym[stats]'"
CONFIDENCE = 0.95
"""The confidence level of every interval."""


def rliable_metrics() -> Any:
    """``rliable.metrics``, or an ``ImportError`` naming the extra that installs it."""
    try:
        from rliable import metrics
    except ImportError as err:
        raise ImportError(f"tokengym bench's statistics need rliable: {RLIABLE_EXTRA}") from err
    return metrics


def rliable_library() -> Any:
    """``rliable.library``, or an ``ImportError`` naming the extra that installs a working one.

    rliable 1.2's library builds on ``arch``'s bootstraps: arch 8 no longer takes the ``random_state`` argument
    rliable passes them, and arch 7 does not import beside pandas 3; the extra pins ``arch<8`` and ``pandas<3``.
    """
    needs = f"tokengym bench's statistics need rliable's library, with arch<8 and pandas<3: {RLIABLE_EXTRA}"
    try:
        from rliable import library
    except ImportError as err:
        raise ImportError(needs) from err
    if int(metadata.version("arch").split(".")[0]) >= 8:
        raise ImportError(f"{needs} (arch {metadata.version('arch')} is installed)")
    return library


def aggregate(name: str) -> Callable[[np.ndarray], float]:
    """rliable's aggregate ``"iqm"`` or ``"mean"`` of a runs x tasks matrix."""
    metrics = rliable_metrics()
    return {"iqm": metrics.aggregate_iqm, "mean": metrics.aggregate_mean}[name]


@contextmanager
def _seeded_global_generator(seed: int):
    """numpy's global generator seeded with ``seed`` inside the block, its previous state restored after it."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def interval_estimates(
    scores: Mapping[str, np.ndarray | tuple[np.ndarray, ...]],
    func: Callable[..., Any],
    reps: int,
    seed: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``rliable.library.get_interval_estimates`` with 95% percentile intervals, seeded.

    Args:
        scores: per key, a runs x tasks matrix (stratified bootstrap of its runs within each task) or a tuple of
            such matrices (each resampled independently, as for the probability of improvement).
        func: the statistic(s) of the matrix (or matrices): a number or a 1-D array.
        reps: bootstrap resamples.
        seed: seeds the resampling (``random_state`` and numpy's global generator, which rliable 1.2 draws
            from; the global generator's state is restored afterwards).

    Returns:
        rliable's point estimates and intervals per key (each interval: row 0 the lower bounds, row 1 the upper).
    """
    library = rliable_library()
    with _seeded_global_generator(seed), warnings.catch_warnings():
        # arch 7 deprecates random_state, which rliable 1.2 passes on to it; the call is seeded as rliable documents.
        warnings.filterwarnings("ignore", message="random_state is deprecated", category=FutureWarning)
        return library.get_interval_estimates(
            dict(scores),
            func,
            method="percentile",
            reps=reps,
            confidence_interval_size=CONFIDENCE,
            random_state=np.random.RandomState(seed),
        )


def interval(
    columns: Sequence[np.ndarray],
    statistic: Callable[[np.ndarray], float],
    reps: int = 2000,
    seed: int = 0,
) -> tuple[float, tuple[float, float]]:
    """``statistic`` of the runs x tasks matrix whose task columns are ``columns``, and rliable's 95%
    stratified-bootstrap interval (runs resampled within each task; percentile method).

    Args:
        columns: one array of run scores per task (the same number of runs in each).
        statistic: a function of the runs x tasks matrix.
        reps: bootstrap resamples.
        seed: seeds the resampling, so that the same scores give the same interval.
    """
    matrix = np.stack([np.asarray(c, dtype=float) for c in columns], axis=1)
    points, intervals = interval_estimates({"scores": matrix}, lambda s: np.array([statistic(s)]), reps, seed)
    return float(points["scores"][0]), (float(intervals["scores"][0, 0]), float(intervals["scores"][1, 0]))


def agent_estimates(
    columns: Sequence[np.ndarray], reps: int = 2000, seed: int = 0
) -> tuple[Estimate, Estimate, list[Estimate]]:
    """An agent's aggregate IQM and mean and its mean score on each task (``columns``: run scores per task, the
    same number of runs in each), with rliable's 95% stratified-bootstrap intervals from one set of resamples."""
    metrics = rliable_metrics()
    matrix = np.stack([np.asarray(c, dtype=float) for c in columns], axis=1)

    def statistics(scores: np.ndarray) -> np.ndarray:
        return np.concatenate([[metrics.aggregate_iqm(scores), metrics.aggregate_mean(scores)], scores.mean(axis=0)])

    points, intervals = interval_estimates({"scores": matrix}, statistics, reps, seed)
    lows, highs = intervals["scores"]
    estimates = [
        Estimate(float(v), float(lo), float(hi)) for v, lo, hi in zip(points["scores"], lows, highs, strict=True)
    ]
    return estimates[0], estimates[1], estimates[2:]


def improvement_interval(
    x: Sequence[np.ndarray], y: Sequence[np.ndarray], reps: int = 1000, seed: int = 0
) -> tuple[float, tuple[float, float]]:
    """rliable's probability that X improves on Y (``x``, ``y``: run scores per task, the same tasks in the same
    order) and its 95% interval, the runs of each agent resampled independently within each task (rliable's
    ``get_interval_estimates`` on the pair ``(x_scores, y_scores)``)."""
    metrics = rliable_metrics()
    pair = tuple(np.stack([np.asarray(c, dtype=float) for c in cols], axis=1) for cols in (x, y))
    points, intervals = interval_estimates({"x,y": pair}, metrics.probability_of_improvement, reps, seed)
    low, high = np.ravel(intervals["x,y"])
    return float(points["x,y"]), (float(low), float(high))


@dataclass
class Estimate:
    """A point estimate and its 95% interval."""

    value: float
    low: float
    high: float

    def text(self, digits: int = 3) -> str:
        return f"{self.value:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass
class Statistics:
    """Everything the leaderboard shows.

    Attributes:
        tasks: task names, in suite order.
        agents: agent names, in grid order.
        seeds: the seeds (runs) of every agent on every task.
        random_means: the random agent's mean raw score per task (0 on the normalised scale).
        references: each task's reference score (1 on the normalised scale).
        raw: ``raw[agent][task]``: run scores, one per seed.
        normalised: ``normalised[agent][task]``: normalised run scores.
        per_task: ``per_task[agent][task]``: mean normalised score with its interval.
        iqm, mean: per agent, the aggregate over the tasks it plays.
        improvement: ``improvement[x][y]``: P(x > y) over the tasks both play.
    """

    tasks: list[str]
    agents: list[str]
    seeds: list[int]
    random_means: dict[str, float]
    references: dict[str, float]
    raw: dict[str, dict[str, np.ndarray]]
    normalised: dict[str, dict[str, np.ndarray]]
    per_task: dict[str, dict[str, Estimate]]
    iqm: dict[str, Estimate]
    mean: dict[str, Estimate]
    improvement: dict[str, dict[str, Estimate]]

    def ranking(self) -> list[str]:
        """Agents by aggregate IQM, best first (ties: by mean, then by name)."""
        return sorted(self.agents, key=lambda a: (-self.iqm[a].value, -self.mean[a].value, a))

    def as_dict(self) -> dict[str, Any]:
        return {
            "tasks": self.tasks,
            "agents": self.agents,
            "seeds": self.seeds,
            "random_means": self.random_means,
            "references": self.references,
            "per_task": {a: {t: e.as_dict() for t, e in row.items()} for a, row in self.per_task.items()},
            "iqm": {a: e.as_dict() for a, e in self.iqm.items()},
            "mean": {a: e.as_dict() for a, e in self.mean.items()},
            "probability_of_improvement": {
                x: {y: e.as_dict() for y, e in row.items()} for x, row in self.improvement.items()
            },
        }


def compute_statistics(
    records: Sequence[Mapping[str, Any]],
    references: Mapping[str, float],
    baseline: str = "random",
    candidates: Sequence[str] | None = None,
    reps: int = 2000,
) -> Statistics:
    """The statistics of a grid's cell records (see the module's docstring).

    Args:
        records: one record per cell (:func:`tokengym.bench.cells.run_cell`).
        references: each task's reference score.
        baseline: the agent whose mean score is 0.
        candidates: the agents whose probability of improvement over every other agent is reported (``None``:
            every agent).
        reps: bootstrap resamples of the aggregates (the probabilities of improvement take half as many).

    Raises:
        ValueError: a task without the baseline's runs, an agent with a different number of runs on some task, or
            a reference equal to the baseline's mean (no scale to normalise on).
    """
    tasks = list(dict.fromkeys(r["task"] for r in records))
    agents = list(dict.fromkeys(r["agent"] for r in records))
    seeds = sorted({int(r["seed"]) for r in records})
    raw: dict[str, dict[str, np.ndarray]] = {}
    for agent in agents:
        for task in tasks:
            mine = sorted((r for r in records if r["agent"] == agent and r["task"] == task), key=lambda r: r["seed"])
            if mine:
                raw.setdefault(agent, {})[task] = np.array([float(r["score"]) for r in mine])
    random_means: dict[str, float] = {}
    for task in tasks:
        if task not in raw.get(baseline, {}):
            raise ValueError(f"task {task!r} has no {baseline} runs: they are the 0 of its normalised scale")
        random_means[task] = float(raw[baseline][task].mean())
        if abs(references[task] - random_means[task]) < 1e-12:
            raise ValueError(
                f"task {task!r}: its reference {references[task]:g} equals the {baseline} agent's mean score; state a "
                "reference the random agent does not reach"
            )
    normalised = {
        agent: {t: (s - random_means[t]) / (references[t] - random_means[t]) for t, s in row.items()}
        for agent, row in raw.items()
    }
    per_task: dict[str, dict[str, Estimate]] = {}
    iqm: dict[str, Estimate] = {}
    mean: dict[str, Estimate] = {}
    for number, agent in enumerate(agents):
        row = normalised[agent]
        counts = {len(v) for v in row.values()}
        if len(counts) != 1:
            raise ValueError(f"agent {agent!r} has different numbers of runs on its tasks: finish the grid first")
        iqm[agent], mean[agent], by_task = agent_estimates(list(row.values()), reps, seed=number)
        per_task[agent] = dict(zip(row, by_task, strict=True))
    improvement: dict[str, dict[str, Estimate]] = {}
    for x in candidates if candidates is not None else agents:
        for y in agents:
            common = [t for t in tasks if t in raw[x] and t in raw[y]]
            if x == y or not common:
                continue
            estimate = improvement_interval([raw[x][t] for t in common], [raw[y][t] for t in common], max(reps // 2, 1))
            improvement.setdefault(x, {})[y] = _estimate(estimate)
    return Statistics(
        tasks, agents, seeds, random_means, dict(references), raw, normalised, per_task, iqm, mean, improvement
    )


def _estimate(result: tuple[float, tuple[float, float]]) -> Estimate:
    value, (low, high) = result
    return Estimate(value, low, high)


def binned_curve(points: Sequence[Sequence[float]], budget: int, bins: int) -> np.ndarray:
    """A run's learning curve on ``bins`` equal windows of its budget: the mean return of the training episodes
    that ended in each window (carried forward over a window where none ended; NaN before the first)."""
    out = np.full(bins, np.nan)
    if not points:
        return out
    data = np.asarray(points, dtype=float)
    window = np.minimum((data[:, 0] - 1) * bins // max(budget, 1), bins - 1).astype(int)
    last = np.nan
    for b in range(bins):
        mine = data[window == b, 1]
        if len(mine):
            last = float(mine.mean())
        out[b] = last
    return out
