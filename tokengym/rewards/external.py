"""Rewards of your own, named by reference in a spec: ``module:function``, ``path/to/file.py:function`` or
``path/to/file.py``.

A reference names a callable that follows the reward protocol, ``fn(prompts, completions, **kwargs) ->
list[float]``: a function, a callable object, or a class or factory that builds one (called with no arguments
when it is not itself a reward: a class whose instances have ``__call__``). It is a spec string of its own
(``"my_rewards.py:brevity"``) or, quoted, a term of a larger spec (``'rouge_l + 0.5*"my_rewards.py:brevity"'``),
so the command line's ``--reward`` and ``--metrics`` take it as the Python API takes the callable itself.

- ``package.module:function`` imports ``package.module`` as Python does (it must be importable: installed, or
  on ``PYTHONPATH``).
- ``path/to/file.py:function`` loads the file, relative to the working directory; ``path/to/file.py`` alone takes
  its callable named ``reward``.

A file is loaded once per process and registered in ``sys.modules`` under a name made from its resolved path, so
an environment holding its reward pickles within the process. Subprocess environments (``SubprocVecEnv``) load
the reference again from the spec they are made with. The component is named after the callable (its ``name``
attribute, else its ``__name__``).

Example:
    >>> is_reward_reference("my_rewards.py:brevity"), is_reward_reference("rouge_l + 0.5*bleu")
    (True, False)
    >>> fn = load_reward_reference("tokengym.rewards.shape:Repetition")
    >>> fn.name
    'repetition'
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

from tokengym import references

__all__ = ["RewardReferenceError", "is_reward_reference", "load_reward_reference", "spec_references"]

_MODULE_REFERENCE = references.MODULE_REFERENCE
_FILE_REFERENCE = re.compile(r"(?P<path>.+\.py)(?::(?P<attr>[A-Za-z_]\w*))?")
DEFAULT_ATTRIBUTE = "reward"
"""The callable a file reference without ``:name`` takes."""


class RewardReferenceError(ValueError):
    """A reward reference that cannot be loaded (no such module, file or callable, or not a reward); the
    message says which and what to write instead."""


def is_reward_reference(text: str) -> bool:
    """Whether ``text`` is written as a reference (``module:function``, ``file.py[:function]``), not a spec of
    registered names."""
    text = text.strip()
    return bool(_MODULE_REFERENCE.fullmatch(text) or _FILE_REFERENCE.fullmatch(text))


def spec_references(spec: Any) -> list[str]:
    """The references a spec string (or a list of them) names, in order; ``[]`` for anything else."""
    if isinstance(spec, (list, tuple)):
        return [ref for item in spec for ref in spec_references(item)]
    if not isinstance(spec, str):
        return []
    if is_reward_reference(spec):
        return [spec.strip()]
    return _quoted_terms(spec)


def _quoted_terms(spec: str) -> list[str]:
    """The quoted strings of ``spec`` that stand as terms, not as an argument's value inside brackets
    (``learned(path='models/rm')`` names a folder, not code)."""
    out, depth = [], 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(spec).readline):
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
            elif token.type == tokenize.STRING and depth == 0:
                value = ast.literal_eval(token.string)
                if isinstance(value, str):
                    out.append(value)
    except (tokenize.TokenError, SyntaxError, ValueError):
        return re.findall(r"""(?<![=\w])\s*["']([^"']+)["']""", spec)  # the parser reports the spec's own error
    return out


def load_reward_reference(reference: str) -> Any:
    """The reward callable ``reference`` names.

    Raises:
        RewardReferenceError: no such module, file or attribute (the message lists the callables a file or
            module defines), an import that fails, or an object that is not callable.
    """
    text = reference.strip()
    file_match = _FILE_REFERENCE.fullmatch(text)
    if file_match is not None:
        module = _load_file(file_match["path"], text)
        attribute = file_match["attr"] or DEFAULT_ATTRIBUTE
    elif _MODULE_REFERENCE.fullmatch(text):
        module_name, attribute = text.split(":")
        module = _import_module(module_name, text)
    else:
        raise RewardReferenceError(
            f"{text!r} is not a reward reference; write module:function, path/to/file.py:function or "
            "path/to/file.py (its function named 'reward')"
        )
    value = references.attribute_of(module, attribute, label=_label(text), error=RewardReferenceError)
    return _as_reward(value, text)


def _as_reward(value: Any, reference: str) -> Any:
    """The reward a referenced object is: itself when it is a reward function or object, an instance of it when it
    is a reward class."""
    if isinstance(value, type):
        if not any("__call__" in vars(klass) for klass in value.__mro__[:-1]):
            raise RewardReferenceError(f"reward reference {reference!r}: class {value.__name__} is not callable")
        try:
            return value()
        except TypeError as err:
            raise RewardReferenceError(
                f"reward reference {reference!r}: class {value.__name__} needs arguments ({err}); reference a "
                "function or an instance instead"
            ) from err
    if not callable(value):
        raise RewardReferenceError(
            f"reward reference {reference!r} names an object of type {type(value).__name__}, not a callable "
            "fn(prompts, completions, **kwargs) -> list[float]"
        )
    return value


def _label(reference: str) -> str:
    return f"reward reference {reference!r}"


def _import_module(name: str, reference: str) -> Any:
    return references.import_module(name, label=_label(reference), error=RewardReferenceError)


def _load_file(path_text: str, reference: str) -> Any:
    return references.load_file(
        Path(path_text), label=_label(reference), error=RewardReferenceError, namespace="tokengym_user_rewards"
    )
