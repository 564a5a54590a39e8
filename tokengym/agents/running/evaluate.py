"""Evaluate a policy on fixed, seeded episodes: mean and spread of the return, components, samples.

Example:
    >>> from tokengym.agents.running.evaluate import evaluate_policy_text
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

from tokengym.agents.episodes import Episode, play_episodes


@dataclass
class EvalReport:
    """Returns of every episode, their mean and standard deviation, the mean of each reward component (summed
    over the turns of an episode, as the return is), sample texts and, when asked, the mean and standard
    deviation of extra metrics over the completions.

    Each sample holds the episode's ``seed``, ``prompt``, last ``completion``, ``reference``, ``return`` and
    ``turns``: every completion of the episode with the reward of the step that ended it (and, in a conversation,
    the user's reply to it), plus ``end_reason`` where the episode gives one."""

    returns: list[float]
    components: dict[str, float]
    samples: list[dict[str, Any]] = field(default_factory=list)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    metric_notes: dict[str, str] = field(default_factory=dict)
    """Per metric, a note on how it was computed where that is not the obvious way (a named fallback)."""

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
            "metrics": self.metrics,
            "metric_notes": self.metric_notes,
            "samples": self.samples,
        }


def evaluate_policy_text(
    policy: Any,
    env: str | gym.Env,
    seeds: Iterable[int],
    deterministic: bool = False,
    sample_seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    metrics: Any = None,
) -> EvalReport:
    """Run one episode per seed (the seed fixes the prompt) and collect returns, components and texts.

    The episodes are played by :func:`~tokengym.agents.episodes.play_episodes`, whose rule gives ``predict`` the
    env's action masks: when the env has ``action_masks()`` and ``predict`` takes an ``action_masks`` argument (a
    maskable policy on a game then plays legal tokens only, as in training).

    Args:
        policy: anything with SB3's ``predict(obs, deterministic=...)``.
        env: an environment id or instance (token level).
        seeds: reset seeds, one episode each; the same seeds give the same prompts for every policy.
        deterministic: greedy actions instead of sampling.
        sample_seed: seeds torch's sampler, so that evaluations are repeatable (the caller's torch random
            state is left as it was).
        env_kwargs: passed to ``gym.make`` when ``env`` is an id.
        metrics: a reward spec (or reward) whose components score every completion besides the env's reward,
            on the task's columns (references, sources, facts); ``"default"`` takes the env's
            ``eval_metrics()``. Token-level tokengym envs only.
    """
    if isinstance(env, str):
        env = gym.make(env, **(env_kwargs or {}))
    scorer = _metric_scorer(env, metrics)
    returns: list[float] = []
    parts: dict[str, list[float]] = {}
    samples: list[dict[str, Any]] = []
    metric_values: dict[str, list[float]] = {}
    with torch.random.fork_rng():
        torch.manual_seed(sample_seed)
        for episode in play_episodes(policy, env, seeds, deterministic):
            returns.append(episode.episode_return)
            for name, value in episode.components.items():
                parts.setdefault(name, []).append(value)
            sample = _sample(episode)
            if scorer is not None:  # before the next reset: the env still holds this episode's task
                sample["metrics"] = _score(scorer, env, sample["completion"])
                for name, value in sample["metrics"].items():
                    metric_values.setdefault(name, []).append(value)
            samples.append(sample)
    stats = {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in metric_values.items()}
    notes = {}
    for name, fn in (scorer.components if scorer is not None else {}).items():
        backend = str(getattr(fn, "backend", ""))
        if "fallback" in backend:
            notes[name] = f" [{backend}]"
    return EvalReport(returns, {k: float(np.mean(v)) for k, v in parts.items()}, samples, stats, notes)


def _sample(episode: Episode) -> dict[str, Any]:
    end = episode.end_info
    sample = {
        "seed": episode.seed,
        "prompt": episode.reset_info.get("prompt", ""),
        "completion": end.get("completion", ""),
        "reference": end.get("references"),
        "return": episode.episode_return,
        "turns": episode.turns,
    }
    if "end_reason" in end:
        sample["end_reason"] = end["end_reason"]
    return sample


def _score(scorer: Any, env: gym.Env, completion: str) -> dict[str, Any]:
    task = env.unwrapped.current_sample
    columns = {k: [v] for k, v in task.columns.items()}
    _, values = scorer.score([task.prompt], [completion], **columns)
    return {name: v[0] for name, v in values.items()}


def _metric_scorer(env: gym.Env, metrics: Any) -> Any:
    if metrics is None:
        return None
    from tokengym.envs.core import TokenEnv
    from tokengym.rewards import make_reward

    if not isinstance(env.unwrapped, TokenEnv):
        raise TypeError(f"metrics are scored on the completions of token-level tokengym envs, not {env.unwrapped!r}")
    if isinstance(metrics, str) and metrics == "default":
        metrics = env.unwrapped.eval_metrics()
        if metrics is None:
            return None
    return make_reward(metrics)
