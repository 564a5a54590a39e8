"""The configuration of an RLHF run, :class:`RLHFConfig`: the single source of its settings and defaults.

``tokengym rlhf``'s flags are generated from its fields and their docstrings (:mod:`tokengym.cli.flags`);
:func:`~tokengym.feedback.rlhf.run_rlhf` reads it. The PPO part is a
:class:`~tokengym.agents.running.config.TrainConfig` made from it (:meth:`RLHFConfig.ppo_config`), so the model
is built as ``tokengym train`` builds one.

The defaults are what a measurement needs and a laptop CPU affords: three rounds of 256 prompts, a reward model
retrained on every judgement so far, 16,384 PPO token steps a round (the demo's PPO settings), and 256 held-out
prompts; ``benchmarks/rlhf.py`` runs them.

Example:
    >>> cfg = RLHFConfig(rounds=2, pairs_per_round=64, ppo_steps=2048, out_dir="runs/rlhf-small")
    >>> cfg.ppo_config(None).n_envs * cfg.ppo_config(None).n_steps
    2048
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tokengym.feedback.labeller import DEFAULT_GOLD

__all__ = ["RLHFConfig"]

_NOT_COMPARED = ("rounds", "resume", "human_timeout_s", "human_poll_s", "out_dir")
"""Settings a resumed run may change: they do not change what its finished rounds did."""
_ENV_KWARGS_SET_BY_THE_LOOP = ("reward", "tokenizer", "split")


@dataclass
class RLHFConfig:
    """What an RLHF run does, round after round (:mod:`tokengym.feedback.rlhf`), and where it writes.

    Every field is checked when the configuration is made, before anything reads it (types and ranges, then the
    invariants between fields, then PPO's own checks), with a ``ValueError`` naming the field.

    Example:
        >>> RLHFConfig(kl_coef=0.0, target_kl=0.05)
        Traceback (most recent call last):
        ...
        ValueError: target_kl adapts the KL coefficient: pass a starting kl_coef > 0 as well
    """

    env_id: str = "Dialogue-v0"
    """Single-reply token-level task with a train and a test split (Dialogue-v0, Summarization-v0): pairs and PPO
    read the train split, the evaluation the test split."""
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"max_prompt_len": 64, "max_new_tokens": 32})
    """Arguments of ``gym.make`` for every environment of the run (the loop sets the reward, tokenizer and split)."""
    model_name: str = "tiny"
    """Starting model: the first policy, and the fixed reference of the KL penalty and of the measured KL."""
    gold: str = DEFAULT_GOLD
    """The hidden reward: the simulated labeller judges with it and the evaluation reports it; PPO never sees it."""
    rounds: int = 3
    """Rounds of sampling, judging, reward modelling and PPO (a resumed run may raise it to go on)."""
    pairs_per_round: int = 256
    """Train-split prompts per round, two replies each from the current policy (a pair of equal replies drops)."""
    pair_temperature: float = 1.0
    """Sampling temperature of the candidate replies (nucleus top-p 0.95)."""
    labeller_temperature: float = 0.05
    """The simulated labeller's Bradley-Terry temperature, in gold-reward units (0: never errs)."""
    labeller_noise: float = 0.0
    """Probability that the simulated labeller flips a label."""
    tie_threshold: float = 0.05
    """Gold-reward gap below which the simulated labeller calls a tie."""
    rm_base: str | None = None
    """The reward model's base model (``None``: the starting model)."""
    rm_epochs: int = 2
    """Reward-model passes over every judgement so far, each round."""
    rm_lr: float = 1e-4
    """Reward-model learning rate."""
    rm_batch_size: int = 16
    """Reward-model pairs per step."""
    rm_train_layers: int | None = None
    """Top blocks of the reward model trained (``None``: all)."""
    rm_eval_fraction: float = 0.2
    """Share of the prompts whose pairs are held out for the reward model's accuracy."""
    ppo_steps: int = 16384
    """PPO token steps per round."""
    n_envs: int = 8
    """PPO's parallel environments (in this process)."""
    n_steps: int = 256
    """PPO rollout length per environment."""
    batch_size: int = 512
    """PPO minibatch size; must divide ``n_envs * n_steps``."""
    n_epochs: int = 2
    """PPO passes over each rollout."""
    learning_rate: float = 3e-5
    """PPO learning rate of the language model (the value head learns 10 times faster)."""
    group_size: int = 4
    """Replies per prompt in a row, each judged against its siblings (the group baseline of RLOO/GRPO; 1: the
    critic alone)."""
    temperature: float = 0.7
    """The policy's sampling temperature, in PPO and in the evaluation (and of both distributions of the KL)."""
    kl_coef: float = 0.1
    """Per-token KL penalty to the starting model. The learned reward is standardised (spread 1 over the reward
    model's training replies), so 0.1 charges a 20-token reply that drifts 0.5 nats a token 1.0, a whole spread
    of the learned reward; 0 lets PPO exploit the reward model's blind spots (``benchmarks/rlhf.py`` compares
    the two)."""
    target_kl: float | None = None
    """Per-token KL (nats) toward which the coefficient adapts; ``None`` keeps it fixed. Needs ``kl_coef > 0``."""
    eval_episodes: int = 256
    """Held-out prompts (test split, seeds 0..N-1) measured with the starting model and after every round."""
    curve_every: int = 1
    """PPO rollouts between the measurements inside a round, on the first ``curve_episodes`` held-out prompts
    (0: none)."""
    curve_episodes: int = 64
    """Held-out prompts of the measurements inside a round (at most ``eval_episodes``)."""
    seed: int = 0
    """Seeds every round's prompts, labels, reward model, environments and sampling."""
    out_dir: str = "runs/rlhf"
    """Run folder: rounds, checkpoints, log.jsonl, overoptimisation.png, TensorBoard logs under tb/."""
    human: bool = False
    """People judge the pairs (labelling page or terminal) instead of the simulated labeller."""
    human_timeout_s: float = 86400.0
    """With ``human``: how long a round waits for its pairs to be judged before it stops."""
    human_poll_s: float = 2.0
    """With ``human``: seconds between looks at the feedback store."""
    resume: bool = False
    """Continue the run in ``out_dir``: its finished rounds are skipped (the settings must be the same)."""

    def __post_init__(self) -> None:
        from tokengym.agents.running.config import MAX_SEED, check_env_id, check_fields
        from tokengym.rewards import make_reward

        positive = (0.0, None, True)
        check_fields(
            self,
            ints={
                "rounds": (1, None),
                "pairs_per_round": (1, 100_000),
                "rm_epochs": (1, None),
                "rm_batch_size": (1, None),
                "rm_train_layers": (0, None),
                "ppo_steps": (1, None),
                "n_envs": (1, 256),
                "n_steps": (1, None),
                "batch_size": (1, None),
                "n_epochs": (1, None),
                "group_size": (1, None),
                "eval_episodes": (1, None),
                "curve_every": (0, None),
                "curve_episodes": (1, None),
                "seed": (0, MAX_SEED // 1_000_000),
            },
            floats={
                "pair_temperature": positive,
                "labeller_temperature": (0.0, None, False),
                "labeller_noise": (0.0, 1.0, False),
                "tie_threshold": (0.0, None, False),
                "rm_lr": positive,
                "rm_eval_fraction": (0.0, 0.9, False),
                "learning_rate": positive,
                "temperature": positive,
                "kl_coef": (0.0, None, False),
                "target_kl": positive,
                "human_timeout_s": positive,
                "human_poll_s": positive,
            },
        )
        self.env_id = check_env_id(self.env_id)
        make_reward(self.gold)  # a typo in the gold spec is said now
        if not self.out_dir.strip():
            raise ValueError("out_dir (--out) must name a folder, not an empty string")
        taken = sorted(set(self.env_kwargs) & set(_ENV_KWARGS_SET_BY_THE_LOOP))
        if taken:
            raise ValueError(
                f"env_kwargs must not set {taken}: the loop sets the reward (the reward model), the tokenizer (the "
                "model's) and the split (train for pairs and PPO, test for the evaluation)"
            )
        rollout = self.n_envs * self.n_steps
        if self.ppo_steps < rollout:
            raise ValueError(
                f"ppo_steps={self.ppo_steps} is less than one rollout (n_envs*n_steps={rollout}); raise --ppo-steps "
                "or lower --n-steps"
            )
        if rollout % self.batch_size:
            raise ValueError(f"batch_size={self.batch_size} must divide n_envs*n_steps={rollout}")
        if self.target_kl is not None and not self.kl_coef > 0:
            raise ValueError("target_kl adapts the KL coefficient: pass a starting kl_coef > 0 as well")
        if self.curve_episodes > self.eval_episodes:
            raise ValueError(f"curve_episodes={self.curve_episodes} exceeds eval_episodes={self.eval_episodes}")
        self.ppo_config(None)  # PPO's own checks (the env arguments' JSON, the group size...)

    def ppo_config(self, reward: str | None) -> Any:
        """The :class:`~tokengym.agents.running.config.TrainConfig` of the PPO part, with ``reward`` as its reward."""
        from tokengym.agents.running.config import TrainConfig

        return TrainConfig(
            env_id=self.env_id,
            algo="ppo",
            model_name=self.model_name,
            total_timesteps=self.ppo_steps,
            seed=self.seed,
            n_envs=self.n_envs,
            vec_env="dummy",
            n_steps=self.n_steps,
            batch_size=self.batch_size,
            n_epochs=self.n_epochs,
            learning_rate=self.learning_rate,
            temperature=self.temperature,
            group_size=self.group_size,
            kl_coef=self.kl_coef,
            target_kl=self.target_kl,
            reward=reward,
            env_kwargs=dict(self.env_kwargs),
            out_dir=self.out_dir,
            eval_episodes=0,
            progress_bar=False,
        )

    def settings(self) -> dict[str, Any]:
        """The settings a resumed run must share with the run it continues."""
        return {k: v for k, v in asdict(self).items() if k not in _NOT_COMPARED}

    def prompt_seed(self, k: int) -> int:
        """The first train-split seed of round ``k``'s pairs (rounds never share one)."""
        return self.seed * 1_000_000 + (k - 1) * self.pairs_per_round

    def round_seed(self, k: int) -> int:
        """Seeds round ``k``'s labeller, reward model, environments and PPO sampling."""
        return self.seed * 1_000 + k
