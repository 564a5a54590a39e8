"""The training episodes of a run and its learning curve: what ``tokengym train`` and the demo plot.

:class:`EpisodeLogCallback` records the return of every training episode that ends (from the ``Monitor``
wrapper's ``info["episode"]``) with the step it ended at, and counts the episodes still running when training
stops. Those are the episodes SB3's ``rollout/ep_rew_mean`` leaves out: in a short run on a text game, a lost
game runs for all its turns and may never end, while a won game ends in a few, so the episodes that ended are
mostly wins. The count says how many were left out; the held-out evaluation at the end of a run
(:func:`~tokengym.agents.running.evaluate.evaluate_model`) is the figure to compare with ``tokengym eval``.

Example:
    >>> log = EpisodeLogCallback()
    >>> model.learn(4096, callback=log)                                                  # doctest: +SKIP
    >>> plot_learning_curve(log.steps, log.returns, Path("curve.png"), "PPO", trained=0.4)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback


class EpisodeLogCallback(BaseCallback):
    """Records each training episode's return and end step; counts the episodes running when training stops.

    Attributes:
        steps: the token step at which each episode ended.
        returns: each episode's return (the sum of its rewards, from ``Monitor``).
        running: episodes started and not ended when training stopped (set at the end of training).
    """

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[int] = []
        self.returns: list[float] = []
        self.running = 0
        self._started: list[bool] = []

    def _init_callback(self) -> None:
        self._started = [False] * self.training_env.num_envs

    def _on_step(self) -> bool:
        dones = self.locals.get("dones", [])
        for i, info in enumerate(self.locals.get("infos", [])):
            self._started[i] = True
            if "episode" in info:
                self.steps.append(self.num_timesteps)
                self.returns.append(float(info["episode"]["r"]))
            if i < len(dones) and dones[i]:
                self._started[i] = False
        return True

    def _on_training_end(self) -> None:
        self.running = sum(self._started)


def plot_learning_curve(
    steps: list[int],
    returns: list[float],
    path: Path,
    title: str,
    zero_shot: float | None = None,
    trained: float | None = None,
    held_out: str = "held-out",
) -> None:
    """Write a PNG of the training episodes' returns, their moving mean, and held-out scores as lines.

    Args:
        steps: the step each episode ended at.
        returns: each episode's return.
        path: the PNG to write (its folder is made).
        title: the plot's title.
        zero_shot: the starting model's held-out mean, drawn as a grey line (``None``: none).
        trained: the trained model's held-out mean, drawn as a green line (``None``: none).
        held_out: how the held-out lines are described in the legend.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, returns, ".", alpha=0.25, label="training episode return")
    if len(returns) >= 10:
        window = max(10, len(returns) // 15)
        smooth = np.convolve(returns, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1 :], smooth, lw=2, label=f"moving mean ({window} episodes)")
    if zero_shot is not None:
        ax.axhline(zero_shot, color="grey", ls="--", label=f"{held_out}, zero-shot: {zero_shot:.3f}")
    if trained is not None:
        ax.axhline(trained, color="green", ls="--", label=f"{held_out}, trained: {trained:.3f}")
    ax.set_xlabel("token steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
