"""Text games without an engine: the protocol every game follows, and the token trie behind token-level masks.

A game is a small pure-Python class. It draws a new instance from a ``numpy.random.Generator`` in
:meth:`TextGame.reset`, describes its state as a :class:`GameText`, lists the commands that make sense now
(:meth:`TextGame.admissible_commands`, sorted), and answers a command with a :class:`StepResult`. It knows
nothing of tokens or Gymnasium: ``token_env`` and ``command_env`` wrap it in the two action modes.

Rules shared by every game:

* Commands are compared after :func:`normalise_command` (lower case, single spaces, no trailing ``?``, ``.``
  or ``!``), so ``"Is it an ANIMAL"`` is the command ``"is it an animal?"``.
* Every command takes one turn, admissible or not. A command that is not admissible now gets the game's own
  response (unknown, or known but impossible here), costs ``invalid_penalty`` and the game goes on.
* The game ends on a win or when ``max_turns`` turns are used; the score change of each command is its
  reward, split into the named components of ``COMPONENTS``.

Example:
    >>> from tokengym.envs.games import TwentyQuestions
    >>> game = TwentyQuestions(level=1)
    >>> text = game.reset(seed=0)
    >>> result = game.step("is it an animal?")
    >>> result.valid, result.done
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

import numpy as np

from tokengym.envs.validation import check_int, check_mapping, check_number

_KEY_CACHE: dict[str, str] = {}


def normalise_command(text: str) -> str:
    """The comparison key of a command: lower case, single spaces, no trailing ``?``, ``.`` or ``!``."""
    key = _KEY_CACHE.get(text)
    if key is None:
        key = " ".join(text.lower().split()).rstrip("?.! ")
        if len(_KEY_CACHE) < 100_000:
            _KEY_CACHE[text] = key
    return key


class GameText(NamedTuple):
    """What the player reads after each command; ``lines()`` is the documented layout (blank parts dropped).

    Attributes:
        goal: the objective, shown on the first line as ``Goal: ...`` (no line where it is empty).
        feedback: the response to the last command (the introduction after a reset).
        status: turns left and short state (inventory, coins, hints), one line.
        description: the current scene: a room, the candidates and answers so far, the board; oldest
            information last, so a cut at the end of the text loses the oldest first.
    """

    goal: str
    feedback: str
    status: str
    description: str

    def lines(self) -> list[str]:
        parts = [f"Goal: {self.goal}" if self.goal else "", self.feedback, self.status, *self.description.split("\n")]
        return [p for p in parts if p]

    def __str__(self) -> str:
        return "\n".join(self.lines())


class StepResult(NamedTuple):
    """The game's answer to one command.

    Attributes:
        command: the admissible command that was played, or the normalised text of a rejected one.
        valid: whether the command was admissible.
        feedback: the game's response.
        reward: the score change (the sum of ``components``).
        components: the score change split by the game's named components.
        done: whether the game ended (won, or out of turns).
        won: whether the goal was reached.
    """

    command: str
    valid: bool
    feedback: str
    reward: float
    components: dict[str, float]
    done: bool
    won: bool


class GameDoc(NamedTuple):
    """Documentation sections of a game, shared by its class docstring and its environments' docstrings."""

    summary: str
    description: str
    goal: str
    commands: str
    rewards: str
    starting_state: str
    episode_end: str
    levels: Mapping[int | str, str]
    options: str


class TextGame:
    """Base class of the games (see a game's own docstring for its rules).

    Args:
        level: difficulty, one of ``LEVELS``.
        max_turns: turns per game (every command takes one); ``None`` takes ``DEFAULT_MAX_TURNS``.
        invalid_penalty: score lost on a command that is not admissible (a non-negative number).

    Subclasses define ``name``, ``DEFAULT_MAX_TURNS``, ``COMPONENTS`` (with ``"invalid"``), ``OPTIONS`` (their
    extra keyword arguments), ``DOC``, and the hooks :meth:`command_vocabulary`, :meth:`_new_game`,
    :meth:`_admissible`, :meth:`_apply`, :meth:`_reject`, :meth:`_goal`, :meth:`_status`,
    :meth:`_description`, :meth:`_end_text` and :meth:`max_offered`.
    """

    name: ClassVar[str] = "game"
    LEVELS: ClassVar[Sequence[int]] = (1, 2, 3)
    DEFAULT_MAX_TURNS: ClassVar[int] = 20
    COMPONENTS: ClassVar[tuple[str, ...]] = ("invalid",)
    OPTIONS: ClassVar[tuple[str, ...]] = ("invalid_penalty",)
    DOC: ClassVar[GameDoc]

    def __init__(self, level: int = 1, max_turns: int | None = None, invalid_penalty: float = 0.05) -> None:
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or int(level) not in self.LEVELS:
            raise ValueError(f"{self.name} level must be {levels_text(self.LEVELS)}, not {level!r}")
        if max_turns is None:
            max_turns = self.DEFAULT_MAX_TURNS
        self.level = int(level)
        self.max_turns = check_int("max_turns", max_turns, low=1, what="turns per game")
        self.invalid_penalty = check_number("invalid_penalty", invalid_penalty)
        self.turn = 0
        self.score = 0.0
        self.done = False
        self.won = False
        self._started = False
        self._feedback = ""
        self._version = 0  # bumped on every state change; keys the cached commands and text
        self._cached_version = -1
        self._cached: tuple[str, ...] = ()
        self._cached_set: frozenset[str] = frozenset()
        self._text_version = -1
        self._text: GameText | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "DOC" in cls.__dict__ and cls.__dict__.get("__doc__") is None:
            cls.__doc__ = game_docstring(cls)

    # ------------------------------------------------------------------------------------------- protocol

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        """Every command this game can ever admit, at any level (sorted); fixes token budgets and id tables."""
        raise NotImplementedError

    def vocabulary(self) -> tuple[str, ...]:
        """Every command this game object can ever admit (sorted): the class's :meth:`command_vocabulary`, or,
        for a game whose commands depend on its instances (a pool of generated TextWorld games), theirs."""
        return type(self).command_vocabulary()

    def max_offered(self) -> int:
        """An upper bound on ``len(offered_commands())`` for this level and these options."""
        raise NotImplementedError

    def reset(self, seed: int | None = None, rng: np.random.Generator | None = None) -> GameText:
        """Start a new game drawn from ``rng`` (or from a fresh generator seeded with ``seed``)."""
        if rng is None:
            rng = np.random.default_rng(seed)
        self.turn = 0
        self.score = 0.0
        self.done = False
        self.won = False
        self._feedback = self._new_game(rng)
        self._started = True
        self._version += 1
        return self.text()

    def text(self) -> GameText:
        """The text the player reads now (cached until the next command)."""
        self._require_started()
        if self._text_version != self._version:
            status = f"Turns left: {self.max_turns - self.turn}."
            extra = self._status()
            status = f"{status} {extra}" if extra else status
            self._text = GameText(self._goal(), self._feedback, status, self._description())
            self._text_version = self._version
        return self._text

    def admissible_commands(self) -> tuple[str, ...]:
        """The commands that make sense now, sorted (empty once the game is over)."""
        self._require_started()
        if self._cached_version != self._version:
            self._cached = () if self.done else tuple(sorted(self._admissible()))
            self._cached_set = frozenset(self._cached)
            self._cached_version = self._version
        return self._cached

    def admissible_set(self) -> frozenset[str]:
        """The admissible commands now, as a set (cached until the next command)."""
        self.admissible_commands()
        return self._cached_set

    def offered_commands(self) -> tuple[str, ...]:
        """The commands listed at command level, sorted (a subset of the admissible ones; all by default)."""
        return self.admissible_commands()

    def is_admissible(self, command: str) -> bool:
        """Whether ``command`` (an exact command of the vocabulary) is admissible now."""
        self.admissible_commands()
        return command in self._cached_set

    def step(self, command: str) -> StepResult:
        """Play one command (any text); it takes a turn whether or not it is admissible."""
        if not isinstance(command, str):
            raise TypeError(f"a command is a string, not {type(command).__name__}: {command!r}")
        self._require_started()
        if self.done:
            raise RuntimeError(f"the {self.name} game is over; call reset() to play another")
        keys = self._vocabulary_keys()
        known = keys.get(command)
        if known is None:
            known = keys.get(normalise_command(command))
        components = dict.fromkeys(self.COMPONENTS, 0.0)
        if known is not None and self.is_admissible(known):
            feedback, won = self._apply(known, components)
            played, valid = known, True
        else:
            played, valid, won = normalise_command(command), False, False
            feedback = self._reject(played, known)
            components["invalid"] = -self.invalid_penalty
        self.turn += 1
        self._version += 1
        if won:
            self.won = self.done = True
            feedback = f"{feedback} {self._end_text(True)}"
        elif self.turn >= self.max_turns:
            self.done = True
            feedback = f"{feedback} {self._end_text(False)}"
        reward = sum(components.values())
        self.score += reward
        self._feedback = feedback
        return StepResult(played, valid, feedback, reward, components, self.done, won)

    # ----------------------------------------------------------------------------------------------- hooks

    def _new_game(self, rng: np.random.Generator) -> str:
        """Draw a new game with ``rng``; return the introduction shown as the first feedback."""
        raise NotImplementedError

    def _admissible(self) -> Sequence[str]:
        """The admissible commands now (any order; the base class sorts them)."""
        raise NotImplementedError

    def _apply(self, command: str, components: dict[str, float]) -> tuple[str, bool]:
        """Play an admissible command: update the state and ``components``; return ``(feedback, won)``."""
        raise NotImplementedError

    def _reject(self, key: str, known: str | None) -> str:
        """The response to a command that is not admissible (``known`` is its vocabulary form, if any)."""
        if not key:
            return "Nothing happens: type a command."
        if known is not None:
            return f"You can't {key} now."
        return f'I don\'t understand "{key}".'

    def _goal(self) -> str:
        raise NotImplementedError

    def _status(self) -> str:
        """Short state after ``Turns left: N.`` (inventory, score, hints); empty for none."""
        return ""

    def _description(self) -> str:
        raise NotImplementedError

    def _end_text(self, won: bool) -> str:
        """Appended to the feedback when the game ends."""
        return "You win!" if won else "Out of turns: game over."

    # ---------------------------------------------------------------------------------------------- helpers

    @classmethod
    def _vocabulary_keys(cls) -> dict[str, str]:
        keys = _VOCABULARY_KEYS.get(cls)
        if keys is None:
            keys = {}
            for command in cls.command_vocabulary():
                keys[command] = command
                keys.setdefault(normalise_command(command), command)
            _VOCABULARY_KEYS[cls] = keys
        return keys

    def close(self) -> None:
        """Release what the game holds outside Python (an engine process or library); nothing by default."""

    def _require_started(self) -> None:
        if not self._started:
            raise RuntimeError(f"call reset() on the {self.name} game first")


_VOCABULARY_KEYS: dict[type, dict[str, str]] = {}


def levels_text(levels: Sequence[int]) -> str:
    """How an error or a docstring names the allowed levels: ``one of (1, 2, 3)``, or ``from 1 to 300``."""
    if isinstance(levels, range) and len(levels) > 3 and levels.step == 1:
        return f"an integer from {levels[0]} to {levels[-1]}"
    return f"one of {tuple(levels)}"


def make_game(game_cls: type[TextGame], level: int, max_turns: int | None, options: Mapping[str, Any] | None):
    """Build a game from environment arguments, naming the allowed options when one is unknown."""
    options = check_mapping("game_kwargs", options, f"{{'{game_cls.OPTIONS[0]}': ...}} (the game's options)")
    unknown = sorted(set(options) - set(game_cls.OPTIONS))
    if unknown:
        raise ValueError(
            f"unknown {game_cls.name} option(s) {', '.join(map(repr, unknown))} in game_kwargs; "
            f"allowed: {', '.join(game_cls.OPTIONS)}"
        )
    return game_cls(level=level, max_turns=max_turns, **options)


def game_docstring(cls: type[TextGame]) -> str:
    """The class docstring of a game, composed from its ``DOC`` sections."""
    doc = cls.DOC
    levels = "\n".join(f"- {level}: {text}" for level, text in doc.levels.items())
    return (
        f"{doc.summary}\n\n## Description\n{doc.description}\n\n## Goal\n{doc.goal}\n\n## Commands\n{doc.commands}\n\n"
        f"## Rewards\n{doc.rewards}\n\n## Starting State\n{doc.starting_state}\n\n## Episode End\n{doc.episode_end}\n\n"
        f"## Levels\n{levels}\n\n## Options\n{doc.options}\n"
    )


# ------------------------------------------------------------------------------------------------------ trie


class CommandTrie:
    """A token trie over a game's command vocabulary, filtered by what is admissible when it is asked.

    Each node knows the command that ends exactly there (``command``, or ``None``). :meth:`allowed_tokens`
    returns the tokens after which some command that ``admissible`` accepts continues, so one trie serves every
    turn of every game of a kind: no turn rebuilds it. Children are built the first time a node is visited.

    Args:
        entries: ``(token_ids, command)`` pairs; every command's ids must be distinct.
        depth: tokens already written (0 at the root).

    Example:
        >>> trie = CommandTrie([((5, 6), "go north"), ((5, 7), "go south")])
        >>> south_only = lambda command: command == "go south"
        >>> trie.allowed_tokens(south_only).tolist(), trie.child(5).allowed_tokens(south_only).tolist()
        ([5], [7])
        >>> trie.child(5).child(7).command
        'go south'
    """

    __slots__ = ("_children", "_depth", "_entries", "command")

    def __init__(self, entries: Sequence[tuple[Sequence[int], str]], depth: int = 0) -> None:
        self._entries = entries
        self._depth = depth
        self._children: dict[int, CommandTrie] | None = None
        self.command: str | None = None
        for ids, command in entries:
            if len(ids) == depth:
                self.command = command
                break

    def _expand(self) -> dict[int, CommandTrie]:
        groups: dict[int, list[tuple[Sequence[int], str]]] = {}
        d = self._depth
        for entry in self._entries:
            ids = entry[0]
            if len(ids) > d:
                groups.setdefault(int(ids[d]), []).append(entry)
        self._children = {token: CommandTrie(group, d + 1) for token, group in sorted(groups.items())}
        return self._children

    def child(self, token: int) -> CommandTrie | None:
        """The node after ``token``, or ``None`` when no command of the vocabulary continues with it."""
        children = self._children if self._children is not None else self._expand()
        return children.get(token)

    def any_admissible(self, admissible: Callable[[str], bool]) -> bool:
        """Whether some command through this node (ending here or below) is admissible."""
        return any(admissible(command) for _, command in self._entries)

    def allowed_tokens(self, admissible: Callable[[str], bool]) -> np.ndarray:
        """Token ids (sorted) after which some admissible command continues."""
        children = self._children if self._children is not None else self._expand()
        return np.array([t for t, node in children.items() if node.any_admissible(admissible)], dtype=np.int64)

    def complete(self, admissible: Callable[[str], bool]) -> str | None:
        """The admissible command that ends exactly here, if any."""
        command = self.command
        return command if command is not None and admissible(command) else None

    def __getstate__(self) -> tuple:
        return self._entries, self._depth

    def __setstate__(self, state: tuple) -> None:
        self.__init__(*state)
