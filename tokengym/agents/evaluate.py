"""Evaluate a policy on fixed, seeded episodes: mean and spread of the return, components, samples.

Example:
    >>> from tokengym.agents.evaluate import evaluate_policy_text
    >>> report = evaluate_policy_text(model.policy, "Dialogue-v0", seeds=range(8))   # doctest: +SKIP
    >>> report.mean, report.samples[0]["completion"]                                  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch


@dataclass
class EvalReport:
    """Returns of every episode, their mean and standard deviation, mean components and sample texts."""

    returns: list[float]
    components: dict[str, float]
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "std": self.std,
            "episodes": len(self.returns),
            "components": self.components,
            "samples": self.samples,
        }


def evaluate_policy_text(
    policy: Any,
    env: str | gym.Env,
    seeds: Iterable[int],
    deterministic: bool = False,
    sample_seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> EvalReport:
    """Run one episode per seed (the seed fixes the prompt) and collect returns, components and texts.

    Args:
        policy: anything with SB3's ``predict(obs, deterministic=...)``.
        env: an environment id or instance (token level).
        seeds: reset seeds, one episode each; the same seeds give the same prompts for every policy.
        deterministic: greedy actions instead of sampling.
        sample_seed: seeds torch's sampler, so that evaluations are repeatable (the caller's torch random
            state is left as it was).
        env_kwargs: passed to ``gym.make`` when ``env`` is an id.
    """
    if isinstance(env, str):
        env = gym.make(env, **(env_kwargs or {}))
    with torch.random.fork_rng():
        torch.manual_seed(sample_seed)
        return _run_episodes(policy, env, seeds, deterministic)


def _run_episodes(policy: Any, env: gym.Env, seeds: Iterable[int], deterministic: bool) -> EvalReport:
    returns: list[float] = []
    parts: dict[str, list[float]] = {}
    samples = []
    for seed in seeds:
        obs, info = env.reset(seed=int(seed))
        prompt, total, done = info.get("prompt", ""), 0.0, False
        while not done:
            action, _ = policy.predict(obs, deterministic=deterministic)
            obs, reward, terminated, truncated, info = env.step(int(action))
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
        for name, value in info.get("reward_components", {}).items():
            parts.setdefault(name, []).append(float(value))
        samples.append(
            {
                "seed": int(seed),
                "prompt": prompt,
                "completion": info.get("completion", ""),
                "reference": info.get("references"),
                "return": total,
            }
        )
    return EvalReport(returns, {k: float(np.mean(v)) for k, v in parts.items()}, samples)
