"""Dialogue: the agent writes the assistant's next reply in a conversation, token by token."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from tokengym.data.corpus import chatterbot_conversations, clean_utterance
from tokengym.data.dialogues import conversation_for
from tokengym.data.loaders import DataFileError, load_records
from tokengym.envs.core import Sample, TokenEnv, fit_prompt

USER, ASSISTANT = "User", "Assistant"
SOURCES = ("mixed", "corpus", "generated")
SPLITS = ("train", "test")
MAX_INDEX = 2**31 - 1


@dataclass(frozen=True)
class DialogueExample:
    """A conversation so far (``history[0]`` is the user's, then alternating) and the reference next reply."""

    history: tuple[str, ...]
    reference: str
    source: str
    kind: str = "chitchat"


def format_turn(speaker: str, text: str) -> str:
    """One turn as it appears in the prompt: ``"User: text\\n"``."""
    return f"{speaker}: {text}\n"


def format_dialogue(history: Sequence[str]) -> str:
    """The prompt for the assistant's next reply: alternating ``User:``/``Assistant:`` turns, then ``Assistant:``.

    Example:
        >>> print(format_dialogue(["Hi!", "Hello, how can I help?", "What time is it?"]), end="|")
        User: Hi!
        Assistant: Hello, how can I help?
        User: What time is it?
        Assistant:|
    """
    return "".join(format_turn(USER if i % 2 == 0 else ASSISTANT, t) for i, t in enumerate(history)) + f"{ASSISTANT}:"


def dialogue_turn_ids(codec: Any, index: int, text: str) -> list[int]:
    """Token ids of turn ``index`` of a conversation: user turns end with a newline, assistant turns with the
    end-of-sequence token and then a newline, exactly as the agent's own replies end."""
    if index % 2 == 0:
        return codec.encode(format_turn(USER, text))
    return [*codec.encode(f"{ASSISTANT}: {text}"), codec.eos_id, *codec.encode("\n")]


def dialogue_document(turns: Sequence[str], eos_token: str) -> str:
    """A whole conversation as one training text, laid out token for token as Dialogue-v0 prompts are.

    A trailing user turn (no reply to learn) is dropped.
    """
    n = len(turns) - (len(turns) % 2)
    return "".join(
        format_turn(USER, t) if i % 2 == 0 else f"{ASSISTANT}: {t}{eos_token}" + ("\n" if i + 1 < n else "")
        for i, t in enumerate(turns[:n])
    )


def corpus_examples(split: str) -> tuple[DialogueExample, ...]:
    """Every assistant turn of the bundled chatterbot-corpus conversations of ``split``, as an example."""
    return tuple(
        DialogueExample(history=conv[:i], reference=conv[i], source="corpus")
        for conv in chatterbot_conversations(split)
        for i in range(1, len(conv), 2)
    )


def load_dialogue_file(path: str | os.PathLike[str], fields: Mapping[str, str] | None = None) -> list[DialogueExample]:
    """Dialogue examples from a local JSONL or CSV file.

    Each record has a ``context`` (a list of turns, the user's first, or one string with a turn per line)
    and a ``response`` (the reference assistant reply). ``fields`` renames them: ``{"context": "history"}``.

    Raises:
        DataFileError: naming the line of a malformed record.
    """
    names = {"context": "context", "response": "response", **(fields or {})}
    examples = []
    for number, record in enumerate(load_records(path, names), start=1):
        context = record["context"]
        if isinstance(context, str):
            context = context.splitlines()
        if not isinstance(context, list) or not all(isinstance(t, str) for t in context):
            raise DataFileError(f"{path}: record {number}: context must be a list of strings or a string")
        turns = tuple(clean_utterance(t) for t in context if t.strip())
        if not turns:
            raise DataFileError(f"{path}: record {number}: context has no turns")
        examples.append(DialogueExample(turns, clean_utterance(record["response"]), source="file"))
    return examples


class DialogueEnv(TokenEnv):
    """Write the assistant's next reply in a conversation, one token per step.

    ## Description
    A conversation so far is drawn from the data (the bundled chatterbot-corpus conversations, procedurally
    generated chit-chat/persona/support conversations, or a local file) and laid out as a prompt::

        User: My router keeps dropping the wifi.
        Assistant: I'm sorry to hear that. How long has it been happening?
        User: Since yesterday evening.
        Assistant:

    The agent continues it with the reply and ends it with the end-of-sequence token. This first version is
    single-reply; the module is organised around a conversation ``history`` so that a user simulator can
    answer each reply and continue the episode.

    ## Action Space
    ``Discrete(vocab_size)``: the next token id (4,096 for the embedded tokenizer).

    ## Observation Space
    ``Dict``, both arrays of length ``L = max_prompt_len + max_new_tokens``, right-padded:

    | key              | dtype | shape | content                                                   |
    |------------------|-------|-------|-----------------------------------------------------------|
    | ``input_ids``      | int32 | (L,)  | ``[prompt | reply so far | pad]``, pad = tokenizer's pad id |
    | ``attention_mask`` | int8  | (L,)  | 1 over prompt and reply, 0 over padding                   |

    ## Rewards
    0 on every step but the last; at the end of the reply, the reward spec evaluated on it. The default is
    ``relevance_lexical + 0.2*verbosity(max_words=30) + 0.2*repetition + 0.2*brevity(min_words=2)``:
    ROUGE-1 F to the reference reply in [0, 1], minus penalties in [-1, 0] each for more than 30 words,
    repeated bigrams and fewer than 2 words; the total lies in [-0.6, 1]. ``info["reward_components"]`` has each.

    ## Starting State
    A conversation and an assistant turn in it, drawn with ``self.np_random``: with ``source="mixed"`` half
    from the corpus, half generated. ``reset(options={"index": i})`` picks example ``i`` (the i-th corpus example
    for ``source="corpus"`` or a file, the i-th generated conversation otherwise).

    ## Episode End
    - Termination: the agent emits the end-of-sequence token, or the reply reaches ``max_new_tokens`` tokens;
      the reply is scored on that step and ``info["ended_by"]`` says which (``"eos"`` or ``"budget"``).
      ``max_new_tokens`` is registered as ``max_episode_steps``, so ``TimeLimit`` also flags truncation on the
      budget's step. Terminated, not merely truncated: the score is final, and a learner must not bootstrap
      a value past it. A shorter ``TimeLimit`` truncates earlier, unscored.

    Earlier assistant turns end with the end-of-sequence token, as the agent's own reply does, then a newline
    (the text in ``info["prompt"]`` shows the turns without it). Prompts longer than ``max_prompt_len`` lose
    whole oldest turns, then tokens from the left: recent turns matter most.

    ## Arguments
    ```python
    env = gym.make("Dialogue-v0", source="corpus", split="test", reward="relevance_lexical", max_new_tokens=32)
    ```
    ``tokenizer``, ``reward``, ``max_prompt_len`` (128), ``max_new_tokens`` (48), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`; ``source`` (``"mixed"``, ``"corpus"``, ``"generated"``); ``split``
    (``"train"``, ``"test"``); ``data_path`` (a JSONL/CSV file with ``context`` and ``response``) and
    ``fields`` (renames them).

    ## Version History
    - v0: single reply per episode; chatterbot-corpus and generated conversations.
    """

    default_reward: ClassVar[str] = (
        "relevance_lexical + 0.2*verbosity(max_words=30) + 0.2*repetition + 0.2*brevity(min_words=2)"
    )
    truncation_side: ClassVar[str] = "left"

    def __init__(
        self,
        source: str = "mixed",
        split: str = "train",
        data_path: str | os.PathLike[str] | None = None,
        fields: Mapping[str, str] | None = None,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int = 128,
        max_new_tokens: int = 48,
        render_mode: str | None = None,
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown dialogue source {source!r}; choose one of {SOURCES}")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {SPLITS}")
        super().__init__(tokenizer, reward, max_prompt_len, max_new_tokens, render_mode)
        self.split = split
        if data_path is not None:
            self.source = "file"
            self._examples: tuple[DialogueExample, ...] = tuple(load_dialogue_file(data_path, fields))
        else:
            self.source = source
            self._examples = corpus_examples(split) if source != "generated" else ()
        self._prompt_cache: dict[int, list[int]] = {}

    def eval_metrics(self) -> str:
        """Lexical and semantic relevance to the reference reply (ROUGE-1 where no embedding model is installed,
        named as such), sentiment, politeness, safety, verbosity and repetition."""
        return (
            "relevance_lexical + relevance_semantic(fallback='lexical') + sentiment + politeness + safety"
            " + verbosity(max_words=30) + repetition"
        )

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        index = options.get("index")
        from_corpus = self.source in ("corpus", "file") or (self.source == "mixed" and self.np_random.random() < 0.5)
        if from_corpus:
            if index is None:
                index = int(self.np_random.integers(len(self._examples)))
            elif not 0 <= index < len(self._examples):
                raise ValueError(f"index {index} is outside the {len(self._examples)} examples of this dialogue data")
            example = self._examples[index]
            ids = self._prompt_cache.get(index)
            if ids is None:
                ids = self._prompt_cache[index] = self._prompt_ids(example.history)
        else:
            if index is None:
                index = int(self.np_random.integers(MAX_INDEX))
            conversation = conversation_for(int(index), self.split)
            turn = 1 + 2 * int(self.np_random.integers(len(conversation.turns) // 2))
            example = DialogueExample(
                conversation.turns[:turn], conversation.turns[turn], source="generated", kind=conversation.kind
            )
            ids = self._prompt_ids(example.history)
        return Sample(
            prompt=format_dialogue(example.history),
            prompt_ids=ids,
            columns={"references": example.reference, "history": example.history},
            metadata={"source": example.source, "kind": example.kind, "index": int(index)},
        )

    def _prompt_ids(self, history: Sequence[str]) -> list[int]:
        # Drop whole oldest turns first, then tokens from the left if the last user turn alone is too long.
        suffix = self.codec.encode(f"{ASSISTANT}:")
        room = self.max_prompt_len - len(suffix)
        turns = [dialogue_turn_ids(self.codec, i, t) for i, t in enumerate(history)]
        kept: list[int] = []
        for turn_ids in reversed(turns):
            if len(kept) + len(turn_ids) > room and kept:
                break
            kept = turn_ids + kept
        return fit_prompt(kept, self.max_prompt_len, side="left", suffix=suffix)
