"""Argument checks shared by every environment: one helper per kind of value, each raising a ``ValueError`` that
names the argument, what it got and what it takes, before anything is built.

The limits on sizes are documented here once: a token sequence (``max_prompt_len + max_new_tokens``, a
command-level game's ``max_text_len``) holds at most :data:`MAX_TOKENS` ids, and a command-level game's table
of command ids at most :data:`MAX_COMMAND_CELLS`, so that a typo cannot allocate gigabytes.

Example:
    >>> check_int("max_new_tokens", 48, low=1)
    48
    >>> check_int("max_new_tokens", 2.0, low=1)
    Traceback (most recent call last):
    ...
    ValueError: max_new_tokens must be a positive integer, not 2.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

#: The most token ids one observation sequence may hold: the context of the longest-context language models
#: (128k); an observation that long takes 640 KB (int32 ids and int8 mask).
MAX_TOKENS = 131_072
#: The most cells of a command-level game's ``command_ids`` table (``max_commands * max_command_len``): 5 MB an
#: observation.
MAX_COMMAND_CELLS = 1_048_576


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer (Python or NumPy), booleans excluded."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None, what: str = "") -> int:
    """``value`` as an ``int``, or ``ValueError`` unless it is an integer in ``[low, high]`` (either bound optional).

    Booleans and integral floats (``2.0``) are refused: they are almost always a slip. ``what`` says in the
    error what the number counts (``"tokens"``).
    """
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        if low == 1:
            kind = "a positive integer"
        elif low == 0:
            kind = "a non-negative integer"
        else:
            kind = "an integer" if low is None else f"an integer >= {low}"
        if high is not None:
            kind = f"an integer from {low} to {high:,}" if low not in (None, 0, 1) else f"{kind} up to {high:,}"
        unit = f" ({what})" if what else ""
        raise ValueError(f"{name} must be {kind}{unit}, not {short_repr(value)}")
    return int(value)


def check_number(name: str, value: Any, low: float | None = 0.0, high: float | None = None) -> float:
    """``value`` as a ``float``, or ``ValueError`` unless it is a finite real number in ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, not {short_repr(value)}")
    number = float(value)
    if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
        parts = (f">= {low:g}" if low is not None else "", f"<= {high:g}" if high is not None else "")
        bounds = " and ".join(part for part in parts if part)
        raise ValueError(f"{name} must be a finite number{' ' + bounds if bounds else ''}, not {short_repr(value)}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a ``bool``, or ``ValueError`` unless it is ``True`` or ``False`` (``"no"`` and ``1`` are not)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, not {short_repr(value)}")
    return bool(value)


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` if it is one of ``choices``, compared by kind too (``2.0`` is not the choice ``2``, ``True`` not
    ``1``); ``ValueError`` naming the choices otherwise."""
    for choice in choices:
        if _same_kind(value, choice) and value == choice:
            return choice
    raise ValueError(f"{name} must be one of {tuple(choices)}, not {short_repr(value)}")


def check_mapping(name: str, value: Any, example: str = "") -> dict[str, Any]:
    """``value`` as a new ``dict`` (``None`` gives ``{}``); ``ValueError`` unless it is a mapping with string keys."""
    if value is None:
        return {}
    hint = f", e.g. {example}" if example else ""
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a mapping (a dict){hint}, not {short_repr(value)}")
    bad = [key for key in value if not isinstance(key, str)]
    if bad:
        raise ValueError(f"{name} must have string keys{hint}; got the key {short_repr(bad[0])}")
    return dict(value)


def check_token_budget(max_prompt_len: Any, max_new_tokens: Any, min_prompt_len: int = 1) -> tuple[int, int]:
    """The two token budgets of a token-level env, checked: positive integers (the prompt's at least
    ``min_prompt_len``) whose sum, the observation's length, is at most :data:`MAX_TOKENS`."""
    prompt = check_int("max_prompt_len", max_prompt_len, low=min_prompt_len, high=MAX_TOKENS, what="tokens")
    new = check_int("max_new_tokens", max_new_tokens, low=1, high=MAX_TOKENS, what="tokens")
    if prompt + new > MAX_TOKENS:
        raise ValueError(
            f"max_prompt_len + max_new_tokens = {prompt + new:,} tokens exceeds the limit of {MAX_TOKENS:,} "
            "(tokengym.envs.validation.MAX_TOKENS); lower one of them"
        )
    return prompt, new


def check_seed(seed: Any) -> int | None:
    """A ``reset`` seed as Gymnasium takes it: ``None`` or a non-negative Python ``int`` (NumPy integers are
    converted); ``ValueError`` otherwise, before the environment changes."""
    if seed is None:
        return None
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be None or a non-negative integer, not {short_repr(seed)}")
    return int(seed)


def check_reset_options(options: Any, allowed: Sequence[str], env_name: str) -> dict[str, Any]:
    """``reset``'s ``options`` as a new ``dict``: ``None`` or a mapping whose keys are among ``allowed``, with
    ``repeat_task`` (if given) a bool and ``index`` (if given) ``None`` or a non-negative integer. The range of
    ``index`` depends on the data, so the environment checks it when it picks the instance.

    Raises:
        ValueError: for anything else, naming the option and what the environment takes.
    """
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise ValueError(
            f"reset(options=...) takes a dict (or None), not {short_repr(options)}; {env_name} reads the keys "
            f"{tuple(allowed)}"
        )
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise ValueError(
            f"{env_name}.reset got the unknown option {short_repr(unknown[0])}; it reads only {tuple(allowed)}"
        )
    options = dict(options)
    if "repeat_task" in options:
        options["repeat_task"] = check_bool("options['repeat_task']", options["repeat_task"])
    if options.get("index") is not None:
        options["index"] = check_int("options['index']", options["index"], low=0)
        if options.get("repeat_task"):
            raise ValueError(
                "reset(options=...) got both repeat_task=True (serve the current instance again) and an index "
                "(pick another one); pass one of them"
            )
    return options


def check_index(index: int, count: int, what: str) -> int:
    """``index`` if it lies in ``[0, count)``; ``ValueError`` saying how many ``what`` there are otherwise."""
    if not 0 <= index < count:
        raise ValueError(f"index {index} is outside the {count:,} {what}; pick one from 0 to {count - 1:,}")
    return index


def _same_kind(value: Any, choice: Any) -> bool:
    if isinstance(choice, (bool, np.bool_)):
        return isinstance(value, (bool, np.bool_))
    if isinstance(choice, (int, np.integer)):
        return is_int(value)
    if isinstance(choice, str):
        return isinstance(value, str)
    return choice is None and value is None


def short_repr(value: Any, width: int = 80) -> str:
    """``repr(value)``, cut to ``width`` characters: a bad argument may be a huge string or a nested list."""
    try:
        text = repr(value)
    except Exception:  # an object whose repr fails is still named by its type
        text = f"<{type(value).__name__}>"
    return text if len(text) <= width else f"{text[: width - 3]}..."
