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

import difflib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tokengym.agents.running.algorithms import ALGORITHMS, MODULE_PREFIX
from tokengym.envs import all_ids

VEC_ENVS = ("auto", "dummy", "subproc")
"""Values of :attr:`TrainConfig.vec_env`."""


@dataclass
class TrainConfig:
    """What ``tokengym train`` trains, how, and where it writes."""

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
    buffer_size: int = 10_000
    """DQN replay buffer capacity (transitions)."""
    learning_starts: int = 100
    """DQN: steps collected before the first update."""
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
    progress_bar: bool = True
    """SB3's progress bar."""
    tensorboard: bool = True
    """Write TensorBoard logs (needs the ``tensorboard`` package; skipped with a note when it is missing)."""

    def __post_init__(self) -> None:
        self.env_id = self.env_id.removeprefix(MODULE_PREFIX)
        if self.algo not in ALGORITHMS:
            raise ValueError(f"unknown algorithm {self.algo!r}{_suggest(self.algo, list(ALGORITHMS))}")
        if self.env_id not in all_ids():
            raise ValueError(f"unknown environment {self.env_id!r}{_suggest(self.env_id, all_ids())}")
        if self.vec_env not in VEC_ENVS:
            raise ValueError(f"vec_env must be one of {', '.join(VEC_ENVS)}, not {self.vec_env!r}")
        positive = (
            "total_timesteps",
            "n_envs",
            "n_steps",
            "batch_size",
            "n_epochs",
            "buffer_size",
            "kl_horizon",
            "group_size",
        )
        for name in (*positive, "nlpo_update_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, not {value!r}")
        if isinstance(self.checkpoint_every, bool) or not isinstance(self.checkpoint_every, int):
            raise ValueError(f"checkpoint_every must be an integer, not {self.checkpoint_every!r}")
        if self.checkpoint_every < 0 or self.learning_starts < 0:
            raise ValueError("checkpoint_every and learning_starts must be >= 0")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, not {self.temperature!r}")
        if not self.learning_rate > 0 or not self.value_lr_scale > 0:
            raise ValueError(f"learning_rate and value_lr_scale must be positive, not {self.learning_rate!r}")
        if not 0 < self.gamma <= 1 or not 0 <= self.gae_lambda <= 1:
            raise ValueError(
                f"gamma must be in (0, 1] and gae_lambda in [0, 1], not {self.gamma!r}, {self.gae_lambda!r}"
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
        if not self.kl_coef >= 0:
            raise ValueError(f"kl_coef must be >= 0, not {self.kl_coef!r}")
        if self.kl_coef > 0 and not algo.on_policy:
            raise ValueError(
                f"the KL penalty works with on-policy algorithms (ppo, a2c, trpo, maskable_ppo), not {self.algo}"
            )
        if self.target_kl is not None and not self.kl_coef > 0:
            raise ValueError("target_kl adapts the KL coefficient: pass a starting kl_coef > 0 as well")
        if self.target_kl is not None and not self.target_kl > 0:
            raise ValueError(f"target_kl must be positive (nats per token), not {self.target_kl!r}")
        if self.nlpo_top_p is not None and self.algo != "maskable_ppo":
            raise ValueError(f"NLPO masking (nlpo_top_p) works with maskable_ppo, not {self.algo}")
        if self.nlpo_top_p is not None and not 0 < self.nlpo_top_p <= 1:
            raise ValueError(f"nlpo_top_p must be in (0, 1], not {self.nlpo_top_p!r}")
        if self.algo == "dqn" and self.batch_size > self.buffer_size:
            raise ValueError(f"batch_size={self.batch_size} exceeds the replay buffer (buffer_size={self.buffer_size})")
        if self.reward is not None and "reward" in self.env_kwargs:
            raise ValueError("give the reward once: either reward= or env_kwargs['reward']")
        try:
            json.dumps(self.env_kwargs)
        except TypeError as err:
            raise ValueError(f"env_kwargs must be JSON-serialisable (checkpoints store them): {err}") from err

    @property
    def stored_env_kwargs(self) -> dict[str, Any]:
        """The environment's arguments as checkpoints record them (the reward spec folded in)."""
        return {**self.env_kwargs, **({"reward": self.reward} if self.reward is not None else {})}


def _suggest(name: str, known: Sequence[str]) -> str:
    lowered = {k.lower(): k for k in known}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(lowered[c]) for c in close)}?" if close else ""
    return f"{hint} Known: {', '.join(known)}"
