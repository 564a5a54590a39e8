"""The token-level core: one base environment that every language task builds on.

A task subclass says where prompts come from (:meth:`TokenEnv._sample`) and, optionally, what happens at the
end of an utterance (:meth:`TokenEnv._end_of_completion`). This class owns the token-level contract: the
spaces, the right-padded ``[prompt | generated | pad]`` layout, O(1) steps, termination on end-of-sequence,
fresh arrays, seeding, bad-input errors, and scoring the completion with a composable reward.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tokengym.envs.validation import check_reset_options, check_seed, check_token_budget
from tokengym.rewards import CompositeReward, make_reward
from tokengym.tokenizer import TokenCodec, load_tokenizer

TRUNCATION_SIDES = ("left", "right")


@dataclass(frozen=True)
class Sample:
    """One task instance: the prompt and what the reward needs to judge a completion.

    Attributes:
        prompt: the prompt text (what the agent continues).
        prompt_ids: its token ids, already fitted to ``max_prompt_len`` (see :func:`fit_prompt`).
        columns: per-sample reward arguments, e.g. ``{"references": "..."}``; passed to the reward as
            one-element lists.
        metadata: anything else worth putting in ``info`` at the end of the episode (ids, facts, turns).
    """

    prompt: str
    prompt_ids: Sequence[int]
    columns: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)


def fit_prompt(ids: Sequence[int], max_len: int, side: str = "left", suffix: Sequence[int] = ()) -> list[int]:
    """Fit ``ids + suffix`` into ``max_len`` tokens by dropping tokens of ``ids`` from ``side``.

    ``side="left"`` drops the oldest tokens (keeps the end: recent dialogue turns), ``"right"`` drops the end
    (keeps the beginning: the lead of an article). The suffix (an instruction such as ``"TL;DR:"``) is always
    kept whole.

    Raises:
        ValueError: if the suffix alone does not fit, or ``side`` is unknown.
    """
    if side not in TRUNCATION_SIDES:
        raise ValueError(f"truncation side must be one of {TRUNCATION_SIDES}, not {side!r}")
    room = max_len - len(suffix)
    if room < 0 or (room == 0 and not suffix):
        raise ValueError(f"max_prompt_len={max_len} leaves no room for the prompt (its suffix is {len(suffix)} tokens)")
    ids = list(ids)
    if len(ids) > room:
        ids = ids[len(ids) - room :] if side == "left" else ids[:room]
    return ids + list(suffix)


def integer_action(action: Any, n: int, what: str, text_hint: str) -> int:
    """``action`` as an int in ``[0, n)``: an int, a NumPy integer or a one-element integer array.

    Raises:
        TypeError: for anything else (``text_hint`` says how to step with text instead).
        ValueError: outside ``Discrete(n)``.
    """
    if type(action) is int or isinstance(action, np.integer):
        a = int(action)
    elif isinstance(action, np.ndarray) and action.size == 1 and np.issubdtype(action.dtype, np.integer):
        a = int(action.reshape(()))
    else:
        raise TypeError(f"action {action!r} is not an integer {what}; pass an int in [0, {n}) (use {text_hint})")
    if not 0 <= a < n:
        raise ValueError(f"action {a} is outside Discrete({n}); {what}s run from 0 to {n - 1}")
    return a


class TokenEnv(gym.Env):
    """Base class of the token-level environments (see each task's docstring for its documentation).

    Args:
        tokenizer: ``None``/``"tiny"`` for the embedded default, a tokenizer object, a local path or a hub id.
        reward: a reward spec for :func:`tokengym.rewards.make_reward`; ``None`` takes the task's default.
        max_prompt_len: prompt budget in tokens; longer prompts are truncated on the task's documented side.
        max_new_tokens: completion budget in tokens (end-of-sequence included). The two add up to at most
            :data:`~tokengym.envs.validation.MAX_TOKENS` (131,072).
        render_mode: ``None``, ``"ansi"`` (``render()`` returns the text), ``"human"`` (prints it) or
            ``"rgb_array"`` (an image of the text, for video recorders; SB3's ``make_vec_env`` asks for it).

    ``reset`` takes a seed (``None`` or a non-negative integer) and ``options``, a dict whose keys are the task's
    ``reset_options`` (``repeat_task``, and ``index`` where the task can pick an instance); anything else is
    refused with ``ValueError`` before the environment changes, and a reset that fails later leaves its random
    generator as it was.

    Subclasses set ``default_reward`` and implement :meth:`_sample`. A task whose reward is not a text reward
    (defined on token ids, say) sets ``default_reward = None``, takes no ``reward`` argument, and scores
    completions in its own :meth:`_end_of_completion`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    default_reward: ClassVar[str | None] = "rouge_l"
    truncation_side: ClassVar[str] = "left"
    #: The keys ``reset(options=...)`` reads; a task that can pick an instance adds ``"index"``.
    reset_options: ClassVar[tuple[str, ...]] = ("repeat_task",)
    #: The fewest prompt tokens the task can lay out (its fixed suffix and at least one token of content).
    min_prompt_len: ClassVar[int] = 1

    def __init__(
        self,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int = 128,
        max_new_tokens: int = 48,
        render_mode: str | None = None,
    ) -> None:
        max_prompt_len, max_new_tokens = check_token_budget(max_prompt_len, max_new_tokens, self.min_prompt_len)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, not {render_mode!r}")
        self.codec: TokenCodec = load_tokenizer(tokenizer)
        spec = self.default_reward if reward is None else reward
        self.reward_spec: Any = spec
        """The reward as given (a spec string, a reward or ``None`` for a task-defined reward)."""
        self.reward_fn: CompositeReward | None = None if spec is None else make_reward(spec)
        self.max_prompt_len = int(max_prompt_len)
        self.max_new_tokens = int(max_new_tokens)
        self.render_mode = render_mode

        vocab = self.codec.vocab_size
        self.seq_len = self.max_prompt_len + self.max_new_tokens
        self.action_space = spaces.Discrete(vocab)
        self.observation_space = spaces.Dict(
            {
                "input_ids": spaces.Box(0, vocab - 1, (self.seq_len,), np.int32),
                "attention_mask": spaces.Box(0, 1, (self.seq_len,), np.int8),
            }
        )
        self._vocab = vocab
        self._eos = self.codec.eos_id
        self._ids = np.full(self.seq_len, self.codec.pad_id, dtype=np.int32)
        self._mask = np.zeros(self.seq_len, dtype=np.int8)
        self._start = 0  # where the current completion begins
        self._pos = 0  # next free slot
        self._end = 0  # slot past the last one the completion may use
        self._sample_: Sample | None = None
        self._status = "new"  # "new" | "running" | "terminated" | "truncated"
        self._last_text: str | None = None

    # ------------------------------------------------------------------------------------------ task hooks

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        """Draw the next task instance with ``self.np_random`` (``options`` come from ``reset``)."""
        raise NotImplementedError

    def _repeat_sample(self) -> Sample:
        """The current task instance again, for ``reset(options={"repeat_task": True})``: by default the last
        sample served. Tasks whose sample changes during an episode (games) start their instance over instead."""
        if self._sample_ is None:
            raise RuntimeError("reset(options={'repeat_task': True}) has no task to repeat; reset once without it")
        return self._sample_

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        """Score a finished completion; returns ``(reward, terminated, info)``.

        A completion finishes on end-of-sequence or when its token budget is full. ``terminated`` says whether
        the MDP ended; when it did not and the whole token window is full, the step truncates. The default
        scores the completion with the reward function and terminates either way: once the completion is
        scored, nothing is left to happen, so there is no future return for a learner to bootstrap from (SB3
        bootstraps truncated episodes with the critic's value, which would pay a cut-off completion twice).
        Multi-turn tasks override this to let a user answer and continue the episode.
        """
        assert self._sample_ is not None and self.reward_fn is not None
        sample = self._sample_
        columns = {k: [v] for k, v in sample.columns.items()}
        totals, parts = self.reward_fn.score([sample.prompt], [completion], **columns)
        info = {
            "prompt": sample.prompt,
            "completion": completion,
            "reward_components": {name: values[0] for name, values in parts.items()},
            **{k: v for k, v in sample.columns.items() if isinstance(v, str)},
            **sample.metadata,
        }
        return totals[0], True, info

    def _token_reward(self) -> float:
        """The reward of a step inside a completion (not its last): 0, unless a task pays per token (the
        summarization task's ``invented_penalty`` lands on the token that completes an invented name)."""
        return 0.0

    def eval_metrics(self) -> str | None:
        """A reward spec of the metrics worth reporting for this task (``tokengym eval`` scores every completion
        with each of them, besides the reward); ``None`` when the task names none."""
        return None

    def _lay_out(self, sample: Sample) -> None:
        """Start a completion after ``sample``'s prompt: the context becomes ``[prompt | pad]`` (multi-turn tasks
        call it again for each turn)."""
        n = len(sample.prompt_ids)
        self._ids.fill(self.codec.pad_id)
        self._mask.fill(0)
        self._ids[:n] = sample.prompt_ids
        self._mask[:n] = 1
        self._start = self._pos = n
        self._end = n + self.max_new_tokens
        self._sample_ = sample

    # --------------------------------------------------------------------------------------- gym interface

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode on a new task instance, drawn with the env's seeded generator.

        ``options={"repeat_task": True}`` serves the current instance again instead of drawing one (the same
        prompt and references; a game starts over; :class:`~tokengym.envs.wrappers.RepeatTask` uses it for group
        baselines).
        """
        seed = check_seed(seed)
        options = check_reset_options(options, self.reset_options, type(self).__name__)
        restore = snapshot_rng(self)
        super().reset(seed=seed)
        try:
            sample = self._repeat_sample() if options.get("repeat_task") else self._sample(options)
            n = len(sample.prompt_ids)
            if not 0 < n <= self.max_prompt_len:
                raise ValueError(
                    f"{type(self).__name__}._sample returned a prompt of {n} tokens; it must have 1 to "
                    f"max_prompt_len={self.max_prompt_len} (fit it with tokengym.envs.core.fit_prompt)"
                )
        except BaseException:
            restore()  # a refused index or a failing task must not reseed or advance the generator
            raise
        self._lay_out(sample)
        self._status = "running"
        self._last_text = None
        return self._obs(), {"prompt": sample.prompt}

    def step(self, action: Any):
        a = self._check_action(action)
        if self._status != "running":
            raise RuntimeError(
                "call reset() before step()"
                if self._status == "new"
                else f"the episode is over ({self._status}); call reset() to start a new one"
            )
        pos = self._pos
        self._ids[pos] = a
        self._mask[pos] = 1
        self._pos = pos + 1
        if a != self._eos and self._pos < self._end:
            return self._obs(), self._token_reward(), False, False, {}
        # End of the completion: on EOS or a full budget. The task says whether the episode ends there.
        ended_by_eos = a == self._eos
        completion = self.codec.decode(self._ids[self._start : self._pos]).strip()
        try:
            reward, terminated, info = self._end_of_completion(completion, ended_by_eos)
            info["ended_by"] = "eos" if ended_by_eos else "budget"
        except Exception:
            # Leave the episode as it was before this step, so that the caller can fix the reward and retry.
            self._pos = pos
            self._ids[pos] = self.codec.pad_id
            self._mask[pos] = 0
            raise
        truncated = not terminated and not ended_by_eos and self._pos >= self._end
        if terminated:
            self._status = "terminated"
        elif truncated:
            self._status = "truncated"
        self._last_text = completion
        if self.render_mode == "human":
            self.render()
        return self._obs(), float(reward), terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        if self._sample_ is None:
            text = "(call reset() first)"
        else:
            completion = self.codec.decode(self._ids[self._start : self._pos])
            text = f"{self._sample_.prompt}{completion if completion.startswith(' ') else ' ' + completion}"
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            return text_image(text)
        return text

    # ----------------------------------------------------------------------------------------------- helpers

    def _obs(self) -> dict[str, np.ndarray]:
        return {"input_ids": self._ids.copy(), "attention_mask": self._mask.copy()}

    def _check_action(self, action: Any) -> int:
        return integer_action(action, self._vocab, "token id", "TextActionWrapper to step with text")

    @property
    def episode_step_limit(self) -> int:
        """The most steps an episode can take: ``max_new_tokens`` per completion, times ``max_turns`` for a
        multi-turn task (its episode has ended by then). ``gym.make`` sets the ``TimeLimit`` to it whenever the
        arguments change it (see :func:`tokengym.envs.match_time_limit`)."""
        return int(getattr(self, "max_turns", 1)) * self.max_new_tokens

    @property
    def current_sample(self) -> Sample | None:
        """The task instance of the current episode (prompt, reference columns, metadata); ``None`` before reset."""
        return self._sample_

    @property
    def prompt_length(self) -> int:
        """Number of prompt tokens in the current observation."""
        return self._start

    @property
    def completion_ids(self) -> list[int]:
        """Token ids generated so far in the current completion."""
        return self._ids[self._start : self._pos].tolist()


def text_image(text: str, width: int = 640, height: int = 360, columns: int = 100) -> np.ndarray:
    """The text, wrapped, drawn black on white: an ``(height, width, 3)`` uint8 frame for video recorders."""
    import textwrap

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    lines = [w for line in text.splitlines() for w in (textwrap.wrap(line, columns) or [""])]
    draw.multiline_text((6, 6), "\n".join(lines[-(height // 12) :]), fill="black", spacing=1)
    return np.asarray(image, dtype=np.uint8).copy()


def snapshot_rng(env: gym.Env) -> Callable[[], None]:
    """A function that puts ``env``'s random generator (and its seed) back as they are now, for a ``reset`` that
    fails after seeding. Gymnasium keeps them in ``Env._np_random`` and ``Env._np_random_seed``: reading them
    through the public properties would create a generator where there is none yet."""
    generator, seed = env._np_random, env._np_random_seed
    state = None if generator is None else copy.deepcopy(generator.bit_generator.state)

    def restore() -> None:
        env._np_random, env._np_random_seed = generator, seed
        if generator is not None:
            generator.bit_generator.state = state

    return restore
