"""Wrappers for token-level environments: whole strings as actions (for LLM agents that generate elsewhere and
for people), and tasks served several times in a row (for group baselines)."""

from __future__ import annotations

import string
from typing import Any

import gymnasium as gym
from gymnasium import spaces

from tokengym.data.textcheck import require_unicode
from tokengym.envs.core import TokenEnv
from tokengym.envs.validation import check_bool


class TextActionWrapper(gym.Wrapper):
    """Step a token-level environment with a whole utterance: ``env.step("Sure, I can help.")``.

    The text is tokenised and fed token by token; the step returns the last observation, the summed reward
    and the last step's flags and info, with ``info["tokens_fed"]`` and ``info["tokens_dropped"]`` (tokens past
    the end of the episode are dropped, never fed into the next one).

    Args:
        env: a token-level environment (its unwrapped env is a :class:`~tokengym.envs.core.TokenEnv`).
        end_utterance: append the end-of-sequence token after the text, so one call writes one whole reply.
            With ``False`` each call appends text to the reply, which then ends at the token budget (an empty
            string is refused, since it would feed nothing).

    Text that is not valid Unicode (a lone surrogate such as ``"\\ud800"``) is refused with a ``ValueError``
    naming its index, before any token reaches the environment.

    Example:
        >>> import gymnasium as gym, tokengym
        >>> env = TextActionWrapper(gym.make("Dialogue-v0"))
        >>> _ = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step("Hello! How can I help you today?")
        >>> terminated, "reward_components" in info
        (True, True)
    """

    def __init__(self, env: gym.Env, end_utterance: bool = True) -> None:
        super().__init__(env)
        if not isinstance(env.unwrapped, TokenEnv):
            raise TypeError(f"TextActionWrapper needs a tokengym token-level env, got {type(env.unwrapped).__name__}")
        self.end_utterance = check_bool("end_utterance", end_utterance)
        budget = env.unwrapped.max_new_tokens
        self.action_space = spaces.Text(max_length=64 * budget, charset=string.printable)

    def step(self, action: Any):
        if not isinstance(action, str):
            raise TypeError(f"TextActionWrapper steps with a string, not {type(action).__name__}: {action!r}")
        require_unicode(action, "the text given to TextActionWrapper.step")
        codec = self.env.unwrapped.codec
        ids = codec.encode(action)
        if self.end_utterance:
            ids.append(codec.eos_id)
        elif not ids:
            raise ValueError("empty text with end_utterance=False feeds no token; pass some text")
        total, fed = 0.0, 0
        for token in ids:
            obs, reward, terminated, truncated, info = self.env.step(token)
            total += float(reward)
            fed += 1
            if terminated or truncated:
                break
        info = dict(info)
        info["tokens_fed"] = fed
        info["tokens_dropped"] = len(ids) - fed
        return obs, total, terminated, truncated, info


class RepeatTask(gym.Wrapper):
    """Serve each task instance ``times`` times in a row: a group of episodes on the same prompt.

    Several replies to one prompt let a learner judge each reply against its siblings instead of against a
    critic's guess of how hard the prompt is (the group baseline of RLOO and GRPO; see
    :class:`~tokengym.agents.lm.buffers.EpisodeDictRolloutBuffer` with ``baseline="group"``). The first reset,
    and every reset given a ``seed``, draws a new instance and starts a new group.

    Args:
        env: a token-level environment (its unwrapped env is a :class:`~tokengym.envs.core.TokenEnv`), or a
            command-level game: any env whose ``reset_options`` include ``"repeat_task"``.
        times: episodes per instance (1: the wrapper does nothing).

    Example:
        >>> import gymnasium as gym, tokengym
        >>> env = RepeatTask(gym.make("Dialogue-v0"), times=2)
        >>> prompts = [env.reset(seed=0)[1]["prompt"], env.reset()[1]["prompt"], env.reset()[1]["prompt"]]
        >>> prompts[0] == prompts[1], prompts[1] == prompts[2]
        (True, False)
    """

    def __init__(self, env: gym.Env, times: int) -> None:
        super().__init__(env)
        if "repeat_task" not in getattr(env.unwrapped, "reset_options", ()):  # token-level and command-level envs
            raise TypeError(f"RepeatTask needs a tokengym token-level env, got {type(env.unwrapped).__name__}")
        if type(times) is not int or times < 1:
            raise ValueError(f"times must be a positive int (episodes per task), not {times!r}")
        self.times = times
        self._served = 0  # episodes of the current instance so far; 0: no instance yet

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        repeat = seed is None and 0 < self._served < self.times
        self._served = self._served + 1 if repeat else 1
        return self.env.reset(seed=seed, options={**(options or {}), "repeat_task": repeat})
