"""The learned reward: a trained reward model's score of a reply, usable in any reward spec.

``learned(path='models/rm')`` scores each completion with the reward model in that folder (trained by
:func:`tokengym.feedback.reward_model.train_reward_model`), standardised by default with the mean and spread of
its scores over its own training completions, so that weights in a spec mean the same across reward models::

    env = gym.make("Dialogue-v0", reward="learned(path='models/rm') + 0.2*verbosity")

The reward is checked when it is built (so when the environment is built): a path that does not exist or holds
no reward model raises :class:`~tokengym.feedback.reward_model.RewardModelNotFoundError` there, not at the first
step. The weights load on the first call, once per process: the model is cached by folder, weights SHA-256 and
device, and the reward object pickles its settings only (the path, batch size, device), so each
``SubprocVecEnv`` worker loads the model once and a retrained folder is picked up by a new reward.

Example:
    >>> from tokengym.rewards import make_reward
    >>> reward = make_reward("learned(path='models/rm') + 0.2*verbosity")  # doctest: +SKIP
    >>> reward(["User: Hi!\\nAssistant:"], ["Hello! Happy to help."])  # doctest: +SKIP
    [1.37]
"""

from __future__ import annotations

import os
from typing import Any

from tokengym.rewards.base import Reward

__all__ = ["LearnedReward", "cached_reward_model"]

_MODELS: dict[tuple[str, str, str], Any] = {}


def cached_reward_model(path: str, device: str = "cpu") -> Any:
    """The :class:`~tokengym.feedback.reward_model.RewardModel` in ``path``, loaded once per process for each
    (resolved folder, weights SHA-256, device); a folder retrained in place is loaded again."""
    from tokengym.feedback.reward_model_io import load_reward_model, read_description

    folder = os.path.realpath(os.path.expanduser(path))
    key = (folder, str(read_description(folder)["weights"].get("sha256")), device)
    model = _MODELS.get(key)
    if model is None:
        for stale in [k for k in _MODELS if k[0] == folder and k[2] == device]:
            del _MODELS[stale]  # an older version of the same folder
        model = _MODELS[key] = load_reward_model(folder, device=device)
    return model


class LearnedReward(Reward):
    """A reward model's score of the completion given the prompt; range unbounded (about N(0, 1) over the
    training completions when ``normalize``).

    Args:
        path: the reward model's folder.
        batch_size: completions scored per forward pass.
        device: where the model runs (``"cpu"``, ``"cuda"``...).
        normalize: standardise the score with the mean and spread of the training completions' scores.

    Raises:
        RewardModelNotFoundError: (a ``FileNotFoundError`` and a ``ValueError``) no folder at ``path``, or one
            without a reward model or its weights.
        RewardModelError: a damaged description; at the first call, also a weights checksum or tokenizer that
            does not match (:func:`~tokengym.feedback.reward_model.load_reward_model`).

    Example:
        >>> fn = LearnedReward("models/rm")  # doctest: +SKIP
        >>> fn(["User: Hi!\\nAssistant:"] * 2, ["Hello! Happy to help.", "Go away."])  # doctest: +SKIP
        [1.21, -1.84]
    """

    name = "learned"

    def __init__(self, path: str = "models/rm", batch_size: int = 32, device: str = "cpu", normalize: bool = True):
        from tokengym.feedback.reward_model_io import read_description

        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"learned: path must be a folder name, not {path!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"learned: batch_size must be a positive integer, not {batch_size!r}")
        if not isinstance(device, str):
            raise TypeError(f"learned: device must be a string such as 'cpu', not {device!r}")
        if not isinstance(normalize, bool):
            raise TypeError(f"learned: normalize must be True or False, not {normalize!r}")
        read_description(path)  # fails here, when the env is built, for a folder with no reward model
        self.path = os.fspath(path)
        self.batch_size = batch_size
        self.device = device
        self.normalize = normalize

    def __call__(self, prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        self._check_batch(prompts, completions, kwargs)
        if not completions:
            return []
        model = cached_reward_model(self.path, self.device)
        return model.score(prompts, completions, batch_size=self.batch_size, normalize=self.normalize)
