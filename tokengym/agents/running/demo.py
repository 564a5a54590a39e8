"""The main job, ``tokengym demo``: PPO from the embedded model on Dialogue-v0, before/after, learning curve.

The demo is a preset of :class:`~tokengym.agents.running.config.TrainConfig` run through
:func:`~tokengym.agents.running.train.train`, so it writes the same checkpoint as ``tokengym train`` and
``tokengym eval Dialogue-v0 --model runs/demo`` evaluates it. It reads top to bottom: the preset, the zero-shot
evaluation on held-out prompts (at the start of training, on the model just built), PPO with a progress bar, the
same evaluation of the trained policy, a learning-curve PNG.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from tokengym.agents.running.config import TrainConfig, check_fields
from tokengym.agents.running.curves import plot_learning_curve
from tokengym.agents.running.evaluate import EvalReport, evaluate_policy_text
from tokengym.agents.running.train import train

DEMO_PRESET: dict[str, Any] = {
    "env_id": "Dialogue-v0",  # trained on its train split; evaluated on its test split
    "env_kwargs": {"max_prompt_len": 64, "max_new_tokens": 32},
    # What the assistant is trained for: the task's default (ROUGE-1 to the reference reply, with penalties for
    # rambling, repeating and one-word replies) plus politeness. The embedded model already imitates the
    # reference replies, so relevance alone leaves a short run little to learn that carries over to unseen
    # prompts (measured: trained minus zero-shot within about +-0.03, the evaluation's own noise); politeness is
    # a preference the model does not yet follow, as in RLHF, and the KL penalty keeps the replies on topic.
    "reward": (
        "relevance_lexical + 0.2*verbosity(max_words=30) + 0.2*repetition + 0.2*brevity(min_words=2) + politeness"
    ),
    "total_timesteps": 16384,  # one to two minutes on two CPU cores
    "n_envs": 8,
    "vec_env": "dummy",  # eight light environments step faster in this process than in eight subprocesses
    "n_steps": 256,  # 8 x 256 tokens: about 100 replies per update
    # Replies per prompt in a row, each judged against its siblings (group baseline, as RLOO and GRPO): this
    # removes how hard the prompt is from the advantage.
    "group_size": 4,
    "batch_size": 512,  # large, because reward noise, not compute, limits what a short run learns
    "n_epochs": 2,
    "learning_rate": 3e-5,  # fine-tuning scale: at 1e-4 the reply's relevance falls within a minute
    "value_lr_scale": 10.0,  # the critic starts from scratch; the LM does not
    # Sampling temperature in training and in both evaluations: at 1.0 the tail tokens of a 4,096-token
    # vocabulary make noisy gradients that erode the pretrained replies faster than a short run improves them.
    "temperature": 0.7,
    # Per-token KL penalty against the starting model: without it, politeness rises faster and relevance falls
    # (measured over 16k steps: relevance -0.035 without, -0.018 with).
    "kl_coef": 0.05,
    "out_dir": "runs/demo",
    "eval_episodes": 0,  # the demo scores its own held-out prompts, before and after (DemoConfig)
}
"""The demo's training settings: :class:`~tokengym.agents.running.config.TrainConfig` arguments."""


def demo_preset(**overrides: Any) -> TrainConfig:
    """The demo's :class:`~tokengym.agents.running.config.TrainConfig`, with ``overrides`` of its fields.

    Example:
        >>> demo_preset(total_timesteps=4096).n_envs
        8
    """
    return TrainConfig(**{**DEMO_PRESET, **overrides})


@dataclass
class DemoConfig:
    """The demo: what it trains (a :class:`TrainConfig`) and how it measures before and after."""

    train: TrainConfig = field(default_factory=demo_preset)
    """The training run (:func:`demo_preset`)."""
    eval_episodes: int = 96
    """Held-out prompts (test split, seeds 0..N-1) scored before and after training."""
    eval_samples: int = 2
    """Sampled replies per held-out prompt (each pass with its own sampling seed): two halve the evaluation's
    noise against one."""

    def __post_init__(self) -> None:
        if not isinstance(self.train, TrainConfig):
            raise ValueError(f"train must be a TrainConfig (demo_preset() makes one), not {type(self.train).__name__}")
        check_fields(self, ints={"eval_episodes": (1, None), "eval_samples": (1, None)})


def _eval_env_kwargs(cfg: DemoConfig) -> dict[str, Any]:
    return {**cfg.train.stored_env_kwargs, "split": "test"}


def evaluate_held_out(policy: Any, cfg: DemoConfig) -> EvalReport:
    """The demo's held-out score: ``eval_samples`` sampled replies to each of ``eval_episodes`` test prompts."""
    reports = [
        evaluate_policy_text(
            policy,
            cfg.train.env_id,
            range(cfg.eval_episodes),
            sample_seed=cfg.train.seed * 1000 + i,
            env_kwargs=_eval_env_kwargs(cfg),
        )
        for i in range(cfg.eval_samples)
    ]
    returns = [r for report in reports for r in report.returns]
    components = {k: float(np.mean([r.components[k] for r in reports])) for k in reports[0].components}
    return EvalReport(returns, components, reports[0].samples)


class _Observe(BaseCallback):
    """Scores the model just built on the held-out prompts when training starts, and records episode returns."""

    def __init__(self, cfg: DemoConfig, log: Any) -> None:
        super().__init__()
        self.cfg, self.log = cfg, log
        self.before: EvalReport | None = None
        self.steps: list[int] = []
        self.returns: list[float] = []
        self.train_start = 0.0

    def _on_training_start(self) -> None:
        cfg = self.cfg
        self.log(
            f"Evaluating the zero-shot model on {cfg.eval_episodes} held-out prompts of {cfg.train.env_id} "
            f"({cfg.eval_samples} sampled replies each)..."
        )
        self.before = evaluate_held_out(self.model.policy, cfg)
        self.log(f"Training PPO for {cfg.train.total_timesteps} token steps ({cfg.train.n_envs} envs)...")
        self.train_start = time.perf_counter()

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", []):
            if "episode" in info:
                self.steps.append(self.num_timesteps)
                self.returns.append(float(info["episode"]["r"]))
        return True


def run_demo(cfg: DemoConfig, log: Any = print) -> dict[str, Any]:
    """Train and report; returns the figures (zero-shot and trained reports, wall times, paths).

    The run goes through :func:`~tokengym.agents.running.train.train`, into ``cfg.train.out_dir`` (which must
    not hold a run yet), and ends with a checkpoint that ``tokengym eval`` loads.
    """
    start = time.perf_counter()
    observe = _Observe(cfg, log)
    result = train(cfg.train, callbacks=[observe], log=lambda *_: None)
    train_minutes = (time.perf_counter() - observe.train_start) / 60
    assert observe.before is not None
    after = evaluate_held_out(result.model.policy, cfg)
    png = Path(cfg.train.out_dir) / "learning_curve.png"
    title = f"PPO on {cfg.train.env_id} from '{cfg.train.model_name}'"
    plot_learning_curve(observe.steps, observe.returns, png, title, zero_shot=observe.before.mean, trained=after.mean)
    return {
        "before": observe.before,
        "after": after,
        "train_minutes": train_minutes,
        "wall_minutes": (time.perf_counter() - start) / 60,
        "png": str(png),
        "episodes": len(observe.returns),
        "model": str(result.checkpoint),
        "run_dir": str(result.run_dir),
        "env_id": cfg.train.env_id,
        "reward": cfg.train.reward,
        "kl_coef": cfg.train.kl_coef,
    }


def format_report(result: dict[str, Any], samples: int = 3) -> str:
    before: EvalReport = result["before"]
    after: EvalReport = result["after"]
    lines = [
        "",
        f"Reward: {result.get('reward', 'the task default')}"
        + (f"; KL penalty {result['kl_coef']:g} per token to the starting model" if result.get("kl_coef") else ""),
        f"Held-out: {len(before.returns)} sampled replies to test-split prompts, before and after training.",
        "",
        f"{'':<22}{'zero-shot':>12}{'trained':>12}",
        f"{'mean reward':<22}{before.mean:>12.3f}{after.mean:>12.3f}",
        f"{'std':<22}{before.std:>12.3f}{after.std:>12.3f}",
    ]
    for name in before.components:
        lines.append(f"{name:<22}{before.components[name]:>12.3f}{after.components.get(name, float('nan')):>12.3f}")
    lines.append(
        f"\nTrained minus zero-shot: {after.mean - before.mean:+.3f} "
        f"(training {result['train_minutes']:.1f} min, {result['episodes']} episodes; "
        f"whole demo {result['wall_minutes']:.1f} min)"
    )
    for b, a in list(zip(before.samples, after.samples, strict=True))[:samples]:
        lines += [
            "",
            "  " + b["prompt"].replace("\n", "\n  "),
            f"    zero-shot: {b['completion']!r}  ({b['return']:+.2f})",
            f"    trained:   {a['completion']!r}  ({a['return']:+.2f})",
            f"    reference: {b['reference']!r}",
        ]
    lines.append(f"\nLearning curve: {result['png']}   checkpoint: {result['model']}")
    if "run_dir" in result:
        lines.append(f"Evaluate it:    tokengym eval {result['env_id']} --model {result['run_dir']}")
    return "\n".join(lines)
