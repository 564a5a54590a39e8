"""Where the cells of a bench grid run: this process, a local process pool, or Ray tasks on a cluster.

Each backend calls :func:`tokengym.bench.cells.run_cell` on every pending cell and hands each result back as it
finishes, to the driver that stores it (so a killed run keeps every finished cell). The cells are independent and
seeded from their own seed, so the backend changes when a result arrives, never what it is.

- ``local`` (the default): ``jobs`` worker processes (started with ``spawn``, one torch thread each); ``jobs=1``
  runs the cells in this process.
- ``ray``: one Ray task per cell (one CPU each) on the cluster at ``ray_address``, or on a Ray instance started
  here with ``jobs`` CPUs. Ray is the optional extra ``ray``: ``pip install 'tokengym[ray]'``. Workers on other
  machines need tokengym (and a bring-your-own agent's module) installed; folders of this process's ``sys.path``
  are passed on for a cluster on this machine.

Example:
    >>> runner = make_runner("local", jobs=2)
    >>> runner.describe()
    'local process pool, 2 workers'
"""

from __future__ import annotations

import importlib.util
import itertools
import multiprocessing
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from tokengym.bench.cells import run_cell
from tokengym.bench.suite import Cell

BACKENDS = ("local", "ray")
RAY_EXTRA = "pip install 'tokengym[ray]'"


class RayUnavailableError(ValueError):
    """Ray was asked for but is not installed, or the cluster cannot be reached (the message says which): a
    setting this machine cannot run, reported as bad input."""


class LocalRunner:
    """Runs cells in this process (``jobs=1``) or in ``jobs`` spawned worker processes."""

    def __init__(self, jobs: int = 1) -> None:
        self.jobs = int(jobs)

    def describe(self) -> str:
        return "this process" if self.jobs == 1 else f"local process pool, {self.jobs} workers"

    def run(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, dict[str, Any]]]:
        """Each cell with its result, in the order they finish."""
        if self.jobs == 1:
            for cell in cells:
                yield cell, run_cell(cell)
            return
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(self.jobs, mp_context=context) as pool:
            pending = {pool.submit(run_cell, cell, list(sys.path)): cell for cell in cells}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield pending.pop(future), future.result()
            finally:
                for future in pending:
                    future.cancel()

    def close(self) -> None:
        return None


class RayRunner:
    """Runs each cell as a Ray task (one CPU) on a cluster, or on a Ray instance started here."""

    def __init__(self, address: str | None = None, jobs: int = 1) -> None:
        if importlib.util.find_spec("ray") is None:
            raise RayUnavailableError(f"--backend ray needs Ray, which is not installed: {RAY_EXTRA}")
        import ray

        self.address, self.jobs, self._started = address, int(jobs), False
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
            if address is None:
                options["num_cpus"] = self.jobs
            try:
                ray.init(address=address, **options)
            except (ConnectionError, RuntimeError, ValueError) as err:
                where = address or "a local instance"
                raise RayUnavailableError(
                    f"cannot reach the Ray cluster at {where}: {' '.join(str(err).split())}"
                ) from None
            self._started = True
        self._remote = ray.remote(num_cpus=1)(run_cell)

    def describe(self) -> str:
        return f"Ray cluster at {self.address}" if self.address else f"Ray, local instance with {self.jobs} CPUs"

    def run(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, dict[str, Any]]]:
        import ray

        path = list(sys.path)
        pending = {self._remote.remote(cell, path): cell for cell in cells}
        try:
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    cell = pending.pop(ref)
                    yield cell, ray.get(ref)
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()


def make_runner(backend: str, jobs: int = 1, ray_address: str | None = None) -> LocalRunner | RayRunner:
    """The runner of ``backend`` (:data:`BACKENDS`); Ray connects here, so an unreachable cluster fails now.

    Raises:
        ValueError: an unknown backend, ``jobs`` below 1, or ``ray_address`` without the Ray backend.
        RayUnavailableError: Ray missing or unreachable.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose {' or '.join(BACKENDS)}")
    if type(jobs) is not int or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, not {jobs!r}")
    if backend == "local":
        if ray_address is not None:
            raise ValueError("--ray-address goes with --backend ray")
        return LocalRunner(jobs)
    return RayRunner(ray_address, jobs)


def progress_bar(total: int, enabled: bool) -> Any:
    """A progress bar over cells with the time left (tqdm drawn with rich, as ``tokengym train`` shows), or a
    stand-in that draws nothing."""
    if not enabled:
        return _Silent()
    import warnings

    from tqdm import TqdmExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)  # tqdm.rich is marked experimental, as SB3 notes
        from tqdm.rich import tqdm

        return tqdm(total=total, unit="cell")


class _Silent:
    def update(self, n: int = 1) -> None:
        return None

    def set_postfix_str(self, text: str) -> None:
        return None

    def close(self) -> None:
        return None


def run_all(
    runner: LocalRunner | RayRunner,
    cells: Sequence[Cell],
    store: Callable[[Cell, dict[str, Any]], None],
    progress: bool = True,
) -> int:
    """Run ``cells`` on ``runner``, passing each result to ``store`` as it finishes; returns how many ran."""
    bar = progress_bar(len(cells), progress)
    count = itertools.count(1)
    ran = 0
    try:
        for cell, record in runner.run(cells):
            store(cell, record)
            ran = next(count)
            bar.set_postfix_str(cell.name)
            bar.update(1)
    finally:
        bar.close()
    return ran
