"""The configuration of a training run, :class:`TrainConfig`: the single source of its settings and defaults.

``tokengym train``'s flags are generated from its fields and their docstrings (:mod:`tokengym.cli.flags`), the
demo is a preset of it (:mod:`tokengym.agents.running.demo`), and :func:`~tokengym.agents.running.train.train`
and the builder (:func:`~tokengym.agents.running.algorithms.build_model`) read it.

Example:
    >>> cfg = TrainConfig(env_id="Dialogue-v0", algo="ppo", total_timesteps=1024, out_dir="runs/x")
    >>> cfg.n_envs * cfg.n_steps
    128
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import json
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tokengym.agents.running.algorithms import ALGORITHMS, MODULE_PREFIX
from tokengym.envs import all_ids
from tokengym.envs.validation import check_bool, check_int, check_mapping, check_number, short_repr

CG_MAX_STEPS = 10
N_CRITIC_UPDATES = 5
TRAIN_FREQ = 4
"""The defaults of TRPO's and DQN's cost settings, chosen so that a smoke run of a few hundred token steps takes
about a minute on a laptop CPU (figures in the README, from ``benchmarks/update_cost.py``)."""
VEC_ENVS = ("auto", "dummy", "subproc")
"""Values of :attr:`TrainConfig.vec_env`."""
MAX_SEED = 2**32 - 1
"""The largest seed of every command: NumPy's legacy seeding, which Stable-Baselines3 uses, takes 32 bits."""
MAX_ENVS = 256
"""The most parallel environments (``n_envs``): each is a process under ``subproc``, so a larger number is a typo
that would start more processes than a machine runs."""

IntLimits = Mapping[str, tuple[int | None, int | None]]
FloatLimits = Mapping[str, tuple[float | None, float | None, bool]]

INT_LIMITS: IntLimits = {
    "total_timesteps": (1, None),
    "seed": (0, MAX_SEED),
    "n_envs": (1, MAX_ENVS),
    "n_steps": (1, None),
    "batch_size": (1, None),
    "n_epochs": (1, None),
    "group_size": (1, None),
    "kl_horizon": (1, None),
    "nlpo_update_every": (1, None),
    "buffer_size": (1, None),
    "learning_starts": (0, None),
    "train_freq": (1, None),
    "gradient_steps": (1, None),
    "target_update_interval": (1, None),
    "cg_max_steps": (1, None),
    "n_critic_updates": (1, None),
    "checkpoint_every": (0, None),
    "eval_episodes": (0, None),
}
"""The range of each integer field of :class:`TrainConfig`: (lowest, highest), ``None`` for no bound."""
FLOAT_LIMITS: FloatLimits = {
    "learning_rate": (0.0, None, True),
    "value_lr_scale": (0.0, None, True),
    "temperature": (0.0, None, True),
    "gamma": (0.0, 1.0, True),
    "gae_lambda": (0.0, 1.0, False),
    "ent_coef": (None, None, False),
    "kl_coef": (0.0, None, False),
    "target_kl": (0.0, None, True),
    "nlpo_top_p": (0.0, 1.0, True),
}
"""The range of each float field of :class:`TrainConfig`: (lowest, highest, lowest excluded); all are finite."""


@dataclass
class TrainConfig:
    """What ``tokengym train`` trains, how, and where it writes.

    Every field is checked when the configuration is made, before anything reads it: its type, and for numbers a
    finite value in the range :data:`INT_LIMITS` or :data:`FLOAT_LIMITS` gives (:func:`check_fields`); then the
    invariants between fields. Each error is a ``ValueError`` naming the field and what it takes.
    """

    env_id: str = "Dialogue-v0"
    """Registered tokengym environment (the ``tokengym:`` module prefix is accepted and dropped)."""
    algo: str = "ppo"
    """Algorithm: a name in the algorithm table, :data:`~tokengym.agents.running.algorithms.ALGORITHMS`."""
    model_name: str = "tiny"
    """Starting model: "tiny", a Hugging Face id, or a local folder (for example one written by ``tokengym sft``)."""
    total_timesteps: int = 4096
    """Token steps to reach; a resumed run counts the steps it already has."""
    seed: int = 0
    """Seeds the environments, the algorithm and sampling; a resumed run reseeds with ``seed + saved step``."""
    n_envs: int = 1
    """Parallel environments (see ``vec_env``)."""
    vec_env: str = "auto"
    """How the environments run: "dummy" (SB3's ``DummyVecEnv``, in this process), "subproc" (``SubprocVecEnv``,
    one process each) or "auto" (dummy for one environment, subprocesses above)."""
    n_steps: int = 128
    """Rollout length per environment between updates (on-policy algorithms)."""
    batch_size: int = 64
    """Minibatch size (PPO, MaskablePPO and TRPO's critic; DQN's replay sample)."""
    n_epochs: int = 2
    """Passes over each rollout (PPO, MaskablePPO)."""
    learning_rate: float = 1e-4
    """Learning rate of the language model (TRPO: of the critic only; its actor takes natural-gradient steps)."""
    value_lr_scale: float = 10.0
    """Actor-critic policies: the value head learns at this multiple of the learning rate."""
    temperature: float = 1.0
    """The policy's sampling temperature, in rollouts, training and evaluation (stored with the checkpoint): below 1
    the vocabulary's tail stops adding noise to the gradient (the demo trains at 0.7)."""
    gamma: float = 1.0
    """Discount per token."""
    gae_lambda: float = 1.0
    """GAE lambda (on-policy algorithms)."""
    ent_coef: float = 0.0
    """Entropy bonus (PPO, A2C, MaskablePPO)."""
    group_size: int = 1
    """On-policy algorithms: serve each prompt this many times in a row and judge each reply against its siblings
    (the group baseline of RLOO/GRPO: :class:`~tokengym.envs.wrappers.RepeatTask` and ``baseline="group"``);
    1 keeps SB3's critic baseline. Token-level tokengym tasks only."""
    normalize_advantage: bool = True
    """PPO, MaskablePPO and TRPO: scale each minibatch's advantages to mean 0 and standard deviation 1 (SB3's
    default). With group baselines and a policy that already wins most plays of a task (a warm start), most
    advantages are exactly 0 and normalising shifts them by the mean of the rest: turn it off there."""
    kl_coef: float = 0.0
    """Per-token KL penalty against the starting model (0: off; on-policy algorithms only)."""
    target_kl: float | None = None
    """Per-token KL (nats) toward which the KL coefficient adapts; ``None`` keeps it fixed. Needs ``kl_coef > 0``."""
    kl_horizon: int = 10_000
    """Tokens over which the adaptive KL coefficient moves by its largest step (20%)."""
    nlpo_top_p: float | None = None
    """MaskablePPO only: NLPO masks, the top-p nucleus of a frozen copy of the policy's LM (``NLPOMaskCallback``),
    within the environment's own masks where it has them; lets MaskablePPO train on plain text tasks too."""
    nlpo_update_every: int = 5
    """NLPO: rollouts between refreshes of the frozen copy from the policy."""
    cg_max_steps: int = CG_MAX_STEPS
    """TRPO: conjugate-gradient iterations per update. Each is a Fisher-vector product, a second backward pass
    through the LM over the whole rollout, and the largest share of an update (sb3-contrib's default is 15)."""
    n_critic_updates: int = N_CRITIC_UPDATES
    """TRPO: passes of the critic over the rollout per update, each a pass of the LM over every minibatch
    (sb3-contrib's default is 10)."""
    buffer_size: int = 10_000
    """DQN replay buffer capacity (transitions); its memory is checked against the RAM before it is allocated."""
    learning_starts: int = 100
    """DQN: steps collected before the first update."""
    train_freq: int = TRAIN_FREQ
    """DQN: token steps (per environment) between updates; each update costs two passes of the LM over a batch
    (the Q-network and its target) and a backward pass (SB3's default is 4)."""
    gradient_steps: int = 1
    """DQN: gradient steps per update."""
    target_update_interval: int = 10_000
    """DQN: token steps between copies of the Q-network into its target (SB3's default)."""
    reward: str | None = None
    """Reward spec for environments that take one (``"rouge_l + 0.5*verbosity"``); ``None``: the task's default."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``gym.make`` (JSON-serialisable: they are stored in every checkpoint)."""
    out_dir: str = "runs/train"
    """Run folder: ``checkpoints/step-<N>/`` and TensorBoard logs under ``tb/``."""
    resume: bool = False
    """Continue from the run folder's latest checkpoint (its weights, optimizer state, step and KL coefficient)."""
    checkpoint_every: int = 0
    """Also write a checkpoint every this many token steps (0: only the final one)."""
    eval_episodes: int = 8
    """Held-out episodes scored when the run ends, exactly as ``tokengym eval ENV --model CHECKPOINT --episodes N``
    scores them: seeds 0..N-1, the test split where the environment has splits (TextWorld's games included), the
    environment's action masks where it offers them, sampled tokens (0: skip). A TextWorld run generates its test
    split's pool (``pool_size`` games, a second or two each) the first time."""
    progress_bar: bool = True
    """SB3's progress bar."""
    tensorboard: bool = True
    """Write TensorBoard logs (needs the ``tensorboard`` package; skipped with a note when it is missing)."""

    def __post_init__(self) -> None:
        check_fields(self, INT_LIMITS, FLOAT_LIMITS)
        self.env_id = check_env_id(self.env_id)
        if not self.out_dir.strip():
            raise ValueError("out_dir (--out) must name a folder, not an empty string")
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algo!r}{_suggest(self.algo, list(ALGORITHMS))}")
        if self.vec_env not in VEC_ENVS:
            raise ValueError(f"vec_env must be one of {', '.join(VEC_ENVS)}, not {self.vec_env!r}")
        if self.seed + self.total_timesteps > MAX_SEED:
            raise ValueError(
                f"seed + total_timesteps must be at most {MAX_SEED} (a resumed run reseeds with seed + its step), "
                f"not {self.seed} + {self.total_timesteps}; choose a smaller --seed"
            )
        algo = ALGORITHMS[self.algo]
        rollout = self.n_envs * self.n_steps
        if algo.on_policy and self.total_timesteps < rollout:
            raise ValueError(
                f"total_timesteps={self.total_timesteps} is less than one rollout (n_envs*n_steps={rollout}); "
                "raise --steps or lower --n-steps"
            )
        if algo.minibatches and rollout % self.batch_size:
            raise ValueError(f"batch_size={self.batch_size} must divide n_envs*n_steps={rollout} for {self.algo}")
        if not self.normalize_advantage and self.algo not in ("ppo", "maskable_ppo", "trpo"):
            raise ValueError(
                f"normalize_advantage=False applies to ppo, maskable_ppo and trpo (a2c does not normalise advantages "
                f"by default; dqn has none), not {self.algo}"
            )
        if self.group_size > 1 and not algo.on_policy:
            raise ValueError(f"group baselines (group_size > 1) work with on-policy algorithms, not {self.algo}")
        if self.kl_coef > 0 and not algo.on_policy:
            on_policy = ", ".join(name for name, row in ALGORITHMS.items() if row.on_policy)
            raise ValueError(f"the KL penalty works with on-policy algorithms ({on_policy}), not {self.algo}")
        if self.target_kl is not None and not self.kl_coef > 0:
            raise ValueError("target_kl adapts the KL coefficient: pass a starting kl_coef > 0 as well")
        if self.nlpo_top_p is not None and self.algo != "maskable_ppo":
            raise ValueError(f"NLPO masking (nlpo_top_p) works with maskable_ppo, not {self.algo}")
        if self.algo == "dqn" and self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size={self.batch_size} exceeds the replay buffer (buffer_size={self.buffer_size})")
        if self.reward is not None and "reward" in self.env_kwargs:
            raise ValueError("give the reward once: either reward= or env_kwargs['reward']")
        try:
            json.dumps(self.env_kwargs, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as err:
            raise ValueError(
                f"env_kwargs must be JSON-serialisable with finite numbers (checkpoints store them): {err}"
            ) from None

    @property
    def stored_env_kwargs(self) -> dict[str, Any]:
        """The environment's arguments as checkpoints record them (the reward spec folded in)."""
        return {**self.env_kwargs, **({"reward": self.reward} if self.reward is not None else {})}


def check_env_id(env_id: str) -> str:
    """A tokengym environment id without its ``tokengym:`` prefix; ``ValueError`` with the closest ids otherwise."""
    if not isinstance(env_id, str):
        raise ValueError(f"the environment id must be a string such as 'Dialogue-v0', not {short_repr(env_id)}")
    env_id = env_id.removeprefix(MODULE_PREFIX)
    if env_id not in all_ids():
        raise ValueError(f"unknown environment {short_repr(env_id)}{_suggest(env_id, all_ids())}")
    return env_id


def check_fields(config: Any, ints: IntLimits | None = None, floats: FloatLimits | None = None) -> None:
    """Check every field of the dataclass ``config`` against its type hint, in place, before anything reads it.

    Integers (booleans and ``2.0`` refused) must lie in their range in ``ints``; floats must be finite and in
    their range in ``floats`` (integers are taken and stored as floats); booleans must be ``True`` or ``False``,
    strings strings and dicts mappings with string keys; ``X | None`` also takes ``None``. NumPy numbers are
    stored as Python ones, which JSON (checkpoints) takes.

    Raises:
        ValueError: naming the first field that breaks its type or range, and what it takes.
    """
    ints, floats = ints or {}, floats or {}
    for item in dataclasses.fields(config):
        if not item.init:
            continue
        name, value = item.name, getattr(config, item.name)
        kind, nullable = _field_kind(type(config), name)
        if value is None and nullable:
            continue
        if kind is bool:
            value = check_bool(name, value)
        elif kind is int:
            low, high = ints.get(name, (None, None))
            value = check_int(name, value, low=low, high=high)
        elif kind is float:
            value = _check_float(name, value, *floats.get(name, (None, None, False)))
        elif kind is str and not isinstance(value, str):
            raise ValueError(f"{name} must be a string, not {short_repr(value)}")
        elif kind is dict:
            value = check_mapping(name, value)
        setattr(config, name, value)


@functools.cache
def _field_kind(cls: type, name: str) -> tuple[Any, bool]:
    """The base type of a field (``int`` for ``int | None``) and whether it takes ``None``."""
    hint = typing.get_type_hints(cls)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    nullable = typing.get_origin(hint) in (typing.Union, types.UnionType) and len(args) == 1
    base = args[0] if nullable else hint
    return typing.get_origin(base) or base, nullable


def _check_float(name: str, value: Any, low: float | None, high: float | None, open_low: bool) -> float:
    number = check_number(name, value, low=None)  # a real number and finite
    if (low is None or number > low or (number == low and not open_low)) and (high is None or number <= high):
        return number
    if high is not None:
        takes = f"in {'(' if open_low else '['}{low:g}, {high:g}]"
    elif open_low and low == 0:
        takes = "positive and finite"
    else:
        takes = f"a finite number {'>' if open_low else '>='} {low:g}"
    raise ValueError(f"{name} must be {takes}, not {short_repr(value)}")


def _suggest(name: str, known: Sequence[str]) -> str:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""
    return f"{hint} Known: {', '.join(known)}"
