"""The reward-spec parser: ``"rouge_l + 0.5*bleu - 0.1*verbosity(max_words=30)"`` into weighted terms.

A spec is read with Python's own parser, and only literals are ever evaluated. Before that parser runs, the spec
is checked against limits, so that no input makes it (or :func:`ast.literal_eval`) recurse past Python's stack,
allocate without bound or overflow a float:

- at most :data:`MAX_SPEC_CHARS` characters, valid Unicode;
- brackets nested at most :data:`MAX_SPEC_DEPTH` deep;
- at most :data:`MAX_SPEC_OPERATORS` operators and brackets together (``+``, ``-``, ``*``, unary signs, ``.``,
  ``not``, ``(``, ``[``... anything that can nest one expression in another, unlike a comma or the ``=`` of an
  argument);
- each number literal at most :data:`MAX_NUMBER_CHARS` characters, and finite (``1e999`` is refused).

A spec past a limit gets a :class:`RewardSpecError` naming the limit and where it was passed.

Example:
    >>> parse_reward_spec("rouge_l - 0.1*verbosity(max_words=30)")
    [(1.0, 'rouge_l', {}), (-0.1, 'verbosity', {'max_words': 30})]
    >>> parse_reward_spec('rouge_l + 0.5*"my_rewards.py:brevity"')  # a quoted term: a reward of one's own
    [(1.0, 'rouge_l', {}), (0.5, 'my_rewards.py:brevity', {})]
    >>> try:
    ...     parse_reward_spec("(" * 40 + "rouge_l" + ")" * 40)
    ... except RewardSpecError as err:
    ...     print(err.column, "brackets nested more than 32 deep" in str(err))
    33 True
"""

from __future__ import annotations

import ast
import io
import keyword
import math
import tokenize
from typing import Any

from tokengym.data.textcheck import unicode_problem

__all__ = [
    "MAX_NUMBER_CHARS",
    "MAX_SPEC_CHARS",
    "MAX_SPEC_DEPTH",
    "MAX_SPEC_OPERATORS",
    "RewardSpecError",
    "parse_reward_spec",
]

MAX_SPEC_CHARS = 10_000
"""Longest spec read: ten times a spec of every built-in reward with arguments."""
MAX_SPEC_DEPTH = 32
"""Deepest nesting of ``()``, ``[]`` and ``{}`` (argument values are lists or dicts at most a few deep)."""
MAX_SPEC_OPERATORS = 256
"""Most operators and brackets: each may add a level to the parsed tree, which the parser and this module walk
recursively (``rouge_l`` followed by 3,000 ``[0]`` exhausts Python's parser with no bracket nested in another)."""
MAX_NUMBER_CHARS = 40
"""Longest number literal (a weight or an argument); longer ones are a typo or an attack, never a weight."""

_OPENING, _CLOSING = "([{", ")]}"
_FLAT = {",", "=", ":"}  # punctuation that puts expressions side by side, never one inside another
_LEAVES = {"True", "False", "None"}
_FORMS = "write a sum of terms like 'rouge_l + 0.5*bleu - 0.1*verbosity(max_words=30)'"


class RewardSpecError(ValueError):
    """A reward spec string that does not parse, or passes a documented limit; the message says where.

    Attributes:
        spec: the spec as given.
        column: the 1-based column of the problem in its line, where one is known.
    """

    def __init__(self, message: str, spec: str = "", column: int | None = None) -> None:
        super().__init__(message)
        self.spec = spec
        self.column = column


def parse_reward_spec(spec: str) -> list[tuple[float, str, dict[str, Any]]]:
    """Parse ``"rouge_l + 0.5*bleu - 0.1*verbosity(max_words=30)"`` into ``[(weight, name, kwargs), ...]``.

    A quoted term (``0.5*"my_rewards.py:brevity"``) comes back as its text, a reference to a reward of one's own
    that :func:`tokengym.rewards.make_reward` loads (:mod:`tokengym.rewards.external`).

    Raises:
        RewardSpecError: (a ``ValueError``) naming the offending part of the spec and the accepted forms, or the
            limit it passes (see the module docstring).
    """
    if not isinstance(spec, str):
        raise RewardSpecError(f"a reward spec is a string such as 'rouge_l + 0.5*bleu', not {type(spec).__name__}")
    if not spec.strip():
        raise RewardSpecError("empty reward spec; try e.g. 'rouge_l' or 'rouge_l + 0.5*bleu'", spec)
    _check_limits(spec)
    source = spec.strip()
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise RewardSpecError(f"reward spec {_shown(spec)} does not parse{where}: {_FORMS}", spec, err.offset) from None
    terms: list[tuple[float, str, dict[str, Any]]] = []
    _collect_terms(tree, 1.0, terms, source)
    return terms


def _shown(spec: str) -> str:
    """The spec for a message: whole when short, else its start and its length."""
    return repr(spec) if len(spec) <= 80 else f"{spec[:60]!r}... ({len(spec)} characters)"


def _check_limits(spec: str) -> None:
    """Refuse a spec past a documented limit, scanning its tokens once without recursion."""
    if len(spec) > MAX_SPEC_CHARS:
        raise RewardSpecError(
            f"reward spec {_shown(spec)} is longer than {MAX_SPEC_CHARS} characters; {_FORMS}", spec, MAX_SPEC_CHARS
        )
    problem = unicode_problem(spec)
    if problem is not None:
        raise RewardSpecError(f"reward spec {_shown(spec)} is not valid Unicode text: {problem}", spec)
    depth = operators = 0
    tokens = tokenize.generate_tokens(io.StringIO(spec.strip()).readline)
    try:
        for token in tokens:
            line, col = token.start
            where = f"{'' if line == 1 else f'line {line} '}column {col + 1}"
            nests = (token.type == tokenize.OP and token.string not in _FLAT and token.string not in _CLOSING) or (
                token.type == tokenize.NAME and keyword.iskeyword(token.string) and token.string not in _LEAVES
            )
            if nests:
                operators += 1
                if operators > MAX_SPEC_OPERATORS:
                    raise RewardSpecError(
                        f"reward spec {_shown(spec)}: more than {MAX_SPEC_OPERATORS} operators and brackets (the "
                        f"{MAX_SPEC_OPERATORS + 1}th at {where}); {_FORMS}",
                        spec,
                        col + 1,
                    )
            if token.type == tokenize.OP and token.string in _OPENING:
                depth += 1
                if depth > MAX_SPEC_DEPTH:
                    raise RewardSpecError(
                        f"reward spec {_shown(spec)}: brackets nested more than {MAX_SPEC_DEPTH} deep at {where}; "
                        f"{_FORMS}",
                        spec,
                        col + 1,
                    )
            elif token.type == tokenize.OP and token.string in _CLOSING:
                depth -= 1
            elif token.type == tokenize.NUMBER:
                _check_number(token.string, spec, where, col + 1)
    except tokenize.TokenError:  # an unclosed bracket or string: the tokenizer stops at the end
        raise RewardSpecError(
            f"reward spec {_shown(spec)} does not parse (unclosed bracket or quote); {_FORMS}", spec
        ) from None
    except SyntaxError as err:  # an unterminated string, bad indentation: what follows was not scanned
        where = f" at line {err.lineno} column {err.offset}" if err.lineno and err.offset else ""
        raise RewardSpecError(f"reward spec {_shown(spec)} does not parse{where}: {_FORMS}", spec, err.offset) from None


def _check_number(literal: str, spec: str, where: str, column: int) -> None:
    if len(literal) > MAX_NUMBER_CHARS:
        raise RewardSpecError(
            f"reward spec {_shown(spec)}: the number at {where} has {len(literal)} characters, more than "
            f"{MAX_NUMBER_CHARS}; weights and arguments are ordinary numbers such as 0.5 or 30",
            spec,
            column,
        )
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return  # not a number Python reads (e.g. '1_'): ast.parse names it
    if isinstance(value, float) and not math.isfinite(value):
        raise RewardSpecError(
            f"reward spec {_shown(spec)}: the number {literal} at {where} is too large for a float (it would be "
            "infinite); weights and arguments must be finite",
            spec,
            column,
        )


def _collect_terms(node: ast.expr, sign: float, out: list, spec: str) -> None:
    # recursion is bounded: _check_limits allows at most MAX_SPEC_OPERATORS operators
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
        _collect_terms(node.left, sign, out, spec)
        _collect_terms(node.right, -sign if isinstance(node.op, ast.Sub) else sign, out, spec)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _collect_terms(node.operand, -sign if isinstance(node.op, ast.USub) else sign, out, spec)
        return
    weight = 1.0
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        number, term = node.left, node.right
        if _number(number) is None:
            number, term = node.right, node.left
        value = _number(number)
        if value is None:
            raise RewardSpecError(
                f"reward spec {_shown(spec)}: {_segment(spec, node)!r} should be NUMBER*name", spec, node.col_offset + 1
            )
        weight = value
        node = term
    name, kwargs = _term(node, spec)
    out.append((sign * weight, name, kwargs))


def _number(node: ast.expr) -> float | None:
    """The value of a real number literal, signed or not (``-0.5``), else ``None``."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def _segment(spec: str, node: ast.AST) -> str:
    segment = ast.get_source_segment(spec, node) or ast.dump(node)
    return segment if len(segment) <= 80 else segment[:60] + "..."


def _term(node: ast.expr, spec: str) -> tuple[str, dict[str, Any]]:
    if isinstance(node, ast.Name):
        return node.id, {}
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value, {}  # a quoted reference to a reward of one's own: "my_rewards.py:brevity"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.args:
        kwargs = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise RewardSpecError(f"reward spec {_shown(spec)}: '**' is not allowed in arguments", spec)
            try:
                kwargs[kw.arg] = ast.literal_eval(kw.value)
            except (ValueError, TypeError, SyntaxError):  # TypeError: an unhashable key, as in {[1]: 2}
                raise RewardSpecError(
                    f"reward spec {_shown(spec)}: argument {kw.arg}={_segment(spec, kw.value)} "
                    "must be a literal (number, string, list...)",
                    spec,
                    kw.value.col_offset + 1,
                ) from None
        return node.func.id, kwargs
    raise RewardSpecError(
        f"reward spec {_shown(spec)}: cannot read {_segment(spec, node)!r}; terms are NAME, NUMBER*NAME, "
        'NAME(key=value, ...) or a quoted reference to your own reward, "module:function" or "file.py:function"',
        spec,
        node.col_offset + 1,
    )
