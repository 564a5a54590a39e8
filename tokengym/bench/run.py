"""``tokengym bench`` as a function: check the whole grid, run the cells not yet finished, write the reports.

:class:`BenchConfig` says what to run; :func:`run_bench` does it in three steps:

1. **Check everything before anything is written**: the suite and its tasks, the agents asked for (a
   bring-your-own one is imported and checked against the protocols of :mod:`tokengym.bench.agents`), the results
   folder (its ``grid.json`` must name the same suite, version and task plans; every stored cell must belong to
   this grid) and the backend (Ray installed and reachable).
2. **Run the pending cells** on the backend, storing each result atomically as it finishes; finished cells are
   skipped, so a killed run resumes where it stopped.
3. **Report**: the statistics of every cell of the grid (:mod:`tokengym.bench.stats`) and the tables, leaderboard
   and plots (:mod:`tokengym.bench.report`).

Example:
    >>> result = run_bench(BenchConfig(suite="micro", out_dir="runs/bench-micro", progress_bar=False))  # doctest: +SKIP
    >>> result.ran, result.skipped                                                                   # doctest: +SKIP
    (4, 0)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokengym.bench.agents import load_custom_agent
from tokengym.bench.cells import ResultsFolderError, read_result, write_result
from tokengym.bench.runners import BACKENDS, make_runner, run_all
from tokengym.bench.suite import AgentSpec, Cell, Suite, expand_cells, load_suite, select_tasks
from tokengym.data.loaders import write_text_atomic

GRID_FILE = "grid.json"


@dataclass
class BenchConfig:
    """What ``tokengym bench`` runs, where, and on what."""

    suite: str = "quick"
    """A bundled suite (quick, standard, micro) or a suite file: path.yaml, or path.yaml:NAME."""
    out_dir: str = "runs/bench"
    """Results folder: cells/, the CSV tables, leaderboard.md, statistics.json and the plots. A rerun with the
    same folder skips the cells that finished."""
    agents: list[str] | None = None
    """Only these of the suite's agents (the random agent always runs: it is the 0 of the scale); None: all."""
    custom_agents: list[str] = field(default_factory=list)
    """Bring-your-own algorithms, each module:Name or path/to/file.py:Name (an SB3 BaseAlgorithm subclass or a
    function train(env_fn, budget, seed) -> policy), run on every task of a level they play."""
    tasks: list[str] | None = None
    """Only these of the suite's tasks; None: all."""
    seeds: list[int] | None = None
    """Seeds instead of the suite's (more seeds may be added to a results folder later)."""
    backend: str = "local"
    """Where the cells run: "local" (a process pool; jobs=1 runs them in this process) or "ray"."""
    jobs: int = 1
    """Cells at a time (local worker processes; with Ray and no address, the CPUs of the Ray instance started)."""
    ray_address: str | None = None
    """The Ray cluster to connect to (for example "ray://host:10001" or "auto"); None starts one here."""
    progress_bar: bool = True
    """A progress bar over the cells with the time left."""
    reps: int = 2000
    """Bootstrap resamples of each interval."""

    def __post_init__(self) -> None:
        from tokengym.agents.running.config import check_fields

        check_fields(self, ints={"jobs": (1, 512), "reps": (100, None)})
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown backend {self.backend!r}; choose {' or '.join(BACKENDS)}")
        if self.ray_address is not None and self.backend != "ray":
            raise ValueError("--ray-address goes with --backend ray")
        if not self.out_dir.strip():
            raise ValueError("out_dir (--out) must name a folder, not an empty string")
        for name, value in (("agents", self.agents), ("tasks", self.tasks), ("seeds", self.seeds)):
            if value is not None and not value:
                raise ValueError(f"{name} must list at least one, or be left out")
        if self.seeds is not None and any(type(s) is not int or s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be non-negative integers, not {self.seeds!r}")


@dataclass
class BenchResult:
    """What a bench run did: the cells it ran and skipped, the statistics and where the reports went."""

    out_dir: Path
    suite: Suite
    cells: list[Cell]
    ran: int
    skipped: int
    stats: Any
    paths: dict[str, Path]
    runner: str

    @property
    def leaderboard(self) -> str:
        return self.paths["leaderboard"].read_text(encoding="utf-8")


def plan_grid(cfg: BenchConfig) -> tuple[Suite, list[AgentSpec], list[Cell]]:
    """The suite, agents and cells of ``cfg``, every name and reference checked.

    Raises:
        SuiteError: an unknown suite, task or agent; a bring-your-own agent that does not resolve or is not an
            algorithm, or whose name is taken.
    """
    suite = select_tasks(load_suite(cfg.suite), cfg.tasks)
    builtin = suite.agent_specs(cfg.agents)
    custom = [load_custom_agent(reference) for reference in cfg.custom_agents]
    names = [a.name for a in builtin] + [a.name for a in custom]
    for spec in custom:
        if spec.name in suite.agents or names.count(spec.name) > 1:
            raise ValueError(f"--agent {spec.reference!r}: the name {spec.name!r} is taken; set bench_name on it")
    cells = expand_cells(suite, [*builtin, *custom], cfg.seeds)
    if not any(c.agent.kind == "custom" for c in cells) and custom:
        levels = ", ".join(sorted({lvl for a in custom for lvl in a.levels}))
        raise ValueError(f"no task of suite {suite.name!r} is of a level the custom agents play ({levels})")
    return suite, [*builtin, *custom], cells


def check_folder(out: Path, suite: Suite, cells: list[Cell]) -> dict[str, dict[str, Any]]:
    """The finished cells' results, by cell name; refuses a folder of another grid before anything is written."""
    grid = out / GRID_FILE
    if grid.is_file():
        try:
            stored = json.loads(grid.read_text(encoding="utf-8"))
        except ValueError as err:
            raise ResultsFolderError(f"{grid}: unreadable ({err}); use another --out") from None
        mine = {"suite": suite.name, "version": suite.version, "fingerprint": suite.fingerprint()}
        if {k: stored.get(k) for k in mine} != mine:
            raise ResultsFolderError(
                f"{out} holds results of suite {stored.get('suite')!r} version {stored.get('version')} with other "
                f"task plans (fingerprint {stored.get('fingerprint')}); this run is suite {suite.name!r} version "
                f"{suite.version} ({mine['fingerprint']}): use another --out"
            )
    elif out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ResultsFolderError(f"{out} exists and is not a tokengym bench results folder; use another --out")
    done = {}
    for cell in cells:
        record = read_result(out, cell)
        if record is not None:
            done[cell.name] = record
    return done


def run_bench(cfg: BenchConfig, log: Any = print) -> BenchResult:
    """Run the grid of ``cfg`` (see the module's docstring) and write its reports.

    Raises:
        SuiteError: bad names, references or a results folder of another grid (nothing is written).
        RayUnavailableError: Ray asked for but missing or unreachable (nothing is written).
    """
    from tokengym.bench.report import write_reports
    from tokengym.bench.stats import compute_statistics, rliable_library, rliable_metrics

    suite, agents, cells = plan_grid(cfg)
    out = Path(cfg.out_dir)
    done = check_folder(out, suite, cells)
    rliable_metrics(), rliable_library()  # the statistics work before hours of training
    pending = [c for c in cells if c.name not in done]
    runner = make_runner(cfg.backend, cfg.jobs, cfg.ray_address) if pending else None
    try:
        write_text_atomic(
            out / GRID_FILE,
            json.dumps({"suite": suite.name, "version": suite.version, "fingerprint": suite.fingerprint()}, indent=1),
        )
        records = dict(done)
        if runner is not None:
            log(f"{len(pending)} of {len(cells)} cells to run ({len(done)} finished before) on {runner.describe()}")

            def store(cell: Cell, record: dict[str, Any]) -> None:
                write_result(out, record)
                records[cell.name] = record

            run_all(runner, pending, store, cfg.progress_bar)
    finally:
        if runner is not None:
            runner.close()
    ordered = [records[c.name] for c in cells]
    custom = [a.name for a in agents if a.kind == "custom"] or None
    references = {plan.task.name: plan.task.reference for plan in suite.plans}
    stats = compute_statistics(ordered, references, candidates=custom, reps=cfg.reps)
    paths = write_reports(out, suite, agents, ordered, stats)
    return BenchResult(out, suite, cells, len(pending), len(done), stats, paths, runner.describe() if runner else "")
