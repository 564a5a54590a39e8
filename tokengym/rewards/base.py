"""The reward protocol, weighted composition of named components, and the reward-spec parser.

A reward is a batched callable, as in TRL: ``fn(prompts, completions, **kwargs) -> list[float]``. Keyword
arguments carry per-sample columns, each a list as long as ``prompts``: ``references`` (the reference text),
and whatever the task adds (``sources``, ``facts``, ``history``...). Configurable rewards are picklable callable
classes with a ``name``.

A :class:`CompositeReward` is a weighted sum of named components. It is what environments hold: build one
from a spec with :func:`make_reward`::

    >>> from tokengym.rewards import make_reward
    >>> reward = make_reward("rouge_l + 0.5*verbosity(max_words=5)")
    >>> reward.weights
    {'rouge_l': 1.0, 'verbosity': 0.5}
    >>> totals, parts = reward.score(["Q"], ["the cat sat"], references=["the cat sat down"])
    >>> round(parts["rouge_l"][0], 3), parts["verbosity"][0]
    (0.857, 0.0)
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from tokengym.rewards.spec import RewardSpecError, parse_reward_spec


@runtime_checkable
class RewardFunc(Protocol):
    """What every reward is: a named, batched callable returning one float per completion."""

    name: str

    def __call__(self, prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]: ...


class Reward:
    """Base class for built-in rewards: a name, a documented range and a per-sample ``_score``.

    Subclasses set ``name`` and ``range`` and implement :meth:`_score`; batching, argument checks and the
    column plumbing live here. ``needs`` names the columns a reward cannot work without; ``column_help`` may
    say, per column, what it holds and where it comes from (shown when the column is missing).
    """

    name: str = "reward"
    range: tuple[float, float] = (-math.inf, math.inf)
    needs: tuple[str, ...] = ()
    column_help: ClassVar[Mapping[str, str]] = {}

    def __call__(self, prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        n = self._check_batch(prompts, completions, kwargs)
        return [
            float(self._score(prompts[i], completions[i], **{k: v[i] for k, v in kwargs.items() if _is_column(v, n)}))
            for i in range(n)
        ]

    def _check_batch(self, prompts: list[str], completions: list[str], kwargs: Mapping[str, Any]) -> int:
        """Check that prompts and every needed column have one item per completion; return their number."""
        n = len(completions)
        if len(prompts) != n:
            raise ValueError(f"{self.name}: got {len(prompts)} prompts but {n} completions")
        for column in self.needs:
            values = kwargs.get(column)
            if values is None:
                hint = f": {self.column_help[column]}" if column in self.column_help else ""
                raise ValueError(f"reward {self.name!r} needs {column}=[...] (one per completion){hint}")
            if len(values) != n:
                raise ValueError(f"{self.name}: {column} has {len(values)} items, expected {n}")
        return n

    def _score(self, prompt: str, completion: str, **columns: Any) -> float:
        raise NotImplementedError

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({params})"


def _is_column(value: Any, n: int) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str) and len(value) == n


class CompositeReward:
    """A weighted sum of named reward components (multi-objective).

    Args:
        components: mapping of name to reward callable.
        weights: mapping of name to weight (a real number); missing names weigh 1.0.
        normalize: divide the total by the sum of absolute weights, so that a mix of rewards in [0, 1] stays
            in [0, 1].

    Example:
        >>> from tokengym.rewards import CompositeReward, Rouge, Verbosity
        >>> mix = CompositeReward({"rouge_l": Rouge("rouge_l"), "verbosity": Verbosity(max_words=3)},
        ...                       weights={"rouge_l": 1.0, "verbosity": 0.5})
        >>> [round(total, 4) for total in mix(["Q"], ["a b c d e f"], references=["a b c"])]
        [0.1667]
    """

    def __init__(
        self,
        components: Mapping[str, Callable[..., list[float]]],
        weights: Mapping[str, float] | None = None,
        normalize: bool = False,
    ) -> None:
        if not components:
            raise ValueError("a reward needs at least one component")
        weights = dict(weights or {})
        unknown = set(weights) - set(components)
        if unknown:
            raise ValueError(f"weights given for unknown components {sorted(unknown)}; components: {list(components)}")
        for name, fn in components.items():
            if not callable(fn):
                raise TypeError(f"reward component {name!r} is not callable: {fn!r}")
        self.components = dict(components)
        self.weights = {name: _check_weight(name, weights.get(name, 1.0)) for name in self.components}
        self.normalize = bool(normalize)
        scale = sum(abs(w) for w in self.weights.values())
        self._scale = scale if (self.normalize and scale > 0) else 1.0
        self.name = "+".join(self.components)

    def score(
        self, prompts: list[str], completions: list[str], **kwargs: Any
    ) -> tuple[list[float], dict[str, list[float]]]:
        """Totals and the raw (unweighted) value of every component, per completion."""
        parts: dict[str, list[float]] = {}
        for name, fn in self.components.items():
            parts[name] = checked_rewards(name, fn(prompts, completions, **kwargs), len(completions))
        totals = [
            sum(self.weights[name] * parts[name][i] for name in self.components) / self._scale
            for i in range(len(completions))
        ]
        for i, total in enumerate(totals):
            if not math.isfinite(total):  # finite parts whose weighted sum overflows
                raise ValueError(
                    f"the weighted sum of {self.name!r} is {total} for completion {i}; rewards must be finite "
                    f"(parts {[parts[name][i] for name in self.components]}, weights {self.weights})"
                )
        return totals, parts

    def __call__(self, prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        return self.score(prompts, completions, **kwargs)[0]

    def __repr__(self) -> str:
        terms = " + ".join(f"{w:g}*{n}" for n, w in self.weights.items())
        return f"CompositeReward({terms}{', normalize=True' if self.normalize else ''})"


def checked_rewards(name: str, values: Any, n: int) -> list[float]:
    """``values`` (what reward ``name`` returned for ``n`` completions) as floats, each a finite real number.

    This is the reward boundary: every reward an environment pays, built-in or user-supplied, passes here.

    Raises:
        ValueError: ``values`` is not a sequence of ``n`` items (``None``, a single number, a string, a
            mapping), or an item is not a finite real number (``None``, a string, NaN, infinite, an int too
            large for a float); the message names the reward and the item's index.
    """
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Iterable):
        raise ValueError(
            f"reward component {name!r} returned {_short(values)}; a reward returns one real number per "
            f"completion (a list of {n})"
        )
    values = list(values)
    if len(values) != n:
        raise ValueError(f"reward component {name!r} returned {len(values)} values for {n} completions")
    floats = []
    for i, v in enumerate(values):
        try:
            value = float(v) if isinstance(v, numbers.Real) else math.nan
        except OverflowError:  # an int beyond the float range
            value = math.inf
        if not math.isfinite(value):
            raise ValueError(
                f"reward component {name!r} returned {_short(v)} for completion {i}; rewards must be real numbers "
                "and finite (not None, NaN or infinite)"
            )
        floats.append(value)
    return floats


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an int with more digits than Python converts to text
        return "an int too long to show"
    return text if len(text) <= 60 else text[:57] + "..."


def _check_weight(name: str, weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or not math.isfinite(weight):
        raise TypeError(f"the weight of reward {name!r} must be a finite number, not {weight!r}")
    return float(weight)


# --------------------------------------------------------------------------------------------- registry


class UnknownRewardError(KeyError, ValueError):
    """A reward name that is not registered: a ``KeyError`` (a failed look-up) and a ``ValueError`` (bad input)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""  # KeyError would quote the message


class RewardArgumentError(TypeError, ValueError):
    """Arguments a reward does not take: a ``TypeError`` (as Python's own) and a ``ValueError`` (bad input)."""


_REGISTRY: dict[str, Callable[..., Any]] = {}


def register_reward(name: str, factory: Callable[..., Any]) -> None:
    """Make ``name`` usable in reward specs; ``factory(**kwargs)`` builds the reward."""
    if not name.isidentifier():
        raise ValueError(f"reward name {name!r} must be a Python identifier (letters, digits, underscores)")
    _REGISTRY[name] = factory


def reward_names() -> list[str]:
    """Names usable in reward specs, sorted."""
    return sorted(_REGISTRY)


def get_reward(name: str, **kwargs: Any) -> Any:
    """Build the registered reward ``name`` with ``kwargs``.

    Raises:
        UnknownRewardError: (a ``KeyError`` and a ``ValueError``) for an unknown name, with the closest known
            names.
        RewardArgumentError: (a ``TypeError`` and a ``ValueError``) for arguments the reward does not take.
    """
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise UnknownRewardError(f"unknown reward {name!r}{hint} Known rewards: {', '.join(reward_names())}")
    try:
        return _REGISTRY[name](**kwargs)
    except TypeError as err:
        unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(err))
        if unexpected is None:
            raise RewardArgumentError(f"bad arguments for reward {name!r}: {err}") from err
        # said in our words, so that callers reading "unexpected keyword argument" as their own can tell them apart
        raise RewardArgumentError(
            f"bad arguments for reward {name!r}: it takes no argument {unexpected.group(1)!r}{_takes(_REGISTRY[name])}"
        ) from err


def _takes(factory: Callable[..., Any]) -> str:
    """The "; it takes: a, b" end of a message, from a reward class's signature; empty for other factories."""
    if not isinstance(factory, type):
        return ""
    try:
        params = [
            p
            for p in inspect.signature(factory).parameters.values()
            if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return ""
    return f"; it takes: {', '.join(p.name for p in params)}" if params else "; it takes no arguments"


RewardSpec = str | Mapping[str, Any] | Callable[..., Any] | Sequence[Any] | CompositeReward


def make_reward(spec: RewardSpec, normalize: bool = False) -> CompositeReward:
    """Build a :class:`CompositeReward` from a spec.

    Args:
        spec: one of
            - a string expression over registered names: ``"rouge_l"``, ``"rouge_l + 0.5*bleu - 0.1*verbosity"``,
              ``"rouge_l + 0.2*verbosity(max_words=30)"`` (arguments are Python literals); a quoted term names a
              reward of your own, ``'rouge_l + 0.5*"my_rewards.py:brevity"'`` (:mod:`tokengym.rewards.external`);
            - a reference to a reward of your own on its own: ``"package.module:function"``,
              ``"path/to/file.py:function"`` or ``"path/to/file.py"`` (its function ``reward``);
            - a mapping ``{name: weight}`` or ``{name: (weight, {kwargs})}``;
            - a callable reward (its ``name`` attribute, or ``__name__``, names it);
            - a list mixing any of these (callables, spec strings, mappings), whose components add up; a
              component name may appear once;
            - a :class:`CompositeReward` (returned as is).
        normalize: divide totals by the sum of absolute weights.

    Raises:
        RewardSpecError: (a ``ValueError``) if a string spec does not parse or passes a limit of
            :mod:`tokengym.rewards.spec` (the message shows where).
        UnknownRewardError: (a ``KeyError`` and a ``ValueError``) for an unknown reward name.
        RewardReferenceError: (a ``ValueError``) for a reference that does not load.
        TypeError: for a weight that is not a number.

    Example:
        >>> def shouting(prompts, completions, **kwargs):
        ...     return [float(c.isupper()) for c in completions]
        >>> reward = make_reward(["rouge_l + 0.5*verbosity(max_words=5)", shouting])
        >>> reward.weights
        {'rouge_l': 1.0, 'verbosity': 0.5, 'shouting': 1.0}
    """
    if isinstance(spec, CompositeReward):
        return spec
    if isinstance(spec, (str, Mapping)) or callable(spec):
        components, weights = _spec_components(spec)
        return CompositeReward(components, weights, normalize=normalize)
    if isinstance(spec, Sequence) and spec:
        components, weights = {}, {}
        for item in spec:
            if isinstance(item, CompositeReward):
                parts, part_weights = item.components, item.weights
            elif isinstance(item, (str, Mapping)) or callable(item):
                parts, part_weights = _spec_components(item)
            else:
                raise TypeError(
                    f"a reward list holds spec strings, {{name: weight}} mappings and callables, not {item!r}"
                )
            for name, fn in parts.items():
                if name in components:
                    raise ValueError(f"two reward components are named {name!r}; give them distinct names")
                components[name], weights[name] = fn, part_weights.get(name, 1.0)
        return CompositeReward(components, weights, normalize=normalize)
    raise TypeError(
        f"reward must be a spec string, a {{name: weight}} mapping, a callable or a list of them; got {spec!r}"
    )


def _spec_components(spec: str | Mapping[str, Any] | Callable[..., Any]) -> tuple[dict[str, Any], dict[str, float]]:
    """The named components and weights of one spec string, mapping or callable."""
    from tokengym.rewards.external import is_reward_reference, load_reward_reference

    components: dict[str, Any] = {}
    weights: dict[str, float] = {}
    if isinstance(spec, str) and is_reward_reference(spec):
        fn = load_reward_reference(spec)
        return {_callable_name(fn): fn}, {_callable_name(fn): 1.0}
    if isinstance(spec, str):
        for weight, name, kwargs in parse_reward_spec(spec):
            fn = load_reward_reference(name) if not name.isidentifier() else get_reward(name, **kwargs)
            key = _callable_name(fn) if not name.isidentifier() else name
            if key in components:
                raise RewardSpecError(
                    f"reward {key!r} appears twice in {spec!r}; combine its weights into one term", spec
                )
            components[key], weights[key] = fn, weight
        return components, weights
    if isinstance(spec, Mapping):
        for name, value in spec.items():
            kwargs: dict[str, Any] = {}
            if isinstance(value, tuple):
                if len(value) != 2 or not isinstance(value[1], Mapping):
                    raise TypeError(f"reward {name!r}: expected weight or (weight, kwargs), got {value!r}")
                value, kwargs = value[0], dict(value[1])
            weights[name] = _check_weight(name, value)
            components[name] = get_reward(name, **kwargs)
        return components, weights
    name = _callable_name(spec)
    return {name: spec}, {name: 1.0}


def _callable_name(fn: Any) -> str:
    return str(getattr(fn, "name", None) or getattr(fn, "__name__", None) or type(fn).__name__)
