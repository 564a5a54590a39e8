"""Preference data: ``(prompt, chosen, rejected)`` pairs with ties, ratings, a rater and metadata, as JSONL.

One JSON object a line. The plain form names the prompt::

    {"prompt": "User: Hi!\\nAssistant:", "chosen": " Hello! How can I help?", "rejected": " What.",
     "tie": false, "rating": 4, "rater": "ana", "metadata": {"env": "Dialogue-v0"}}

``tie``, ``rating`` (1 to 5: how good the chosen completion is), ``rater`` and ``metadata`` are optional. The
conversational form that TRL's trainers read is accepted too: ``chosen`` and ``rejected`` are lists of
``{"role": ..., "content": ...}`` messages that share every message but the last (the prompt, laid out as
``Dialogue-v0`` lays it out) and end on the assistant's reply::

    {"chosen": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello!"}],
     "rejected": [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "What."}]}

A file with a missing or mistyped field, or a pair whose two sides do not share one prompt, is refused with the
file, the line and the field; :func:`write_preferences` writes the plain form atomically (a temporary file
renamed into place), so a reader never sees half a file.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "prefs.jsonl"
    >>> write_preferences(path, [Preference("User: Hi!\\nAssistant:", " Hello!", " Go away.", rater="ana")])
    1
    >>> read_preferences(path)[0].chosen
    ' Hello!'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tokengym.data.dialogue_layout import format_dialogue
from tokengym.data.loaders import DataFileError, read_jsonl_records, string_fields_problem, write_text_atomic
from tokengym.data.textcheck import unicode_problem

__all__ = ["Preference", "PreferenceError", "preference_from_record", "read_preferences", "write_preferences"]

_KNOWN = ("prompt", "chosen", "rejected", "tie", "rating", "rater", "metadata")


class PreferenceError(DataFileError):
    """A preference record or file that cannot be used; the message names the file, the line and the field."""


@dataclass(frozen=True)
class Preference:
    """One judgement between two completions of one prompt.

    Attributes:
        prompt: the text both completions continue.
        chosen: the preferred completion (with a tie, either one).
        rejected: the other completion.
        tie: neither is preferred (both equally good, or both bad: ``metadata["verdict"]`` tells which).
        rating: optional 1 to 5, how good the chosen completion is.
        rater: who judged: a person's id, or the simulated labeller's name.
        metadata: anything else (the environment, the seed, the gold rewards...), JSON-serialisable.
    """

    prompt: str
    chosen: str
    rejected: str
    tie: bool = False
    rating: int | None = None
    rater: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = _problem(asdict(self))
        if problem is not None:
            raise PreferenceError(problem)

    def to_record(self) -> dict[str, Any]:
        """The plain JSON form (optional fields left out when unset)."""
        record: dict[str, Any] = {"prompt": self.prompt, "chosen": self.chosen, "rejected": self.rejected}
        if self.tie:
            record["tie"] = True
        if self.rating is not None:
            record["rating"] = self.rating
        if self.rater:
            record["rater"] = self.rater
        if self.metadata:
            record["metadata"] = self.metadata
        return record


def _problem(record: Mapping[str, Any]) -> str | None:
    """What is wrong with a plain record, or ``None``."""
    problem = string_fields_problem(record, ("prompt", "chosen", "rejected"))
    if problem is not None:
        return problem
    if record["chosen"] == "" and record["rejected"] == "":
        return "both completions are empty"
    if not isinstance(record.get("tie", False), bool):
        return f"field 'tie' must be true or false, not {record['tie']!r}"
    rating = record.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5):
        return f"field 'rating' must be a whole number from 1 to 5, not {rating!r}"
    rater = record.get("rater", "")
    if not isinstance(rater, str) or unicode_problem(rater) is not None:
        return f"field 'rater' must be text, not {rater!r}"
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        return f"field 'metadata' must be an object, not {type(metadata).__name__}"
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as err:
        return f"field 'metadata' must hold JSON values only ({err})"
    return None


def _messages_prompt(messages: Any, side: str) -> tuple[list[tuple[str, str]], str]:
    """``(prompt messages, reply)`` of a conversational side, or a :class:`PreferenceError`."""
    if not isinstance(messages, list) or not messages:
        raise PreferenceError(f"field {side!r} must be text or a non-empty list of messages")
    turns = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("content"), str):
            raise PreferenceError(f"field {side!r}, message {i}: needs a 'role' and a text 'content'")
        turns.append((message.get("role"), message["content"]))
    if turns[-1][0] != "assistant":
        raise PreferenceError(f"field {side!r}: the last message must be the assistant's reply")
    for i, (role, _) in enumerate(turns[:-1]):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            raise PreferenceError(
                f"field {side!r}, message {i}: role {role!r}, expected {expected!r} (turns alternate)"
            )
    return turns[:-1], turns[-1][1]


def preference_from_record(record: Any) -> Preference:
    """A :class:`Preference` from a plain or conversational record; :class:`PreferenceError` says what is wrong."""
    if not isinstance(record, dict):
        raise PreferenceError(f"a preference must be a JSON object, not {type(record).__name__}")
    unknown = sorted(set(record) - set(_KNOWN))
    if unknown:
        raise PreferenceError(f"unknown field(s) {unknown}; a preference has {list(_KNOWN)}")
    record = dict(record)
    if isinstance(record.get("chosen"), list) or isinstance(record.get("rejected"), list):
        chosen_prompt, chosen = _messages_prompt(record.get("chosen"), "chosen")
        rejected_prompt, rejected = _messages_prompt(record.get("rejected"), "rejected")
        if chosen_prompt != rejected_prompt:
            raise PreferenceError("the chosen and rejected conversations differ before their last message")
        prompt = format_dialogue([content for _, content in chosen_prompt])
        if "prompt" in record and record["prompt"] != prompt:
            raise PreferenceError("field 'prompt' differs from the conversation the messages hold")
        record.update(prompt=prompt, chosen=" " + chosen.lstrip(), rejected=" " + rejected.lstrip())
    problem = _problem(record)
    if problem is not None:
        raise PreferenceError(problem)
    return Preference(**record)


def read_preferences(path: str | os.PathLike[str]) -> list[Preference]:
    """Read a preference JSONL file; blank lines are skipped, anything else must be a valid preference."""
    return read_jsonl_records(
        path, "preference file", "a .jsonl file of preferences", preference_from_record, PreferenceError
    )


def write_preferences(path: str | os.PathLike[str], preferences: Iterable[Preference]) -> int:
    """Write ``preferences`` to ``path`` as plain JSONL, atomically; returns how many were written."""
    path = Path(path)
    lines = [json.dumps(p.to_record(), ensure_ascii=False, allow_nan=False) for p in preferences]
    write_text_atomic(path, "".join(line + "\n" for line in lines))
    return len(lines)
