"""The schema of a checkpoint's ``checkpoint.json``: a table of fields (data) and one checker (code).

:func:`parse_description` reads the file's text and :func:`check_description` checks every field against
:data:`FIELDS` before anything in it is used, so a damaged or hand-edited description fails with a
:class:`CheckpointError` that names the field and what it must be, never deep inside a policy or an optimizer.

Beyond the types, the checker holds the invariants the loader relies on: every tensor file is listed with a
SHA-256 (no ``null`` that would skip the check), only the checkpoint's own files are listed, the optimizer's file
is listed exactly when optimizer settings are stored, and a tied weight names another tensor, never one that is
itself tied (:mod:`~tokengym.agents.running.checkpoint` then checks that its source is stored and that it does not
replace a stored tensor). Numbers are finite everywhere (``NaN``, ``Infinity`` and overflowing literals are
refused while parsing). Top-level keys the table does not know are kept and never read, so a newer writer may add
some within the same format version.

Example:
    >>> meta = parse_description('{"format": "tokengym.checkpoint", "format_version": 1}', "ckpt")
    >>> try:
    ...     check_description(meta, "ckpt")
    ... except CheckpointError as err:
    ...     print(err)
    checkpoint 'ckpt': checkpoint.json lacks 'algorithm' (a non-empty string)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT = "tokengym.checkpoint"
FORMAT_VERSION = 1
CONFIG_FILE = "checkpoint.json"
POLICY_FILE = "policy.safetensors"
OPTIMIZER_FILE = "optimizer.safetensors"
# A description is a few kilobytes; anything near this is not one (and would be slow to parse).
MAX_DESCRIPTION_BYTES = 16 << 20
# Deeper than any description tokengym writes (env_kwargs of a few levels); far below Python's recursion limit.
MAX_DEPTH = 32
SHA256 = re.compile(r"[0-9a-f]{64}")


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing, half-written, corrupted, or from another run."""


@dataclass(frozen=True)
class Field:
    """What one key of the description must hold.

    Attributes:
        kind: ``text`` (a non-empty string), ``int``, ``number``, ``bool``, ``object``, ``text_map`` (strings to
            strings), ``checksums`` (file names to SHA-256), ``int_list`` or ``object_list``.
        required: whether the key must be there.
        nullable: whether ``null`` is allowed.
        minimum: the smallest number allowed (inclusive).
        positive: whether the number must be above zero.
        equals: the one value allowed.
        fields: for ``object`` and ``object_list``, the table of the nested object's keys.
    """

    kind: str
    required: bool = True
    nullable: bool = False
    minimum: float | None = None
    positive: bool = False
    equals: Any = None
    fields: Mapping[str, Field] = field(default_factory=dict)


KL_FIELDS = {
    "kl_coef": Field("number", minimum=0),
    "target_kl": Field("number", nullable=True, positive=True),
    "horizon": Field("int", minimum=1),
}
PARAM_GROUP_FIELDS = {
    "params": Field("int_list"),
    "lr": Field("number", required=False, minimum=0),
}
OPTIMIZER_FIELDS = {
    "param_groups": Field("object_list", fields=PARAM_GROUP_FIELDS),
    "scalars": Field("object", required=False),
}
FIELDS: dict[str, Field] = {
    "format": Field("text", equals=FORMAT),
    "format_version": Field("int", equals=FORMAT_VERSION),
    "algorithm": Field("text"),
    "env_id": Field("text"),
    "env_kwargs": Field("object"),
    "model_name": Field("text"),
    "vocab_size": Field("int", minimum=1),
    "seed": Field("int", minimum=0),
    "num_timesteps": Field("int", minimum=0),
    "policy_kwargs": Field("object"),
    "n_updates": Field("int", required=False, minimum=0),
    "kl": Field("object", required=False, nullable=True, fields=KL_FIELDS),
    "hyperparameters": Field("object", required=False),
    "final": Field("bool", required=False),
    "tied_weights": Field("text_map", required=False),
    "optimizer": Field("object", required=False, nullable=True, fields=OPTIMIZER_FIELDS),
    "versions": Field("text_map", required=False),
    "files": Field("checksums"),
}
KIND_NAMES = {
    "text": "a non-empty string",
    "int": "an integer",
    "number": "a finite number",
    "bool": "true or false",
    "object": "a JSON object",
    "text_map": "an object of strings",
    "checksums": f"an object of file names ({POLICY_FILE}, {OPTIMIZER_FILE}) to SHA-256 checksums",
    "int_list": "a list of non-negative integers",
    "object_list": "a list of JSON objects",
}


class _NotFinite(ValueError):
    pass


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(f"the number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> float:
    raise _NotFinite(f"{name} is not a number JSON allows")


def parse_description(text: str, where: str) -> dict[str, Any]:
    """The JSON object in ``text`` (a ``checkpoint.json``), with finite numbers only; its fields are not checked yet.

    Raises:
        CheckpointError: too large, not JSON, a non-finite number, nested too deep to parse, or not a description.
    """
    if len(text) > MAX_DESCRIPTION_BYTES:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} is {len(text)} bytes, too large to be one")
    try:
        meta = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except _NotFinite as err:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} holds a non-finite number ({err})") from None
    except RecursionError:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} is nested too deep to be one") from None
    except ValueError as err:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} is not valid JSON ({err})") from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} is not a tokengym checkpoint description")
    return meta


def _check_depth(value: Any, where: str) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} is nested more than {MAX_DEPTH} levels deep")
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)


def check_description(meta: Mapping[str, Any], where: str) -> None:
    """Check a parsed ``checkpoint.json`` against :data:`FIELDS` and the loader's invariants.

    Args:
        meta: the parsed description.
        where: the checkpoint's folder, for the messages.

    Raises:
        CheckpointError: naming the first field that is missing or wrong, and what it must be.
    """
    version = meta.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint {where!r} has format version {version!r}; this tokengym reads version {FORMAT_VERSION}"
        )
    _check_depth(meta, where)  # also on writing: a description is never written that could not be read back
    _check_fields(meta, FIELDS, where, "")
    files, optimizer = meta["files"], meta.get("optimizer")
    for name, sha in files.items():
        if name not in (POLICY_FILE, OPTIMIZER_FILE):  # only the checkpoint's own files: never a path elsewhere
            raise CheckpointError(
                f"checkpoint {where!r}: {CONFIG_FILE} field 'files' lists {_short(name)}, not a file of a checkpoint "
                f"({POLICY_FILE}, {OPTIMIZER_FILE})"
            )
        if type(sha) is not str or not SHA256.fullmatch(sha):
            raise CheckpointError(
                f"checkpoint {where!r}: {CONFIG_FILE} field 'files.{name}' must be a SHA-256 (64 lowercase hex "
                f"digits), not {_short(sha)}; without it the file cannot be checked"
            )
    if POLICY_FILE not in files:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} lists no checksum for {POLICY_FILE}")
    if optimizer is not None and OPTIMIZER_FILE not in files:
        raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} lists no checksum for {OPTIMIZER_FILE}")
    if optimizer is None and OPTIMIZER_FILE in files:
        raise CheckpointError(
            f"checkpoint {where!r}: {CONFIG_FILE} lists {OPTIMIZER_FILE} but stores no optimizer settings"
        )
    for key in (optimizer or {}).get("scalars", {}):
        if not key.isdigit():
            raise CheckpointError(
                f"checkpoint {where!r}: {CONFIG_FILE} field 'optimizer.scalars' has key {key!r}, not a parameter number"
            )
    ties = meta.get("tied_weights", {})
    for alias, source in ties.items():
        if source in ties:  # the loader copies stored tensors only: a chain (or a loop) would tie to nothing
            raise CheckpointError(
                f"checkpoint {where!r}: tied weight {alias!r} points to {source!r}, itself a tied weight, not a "
                "stored tensor"
            )


def _check_fields(obj: Mapping[str, Any], fields: Mapping[str, Field], where: str, prefix: str) -> None:
    for key, spec in fields.items():
        name = f"{prefix}{key}"
        if key not in obj:
            if spec.required:
                raise CheckpointError(f"checkpoint {where!r}: {CONFIG_FILE} lacks {name!r} ({_expected(spec)})")
            continue
        value = obj[key]
        if value is None and spec.nullable:
            continue
        if not _matches(value, spec):
            raise CheckpointError(
                f"checkpoint {where!r}: {CONFIG_FILE} field {name!r} must be {_expected(spec)}, not {_short(value)}"
            )
        if spec.kind == "object" and spec.fields:
            _check_fields(value, spec.fields, where, f"{name}.")
        elif spec.kind == "object_list":
            for i, item in enumerate(value):
                _check_fields(item, spec.fields, where, f"{name}[{i}].")


def _matches(value: Any, spec: Field) -> bool:
    kind = spec.kind
    if kind in ("int", "number"):
        ok = type(value) is int or (kind == "number" and type(value) is float and math.isfinite(value))
        ok = ok and (spec.minimum is None or value >= spec.minimum) and (not spec.positive or value > 0)
    elif kind == "text":
        ok = type(value) is str and value != ""
    elif kind == "bool":
        ok = type(value) is bool
    elif kind == "object":
        ok = isinstance(value, dict)
    elif kind == "text_map":
        ok = isinstance(value, dict) and all(type(v) is str and v for v in value.values())
    elif kind == "checksums":  # its entries are checked one by one in check_description, for specific messages
        ok = isinstance(value, dict)
    elif kind == "int_list":
        ok = isinstance(value, list) and all(type(v) is int and v >= 0 for v in value)
    elif kind == "object_list":
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
    else:  # pragma: no cover - a typo in the table
        raise AssertionError(f"unknown field kind {kind!r}")
    return bool(ok) and (spec.equals is None or value == spec.equals)


def _expected(spec: Field) -> str:
    if spec.equals is not None:
        return f"{spec.equals!r}"
    text = KIND_NAMES[spec.kind]
    if spec.minimum is not None:
        text += f" >= {spec.minimum:g}"
    if spec.positive:
        text += " above 0"
    return text + (" or null" if spec.nullable else "")


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "..."
