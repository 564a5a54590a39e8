"""The run folder of an RLHF loop: its settings, the record of each finished round, the metrics log and the plot.

A run folder (:func:`~tokengym.feedback.rlhf.run_rlhf` writes it)::

    runs/rlhf/
      rlhf.json             the settings every round shares (a resumed run must have the same ones)
      zero_shot.json        the starting model on the held-out prompts
      log.jsonl             one line per measurement: the zero-shot one, points inside each round's PPO, each round
      overoptimisation.png  learned and gold reward against the KL to the starting model
      tb/                   TensorBoard: PPO's own logs (ppo_0) and rlhf/gold, rlhf/learned, rlhf/kl, rlhf/rm_accuracy
      feedback.db           with human judges: the pairs and their judgements
      round-1/
        pairs.jsonl         the candidate pairs sampled from the policy
        preferences.jsonl   their judgements
        rm/                 the reward model trained on every judgement so far
        policy/             the policy after the round's PPO (a tokengym checkpoint: ``tokengym eval --model``)
        record.json         what the round measured; written last, so a round is finished exactly when it is there

JSON files are written atomically (a temporary file flushed, then renamed). A round's ``record.json`` is removed
when the round starts, so a round that was interrupted never counts as finished, and the log lines of rounds
that did not finish are dropped when a run resumes.

Example:
    >>> import tempfile
    >>> folder = RunFolder(tempfile.mkdtemp())
    >>> folder.finished_rounds()
    0
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from tokengym.data.loaders import write_text_atomic

__all__ = ["FORMAT", "MetricsLog", "RLHFSettingsError", "RunFolder", "plot_overoptimisation", "write_json"]

FORMAT = "tokengym-rlhf"
FORMAT_VERSION = 1


class RLHFSettingsError(ValueError):
    """A run folder that holds an RLHF run with other settings (or a damaged description of one)."""


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as JSON to ``path`` atomically (finite numbers only).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.json"
        >>> write_json(path, {"a": 1}); path.read_text()
        '{\\n  "a": 1\\n}\\n'
    """
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


class RunFolder:
    """The files of one RLHF run (see the module docstring).

    Example:
        >>> import tempfile
        >>> run = RunFolder(tempfile.mkdtemp())
        >>> run.check({"seed": 0}, resume=False), run.round_dir(2).name
        (0, 'round-2')
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.root = Path(out_dir)
        self.state_file = self.root / "rlhf.json"
        self.zero_shot_file = self.root / "zero_shot.json"
        self.log_file = self.root / "log.jsonl"
        self.plot_file = self.root / "overoptimisation.png"
        self.tensorboard_dir = self.root / "tb"
        self.store_file = self.root / "feedback.db"

    def round_dir(self, k: int) -> Path:
        """The folder of round ``k`` (from 1)."""
        return self.root / f"round-{k}"

    # ------------------------------------------------------------------------------------------------ state

    def check(self, settings: Mapping[str, Any], resume: bool) -> int:
        """How many rounds are finished, after checking that this run may start or resume here; writes nothing.

        Raises:
            FileExistsError: the folder holds an RLHF run and ``resume`` is off, or it holds something else.
            RLHFSettingsError: resuming a run whose settings differ (listing each difference).
            ValueError: ``resume`` with no run to resume.
        """
        where = str(self.root)
        if self.state_file.exists():
            state = _read_json(self.state_file)
            if (
                not isinstance(state, dict)
                or state.get("format") != FORMAT
                or not isinstance(state.get("settings"), dict)
            ):
                raise RLHFSettingsError(f"{self.state_file} is not the description of a tokengym RLHF run")
            differences = _differences(state["settings"], settings)
            if differences:
                raise RLHFSettingsError(
                    f"{where!r} holds an RLHF run with other settings: {'; '.join(differences)}. Resume it with the "
                    "same settings (only --rounds may change), or choose another --out"
                )
            if not resume:
                raise FileExistsError(
                    f"{where!r} already holds an RLHF run ({self.finished_rounds()} round(s) finished); pass --resume "
                    "to continue it, or choose another --out"
                )
            return self.finished_rounds()
        if resume:
            raise ValueError(f"--resume: {where!r} holds no RLHF run to resume; start without --resume")
        if self.root.is_dir() and any(self.root.iterdir()):
            raise FileExistsError(f"{where!r} is not empty and holds no RLHF run; choose another --out")
        return 0

    def start(self, settings: Mapping[str, Any]) -> None:
        """Write the settings (a new run), and drop the log lines of rounds that did not finish (a resumed one)."""
        if not self.state_file.exists():
            write_json(self.state_file, {"format": FORMAT, "format_version": FORMAT_VERSION, "settings": settings})
        finished = self.finished_rounds()
        entries = [e for e in self.log() if e.get("round", 0) <= finished]
        if self.log_file.exists():
            self._rewrite_log(entries)

    def finished_rounds(self) -> int:
        """The rounds finished in a row from round 1: each with its record, reward model and policy checkpoint."""
        from tokengym.agents.running.checkpoint import is_checkpoint

        k = 0
        while True:
            folder = self.round_dir(k + 1)
            record = _read_json(folder / "record.json")
            if not (
                isinstance(record, dict)
                and record.get("round") == k + 1
                and (folder / "rm" / "reward_model.json").is_file()
                and is_checkpoint(folder / "policy")
            ):
                return k
            k += 1

    def record(self, k: int) -> dict[str, Any]:
        """The record of finished round ``k``."""
        return _read_json(self.round_dir(k) / "record.json")

    def begin_round(self, k: int) -> Path:
        """Make round ``k``'s folder and remove its record (an interrupted round never counts as finished)."""
        folder = self.round_dir(k)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "record.json").unlink(missing_ok=True)
        return folder

    def finish_round(self, k: int, record: Mapping[str, Any]) -> None:
        """Write round ``k``'s record: from here on the round is finished."""
        write_json(self.round_dir(k) / "record.json", dict(record))

    # -------------------------------------------------------------------------------------------------- log

    def log(self) -> list[dict[str, Any]]:
        """The metrics log's entries (a torn last line, from a killed write, is left out)."""
        if not self.log_file.exists():
            return []
        entries = []
        for line in self.log_file.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    def append_log(self, entry: Mapping[str, Any]) -> None:
        """Add one entry to the metrics log (flushed)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_file, "a", encoding="utf-8") as f:
            f.write(json.dumps(dict(entry), ensure_ascii=False, allow_nan=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def _rewrite_log(self, entries: Iterable[Mapping[str, Any]]) -> None:
        text = "".join(json.dumps(dict(e), ensure_ascii=False, allow_nan=False) + "\n" for e in entries)
        write_text_atomic(self.log_file, text)


class MetricsLog:
    """Each measurement to the run's ``log.jsonl`` and to TensorBoard (``rlhf/<name>`` at the entry's ``step``).

    TensorBoard is skipped, with a note to ``log``, when the tensorboard package is not installed.

    Example:
        >>> import tempfile
        >>> metrics = MetricsLog(RunFolder(tempfile.mkdtemp()))
        >>> metrics.write({"kind": "zero_shot", "round": 0, "step": 0, "gold": -0.1, "kl": 0.0})
        >>> metrics.close(); [e["gold"] for e in metrics.run.log()]
        [-0.1]
    """

    TAGS = ("gold", "learned", "kl", "rm_accuracy")

    def __init__(self, run: RunFolder, log: Callable[..., None] = print) -> None:
        import importlib.util

        self.run, self.tb = run, None
        if importlib.util.find_spec("tensorboard") is None:
            log("TensorBoard logs skipped: the tensorboard package is not installed (pip install tensorboard)")
        else:
            from stable_baselines3.common.logger import configure

            self.tb = configure(str(run.tensorboard_dir / "rlhf"), ["tensorboard"])

    def write(self, entry: Mapping[str, Any]) -> None:
        """Append ``entry`` to the log, and its measures to TensorBoard."""
        self.run.append_log(entry)
        if self.tb is None:
            return
        for name in self.TAGS:
            if entry.get(name) is not None:
                self.tb.record(f"rlhf/{name}", entry[name])
        self.tb.dump(int(entry.get("step", 0)))

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


def _differences(stored: Mapping[str, Any], given: Mapping[str, Any]) -> list[str]:
    """``"name is X there, Y here"`` for each setting that differs."""
    out = []
    for name in sorted(set(stored) | set(given)):
        there, here = stored.get(name, "(not set)"), given.get(name, "(not set)")
        if json.dumps(there, sort_keys=True) != json.dumps(here, sort_keys=True):
            out.append(f"{name} is {there!r} there, {here!r} here")
    return out


def _step(entry: Mapping[str, Any]) -> int:
    return int(entry.get("step", 0))


def plot_overoptimisation(entries: Iterable[Mapping[str, Any]], path: Path, title: str) -> None:
    """Write a PNG of the gold reward (left) and the learned reward (right) against the KL per token to the
    starting model: every measurement of the log, each round in its colour, the round ends with their errors.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "curve.png"
        >>> plot_overoptimisation([{"kind": "zero_shot", "round": 0, "gold": 0.1, "kl": 0.0}], path, "RLHF")
        >>> path.read_bytes()[:4]
        b'\\x89PNG'
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = [e for e in entries if e.get("kl") is not None]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k in sorted({int(e.get("round", 0)) for e in entries}):
        colour = colours[k % len(colours)]
        curve = sorted((e for e in entries if e.get("round", 0) == k and e["kind"] == "point"), key=_step)
        ends = [e for e in entries if e.get("round", 0) == k and e["kind"] in ("round", "zero_shot")]
        for ax, key in ((left, "gold"), (right, "learned")):
            label = "zero-shot" if k == 0 else f"round {k}"
            shown = [e for e in curve if e.get(key) is not None]
            if shown:  # the measurements along the round, on the curve's prompts
                ax.plot([e["kl"] for e in shown], [e[key] for e in shown], "-o", ms=3, color=colour, label=label)
                label = None
            for e in ends:  # the round's end (or the zero-shot model) on every held-out prompt
                if e.get(key) is not None:
                    ax.errorbar(
                        e["kl"],
                        e[key],
                        xerr=e.get("kl_se") or 0,
                        yerr=e.get(f"{key}_se") or 0,
                        fmt="s",
                        color=colour,
                        ms=6,
                        capsize=3,
                        label=label,
                    )
    left.set_title("gold reward (held out)")
    right.set_title("learned reward (held out, each round's reward model)")
    for ax in (left, right):
        ax.set_xlabel("KL(policy || starting model), nats per token")
        ax.grid(alpha=0.3)
    left.set_ylabel("mean reward")
    left.legend(loc="best", fontsize=8)
    fig.suptitle(
        f"{title}\nlines: along each round, on the curve's prompts; squares: round ends, every held-out prompt"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
