"""Reward-weight sweeps: one policy per weight of a reward term, every component scored on held-out episodes.

A sweep reads a reward spec in which ``w`` is the weight of one or more terms,
``"fact_coverage + w*verbosity(ratio=0.7)"``. For each weight it writes the spec with that number in place of
``w`` (``"fact_coverage + 0.5*verbosity(ratio=0.7)"``), trains a policy on it with
:func:`~tokengym.agents.running.train.train` for each seed, and scores the final checkpoint on held-out episodes
with :func:`~tokengym.agents.running.evaluate.evaluate_model`, which reports each reward component unweighted.
:mod:`~tokengym.agents.running.sweep_report` then turns the scores into a table of weight x component (mean and
standard error), a Pareto-front plot and a JSON summary that says whether each component moves with the weight
the way its weight says.

The spec grammar (:mod:`tokengym.rewards.spec`) reads ``w*verbosity`` as a product of two names and refuses it
("should be NUMBER*name"); ``w`` is therefore replaced before the grammar reads the spec, and only where it
weighs a term: ``w*B``, ``-w*B`` or ``B*w``. A spec without ``w``, a ``w`` anywhere else (an argument, a term of
its own), a spec in which ``w`` weighs every term (the weight would only scale the reward), weights that are not
finite numbers, fewer than two weights and a weight given twice are refused when the configuration is made,
before anything trains.

A sweep folder::

    runs/sweep/
      sweep.json                  the settings every run shares (a resumed sweep must have the same ones)
      weight-0.5/seed-0/          a ``tokengym train`` run folder (checkpoints/, learning_curve.png) and
                                  eval.json, the held-out scores of its final checkpoint
      table.csv, table.md         weight x component: mean and standard error
      pareto.png                  the components against each other, the Pareto front highlighted
      summary.json                the table, the front and each component's direction along the weights

A run is finished when its newest checkpoint is the final one of a run of the asked steps; with ``resume``, a
rerun skips finished runs (and reuses their scores when the evaluation settings are the same), continues runs
that stopped at a periodic checkpoint (``checkpoint_every``), and trains the rest. Each held-out episode ``s`` is
scored as ``tokengym eval ENV --model <run> --seed s --episodes 1`` scores it (the test split, the environment's
action masks, tokens sampled with torch seeded by ``s``), so that every episode's components are kept, not only
their means.

Example:
    >>> from tokengym.agents.running.config import TrainConfig
    >>> cfg = SweepConfig(
    ...     TrainConfig("Summarization-v0", reward="fact_coverage + w*verbosity(ratio=0.7)", total_timesteps=16384),
    ...     weights=(0, 0.5, 1, 2),
    ... )
    >>> cfg.spec(0.5)
    'fact_coverage + 0.5*verbosity(ratio=0.7)'
    >>> cfg.template.swept, cfg.template.fixed
    ({'verbosity': 1.0}, {'fact_coverage': 1.0})
    >>> result = run_sweep(cfg, "runs/sweep")        # doctest: +SKIP
    >>> result.summary["monotone"]["verbosity"]      # doctest: +SKIP
    {'direction': 'increasing', 'expected': 'increasing', 'as_expected': True, 'spearman': 1.0}
"""

from __future__ import annotations

import io
import json
import math
import time
import tokenize
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from tokengym.agents.running.config import MAX_SEED, TrainConfig, check_fields
from tokengym.envs.validation import short_repr
from tokengym.rewards.spec import MAX_SPEC_CHARS, RewardSpecError, parse_reward_spec

__all__ = [
    "SWEEP_VARIABLE",
    "RunScores",
    "SweepConfig",
    "SweepResult",
    "SweepSettingsError",
    "SweepSpecError",
    "SweepTemplate",
    "parse_numbers",
    "read_template",
    "run_sweep",
]

SWEEP_VARIABLE = "w"
"""The name that stands for the swept weight in a reward spec."""
FORMAT = "tokengym-sweep"
FORMAT_VERSION = 1
SETTINGS_FILE = "sweep.json"
EVAL_FILE = "eval.json"
_EXAMPLE = "'fact_coverage + w*verbosity(ratio=0.7)'"
_NOT_COMPARED = ("out_dir", "seed", "resume", "eval_episodes", "progress_bar", "tensorboard", "total_timesteps")
"""Training settings that do not change what a finished run learned, or that the sweep sets per run (the steps
are compared on their own: they may rise, and the runs then train further)."""


class SweepSpecError(ValueError):
    """A reward spec that cannot be swept: no ``w``, a ``w`` that does not weigh a term, or one that weighs all."""


class SweepSettingsError(ValueError):
    """A sweep folder that holds a sweep with other settings (or a damaged description of one)."""


# ----------------------------------------------------------------------------------------------- the template


@dataclass(frozen=True)
class SweepTemplate:
    """A reward spec with the sweep variable: its text, and the terms ``w`` weighs and those it does not.

    Attributes:
        text: the spec as given, ``"fact_coverage + w*verbosity(ratio=0.7)"``.
        swept: each term ``w`` weighs, with its coefficient (``w*B``: 1, ``-w*B``: -1).
        fixed: every other term, with its weight.
    """

    text: str
    swept: dict[str, float]
    fixed: dict[str, float]
    _spans: tuple[tuple[int, int], ...] = field(repr=False)

    def spec(self, weight: float) -> str:
        """The spec with ``weight`` in place of every ``w``.

        Example:
            >>> read_template("rouge_l - w*verbosity").spec(0.25)
            'rouge_l - 0.25*verbosity'
        """
        return _substitute(self.text, self._spans, weight)

    def sign(self, term: str) -> float:
        """+1 for a term the reward pays more as its value rises, -1 for one it charges (``- w*fabrication``,
        ``-0.5*verbosity``); a term's value is better where it is higher times its sign."""
        weight = self.swept.get(term, self.fixed.get(term, 1.0))
        return -1.0 if weight < 0 else 1.0

    def expected_direction(self, term: str, negative_weights: bool = False) -> str | None:
        """How ``term``'s held-out value should move as the weight rises: ``"increasing"``, ``"decreasing"``, or
        ``None`` where the spec does not say.

        For a reward ``F + w*S`` and two weights ``w1 < w2``, each best policy scores at least the other's under its
        own weight; adding the two inequalities gives ``S2 >= S1``, and with ``w1 >= 0`` the first alone gives
        ``F1 >= F2``. So a term ``w`` weighs moves with the sign of its coefficient, and over weights that are not
        negative the one fixed term moves against the sign of its weight. With several fixed terms only their
        weighted sum is bound (:meth:`parts`); a term the spec does not name is not bound at all.

        Args:
            term: a term of the spec.
            negative_weights: whether the sweep has weights below 0 (then no fixed term is bound).
        """
        if term in self.swept:
            return "increasing" if self.swept[term] > 0 else "decreasing"
        if term in self.fixed and len(self.fixed) == 1 and not negative_weights:
            return "decreasing" if self.fixed[term] >= 0 else "increasing"
        return None

    def parts(self, means: Mapping[str, float]) -> tuple[float, float]:
        """The fixed part ``F`` and the swept part ``S`` of the reward ``F + w*S`` at these component values
        (``F`` should not rise with ``w``, ``S`` should not fall)."""
        fixed = sum(weight * means[term] for term, weight in self.fixed.items())
        swept = sum(coefficient * means[term] for term, coefficient in self.swept.items())
        return fixed, swept


def read_template(text: Any) -> SweepTemplate:
    """Read a reward spec whose sweep variable ``w`` weighs one or more terms.

    The spec is read twice by the spec grammar, with ``w`` as 1 and as 2: a term whose weight changes is swept
    (its weight at 1 is its coefficient), the others are fixed.

    Example:
        >>> template = read_template("fact_coverage + w*verbosity(ratio=0.7)")
        >>> template.swept, template.fixed, template.spec(2)
        ({'verbosity': 1.0}, {'fact_coverage': 1.0}, 'fact_coverage + 2.0*verbosity(ratio=0.7)')

    Raises:
        SweepSpecError: (a ``ValueError``) a spec without ``w``, with ``w`` anywhere but as the weight of a
            term, or with ``w`` weighing every term.
        RewardSpecError: a spec the grammar refuses for another reason (its message says where).
    """
    if not isinstance(text, str):
        raise SweepSpecError(f"a sweep's reward is a spec string such as {_EXAMPLE}, not {short_repr(text)}")
    spans = _variable_spans(text)
    if not spans:
        raise SweepSpecError(
            f"reward spec {text!r} has no sweep variable: write the weight to sweep as {SWEEP_VARIABLE}, e.g. "
            f"{_EXAMPLE}"
        )
    at_one, at_two = (_terms(text, spans, value) for value in (1.0, 2.0))
    swept: dict[str, float] = {}
    fixed: dict[str, float] = {}
    for (one, name, kwargs_one), (two, _, kwargs_two) in zip(at_one, at_two, strict=True):
        if kwargs_one != kwargs_two:
            raise SweepSpecError(
                f"reward spec {text!r}: {SWEEP_VARIABLE} is the sweep variable and stands for the weight of a term "
                f"({SWEEP_VARIABLE}*{name}), not for an argument of {name}"
            )
        if one == two:
            fixed[name] = one
        elif two == 2 * one:
            swept[name] = one
        else:  # the grammar has no other products; kept as a guard
            raise SweepSpecError(f"reward spec {text!r}: the weight of {name} is not a multiple of {SWEEP_VARIABLE}")
    if not fixed:
        raise SweepSpecError(
            f"reward spec {text!r}: {SWEEP_VARIABLE} weighs every term, so the weight would only scale the reward; "
            f"keep at least one term with a fixed weight, e.g. {_EXAMPLE}"
        )
    return SweepTemplate(text, swept, fixed, spans)


def _variable_spans(text: str) -> tuple[tuple[int, int], ...]:
    """The character spans of the name ``w`` in ``text`` (a quoted string's letters are not names)."""
    if len(text) > MAX_SPEC_CHARS:
        parse_reward_spec(text)  # raises the grammar's own error for a spec past its limits
    starts, offset = [], 0
    for line in io.StringIO(text).readlines():
        starts.append(offset)
        offset += len(line)
    spans = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.NAME and token.string == SWEEP_VARIABLE:
                (row, col), (end_row, end_col) = token.start, token.end
                spans.append((starts[row - 1] + col, starts[end_row - 1] + end_col))
    except (tokenize.TokenError, SyntaxError):
        parse_reward_spec(text)  # an unclosed bracket or quote: the grammar says where
        raise
    return tuple(spans)


def _substitute(text: str, spans: Sequence[tuple[int, int]], weight: float) -> str:
    literal = repr(float(weight))
    out, last = [], 0
    for start, end in spans:
        out += [text[last:start], literal]
        last = end
    return "".join([*out, text[last:]]).strip()


def _terms(text: str, spans: Sequence[tuple[int, int]], value: float) -> list[tuple[float, str, dict[str, Any]]]:
    try:
        return parse_reward_spec(_substitute(text, spans, value))
    except RewardSpecError as err:
        raise SweepSpecError(
            f"reward spec {text!r}: {SWEEP_VARIABLE} is the sweep variable and may only weigh a term "
            f"('A + {SWEEP_VARIABLE}*B', 'A - {SWEEP_VARIABLE}*B', 'A + B*{SWEEP_VARIABLE}'); with "
            f"{SWEEP_VARIABLE} = {value:g}: {err}"
        ) from None


# -------------------------------------------------------------------------------------------------- numbers


def parse_numbers(text: str, what: str = "weight", integers: bool = False) -> list[float] | list[int]:
    """Comma-separated numbers, as ``--weights 0,0.25,1`` and ``--seeds 0,1,2`` give them.

    Example:
        >>> parse_numbers("0, 0.25,1"), parse_numbers("0,1", "seed", integers=True)
        ([0.0, 0.25, 1.0], [0, 1])

    Raises:
        ValueError: an empty list or item, or an item that is not a (finite) number, or not an integer.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"give the {what}s as comma-separated numbers, e.g. 0,0.5,1,2")
    values: list[Any] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"{text!r} has an empty {what} between commas; give numbers such as 0,0.5,1,2")
        try:
            value = int(item) if integers else float(item)
        except ValueError:
            kind = "an integer" if integers else "a number"
            raise ValueError(f"{what} {item!r} is not {kind} (in {text!r})") from None
        if not integers and not math.isfinite(value):
            raise ValueError(f"{what} {item!r} is not a finite number (in {text!r})")
        values.append(value)
    return values


def _check_weights(weights: Any) -> tuple[float, ...]:
    if isinstance(weights, str) or not isinstance(weights, Iterable):
        raise ValueError(f"weights must be a sequence of numbers such as (0, 0.5, 1, 2), not {short_repr(weights)}")
    checked: list[float] = []
    for weight in weights:
        if isinstance(weight, (bool, np.bool_)) or not isinstance(weight, (int, float, np.integer, np.floating)):
            raise ValueError(f"weight {short_repr(weight)} is not a number; weights are numbers such as 0.5")
        if not math.isfinite(float(weight)):
            raise ValueError(f"weight {short_repr(weight)} is not a finite number")
        if float(weight) in checked:
            raise ValueError(f"weight {float(weight):g} is given twice; give each weight once")
        checked.append(float(weight))
    if len(checked) < 2:
        shown = f" (only {checked[0]:g})" if checked else ""
        raise ValueError(f"a sweep needs at least two weights{shown}, e.g. 0,0.5,1,2")
    return tuple(sorted(checked))


def _check_seeds(seeds: Any) -> tuple[int, ...]:
    from tokengym.envs.validation import check_int

    if isinstance(seeds, str) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a sequence of integers such as (0, 1, 2), not {short_repr(seeds)}")
    checked = [check_int("seed", seed, low=0, high=MAX_SEED) for seed in seeds]
    if not checked:
        raise ValueError("a sweep needs at least one seed")
    repeated = sorted({s for s in checked if checked.count(s) > 1})
    if repeated:
        raise ValueError(f"seed {repeated[0]} is given twice; give each seed once")
    return tuple(checked)


# --------------------------------------------------------------------------------------------- configuration


@dataclass
class SweepConfig:
    """What a sweep trains and how it scores it.

    Every field is checked when the configuration is made, and every run's
    :class:`~tokengym.agents.running.config.TrainConfig` is built then too, so a setting no run can take fails
    before anything trains.

    Attributes:
        template: the reward spec read (:class:`SweepTemplate`): the terms ``w`` weighs and the fixed ones.
    """

    train: TrainConfig
    """The settings of every run. Its ``reward`` is the spec to sweep, with ``w`` as the weight of one or more
    terms; ``seed``, ``out_dir``, ``resume`` and ``eval_episodes`` are set per run by the sweep. Its ``model_name``
    is the starting model of every run: "tiny", or a warm start folder (``tokengym sft``)."""
    weights: Sequence[float]
    """The values of ``w``, at least two and each once; stored in ascending order."""
    seeds: Sequence[int] = (0,)
    """Training seeds: each weight trains one policy per seed."""
    eval_episodes: int = 32
    """Held-out episodes scored per run (seeds ``eval_seed`` onwards, the test split where the task has splits)."""
    eval_seed: int = 0
    """The first held-out episode's seed; every run is scored on the same episodes."""
    x: str | None = None
    """The plot's horizontal axis: a component of the spec (default: its first term that ``w`` does not weigh)."""
    y: str | None = None
    """The plot's vertical axis: a component of the spec (default: its first term that ``w`` weighs)."""
    resume: bool = False
    """Continue the sweep in its folder: finished runs are not trained again, and their scores are reused."""

    def __post_init__(self) -> None:
        if not isinstance(self.train, TrainConfig):
            raise ValueError(f"train must be a TrainConfig, not {type(self.train).__name__}")
        self.weights = _check_weights(self.weights)
        self.seeds = _check_seeds(self.seeds)
        check_fields(self, ints={"eval_episodes": (1, None), "eval_seed": (0, MAX_SEED)})
        if self.eval_seed + self.eval_episodes - 1 > MAX_SEED:
            raise ValueError(f"eval_seed + eval_episodes goes past the largest seed, {MAX_SEED}; lower one of them")
        if self.train.reward is None:
            where = " (it is in train.env_kwargs: give it as train.reward)" if "reward" in self.train.env_kwargs else ""
            raise SweepSpecError(
                f"a sweep needs a reward spec with the sweep variable, e.g. --reward {_EXAMPLE}{where}"
            )
        self.template = read_template(self.train.reward)
        terms = [*self.template.fixed, *self.template.swept]
        for axis, default in (("x", next(iter(self.template.fixed))), ("y", next(iter(self.template.swept)))):
            value = getattr(self, axis)
            if value is None:
                setattr(self, axis, default)
            elif value not in terms:
                raise ValueError(f"{axis}={value!r} is not a term of the reward spec; choose one of {terms}")
        if self.x == self.y:
            raise ValueError(f"x and y are both {self.x!r}; plot two different components")
        for weight in self.weights:  # every run's configuration, checked now rather than when its turn comes
            for seed in self.seeds:
                self.run_config(weight, seed, "runs/sweep")

    def spec(self, weight: float) -> str:
        """The reward spec of ``weight``."""
        return self.template.spec(weight)

    def run_config(self, weight: float, seed: int, out: str | Path, resume: bool = False) -> TrainConfig:
        """The training configuration of one run of the sweep written to ``out``."""
        return replace(
            self.train,
            reward=self.spec(weight),
            seed=seed,
            out_dir=str(run_folder(out, weight, seed)),
            resume=resume,
            eval_episodes=0,  # the sweep scores every run itself, episode by episode
        )

    def settings(self) -> dict[str, Any]:
        """The settings a resumed sweep must share with the sweep it continues (weights and seeds may change)."""
        train = {k: v for k, v in asdict(self.train).items() if k not in _NOT_COMPARED}
        return {"train": train, "total_timesteps": self.train.total_timesteps}


def run_folder(out: str | Path, weight: float, seed: int) -> Path:
    """Where one run of a sweep lives: ``<out>/weight-<w>/seed-<s>``.

    Example:
        >>> run_folder("runs/sweep", 0.25, 1).as_posix()
        'runs/sweep/weight-0.25/seed-1'
    """
    return Path(out) / f"weight-{float(weight)!r}" / f"seed-{seed}"


# ---------------------------------------------------------------------------------------------- the sweep


@dataclass
class RunScores:
    """One run's held-out scores: per episode, the return and each reward component (unweighted).

    Attributes:
        weight: the run's weight.
        seed: its training seed.
        checkpoint: the checkpoint scored.
        num_timesteps: its steps.
        episodes: the held-out episodes' seeds.
        returns: each episode's return under the run's own reward.
        components: each component's value in each episode.
        completions: each episode's last completion.
        trained: whether this call trained the run (``False``: it was finished already).
        minutes: training minutes in this call.
    """

    weight: float
    seed: int
    checkpoint: str
    num_timesteps: int
    episodes: list[int]
    returns: list[float]
    components: dict[str, list[float]]
    completions: list[str]
    trained: bool = False
    minutes: float = 0.0

    def record(self, spec: str) -> dict[str, Any]:
        """The JSON written to the run's ``eval.json``."""
        fields = asdict(self)
        del fields["trained"], fields["minutes"]
        return {**fields, "spec": spec}


@dataclass
class SweepResult:
    """What a sweep wrote, and its summary (:func:`~tokengym.agents.running.sweep_report.summarise`)."""

    out_dir: Path
    runs: list[RunScores]
    summary: dict[str, Any]
    table_csv: Path
    table_md: Path
    plot: Path
    summary_file: Path
    minutes: float


def run_sweep(cfg: SweepConfig, out: str | Path, log: Callable[..., None] = print) -> SweepResult:
    """Train and score every weight and seed of ``cfg`` into the folder ``out``; write the table, plot and summary.

    Args:
        cfg: the sweep.
        out: its folder (see the module docstring).
        log: where progress messages go.

    Raises:
        FileExistsError: ``out`` holds a sweep and ``resume`` is off, or holds something else.
        SweepSettingsError: resuming a sweep whose settings differ (each difference listed).
        ValueError: ``resume`` with no sweep in ``out``; reward names the registry does not know; and the errors
            of :func:`~tokengym.agents.running.train.train`.
        CheckpointError: a run folder that holds another run, or a damaged checkpoint.
    """
    from tokengym.agents.running.guards import check_output_folder
    from tokengym.agents.running.sweep_report import write_reports
    from tokengym.data.loaders import write_text_atomic

    start = time.perf_counter()
    if not str(out).strip():
        raise ValueError("the sweep's folder (--out) must name a folder, not an empty string")
    out = Path(out)
    check_output_folder(out)
    _check_folder(out, cfg)
    names = _check_rewards(cfg)
    # Written again on a resume: the steps it records may have risen.
    state = {"format": FORMAT, "format_version": FORMAT_VERSION, "settings": cfg.settings()}
    write_text_atomic(out / SETTINGS_FILE, json.dumps(state, indent=2, allow_nan=False) + "\n")
    runs = []
    total = len(cfg.weights) * len(cfg.seeds)
    for number, (weight, seed) in enumerate(((w, s) for w in cfg.weights for s in cfg.seeds), start=1):
        log(f"[{number}/{total}] weight {weight:g}, seed {seed}: {cfg.spec(weight)}")
        runs.append(_run_one(cfg, out, weight, seed, log))
    summary, files = write_reports(cfg, runs, out, names)
    minutes = (time.perf_counter() - start) / 60
    return SweepResult(out, runs, summary, *files, minutes=minutes)


def _check_folder(out: Path, cfg: SweepConfig) -> None:
    """Refuse a folder this sweep may not write to; writes nothing."""
    where = str(out)
    state_file = out / SETTINGS_FILE
    if state_file.exists():
        try:
            state = json.loads(state_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            state = None
        if not isinstance(state, dict) or state.get("format") != FORMAT or not isinstance(state.get("settings"), dict):
            raise SweepSettingsError(f"{state_file} is not the description of a tokengym sweep")
        differences = _differences(state["settings"], cfg.settings())
        if differences:
            raise SweepSettingsError(
                f"{where!r} holds a sweep with other settings: {'; '.join(differences)}. Resume it with the same "
                "settings (--weights, --seeds, the evaluation and a larger --steps may change), or choose another --out"
            )
        if not cfg.resume:
            raise FileExistsError(
                f"{where!r} already holds a sweep; pass --resume to continue it, or choose another --out"
            )
        return
    if cfg.resume:
        raise ValueError(f"--resume: {where!r} holds no sweep to resume; start without --resume")
    if out.is_dir() and any(out.iterdir()):
        raise FileExistsError(f"{where!r} is not empty and holds no sweep; choose another --out")


def _differences(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    found = []
    before, after = saved.get("train", {}), now["train"]
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            found.append(f"{key} was {before.get(key)!r}, now {after.get(key)!r}")
    steps_before = saved.get("total_timesteps")
    if not isinstance(steps_before, int) or now["total_timesteps"] < steps_before:
        found.append(f"total_timesteps was {steps_before!r}, now {now['total_timesteps']} (it may only rise)")
    return found


def _check_rewards(cfg: SweepConfig) -> dict[str, str]:
    """Build every weight's reward and one environment with it: an unknown reward name, a bad argument or a
    reward the environment refuses fails here, before anything trains. Returns the name of each term's component
    (a quoted reference to a reward of one's own is named by its function, as the environment reports it)."""
    from tokengym.agents.running.algorithms import env_kwargs_for_model, make_env
    from tokengym.rewards import make_reward

    for weight in cfg.weights:
        reward = make_reward(cfg.spec(weight))
    terms = [name for _, name, _ in parse_reward_spec(cfg.spec(cfg.weights[0]))]
    run_cfg = cfg.run_config(cfg.weights[0], cfg.seeds[0], ".")
    make_env(run_cfg.env_id, env_kwargs_for_model(run_cfg.model_name, run_cfg.stored_env_kwargs)).close()
    return dict(zip(terms, reward.weights, strict=True))


def _finished_checkpoint(run_cfg: TrainConfig) -> Any:
    """The run's final checkpoint when the run is finished (``None``: it has to train, or train further).

    Raises:
        CheckpointError: the folder holds a run of other settings, or a damaged newest checkpoint.
    """
    from tokengym.agents.running.checkpoint import check_compatible, latest_checkpoint, load_run_checkpoint

    if latest_checkpoint(run_cfg.out_dir) is None:
        return None
    ckpt = load_run_checkpoint(run_cfg.out_dir, skip_damaged=False)
    check_compatible(
        ckpt,
        algorithm=run_cfg.algo,
        env_id=run_cfg.env_id,
        env_kwargs=run_cfg.stored_env_kwargs,
        model_name=run_cfg.model_name,
    )
    if ckpt.meta.get("final") and ckpt.num_timesteps >= run_cfg.total_timesteps:
        return ckpt
    return None


def _run_one(cfg: SweepConfig, out: Path, weight: float, seed: int, log: Callable[..., None]) -> RunScores:
    from tokengym.agents.running.checkpoint import latest_checkpoint
    from tokengym.agents.running.train import train

    run_cfg = cfg.run_config(weight, seed, out)
    ckpt = _finished_checkpoint(run_cfg)
    trained, minutes = False, 0.0
    if ckpt is None:
        partial = latest_checkpoint(run_cfg.out_dir) is not None
        result = train(replace(run_cfg, resume=partial), log=log)
        trained, minutes = True, result.minutes
        checkpoint, steps = result.checkpoint, result.num_timesteps
        log(f"  trained to step {steps} in {minutes:.1f} min")
    else:
        checkpoint, steps = ckpt.path, ckpt.num_timesteps
        log(f"  finished already ({steps} steps): not trained again")
    scores = _scores(cfg, run_cfg, weight, seed, Path(checkpoint), steps, log)
    scores.trained, scores.minutes = trained, minutes
    return scores


def _scores(
    cfg: SweepConfig, run_cfg: TrainConfig, weight: float, seed: int, checkpoint: Path, steps: int, log: Any
) -> RunScores:
    """The run's held-out scores: read from its ``eval.json`` when they are of this checkpoint and these
    episodes, else measured and written there."""
    from tokengym.data.loaders import write_text_atomic

    episodes = list(range(cfg.eval_seed, cfg.eval_seed + cfg.eval_episodes))
    record_file = Path(run_cfg.out_dir) / EVAL_FILE
    spec = run_cfg.reward or ""
    saved = _read_record(record_file)
    if (
        saved is not None
        and saved.get("checkpoint") == str(checkpoint)
        and saved.get("num_timesteps") == steps
        and saved.get("episodes") == episodes
        and saved.get("spec") == spec
    ):
        log(f"  held-out scores of {len(episodes)} episodes: reused from {record_file}")
        saved.pop("spec")
        return RunScores(**saved)
    scores = evaluate_episodes(str(checkpoint), run_cfg.env_id, spec, episodes, run_cfg.env_kwargs)
    scores = replace(scores, weight=weight, seed=seed, num_timesteps=steps)
    write_text_atomic(record_file, json.dumps(scores.record(spec), allow_nan=False) + "\n")
    means = ", ".join(f"{name} {np.mean(values):+.3f}" for name, values in scores.components.items())
    log(f"  held-out ({len(episodes)} episodes): {means}")
    return scores


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    keys = {f for f in RunScores.__dataclass_fields__ if f not in ("trained", "minutes")} | {"spec"}
    return record if isinstance(record, dict) and set(record) == keys else None


def evaluate_episodes(
    model: str, env_id: str, spec: str, episodes: Sequence[int], env_kwargs: dict[str, Any] | None = None
) -> RunScores:
    """Score ``model`` on each held-out episode, keeping every episode's components.

    Episode ``s`` is :func:`~tokengym.agents.running.evaluate.evaluate_model` with ``seed=s, episodes=1``: the
    figure ``tokengym eval ENV --model MODEL --seed s --episodes 1 --reward SPEC`` prints.

    Example:
        >>> scores = evaluate_episodes("tiny", "Summarization-v0", "fact_coverage + 0.5*verbosity", [0, 1])
        >>> sorted(scores.components), len(scores.returns)
        (['fact_coverage', 'verbosity'], 2)
    """
    from tokengym.agents.running.evaluate import evaluate_model
    from tokengym.feedback.reward_model_io import quiet_transformers

    returns: list[float] = []
    per_episode: list[dict[str, float]] = []
    completions: list[str] = []
    kwargs = {**(env_kwargs or {}), "reward": spec}
    with quiet_transformers():  # one model load per episode: no load report each time
        for seed in episodes:
            report = evaluate_model(model, env_id, episodes=1, seed=seed, metrics=None, env_kwargs=kwargs).report
            returns.append(report.returns[0])
            per_episode.append(report.components)
            completions.append(report.samples[0]["completion"])
    names = dict.fromkeys(name for parts in per_episode for name in parts)
    # a component sums over the steps that paid it: an episode in which none did scores 0 on it
    components = {name: [parts.get(name, 0.0) for parts in per_episode] for name in names}
    return RunScores(0.0, 0, model, 0, list(episodes), returns, components, completions)
