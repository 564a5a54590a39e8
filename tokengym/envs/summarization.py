"""Summarization: the agent writes a summary of a news-like article, token by token."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

from tokengym.data.articles import DIFFICULTIES, article_for
from tokengym.data.loaders import load_hub_records, load_records
from tokengym.envs.core import Sample, TokenEnv, fit_prompt

PROMPT_SUFFIX = "\nTL;DR:"
SPLITS = ("train", "test")
MAX_INDEX = 2**31 - 1


def format_article(article: str) -> str:
    """The prompt for a summary: the article, a newline, then ``TL;DR:``."""
    return f"{article}{PROMPT_SUFFIX}"


class SummarizationEnv(TokenEnv):
    """Summarise a news-like article, one token per step.

    ## Description
    An article is drawn from a seeded procedural generator of news stories (who, what, where, when, numbers,
    plus distractor sentences), from a local JSONL/CSV file or from a Hugging Face dataset (CNN/DailyMail, XSum,
    SAMSum), and laid out as the prompt ``"<article>\\nTL;DR:"``. The agent writes the summary and ends it with
    the end-of-sequence token.

    ## Action Space
    ``Discrete(vocab_size)``: the next token id (4,096 for the embedded tokenizer).

    ## Observation Space
    ``Dict``, both arrays of length ``L = max_prompt_len + max_new_tokens``, right-padded:

    | key              | dtype | shape | content                                                   |
    |------------------|-------|-------|-----------------------------------------------------------|
    | ``input_ids``      | int32 | (L,)  | ``[article + TL;DR: | summary so far | pad]``              |
    | ``attention_mask`` | int8  | (L,)  | 1 over prompt and summary, 0 over padding                 |

    ## Rewards
    0 on every step but the last; at the end of the summary, the reward spec evaluated on it with
    ``references`` (the reference summary), ``sources`` (the article) and, for generated articles, ``facts``
    (their key facts, for ``fact_coverage``). The default is
    ``rouge_l + 0.5*verbosity(ratio=1.5)``: ROUGE-L F to the reference in [0, 1], minus half a penalty in
    [-1, 0] for exceeding 1.5 times the reference's length; the total lies in [-0.5, 1].

    ## Starting State
    An article index drawn with ``self.np_random`` (any of 2^31 generated articles of the split, or a record
    of the file). ``reset(options={"index": i})`` picks article ``i``. The ``train`` and ``test`` splits draw from
    disjoint generator streams.

    ## Episode End
    - Termination: the agent emits the end-of-sequence token, or the summary reaches ``max_new_tokens`` tokens;
      the summary is scored on that step and ``info["ended_by"]`` says which (``"eos"`` or ``"budget"``).
      ``max_new_tokens`` is registered as ``max_episode_steps``, so ``TimeLimit`` also flags truncation on the
      budget's step. Terminated, not merely truncated: the score is final, and a learner must not bootstrap
      a value past it. A shorter ``TimeLimit`` truncates earlier, unscored.

    Articles longer than ``max_prompt_len`` lose their end (the right side): the lead of a news story carries
    its key facts. The ``TL;DR:`` suffix is always kept.

    ## Arguments
    ```python
    env = gym.make("Summarization-v0", difficulty=2, split="test", reward="rouge_l + 0.5*bleu")
    ```
    ``tokenizer``, ``reward``, ``max_prompt_len`` (256), ``max_new_tokens`` (48), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`; ``difficulty`` (1, 2 or 3: longer articles, more distractors);
    ``split``; ``data_path`` (JSONL/CSV with ``article`` and ``summary``) and ``fields`` (renames them, e.g.
    ``{"article": "document", "summary": "highlights"}``); ``dataset`` (a Hugging Face dataset: ``"cnn_dailymail"``,
    ``"xsum"``, ``"samsum"`` by name, or a hub id with ``fields``; needs ``pip install 'tokengym[hub]'`` and network
    or the ``datasets`` cache; offline, the error says how to save it as a local JSONL file) and
    ``dataset_limit`` (read only the first records of the split).

    ## Version History
    - v0: procedural articles at three difficulties, local files, Hugging Face datasets, ROUGE-L with a length
      budget.
    """

    default_reward: ClassVar[str] = "rouge_l + 0.5*verbosity(ratio=1.5)"
    truncation_side: ClassVar[str] = "right"

    def __init__(
        self,
        difficulty: int = 1,
        split: str = "train",
        data_path: str | os.PathLike[str] | None = None,
        fields: Mapping[str, str] | None = None,
        dataset: str | None = None,
        dataset_limit: int | None = None,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int = 256,
        max_new_tokens: int = 48,
        render_mode: str | None = None,
    ) -> None:
        if difficulty not in DIFFICULTIES:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES}, not {difficulty!r}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        super().__init__(tokenizer, reward, max_prompt_len, max_new_tokens, render_mode)
        self.difficulty = difficulty
        self.split = split
        self._records: list[dict[str, Any]] | None = None
        if data_path is not None and dataset is not None:
            raise ValueError("pass data_path (a local file) or dataset (a Hugging Face dataset), not both")
        if data_path is not None:
            names = {"article": "article", "summary": "summary", **(fields or {})}
            self._records = load_records(data_path, names)
        elif dataset is not None:
            self._records = load_hub_records(dataset, split, fields, dataset_limit)
        self._suffix = self.codec.encode(PROMPT_SUFFIX)

    def eval_metrics(self) -> str:
        """ROUGE-1/2/L, BLEU, chrF, semantic similarity (ROUGE-1 where no embedding model is installed, named as
        such), faithfulness and compression; key-fact coverage for generated articles, whose facts are known."""
        spec = (
            "rouge_1 + rouge_2 + rouge_l + bleu + chrf + semantic_similarity(fallback='lexical') + faithfulness"
            " + compression"
        )
        return spec if self._records is not None else spec + " + fact_coverage"

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        index = options.get("index")
        n = len(self._records) if self._records is not None else MAX_INDEX
        if index is None:
            index = int(self.np_random.integers(n))
        elif not 0 <= index < n:
            raise ValueError(f"index {index} is outside the {n} articles of this data")
        if self._records is not None:
            record = self._records[index]
            article, summary, meta, extra = str(record["article"]), str(record["summary"]), {}, {}
        else:
            generated = article_for(int(index), self.split, self.difficulty)
            article, summary = generated.article, generated.summary
            meta = {"title": generated.title, "facts": dict(generated.facts)}
            extra = {"facts": dict(generated.facts)}
        ids = fit_prompt(self.codec.encode(article), self.max_prompt_len, side="right", suffix=self._suffix)
        return Sample(
            prompt=format_article(article),
            prompt_ids=ids,
            columns={"references": summary, "sources": article, **extra},
            metadata={"index": int(index), **meta},
        )
