"""Summarization: the agent writes a summary of a news-like article, token by token."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from tokengym.data.articles import DIFFICULTIES, article_for
from tokengym.data.loaders import load_hub_records, load_records, resolve_fields
from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.validation import check_choice, check_index, check_int, check_number
from tokengym.rewards.summary import InventedItems

PROMPT_SUFFIX = "\nTL;DR:"
SEQ2SEQ_PREFIX = "summarize: "
PROMPT_FORMATS = ("tldr", "seq2seq")
SPLITS = ("train", "test")
MIXED = "mix"
MAX_INDEX = 2**31 - 1


def format_article(article: str, prompt_format: str = "tldr") -> str:
    """The prompt text for a summary: ``"<article>\\nTL;DR:"`` (``"tldr"``) or ``"summarize: <article>"``
    (``"seq2seq"``, T5's task prefix; the environment ends its tokens with end-of-sequence)."""
    if prompt_format == "seq2seq":
        return f"{SEQ2SEQ_PREFIX}{article}"
    return f"{article}{PROMPT_SUFFIX}"


def difficulty_of(index: int, difficulty: int | str) -> int:
    """The difficulty of generated article ``index``: ``difficulty`` itself, or under ``"mix"`` 1, 2 and 3 in turn
    (``1 + index % 3``), so that an article stays a pure function of its index."""
    return 1 + index % len(DIFFICULTIES) if difficulty == MIXED else int(difficulty)


def split_seq2seq(input_ids: np.ndarray, attention_mask: np.ndarray, eos_id: int) -> dict[str, np.ndarray]:
    """Cut a ``prompt_format="seq2seq"`` observation into an encoder-decoder policy's inputs.

    The source runs up to and including the first end-of-sequence token; the summary written so far follows.
    Works on one observation ``(L,)`` or a batch ``(B, L)``; the decoder arrays keep the width ``L`` (left-aligned,
    right-padded with zeros), so a batch stays rectangular.

    Returns:
        ``encoder_input_ids``/``encoder_attention_mask`` (the source, zeros after it) and
        ``decoder_input_ids``/``decoder_attention_mask`` (the summary so far).

    Raises:
        ValueError: if a row has no end-of-sequence token (the observation is not in the seq2seq format).

    Example:
        >>> import gymnasium as gym, tokengym
        >>> env = gym.make("Summarization-v0", prompt_format="seq2seq")
        >>> obs, _ = env.reset(seed=0)
        >>> parts = split_seq2seq(obs["input_ids"], obs["attention_mask"], env.unwrapped.codec.eos_id)
        >>> int(parts["encoder_attention_mask"].sum()) == env.unwrapped.prompt_length
        True
        >>> int(parts["decoder_attention_mask"].sum())
        0
    """
    ids = np.asarray(input_ids)
    mask = np.asarray(attention_mask)
    batched = ids.ndim == 2
    ids, mask = np.atleast_2d(ids), np.atleast_2d(mask)
    is_eos = (ids == eos_id) & (mask > 0)
    if not is_eos.any(axis=1).all():
        rows = np.flatnonzero(~is_eos.any(axis=1)).tolist()
        raise ValueError(
            f"observation rows {rows} hold no end-of-sequence token: only prompt_format='seq2seq' observations "
            "can be split"
        )
    cut = is_eos.argmax(axis=1) + 1  # the source ends after its end-of-sequence token
    width = ids.shape[1]
    columns = np.arange(width)
    in_source = columns[None, :] < cut[:, None]
    enc_ids = np.where(in_source, ids, 0)
    enc_mask = np.where(in_source, mask, 0)
    # shift each row's tail left by its cut: position j of the decoder reads position cut + j of the sequence
    source_pos = columns[None, :] + cut[:, None]
    valid, take = source_pos < width, np.minimum(source_pos, width - 1)
    dec_ids = np.where(valid, np.take_along_axis(ids, take, axis=1), 0)
    dec_mask = np.where(valid, np.take_along_axis(mask, take, axis=1), 0)
    parts = {
        "encoder_input_ids": enc_ids.astype(ids.dtype),
        "encoder_attention_mask": enc_mask.astype(mask.dtype),
        "decoder_input_ids": dec_ids.astype(ids.dtype),
        "decoder_attention_mask": dec_mask.astype(mask.dtype),
    }
    return parts if batched else {k: v[0] for k, v in parts.items()}


class SummarizationEnv(TokenEnv):
    """Summarise a news-like article, one token per step.

    ## Description
    An article is drawn from a seeded procedural generator of news stories (who, what, where, when, numbers,
    plus distractor sentences), from a local JSONL/CSV file or from a Hugging Face dataset (CNN/DailyMail, XSum,
    SAMSum), and laid out as the prompt ``"<article>\\nTL;DR:"``. The agent writes the summary and ends it with
    the end-of-sequence token. By default the generated articles mix the three difficulties (article ``i`` is
    at difficulty ``1 + i % 3``); ``difficulty=1``, ``2`` or ``3`` fixes one.

    ``prompt_format="seq2seq"`` lays the prompt out for encoder-decoder policies (T5, BART) instead:
    ``"summarize: <article>"`` followed by the end-of-sequence token, so the source is everything up to and
    including the first end-of-sequence token and the summary is what follows it
    (:func:`split_seq2seq` cuts an observation, or a batch of them, into encoder and decoder inputs). The
    layout, spaces and rewards are the same in both formats; the embedded model was pretrained on the
    ``"tldr"`` one.

    ## Action Space
    ``Discrete(vocab_size)``: the next token id (4,096 for the embedded tokenizer).

    ## Observation Space
    ``Dict``, both arrays of length ``L = max_prompt_len + max_new_tokens``, right-padded:

    | key              | dtype | shape | content                                                   |
    |------------------|-------|-------|-----------------------------------------------------------|
    | ``input_ids``      | int32 | (L,)  | ``[article + TL;DR: | summary so far | pad]`` (seq2seq:     |
    |                  |       |       | ``[summarize: + article + EOS | summary so far | pad]``)   |
    | ``attention_mask`` | int8  | (L,)  | 1 over prompt and summary, 0 over padding                 |

    ## Rewards
    0 on every step but the last; at the end of the summary, the reward spec evaluated on it with
    ``references`` (the reference summary), ``sources`` (the article) and, for generated articles, ``facts``
    (their key facts, for ``fact_coverage``). The default is
    ``rouge_l + 0.5*verbosity(ratio=1.5)``: ROUGE-L F to the reference in [0, 1], minus half a penalty in
    [-1, 0] for exceeding 1.5 times the reference's length; the total lies in [-0.5, 1].

    With ``invented_penalty=w`` (0 by default) the task also pays token by token: each name or number the
    summary states that the article does not contain costs ``w`` on the step that completes it (the earliest
    step it is known; :class:`~tokengym.rewards.summary.InventedItems`), instead of, or besides, the sparse
    ``faithfulness`` term of the spec that judges the whole summary at its end. The dense penalty puts the
    blame on the tokens up to the invention, not on the words after it; ``info["invented"]`` lists the items
    and ``info["reward_components"]["invented_penalty"]`` their total.

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
    its key facts. The ``TL;DR:`` suffix (seq2seq: the ``summarize:`` prefix and the end-of-sequence token) is
    always kept.

    ## Arguments
    ```python
    env = gym.make("Summarization-v0", difficulty=2, split="test", reward="rouge_l + 0.5*bleu")
    ```
    ``tokenizer``, ``reward``, ``max_prompt_len`` (256), ``max_new_tokens`` (48), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`; ``difficulty`` (``"mix"``, the default, or 1, 2 or 3: longer
    articles, more distractors); ``prompt_format`` (``"tldr"`` or ``"seq2seq"``); ``split``; ``data_path``
    (JSONL/CSV with ``article`` and ``summary``) and ``fields`` (renames them, e.g. ``{"article": "document",
    "summary": "highlights"}``); ``dataset`` (a Hugging Face dataset: ``"cnn_dailymail"``, ``"xsum"``,
    ``"samsum"`` by name, or a hub id with ``fields``; needs ``pip install 'tokengym[hub]'`` and network or the
    ``datasets`` cache; offline, the error says how to save it as a local JSONL file) and ``dataset_limit``
    (read only the first records of the split); ``invented_penalty`` (0 to 10, default 0: the dense
    faithfulness penalty above).

    ## Version History
    - v0: procedural articles at three difficulties (mixed by default), local files, Hugging Face datasets,
      ROUGE-L with a length budget, a ``TL;DR`` and a seq2seq prompt format; ``invented_penalty``, a
      token-level faithfulness penalty.
    """

    default_reward: ClassVar[str] = "rouge_l + 0.5*verbosity(ratio=1.5)"
    truncation_side: ClassVar[str] = "right"
    reset_options: ClassVar[tuple[str, ...]] = ("repeat_task", "index")

    def __init__(
        self,
        difficulty: int | str = MIXED,
        split: str = "train",
        prompt_format: str = "tldr",
        data_path: str | os.PathLike[str] | None = None,
        fields: Mapping[str, str] | None = None,
        dataset: str | None = None,
        dataset_limit: int | None = None,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int = 256,
        max_new_tokens: int = 48,
        render_mode: str | None = None,
        invented_penalty: float = 0.0,
    ) -> None:
        invented_penalty = check_number("invented_penalty", invented_penalty, low=0.0, high=10.0)
        try:
            difficulty = check_choice("difficulty", difficulty, (*DIFFICULTIES, MIXED))
        except ValueError:
            raise ValueError(f"difficulty must be one of {DIFFICULTIES} or {MIXED!r}, not {difficulty!r}") from None
        if not isinstance(split, str) or split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        if not isinstance(prompt_format, str) or prompt_format not in PROMPT_FORMATS:
            raise ValueError(f"unknown prompt_format {prompt_format!r}; choose one of {PROMPT_FORMATS}")
        if dataset_limit is not None:
            dataset_limit = check_int("dataset_limit", dataset_limit, low=1, what="records to read")
        if fields is not None and data_path is None and dataset is None:
            raise ValueError("fields= renames the columns of data_path or dataset; pass one of them, or drop fields")
        super().__init__(tokenizer, reward, max_prompt_len, max_new_tokens, render_mode)
        self.difficulty = difficulty
        self.split = split
        self.invented_penalty = invented_penalty
        self._invented: InventedItems | None = None
        self._records: list[dict[str, Any]] | None = None
        if data_path is not None and dataset is not None:
            raise ValueError("pass data_path (a local file) or dataset (a Hugging Face dataset), not both")
        if data_path is not None:
            names = resolve_fields(fields, {"article": "article", "summary": "summary"})
            self._records = load_records(data_path, names)
        elif dataset is not None:
            self._records = load_hub_records(dataset, split, fields, dataset_limit)
        self.prompt_format = prompt_format
        if prompt_format == "seq2seq":
            self._prefix, self._suffix = self.codec.encode(SEQ2SEQ_PREFIX.rstrip()), [self.codec.eos_id]
        else:
            self._prefix, self._suffix = [], self.codec.encode(PROMPT_SUFFIX)
        if len(self._prefix) + len(self._suffix) >= self.max_prompt_len:
            raise ValueError(
                f"max_prompt_len={max_prompt_len} leaves no room for the article in the {prompt_format!r} format"
            )

    def _lay_out(self, sample: Sample) -> None:
        super()._lay_out(sample)
        self._invented = InventedItems(sample.columns["sources"]) if self.invented_penalty else None

    def _token_reward(self) -> float:
        if self._invented is None:
            return 0.0
        text = self.codec.decode(self._ids[self._start : self._pos]).lstrip()
        return -self.invented_penalty * len(self._invented.update(text))

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        reward, terminated, info = super()._end_of_completion(completion, ended_by_eos)
        if self._invented is not None:
            new = self._invented.update(completion, final=True)
            reward -= self.invented_penalty * len(new)
            info["invented"] = sorted(self._invented.reported)
            info["reward_components"]["invented_penalty"] = -self.invented_penalty * len(self._invented.reported)
        return reward, terminated, info

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
        check_index(index, n, "articles of this data")
        if self._records is not None:
            record = self._records[index]
            article, summary, meta, extra = str(record["article"]), str(record["summary"]), {}, {}
        else:
            generated = article_for(int(index), self.split, difficulty_of(int(index), self.difficulty))
            article, summary = generated.article, generated.summary
            meta = {"title": generated.title, "facts": dict(generated.facts), "difficulty": generated.difficulty}
            extra = {"facts": dict(generated.facts)}
        room = self.max_prompt_len - len(self._prefix)
        # the byte-level tokenizer writes a word's leading space into the word's token: "summarize:" then " <article>"
        body = self.codec.encode(f" {article}" if self._prefix else article)
        ids = self._prefix + fit_prompt(body, room, side="right", suffix=self._suffix)
        return Sample(
            prompt=format_article(article, self.prompt_format),
            prompt_ids=ids,
            columns={"references": summary, "sources": article, **extra},
            metadata={"index": int(index), **meta},
        )
