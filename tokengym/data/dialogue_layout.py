"""How a conversation is laid out as text, in prompts and in training documents alike.

Turns alternate ``User:`` and ``Assistant:`` lines, and every assistant turn ends with the end-of-sequence token,
exactly as the agent's own replies end in ``Dialogue-v0``. The environments (:mod:`tokengym.envs.dialogue`) lay
out their prompts with these functions and the pretraining text (:mod:`tokengym.data.pretraining_text`) its
documents, so that a model trained on the text knows the prompts' format and where to stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

USER, ASSISTANT = "User", "Assistant"


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
