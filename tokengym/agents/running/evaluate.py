"""Evaluate a policy on fixed, seeded episodes: mean and spread of the return, components, samples.

:func:`evaluate_policy_text` scores a policy object; :func:`evaluate_model` scores a model name, checkpoint or run
folder under the rules of ``tokengym eval`` (held-out split where the environment has one, action masks where
it offers them, seeds ``seed..seed+N-1``, sampling seeded by ``seed``). ``tokengym eval`` and the evaluation at the
end of ``tokengym train`` both call it, so the figure a run prints is the figure ``tokengym eval`` gives for its
checkpoint.

Example:
    >>> from tokengym.agents.running.evaluate import evaluate_model, evaluate_policy_text
    >>> report = evaluate_policy_text(model.policy, "Dialogue-v0", seeds=range(8))   # doctest: +SKIP
    >>> report.mean, report.samples[0]["completion"]                                  # doctest: +SKIP
    >>> evaluate_model("runs/textnav", "TextNav-v0", episodes=8).rules()              # doctest: +SKIP
    '8 episodes (seeds 0-7, sampled, split none, action masks applied)'
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
    masked: bool = False
    """Whether ``predict`` was given the environment's action masks (the rule of :mod:`tokengym.agents.episodes`)."""

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
            "masked": self.masked,
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
    use_masks: bool = True,
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
            ``eval_metrics()``. Token-level tokengym envs only. An env with ``eval_summary(pairs)`` (a mapping of
            figure name to ``{"mean", "std", "n"}`` over its ``(task sample, completion)`` pairs: rates over a
            subset of the episodes, such as ContextQA-v0's accuracy on answerable questions) adds its figures to
            the metrics, with a note of how many episodes each covers.
        use_masks: ``False`` plays without the env's action masks even where the rule would give them.
    """
    if isinstance(env, str):
        env = gym.make(env, **(env_kwargs or {}))
    scorer = _metric_scorer(env, metrics)
    returns: list[float] = []
    parts: dict[str, list[float]] = {}
    samples: list[dict[str, Any]] = []
    metric_values: dict[str, list[float]] = {}
    summarize = getattr(env.unwrapped, "eval_summary", None) if scorer is not None else None
    scored: list[tuple[Any, str]] = []  # (task sample, completion), for the env's own summary figures
    masked = False
    with torch.random.fork_rng():
        torch.manual_seed(sample_seed)
        for episode in play_episodes(policy, env, seeds, deterministic, use_masks=use_masks):
            masked = episode.masked
            returns.append(episode.episode_return)
            for name, value in episode.components.items():
                parts.setdefault(name, []).append(value)
            sample = _sample(episode)
            if scorer is not None:  # before the next reset: the env still holds this episode's task
                sample["metrics"] = _score(scorer, env, sample["completion"])
                for name, value in sample["metrics"].items():
                    metric_values.setdefault(name, []).append(value)
                if summarize is not None:
                    scored.append((env.unwrapped.current_sample, sample["completion"]))
            samples.append(sample)
    stats = {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in metric_values.items()}
    notes = {}
    for name, fn in (scorer.components if scorer is not None else {}).items():
        backend = str(getattr(fn, "backend", ""))
        if "fallback" in backend:
            notes[name] = f" [{backend}]"
    for name, figure in (summarize(scored) if summarize is not None and scored else {}).items():
        stats[name] = {k: float(v) for k, v in figure.items()}
        notes[name] = f" [over {int(figure['n'])} of {len(scored)} episodes]"
    return EvalReport(returns, {k: float(np.mean(v)) for k, v in parts.items()}, samples, stats, notes, masked)


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


# ------------------------------------------------------------------------------------- a model, as eval does


@dataclass
class ModelEvaluation:
    """A model scored under the rules of ``tokengym eval``: the report, and the rules it was played under.

    Attributes:
        model: the model as named (``"tiny"``, a folder, a checkpoint or a run folder).
        env_id: the environment.
        loaded: the policy and where it came from (:class:`~tokengym.agents.running.policies.LoadedPolicy`).
        report: the returns, components, metrics and samples.
        seeds: the episodes' reset seeds.
        split: the split played (``None``: the environment has no splits).
        deterministic: greedy tokens instead of sampling.
    """

    model: str
    env_id: str
    loaded: Any
    report: EvalReport
    seeds: range
    split: str | None
    deterministic: bool

    @property
    def masks(self) -> str:
        """How the action masks were played: ``applied``, ``none``, ``off`` or ``not taken``."""
        return self.loaded.masks

    def rules(self) -> str:
        """The rules in one phrase: ``16 episodes (seeds 0-15, sampled, split test, action masks applied)``."""
        mode = "greedy" if self.deterministic else "sampled"
        masks = {"none": "no action masks (the env has none)", "off": "action masks off"}.get(
            self.masks, f"action masks {self.masks}"
        )
        return (
            f"{len(self.seeds)} episodes (seeds {self.seeds.start}-{self.seeds.stop - 1}, {mode}, "
            f"split {self.split or 'none'}, {masks})"
        )

    def as_dict(self) -> dict[str, Any]:
        ckpt = self.loaded.checkpoint
        source = None
        if ckpt is not None:
            source = {"path": str(ckpt.path), "algorithm": ckpt.meta["algorithm"], "num_timesteps": ckpt.num_timesteps}
        return {
            "env_id": self.env_id,
            "model": self.model,
            "base_model": self.loaded.model_name,
            "checkpoint": source,
            "seeds": [self.seeds.start, self.seeds.stop - 1],
            "deterministic": self.deterministic,
            "split": self.split,
            "action_masks": self.masks,
            **self.report.as_dict(),
            "returns": self.report.returns,
        }


def evaluate_model(
    model: str,
    env_id: str,
    episodes: int = 16,
    seed: int = 0,
    split: str | None = None,
    deterministic: bool = False,
    metrics: Any = "default",
    env_kwargs: dict[str, Any] | None = None,
    masks: bool = True,
) -> ModelEvaluation:
    """Score a model, checkpoint or run folder as ``tokengym eval`` does.

    The rules: the episodes are ``env.reset(seed=s)`` for ``s`` in ``seed..seed+episodes-1`` on the held-out split
    where the environment has splits (``test``, unless ``split`` or ``env_kwargs`` choose another;
    :mod:`~tokengym.agents.running.splits`); every language-model policy plays with the environment's action
    masks where it offers them (:func:`~tokengym.agents.running.policies.load_policy`); tokens are sampled with
    torch seeded by ``seed`` (greedy with ``deterministic``). A checkpoint brings its environment arguments, which
    ``env_kwargs`` update.

    Example:
        >>> evaluation = evaluate_model("tiny", "TextNav-v0", episodes=4)          # doctest: +SKIP
        >>> evaluation.rules(), evaluation.report.mean                             # doctest: +SKIP
        ('4 episodes (seeds 0-3, sampled, split none, action masks applied)', 0.85)

    Args:
        model: ``"tiny"``, a hub id, a model folder, a checkpoint folder or a run folder.
        env_id: the environment.
        episodes: how many episodes, one per seed.
        seed: the first seed, and the sampler's seed.
        split: the split to play (``None``: as described above).
        deterministic: greedy tokens.
        metrics: a reward spec scoring every completion besides the reward; ``"default"`` the env's own list,
            ``"none"`` or ``None`` none. Checked before the model loads.
        env_kwargs: environment arguments (a ``reward`` here replaces the task's or the checkpoint's).
        masks: play with the environment's action masks where it has them.

    Raises:
        ValueError: an unknown environment, seeds past the largest one, a split for an environment without
            splits, metrics for an environment that is not token-level; and the errors of
            :func:`~tokengym.agents.running.policies.load_policy`.
    """
    from tokengym.agents.running.algorithms import make_env
    from tokengym.agents.running.config import MAX_SEED, check_env_id
    from tokengym.agents.running.policies import load_policy
    from tokengym.agents.running.splits import held_out_kwargs
    from tokengym.envs.core import TokenEnv
    from tokengym.rewards import make_reward

    env_id = check_env_id(env_id)
    if seed + episodes - 1 > MAX_SEED:
        raise ValueError(
            f"--seed {seed} with --episodes {episodes} goes past the largest seed, {MAX_SEED}; lower one of them"
        )
    explicit = metrics not in (None, "none", "default")
    scorer = make_reward(metrics) if explicit else None  # a typo in the metrics costs nothing: checked first
    kwargs, split = held_out_kwargs(env_id, dict(env_kwargs or {}), split)
    loaded = load_policy(model, env_id, kwargs, masks=masks)
    env = make_env(env_id, loaded.env_kwargs)
    try:
        token_level = isinstance(env.unwrapped, TokenEnv)
        if explicit and not token_level:
            raise ValueError(
                f"--metrics scores completions of token-level envs; {env_id} is not one (use --metrics none)"
            )
        chosen = scorer if explicit else ("default" if metrics == "default" and token_level else None)
        seeds = range(seed, seed + episodes)
        report = evaluate_policy_text(
            loaded.policy, env, seeds, deterministic, sample_seed=seed, metrics=chosen, use_masks=masks
        )
    finally:
        env.close()
    return ModelEvaluation(model, env_id, loaded, report, seeds, split, deterministic)


def paired_difference(first: EvalReport, second: EvalReport) -> tuple[float, float]:
    """The mean of ``second - first`` over the same episodes, and its standard error.

    Example:
        >>> paired_difference(EvalReport([0.0, 1.0], {}), EvalReport([1.0, 1.0], {}))
        (0.5, 0.5)
    """
    if len(first.returns) != len(second.returns):
        raise ValueError("a paired difference needs the same episodes on both sides")
    diffs = np.asarray(second.returns) - np.asarray(first.returns)
    spread = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else 0.0
    return float(diffs.mean()), spread
