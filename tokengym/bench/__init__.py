"""``tokengym bench``: benchmark algorithms against the baselines on a fixed grid, with intervals.

A suite (``suites.yaml``: tasks x agents x seeds x budgets) expands to independent cells, each an agent trained on
a task with a seed and scored on the task's held-out episodes. Cells run in this process, a local process pool or
as Ray tasks, are stored atomically as they finish (a rerun skips them), and the grid's statistics — normalised
scores, aggregate IQM and mean with stratified-bootstrap 95% intervals, probability of improvement, from
``rliable``'s metrics and interval estimates — go into tidy CSV tables, a Markdown leaderboard and PNG plots.

The modules, by responsibility: :mod:`~tokengym.bench.suite` (the grid as data), :mod:`~tokengym.bench.agents`
(how each agent trains, bring-your-own included), :mod:`~tokengym.bench.cells` (one cell: train, score, store),
:mod:`~tokengym.bench.runners` (local pool, Ray, progress), :mod:`~tokengym.bench.stats`,
:mod:`~tokengym.bench.report` and :mod:`~tokengym.bench.run` (:func:`run_bench`, all of it in order).

Example:
    >>> from tokengym.bench import BenchConfig, run_bench
    >>> result = run_bench(BenchConfig(suite="micro", out_dir="runs/bench-micro"))   # doctest: +SKIP
    >>> print(result.leaderboard)                                                    # doctest: +SKIP
"""

from tokengym.bench.run import BenchConfig, BenchResult, run_bench
from tokengym.bench.suite import SuiteError, bundled_suites, load_suite

__all__ = ["BenchConfig", "BenchResult", "SuiteError", "bundled_suites", "load_suite", "run_bench"]
