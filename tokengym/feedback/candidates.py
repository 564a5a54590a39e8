"""Candidate pairs for people to label: two completions of one prompt, as JSONL.

One JSON object a line::

    {"prompt": "User: Hi!\\nAssistant:", "a": " Hello! How can I help?", "b": " What.",
     "metadata": {"source": "ppo step 2048", "env": "Dialogue-v0", "seed": 7}}

``prompt``, ``a`` and ``b`` are text (any may be empty); ``metadata`` is an optional JSON object carried through
to the exported preferences (a sampler keeps the environment, the seed, the model and the reward columns there).
Its keys ``verdict``, ``pair_id``, ``judged_at`` and ``comment`` are reserved: the export writes them. Any other
field is refused, so that a typo (``"completion_a"``) is not silently dropped. A pair whose completions differ
only in surrounding whitespace is valid here, but the store skips it, as there is nothing to judge
(:meth:`tokengym.feedback.store.FeedbackStore.add_pairs` counts it). :func:`write_candidates` writes this form;
:func:`read_candidates` checks a file and names the line and the field of the first problem.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "pairs.jsonl"
    >>> write_candidates(path, [Candidate("Q: 2+2?\\nA:", " 4", " 5", {"source": "example"})])
    1
    >>> read_candidates(path)[0].b
    ' 5'
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokengym.data.loaders import DataFileError, read_jsonl_records, string_fields_problem, write_text_atomic

__all__ = ["RESERVED_METADATA", "Candidate", "CandidateError", "read_candidates", "write_candidates"]

_FIELDS = ("prompt", "a", "b", "metadata")
RESERVED_METADATA = ("verdict", "pair_id", "judged_at", "comment")
"""Metadata keys the export writes itself, so a candidate may not hold them."""


class CandidateError(DataFileError):
    """A candidate pair or file that cannot be used; the message names the file, the line and the field."""


@dataclass(frozen=True)
class Candidate:
    """Two completions of one prompt, waiting for a judgement.

    Attributes:
        prompt: the text both completions continue (may be empty).
        a: the first completion, shown as "A".
        b: the second completion, shown as "B".
        metadata: where the pair comes from (the policy, the environment, the seed...), a JSON object.

    Example:
        >>> Candidate("Hi!", " Hello.", " Bye.").to_record()
        {'prompt': 'Hi!', 'a': ' Hello.', 'b': ' Bye.'}
    """

    prompt: str
    a: str
    b: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problem = candidate_problem({"prompt": self.prompt, "a": self.a, "b": self.b, "metadata": self.metadata})
        if problem is not None:
            raise CandidateError(problem)

    @property
    def judgeable(self) -> bool:
        """Whether the completions differ in more than surrounding whitespace (otherwise there is nothing to judge)."""
        return self.a.strip() != self.b.strip()

    def to_record(self) -> dict[str, Any]:
        """The JSON form (``metadata`` left out when empty)."""
        record: dict[str, Any] = {"prompt": self.prompt, "a": self.a, "b": self.b}
        if self.metadata:
            record["metadata"] = self.metadata
        return record


def candidate_problem(record: Mapping[str, Any]) -> str | None:
    """What is wrong with a candidate record, or ``None``."""
    unknown = sorted(set(record) - set(_FIELDS))
    if unknown:
        return f"unknown field(s) {unknown}; a candidate pair has {list(_FIELDS)}"
    problem = string_fields_problem(record, ("prompt", "a", "b"))
    if problem is not None:
        return problem
    metadata = record.get("metadata", {})
    if not isinstance(metadata, dict):
        return f"field 'metadata' must be an object, not {type(metadata).__name__}"
    reserved = sorted(set(metadata) & set(RESERVED_METADATA))
    if reserved:
        return f"metadata key(s) {reserved} are reserved (the export writes them); rename them"
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as err:
        return f"field 'metadata' must hold JSON values only ({err})"
    return None


def candidate_from_record(record: Any) -> Candidate:
    """A :class:`Candidate` from a JSON record; :class:`CandidateError` says what is wrong."""
    if not isinstance(record, dict):
        raise CandidateError(f"a candidate pair must be a JSON object, not {type(record).__name__}")
    problem = candidate_problem(record)
    if problem is not None:
        raise CandidateError(problem)
    return Candidate(**record)


def read_candidates(path: str | os.PathLike[str]) -> list[Candidate]:
    """Read a candidate JSONL file; blank lines are skipped, any other line must be a valid candidate pair.

    Raises:
        CandidateError: the file is missing, not a regular file, not UTF-8, empty, or a line is not valid JSON or
            not a valid candidate (naming the line and the field).
    """
    return read_jsonl_records(
        path,
        "candidate pairs file",
        'a .jsonl file of {"prompt", "a", "b"} pairs',
        candidate_from_record,
        CandidateError,
    )


def write_candidates(path: str | os.PathLike[str], candidates: Iterable[Candidate]) -> int:
    """Write ``candidates`` to ``path`` as JSONL, atomically (a temporary file flushed, then renamed into place).

    Returns:
        How many were written.
    """
    path = Path(path)
    lines = [json.dumps(c.to_record(), ensure_ascii=False, allow_nan=False) + "\n" for c in candidates]
    write_text_atomic(path, "".join(lines))
    return len(lines)
