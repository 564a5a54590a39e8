"""One episode runner for evaluation: play one episode per seed with anything that has SB3's ``predict``.

:func:`play_episodes` is the loop under :func:`~tokengym.agents.running.evaluate.evaluate_policy_text` (returns,
reward components, texts), :func:`~tokengym.agents.textgame.evaluation.evaluate_win_rate` (wins and turns of
text games) and ``tokengym eval``; each reads what it reports from the :class:`Episode` records.

**Action masks, one rule** (:func:`uses_action_masks`): every step's ``predict`` gets
``action_masks=<the env's action_masks()>`` when the environment has ``action_masks()`` (on itself or a wrapper)
*and* the predictor's ``predict`` names an ``action_masks`` parameter, as sb3-contrib's maskable predictors
(``MaskablePPO``, ``MaskableActorCriticPolicy`` and its subclasses such as ``MaskableLMActorCriticPolicy``) and the
command-level agents (``CommandDQN``, ``RandomCommandAgent``) do. Otherwise ``predict(obs, deterministic=...)`` is
called as SB3 defines it. A ``**kwargs`` catch-all does not count: a wrapper that forwards masks names the
parameter. ``use_masks=False`` gives no masks to any predictor.

Which policy plays is decided before: ``tokengym eval`` and the evaluation that ends ``tokengym train`` load every
language-model actor-critic as the maskable policy where the env offers masks
(:func:`~tokengym.agents.running.policies.load_policy`), so the zero-shot model and every checkpoint play under
the same masks.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from tokengym.agents.textgame import RandomCommandAgent
    >>> env = gym.make("TextNavCmd-v0", level=1, max_turns=5)
    >>> agent = RandomCommandAgent(seed=0)
    >>> uses_action_masks(agent, env)
    True
    >>> [episode.seed for episode in play_episodes(agent, env, seeds=range(2))]
    [0, 1]
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass
class Episode:
    """What one episode played: its seed, every step's action, reward and info, and their summaries.

    Attributes:
        seed: the reset seed.
        reset_info: the info ``reset`` returned (the prompt of a text task, for example).
        actions: the action of every step.
        rewards: the reward of every step.
        infos: the info of every step; the last one is :attr:`end_info`.
        episode_return: the rewards added up in step order.
        components: ``info["reward_components"]`` summed over the steps (a conversation or a game scores every
            turn: its components add up, as the return does).
        turns: the steps that ended a turn of text (their info has a ``completion``): ``completion``, the step's
            ``reward`` and, in a conversation, the ``user_reply``.
        masked: whether ``predict`` was given the env's action masks (:func:`uses_action_masks`).
    """

    seed: int
    reset_info: dict[str, Any]
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    episode_return: float = 0.0
    components: dict[str, float] = field(default_factory=dict)
    turns: list[dict[str, Any]] = field(default_factory=list)
    masked: bool = False

    @property
    def end_info(self) -> dict[str, Any]:
        """The info of the last step (where ``won``, ``end_reason`` or the last ``completion`` are)."""
        return self.infos[-1] if self.infos else {}

    @property
    def length(self) -> int:
        """Steps played (tokens in a token-level env)."""
        return len(self.actions)


def takes_action_masks(predictor: Any) -> bool:
    """Whether ``predictor.predict`` names an ``action_masks`` parameter (a ``**kwargs`` catch-all does not count)."""
    try:
        parameters = inspect.signature(predictor.predict).parameters
    except (TypeError, ValueError):  # a builtin or C-level callable without a readable signature
        return False
    parameter = parameters.get("action_masks")
    return parameter is not None and parameter.kind in (
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.KEYWORD_ONLY,
    )


def env_action_masks(env: gym.Env) -> Callable[[], np.ndarray] | None:
    """The env's ``action_masks`` method (found through its wrappers), or None when it has none."""
    try:
        masks = env.get_wrapper_attr("action_masks")
    except AttributeError:
        return None
    return masks if callable(masks) else None


def uses_action_masks(predictor: Any, env: gym.Env) -> bool:
    """The masking rule of :func:`play_episodes`: the env has ``action_masks()`` and ``predict`` takes them."""
    return env_action_masks(env) is not None and takes_action_masks(predictor)


def play_episodes(
    predictor: Any,
    env: gym.Env,
    seeds: Iterable[int],
    deterministic: bool = False,
    use_masks: bool = True,
) -> Iterator[Episode]:
    """Play one episode per seed, each from ``env.reset(seed=seed)``, and yield its :class:`Episode`.

    The episodes are played lazily, each yielded as it ends and before the next reset, so the env still holds
    the episode's task (its ``current_sample``, its game). The same predictor, env and seeds (and the same random
    state of the predictor's sampler) give the same episodes. Checks run on the call, before any episode.

    Args:
        predictor: anything with SB3's ``predict(obs, deterministic=...)``: a model, a policy, an agent. It is
            given the env's action masks under the rule of :func:`uses_action_masks`.
        env: a Gymnasium environment (not vectorised).
        seeds: reset seeds, one episode each.
        deterministic: passed to ``predict`` (greedy actions, for SB3's models and policies).
        use_masks: ``False`` never gives masks, whatever the rule says (to play a maskable policy unmasked).

    Raises:
        TypeError: ``predictor`` has no ``predict``.
    """
    if not callable(getattr(predictor, "predict", None)):
        name = type(predictor).__name__
        raise TypeError(f"the predictor needs SB3's predict(obs, deterministic=...); {name} has none")
    masks = env_action_masks(env) if use_masks and takes_action_masks(predictor) else None
    return (_play_episode(predictor, env, int(seed), deterministic, masks) for seed in seeds)


def _play_episode(
    predictor: Any,
    env: gym.Env,
    seed: int,
    deterministic: bool,
    action_masks: Callable[[], np.ndarray] | None,
) -> Episode:
    # action_masks, when given, is called before every step (play_episodes picks it by the masking rule)
    obs, reset_info = env.reset(seed=seed)
    episode = Episode(seed=seed, reset_info=reset_info, masked=action_masks is not None)
    done = False
    while not done:
        if action_masks is None:
            action, _ = predictor.predict(obs, deterministic=deterministic)
        else:
            action, _ = predictor.predict(obs, deterministic=deterministic, action_masks=action_masks())
        obs, reward, terminated, truncated, info = env.step(int(action))
        reward = float(reward)
        done = terminated or truncated
        episode.actions.append(int(action))
        episode.rewards.append(reward)
        episode.infos.append(info)
        episode.episode_return += reward
        for name, value in info.get("reward_components", {}).items():
            episode.components[name] = episode.components.get(name, 0.0) + float(value)
        if "completion" in info:
            turn = {"completion": info["completion"], "reward": reward}
            if "user_reply" in info:
                turn["user_reply"] = info["user_reply"]
            episode.turns.append(turn)
    return episode
