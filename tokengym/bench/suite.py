"""The grids of ``tokengym bench`` as data: tasks, agents, suites and the cells they expand to.

The bundled suites (``quick``, ``standard``, ``micro``) live in ``suites.yaml`` beside this module; a suite of
your own is a YAML file of the same form. :func:`load_suite` reads one and checks every entry before anything
runs: an unknown environment, agent or field, a budget of 0, a reference equal to nothing measurable, an agent on
a task of the other level, each is a :class:`SuiteError` naming the entry. :func:`expand_cells` gives the cells:
one training run and evaluation of an agent on a task with a seed.

Example:
    >>> suite = load_suite("micro")
    >>> [cell.name for cell in expand_cells(suite, suite.agent_specs())][:2]
    ['textnav_cmd/random/seed-0', 'textnav_cmd/random/seed-1']
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUITES_FILE = Path(__file__).with_name("suites.yaml")
"""The bundled suites."""
LEVELS = ("token", "command")
"""Task levels: a policy writes tokens, or picks one of the offered commands."""
SCORES = ("return", "won")
"""What an evaluation episode scores: its return, or 1 for a won game and 0 otherwise."""
AGENT_KINDS = ("random", "zero_shot", "sft", "train", "command", "custom")
"""How an agent is made (:mod:`tokengym.bench.agents`); ``custom`` is a bring-your-own algorithm."""
KIND_LEVELS = {
    "random": LEVELS,
    "zero_shot": ("token",),
    "sft": ("token",),
    "train": ("token",),
    "command": ("command",),
    "custom": LEVELS,
}
"""The task levels each kind of agent plays."""
BASELINE = "random"
"""The agent whose mean score is 0 on the normalised scale; it runs on every task."""


class SuiteError(ValueError):
    """A suite that cannot run: unknown names, missing or malformed fields, budgets out of range."""


@dataclass(frozen=True)
class Task:
    """One task of the suite file.

    Attributes:
        name: the task's name in the suite file.
        env_id: the registered environment.
        env_kwargs: its ``gym.make`` arguments (training split: the environment's default).
        level: ``"token"`` or ``"command"``.
        score: ``"return"`` or ``"won"``: what an evaluation episode scores.
        reference: the score that is 1 on the normalised scale (see ``suites.yaml`` for how each was stated).
        temperature: sampling temperature of every language-model policy on the task, in training and evaluation.
    """

    name: str
    env_id: str
    env_kwargs: dict[str, Any]
    level: str
    score: str
    reference: float
    temperature: float = 1.0


@dataclass(frozen=True)
class TaskPlan:
    """A task as a suite runs it.

    Attributes:
        task: the task.
        budget: training steps of every learning agent (token steps at token level, environment steps at
            command level).
        sft_steps: supervised steps (16 demonstrations each) of the ``sft`` agent.
        eval_episodes: held-out episodes each agent is scored on (reset seeds 1000000, 1000001, ...).
        agents: the suite's agents that run on it.
    """

    task: Task
    budget: int
    sft_steps: int
    eval_episodes: int
    agents: tuple[str, ...]


@dataclass(frozen=True)
class AgentSpec:
    """An agent: a built-in one of the suite file, or a bring-your-own algorithm (``kind="custom"``).

    Attributes:
        name: its name in tables.
        kind: one of :data:`AGENT_KINDS`.
        description: one line for the leaderboard.
        settings: for ``train``, the :class:`~tokengym.agents.running.config.TrainConfig` fields.
        preset: for ``command``, the preset of :func:`~tokengym.agents.running.presets.make_agent`.
        reference: for ``custom``, the import path (``module:Name`` or ``file.py:Name``).
        custom_levels: for ``custom``, the task levels it plays (its ``bench_levels``).
    """

    name: str
    kind: str
    description: str = ""
    settings: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    reference: str | None = None
    custom_levels: tuple[str, ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        return self.custom_levels or KIND_LEVELS[self.kind]


@dataclass(frozen=True)
class Suite:
    """A suite: its name, seeds and task plans, and the agent table of its file."""

    name: str
    version: int
    description: str
    seeds: tuple[int, ...]
    plans: tuple[TaskPlan, ...]
    agents: dict[str, AgentSpec]

    def agent_specs(self, names: Sequence[str] | None = None) -> list[AgentSpec]:
        """The built-in agents that run (``names``: a subset; the random baseline always runs)."""
        used = [name for name in self.agents if any(name in plan.agents for plan in self.plans)]
        if names is not None:
            unknown = [n for n in names if n not in self.agents]
            if unknown:
                raise SuiteError(f"unknown agent {unknown[0]!r}; suite {self.name!r} has {', '.join(used)}")
            used = [n for n in used if n in names or n == BASELINE]
        return [self.agents[name] for name in used]

    def fingerprint(self) -> str:
        """A hash of what makes results comparable: the suite's name, version and task plans (seeds and agents
        may grow in a results folder; budgets, tasks and evaluation may not)."""
        plans = [{**asdict(plan), "agents": None} for plan in self.plans]
        return digest({"suite": self.name, "version": self.version, "plans": plans})


@dataclass(frozen=True)
class Cell:
    """One run of the grid: an agent trained on a task with a seed, then scored.

    Attributes:
        plan: the task as the suite runs it.
        agent: the agent.
        seed: the seed of training, of the random agent and of evaluation sampling.
    """

    plan: TaskPlan
    agent: AgentSpec
    seed: int

    @property
    def name(self) -> str:
        return f"{self.plan.task.name}/{self.agent.name}/seed-{self.seed}"

    @property
    def key(self) -> str:
        """A hash of everything the cell's result depends on: a stored result with another key is another grid."""
        return digest({"plan": {**asdict(self.plan), "agents": None}, "agent": asdict(self.agent), "seed": self.seed})

    def relative_path(self) -> Path:
        return Path("cells") / self.plan.task.name / self.agent.name / f"seed-{self.seed}.json"


def digest(value: Any) -> str:
    """A short SHA-256 of a JSON-serialisable value (keys sorted)."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]


def bundled_suites() -> list[str]:
    """The names of the suites in ``suites.yaml``."""
    return list(_read(SUITES_FILE)["suites"])


def load_suite(name_or_path: str) -> Suite:
    """A bundled suite by name, or the one suite named in a YAML file (``path.yaml`` or ``path.yaml:name``).

    Raises:
        SuiteError: an unknown suite, or a suite whose entries do not check (see the module's docstring).
    """
    text = str(name_or_path)
    path, _, wanted = text.partition(".yaml:")
    if text.endswith((".yaml", ".yml")) or wanted:
        source = Path(path + ".yaml" if wanted else text)
        data = _read(source)
        names = list(data["suites"])
        if not wanted:
            if len(names) != 1:
                raise SuiteError(f"{source} holds suites {', '.join(names)}: name one, as {source}:NAME")
            wanted = names[0]
    else:
        source, wanted = SUITES_FILE, text
        data = _read(source)
    if wanted not in data["suites"]:
        raise SuiteError(f"unknown suite {wanted!r}; {source.name} has {', '.join(data['suites'])}")
    return _suite(wanted, data, source)


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SuiteError(f"no suite file {str(path)!r} (give a bundled suite's name: {', '.join(bundled_suites())})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise SuiteError(f"{path}: not valid YAML ({' '.join(str(err).split())})") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{path}: a suite file is a mapping with version, tasks, agents and suites")
    missing = [key for key in ("version", "tasks", "agents", "suites") if not isinstance(data.get(key), (dict, int))]
    if missing:
        raise SuiteError(f"{path}: missing {', '.join(missing)}")
    return data


def _fields(where: str, entry: Any, required: Sequence[str], optional: Sequence[str]) -> dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise SuiteError(f"{where} must be a mapping, not {type(entry).__name__}")
    unknown = sorted(set(entry) - set(required) - set(optional))
    if unknown:
        raise SuiteError(f"{where}: unknown field {unknown[0]!r}; it takes {', '.join([*required, *optional])}")
    absent = [key for key in required if key not in entry]
    if absent:
        raise SuiteError(f"{where}: missing {', '.join(absent)}")
    return dict(entry)


def _positive_int(where: str, value: Any, low: int = 1) -> int:
    if type(value) is not int or value < low:
        raise SuiteError(f"{where} must be an integer >= {low}, not {value!r}")
    return value


def _task(name: str, entry: Any) -> Task:
    from tokengym.agents.running.config import check_env_id

    where = f"task {name!r}"
    raw = _fields(where, entry, ("env_id", "level", "score", "reference"), ("env_kwargs", "temperature"))
    try:
        env_id = check_env_id(raw["env_id"])
    except ValueError as err:
        raise SuiteError(f"{where}: {err}") from None
    if raw["level"] not in LEVELS:
        raise SuiteError(f"{where}: level must be one of {', '.join(LEVELS)}, not {raw['level']!r}")
    if raw["score"] not in SCORES:
        raise SuiteError(f"{where}: score must be one of {', '.join(SCORES)}, not {raw['score']!r}")
    numbers = {key: raw.get(key, 1.0) for key in ("reference", "temperature")}
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            raise SuiteError(f"{where}: {key} must be a number, not {value!r}")
    if numbers["temperature"] <= 0:
        raise SuiteError(f"{where}: temperature must be positive, not {numbers['temperature']!r}")
    kwargs = raw.get("env_kwargs") or {}
    if not isinstance(kwargs, dict):
        raise SuiteError(f"{where}: env_kwargs must be a mapping")
    return Task(name, env_id, kwargs, raw["level"], raw["score"], float(numbers["reference"]), numbers["temperature"])


def _agent(name: str, entry: Any) -> AgentSpec:
    from tokengym.agents.running.config import TrainConfig
    from tokengym.agents.running.presets import AGENT_KINDS as COMMAND_PRESETS

    where = f"agent {name!r}"
    raw = _fields(where, entry, ("kind",), ("description", "settings", "preset"))
    kind = raw["kind"]
    if kind not in AGENT_KINDS or kind == "custom":
        raise SuiteError(f"{where}: kind must be one of {', '.join(AGENT_KINDS[:-1])}, not {kind!r}")
    settings = raw.get("settings") or {}
    if kind == "train":
        if "algo" not in settings:
            raise SuiteError(f"{where}: settings must name the algo (a TrainConfig field)")
        fixed = {"env_id", "total_timesteps", "seed", "out_dir", "resume", "env_kwargs", "temperature"}
        taken = sorted(fixed & set(settings))
        if taken:
            raise SuiteError(f"{where}: {taken[0]} is set by the task and the cell, not in an agent's settings")
        try:
            TrainConfig(**{**settings, "total_timesteps": 10**6})
        except (TypeError, ValueError) as err:
            raise SuiteError(f"{where}: settings do not make a TrainConfig: {err}") from None
    elif settings:
        raise SuiteError(f"{where}: only agents of kind 'train' take settings")
    preset = raw.get("preset")
    if kind == "command" and preset not in COMMAND_PRESETS:
        raise SuiteError(f"{where}: preset must be one of {', '.join(COMMAND_PRESETS)}, not {preset!r}")
    return AgentSpec(name, kind, str(raw.get("description", "")), dict(settings), preset)


def _suite(name: str, data: dict[str, Any], source: Path) -> Suite:
    version = _positive_int(f"{source.name}: version", data["version"])
    tasks = {key: _task(key, entry) for key, entry in data["tasks"].items()}
    agents = {key: _agent(key, entry) for key, entry in data["agents"].items()}
    where = f"suite {name!r}"
    raw = _fields(where, data["suites"][name], ("seeds", "tasks"), ("description",))
    seeds = raw["seeds"]
    if not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds):
        raise SuiteError(f"{where}: seeds must be a non-empty list of distinct integers")
    for seed in seeds:
        _positive_int(f"{where}: a seed", seed, low=0)
    if not isinstance(raw["tasks"], dict) or not raw["tasks"]:
        raise SuiteError(f"{where}: tasks must map task names to their budgets and agents")
    plans = []
    for task_name, entry in raw["tasks"].items():
        if task_name not in tasks:
            raise SuiteError(f"{where}: unknown task {task_name!r}; the file defines {', '.join(tasks)}")
        task = tasks[task_name]
        at = f"{where}, task {task_name!r}"
        plan = _fields(at, entry, ("budget", "eval_episodes", "agents"), ("sft_steps",))
        budget = _positive_int(f"{at}: budget", plan["budget"])
        episodes = _positive_int(f"{at}: eval_episodes", plan["eval_episodes"])
        names = plan["agents"]
        if not isinstance(names, list) or BASELINE not in names:
            raise SuiteError(f"{at}: agents must be a list that includes {BASELINE!r} (the 0 of the normalised scale)")
        for agent_name in names:
            if agent_name not in agents:
                raise SuiteError(f"{at}: unknown agent {agent_name!r}; the file defines {', '.join(agents)}")
            if task.level not in agents[agent_name].levels:
                raise SuiteError(
                    f"{at}: agent {agent_name!r} plays {' or '.join(agents[agent_name].levels)}-level tasks"
                )
        sft = "sft" in [agents[n].kind for n in names]
        if sft and "sft_steps" not in plan:
            raise SuiteError(f"{at}: the sft agent needs sft_steps")
        sft_steps = _positive_int(f"{at}: sft_steps", plan.get("sft_steps", 1))
        plans.append(TaskPlan(task, budget, sft_steps, episodes, tuple(names)))
    return Suite(name, version, str(raw.get("description", "")), tuple(seeds), tuple(plans), agents)


def select_tasks(suite: Suite, names: Sequence[str] | None) -> Suite:
    """The suite with only the tasks ``names`` (``None``: all of them)."""
    if names is None:
        return suite
    known = [plan.task.name for plan in suite.plans]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SuiteError(f"unknown task {unknown[0]!r}; suite {suite.name!r} has {', '.join(known)}")
    plans = tuple(plan for plan in suite.plans if plan.task.name in names)
    return Suite(suite.name, suite.version, suite.description, suite.seeds, plans, suite.agents)


def expand_cells(suite: Suite, agents: Sequence[AgentSpec], seeds: Sequence[int] | None = None) -> list[Cell]:
    """Every cell: each task, each agent that runs on it (built-in agents as the suite lists them, custom agents
    on every task of a level they play), each seed; in that order."""
    cells = []
    for plan in suite.plans:
        for agent in agents:
            runs = agent.name in plan.agents if agent.kind != "custom" else plan.task.level in agent.levels
            if runs:
                cells.extend(Cell(plan, agent, seed) for seed in (seeds or suite.seeds))
    return cells
