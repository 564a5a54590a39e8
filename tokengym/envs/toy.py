"""A toy token task for sanity checks and learnability tests, in the spirit of SB3's ``IdentityEnv``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from tokengym.envs.core import Sample, TokenEnv


class TokenSubsetEnv(TokenEnv):
    """Write tokens from a fixed subset of the vocabulary: the simplest task a token policy can learn.

    ## Description
    The prompt is a short random sequence of ordinary tokens. Each generated token earns ``1 / max_new_tokens``
    when its id is odd: the target subset is half of the vocabulary, so a uniformly random policy earns
    about 0.5 per episode and a policy that has learnt the subset earns 1. It checks that an algorithm and
    a policy can move probability mass where the reward is, in a few hundred updates.

    ## Action Space
    ``Discrete(vocab_size)``.

    ## Observation Space
    The token contract: ``input_ids`` int32 and ``attention_mask`` int8, both ``(max_prompt_len + max_new_tokens,)``,
    right-padded ``[prompt | generated | pad]``.

    ## Rewards
    Dense: ``1 / max_new_tokens`` for every token with an odd id (end-of-sequence, id 0, is even), else 0; the
    return lies in [0, 1]. ``info["reward_components"]["odd_share"]`` is the share of odd tokens at the end.
    There is no ``reward`` argument: this task's reward is defined on token ids, not text.

    ## Starting State
    A prompt of 2 to ``max_prompt_len`` token ids drawn uniformly from the non-special vocabulary.

    ## Episode End
    - Termination: the end-of-sequence token, or ``max_new_tokens`` tokens (registered ``max_episode_steps``: 8,
      so ``TimeLimit`` also flags truncation on that step).

    ## Arguments
    ```python
    env = gym.make("TokenSubset-v0", max_new_tokens=8)
    ```
    ``tokenizer``, ``max_prompt_len`` (8, at least 2), ``max_new_tokens`` (8), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`. ``reset`` takes ``options={"repeat_task": True}`` only.

    ## Version History
    - v0: initial version.
    """

    default_reward: ClassVar[str | None] = None  # the reward is defined on token ids, not text
    min_prompt_len: ClassVar[int] = 2  # prompts hold 2 to max_prompt_len tokens

    def __init__(
        self,
        tokenizer: Any = None,
        max_prompt_len: int = 8,
        max_new_tokens: int = 8,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(tokenizer, None, max_prompt_len, max_new_tokens, render_mode)
        self._unit = 1.0 / self.max_new_tokens
        self._special = {self.codec.eos_id, self.codec.pad_id}

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        n = int(self.np_random.integers(2, self.max_prompt_len + 1))
        ids = [int(i) for i in self.np_random.integers(2, self._vocab, size=n)]
        ids = [i if i not in self._special else 2 for i in ids]
        return Sample(prompt=self.codec.decode(ids), prompt_ids=ids)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = super().step(action)
        # The token just written is the validated action.
        bonus = self._unit if int(self._ids[self._pos - 1]) % 2 == 1 else 0.0
        return obs, reward + bonus, terminated, truncated, info

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        ids = np.asarray(self.completion_ids)
        share = float((ids % 2 == 1).sum()) / self.max_new_tokens
        info = {
            "prompt": self.current_sample.prompt,
            "completion": completion,
            "reward_components": {"odd_share": share},
        }
        return 0.0, True, info
