"""Dialogue examples: a conversation so far and the reference next reply, from the bundled corpus or a local file.

``Dialogue-v0`` (:mod:`tokengym.envs.dialogue`) serves these as prompts; the generated conversations come from
:mod:`tokengym.data.dialogues`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from tokengym.data.chatterbot import chatterbot_conversations, clean_utterance
from tokengym.data.loaders import DataFileError, load_records, resolve_fields


@dataclass(frozen=True)
class DialogueExample:
    """A conversation so far (``history[0]`` is the user's, then alternating) and the reference next reply."""

    history: tuple[str, ...]
    reference: str
    source: str
    kind: str = "chitchat"


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
        DataFileError: naming the line and the field of a malformed record (a ``response`` that is not a string,
            a ``context`` that is neither a string nor a list of strings).
        ValueError: ``fields`` renames something other than ``context`` and ``response``.
    """
    names = resolve_fields(fields, {"context": "context", "response": "response"})
    examples = []
    for number, record in enumerate(load_records(path, names, text_lists=("context",)), start=1):
        context = record["context"]
        if isinstance(context, str):
            context = context.splitlines()
        turns = tuple(clean_utterance(t) for t in context if t.strip())
        if not turns:  # a context of blank lines only
            raise DataFileError(f"{path}: record {number}: context has no turns")
        examples.append(DialogueExample(turns, clean_utterance(record["response"]), source="file"))
    return examples
