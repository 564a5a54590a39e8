"""The bundled dialogue corpus: chatterbot-corpus (BSD-3-Clause), read from its installed YAML files.

chatterbot-corpus ships conversations as lists of alternating utterances, grouped by topic. We read the
English ones, normalise whitespace, and split them deterministically into train and test (every tenth
conversation of each file is held out).
"""

from __future__ import annotations

import functools
import re
from importlib import resources

_SPACE = re.compile(r"\s+")
_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
    }
)
TEST_EVERY = 10


def clean_utterance(text: object) -> str:
    """One line of plain text: typographic quotes and dashes made ASCII, whitespace collapsed, ends stripped."""
    return _SPACE.sub(" ", str(text).translate(_TYPOGRAPHY)).strip()


@functools.cache
def chatterbot_conversations(split: str = "train") -> tuple[tuple[str, ...], ...]:
    """English chatterbot-corpus conversations of at least two utterances, as tuples of strings.

    Args:
        split: ``"train"`` (nine tenths), ``"test"`` (every tenth conversation) or ``"all"``.

    Raises:
        ValueError: for an unknown split.
        ModuleNotFoundError: if chatterbot-corpus is not installed (it is a dependency of tokengym).
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"unknown split {split!r}; use 'train', 'test' or 'all'")
    import yaml

    root = resources.files("chatterbot_corpus") / "data" / "english"
    conversations: list[tuple[str, ...]] = []
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".yml"):
            continue
        data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
        for i, conv in enumerate(data.get("conversations") or []):
            turns = tuple(t for t in (clean_utterance(u) for u in conv or []) if t)
            if len(turns) < 2:
                continue
            held_out = i % TEST_EVERY == TEST_EVERY - 1
            if split == "all" or held_out == (split == "test"):
                conversations.append(turns)
    return tuple(conversations)
