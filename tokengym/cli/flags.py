"""Command-line flags generated from a configuration dataclass: one flag per field, its help the field's docstring.

The configuration stays the single source of every setting, its type, its default and its documentation (as
CleanRL's scripts do with ``tyro``): :func:`add_config_flags` declares a flag per field on an ``argparse`` parser,
and :func:`config_arguments` gives back the fields the user set, so that the dataclass fills in its own defaults
and runs its own checks. Field docstrings are the string literals written under each field, read from the
class's source.

Example:
    >>> import argparse
    >>> from tokengym.agents.running.config import TrainConfig
    >>> parser = argparse.ArgumentParser()
    >>> add_config_flags(parser, TrainConfig, aliases={"learning_rate": ("--lr",)}, skip=("env_id",))
    >>> config_arguments(parser.parse_args(["--lr", "3e-5", "--no-tensorboard"]), TrainConfig)
    {'learning_rate': 3e-05, 'tensorboard': False}
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import itertools
import json
import math
import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def field_docs(cls: type) -> dict[str, str]:
    """The docstring of each field of a dataclass (the string literal under it), whitespace collapsed."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        body = tree.body[0].body  # type: ignore[attr-defined]
        for node, after in itertools.pairwise(body):
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def plain(text: str) -> str:
    """Docstring markup as terminal text: ``:data:`X``` and ````x```` become ``X`` and ``x``."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return text.replace("``", "")


def finite_float(text: str) -> float:
    """A float flag's value: finite numbers only (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from err
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def int_in(low: int, high: int | None = None) -> Callable[[str], int]:
    """The parser of an integer flag that must lie in ``[low, high]`` (``high`` ``None``: no upper bound).

    Example:
        >>> int_in(1)("3")
        3
    """

    def parse_int(text: str) -> int:
        try:
            value = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from err
        if value < low or (high is not None and value > high):
            kind = {0: "a non-negative integer", 1: "a positive integer"}.get(low, f"an integer >= {low}")
            most = f" up to {high:,}" if high is not None else ""
            raise argparse.ArgumentTypeError(f"must be {kind}{most}, not {text}")
        return value

    parse_int.__name__ = "int"
    return parse_int


def optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """``parse``, with ``none`` read as ``None`` (for fields typed ``X | None``)."""

    def parse_optional(text: str) -> Any:
        return None if text.strip().lower() == "none" else parse(text)

    parse_optional.__name__ = getattr(parse, "__name__", "value")
    return parse_optional


def json_object(text: str, flag: str) -> dict[str, Any]:
    """A JSON object flag's value (``'{"max_new_tokens": 16}'``); a ``ValueError`` naming ``flag`` otherwise.

    Numbers must be finite (``NaN`` and ``Infinity``, which Python's JSON reader takes, are refused: checkpoints
    store these arguments as strict JSON), and nesting too deep for the reader is refused too.
    """
    example = "for example '{\"max_new_tokens\": 16}'"
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=finite_json_float)
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag} must be a JSON object, {example}: {err}") from None
    except RecursionError:
        raise ValueError(f"{flag} is nested too deeply to read; give a flat JSON object, {example}") from None
    except ValueError as err:
        raise ValueError(f"{flag}: {err}") from None
    if not isinstance(value, dict):
        shown = repr(text) if len(text) <= 60 else repr(text[:57]) + "..."
        raise ValueError(f"{flag} must be a JSON object (a mapping of argument names to values), not {shown}")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows; numbers must be finite")


def finite_json_float(text: str) -> float:
    """A JSON number, finite only (``1e999`` overflows to infinity and is refused)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is out of range; numbers must be finite")
    return value


def _parser_for(annotation: Any) -> tuple[Callable[[str], Any] | None, str | None]:
    """How to parse a field of this type from one argument, and its metavar; ``(None, None)`` for a bool."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    nullable = typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1
    base = args[0] if nullable else annotation
    origin = typing.get_origin(base) or base
    if base is bool:
        return None, None
    if origin is dict:
        parse, metavar = str, "JSON"  # decoded by config_arguments, whose error names the flag
    elif base is float:
        parse, metavar = finite_float, "X"
    elif base is int:
        parse, metavar = int, "N"
    elif base is str:
        parse, metavar = str, None
    else:
        raise TypeError(f"no command-line flag for a field of type {annotation!r}")
    return (optional(parse) if nullable else parse), metavar


def _default_text(field: dataclasses.Field) -> str:
    if field.default is not dataclasses.MISSING:
        value = field.default
    elif field.default_factory is not dataclasses.MISSING:
        value = field.default_factory()
    else:
        return ""
    if isinstance(value, dict):
        return json.dumps(value) if value else "{}"
    return str(value)


def add_config_flags(
    parser: argparse.ArgumentParser,
    cls: type,
    aliases: Mapping[str, Iterable[str]] | None = None,
    skip: Iterable[str] = (),
    shown_defaults: Mapping[str, str] | None = None,
    values: Mapping[str, Iterable[str]] | None = None,
) -> None:
    """Declare one flag per field of the dataclass ``cls``: ``--field-name``, typed, documented by its docstring.

    A ``bool`` field gets ``--name`` and ``--no-name``; a ``dict`` field takes a JSON object; ``X | None`` also
    takes ``none``; floats must be finite. Flags the user does not give are left out of the namespace
    (:func:`config_arguments`), so the dataclass's own defaults and checks apply.

    Args:
        parser: the parser to add to.
        cls: the configuration dataclass.
        aliases: more flags for a field, e.g. ``{"learning_rate": ("--lr",)}``; they come first in the help.
        skip: fields not to declare (set otherwise, e.g. from a positional argument).
        shown_defaults: the default to print for a field whose real default the caller computes.
        values: the values a field takes, listed in its help (the configuration checks them, with suggestions).
    """
    docs, hints = field_docs(cls), typing.get_type_hints(cls)
    aliases, shown_defaults, skipped = dict(aliases or {}), dict(shown_defaults or {}), set(skip)
    values = {name: ", ".join(v) for name, v in (values or {}).items()}
    for field in dataclasses.fields(cls):
        if field.name in skipped or not field.init:
            continue
        flags = [*aliases.get(field.name, ()), "--" + field.name.replace("_", "-")]
        default = shown_defaults.get(field.name, _default_text(field))
        help_text = plain(docs.get(field.name, ""))
        help_text += f" One of: {values[field.name]}." if field.name in values else ""
        help_text += f" (default: {default})" if default else ""
        parse, metavar = _parser_for(hints[field.name])
        common = {"dest": field.name, "default": argparse.SUPPRESS, "help": help_text.replace("%", "%%")}
        if parse is None:
            parser.add_argument(*flags, action=argparse.BooleanOptionalAction, **common)
        else:
            parser.add_argument(*flags, type=parse, metavar=metavar, **common)


def config_arguments(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The fields of ``cls`` that the parsed ``args`` set (the flags of :func:`add_config_flags` the user gave).

    Raises:
        ValueError: a ``dict`` field's flag that is not a JSON object.
    """
    hints = typing.get_type_hints(cls)
    given = {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}
    for name, value in given.items():
        if (typing.get_origin(hints[name]) or hints[name]) is dict and isinstance(value, str):
            given[name] = json_object(value, "--" + name.replace("_", "-"))
    return given
