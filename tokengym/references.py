"""The user's own code, named by a reference: ``module:Name`` (an importable module) or ``path/to/file.py:Name``.

One loader for every place that takes such a reference: reward functions (:mod:`tokengym.rewards.external`) and
``tokengym bench --agent`` (:mod:`tokengym.bench.agents`). Each caller passes the label its messages start with and
the exception class it raises, so a bad reference reads the same everywhere: what was asked, what is missing, and
what the module or file defines instead.

Example:
    >>> import_module("json", label="reference 'json:dumps'", error=ValueError).__name__
    'json'
    >>> json = import_module("json", label="r", error=ValueError)
    >>> attribute_of(json, "nope", label="r", error=ValueError)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: r: json has no 'nope'; it defines JSONDecodeError, JSONDecoder, ..., dumps, load, loads
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

MODULE_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*:[A-Za-z_]\w*")
"""``package.module:Name``."""


def import_module(name: str, *, label: str, error: type[Exception]) -> ModuleType:
    """Import ``name``, or raise ``error`` saying whether the module is missing or raised while importing."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name is not None and name.startswith(err.name):
            raise error(
                f"{label}: no module named {name!r} (install it, add its folder to PYTHONPATH, or name the file: "
                "path/to/file.py:Name)"
            ) from err
        raise error(f"{label}: importing {name} failed: {err}") from err
    except Exception as err:  # the user's module raised while importing: say so, with its error
        raise error(f"{label}: importing {name} failed: {type(err).__name__}: {err}") from err


def load_file(path: Path, *, label: str, error: type[Exception], namespace: str) -> ModuleType:
    """Load the Python file ``path`` as a module (once per resolved path, named under ``namespace``)."""
    path = path.expanduser()
    if not path.is_file():
        raise error(f"{label}: no file {str(path)!r} (paths are relative to the working directory)")
    resolved = path.resolve()
    stem = re.sub(r"\W", "_", resolved.stem)
    name = f"{namespace}_{stem}_{hashlib.sha256(str(resolved).encode()).hexdigest()[:12]}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise error(f"{label}: {str(path)!r} cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's file raised while loading: say so, with its error
        del sys.modules[name]
        raise error(f"{label}: loading {str(path)!r} failed: {type(err).__name__}: {err}") from err
    return module


def attribute_of(module: ModuleType, name: str, *, label: str, error: type[Exception]) -> Any:
    """``module.name``, or ``error`` listing the public callables the module defines."""
    if not hasattr(module, name):
        found = sorted(n for n, value in vars(module).items() if callable(value) and not n.startswith("_"))
        listed = f"; it defines {', '.join(found[:20])}" if found else ""
        raise error(f"{label}: {module.__name__} has no {name!r}{listed}")
    return getattr(module, name)
