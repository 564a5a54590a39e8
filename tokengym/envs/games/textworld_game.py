"""TextWorld's generated worlds as tokengym text games: the adapter from TextWorld's engine to :class:`TextGame`.

:class:`TextWorldGame` plays a pool of generated games (``textworld_cache``) through ``textworld.start``, asking
TextWorld only for what the player reads and the score needs (``EnvInfos``: admissible commands, description,
inventory, objective, score, maximum score, won, lost, and the intermediate reward when it is weighted). It
follows the :class:`TextGame` protocol, so the token-level and command-level environments play it unchanged;
``textworld_challenges`` defines one game and two environments per TextWorld challenge.

The player reads the documented layout of every game: ``Goal: <objective>`` (left out with ``objective=False``),
TextWorld's answer to the last command (without the interpreter's prompt, status bar and end-of-game banner; a
room description it repeats becomes the room's name), ``Turns left: N. Score: s of m. <inventory>``, then the
room's description.

``textworld`` is imported only when a game is made (``pip install 'tokengym[textworld]'``).
"""

from __future__ import annotations

import os
import re
from typing import Any, ClassVar

import numpy as np

from tokengym.envs import validation
from tokengym.envs.games.base import StepResult, TextGame, check_number, normalise_command
from tokengym.envs.games.textworld_cache import GameFiles, ensure_games, import_textworld

# Commands never sent to the engine: they would restart, save, restore or undo the game behind TextWorld's
# state tracking (``tw-*`` are TextWorld's own debugging commands). Text that is not printable ASCII, or holds a
# backslash (an interpreter escape), is not sent either.
REFUSED_VERBS = frozenset({"quit", "q", "restart", "restore", "save", "undo", "script", "unscript", "transcript"})
MAX_COMMAND_CHARS = 190  # the Z-machine's input buffer (Jericho truncates at 198 bytes)
SPLITS: dict[str, range] = {
    "train": range(1, 1_000_000),
    "valid": range(1_000_000, 2_000_000),
    "test": range(2_000_000, 3_000_000),
}

_PROMPT = re.compile(r"\n>[^\n]*\Z")  # the input prompt and the status bar the interpreter prints after it
_END = re.compile(r"\*\*\* *(?:The End|You lost!) *\*\*\*.*\Z", re.S)


def clean_block(text: str | None) -> str:
    """Text of the interpreter, one paragraph line per line: spaces collapsed, blank lines dropped."""
    if not text:
        return ""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def clean_feedback(raw: str, description: str) -> str:
    """The interpreter's answer without its prompt, status bar and end-of-game banner; a room description the
    answer repeats (after a move or ``look``) becomes its first line, the room's name."""
    text = clean_block(_END.sub("", _PROMPT.sub("", raw or "")))
    if description and description in text:
        text = text.replace(description, description.split("\n", 1)[0])
    return text


class TextWorldGame(TextGame):
    """Base class of the TextWorld games (each challenge's class documents itself in full).

    Args:
        level: the challenge's difficulty (1 for challenges without levels).
        max_turns: turns per game; ``None`` takes ``DEFAULT_MAX_TURNS``.
        invalid_penalty: score lost on a command that is not admissible.
        split: ``"train"``, ``"valid"`` or ``"test"``; each draws its games from its own range of seeds
            (1-999,999, 1,000,000-1,999,999, 2,000,000-2,999,999), so evaluation plays unseen games.
        pool_size: games in the pool (the first ``pool_size`` seeds of the split); ``None`` takes
            ``DEFAULT_POOL_SIZE``. All are generated (or found in the cache) when the game is made.
        intermediate_reward: weight of TextWorld's intermediate reward (+1 a step closer to winning, -1 further,
            0 otherwise); 0 does not ask TextWorld for it (it tracks the quest, which slows every step).
        normalise_score: divide score changes by the game's maximum score, so a won game's score sums to 1.
        command_limit: most commands offered at command level (``None``: ``DEFAULT_COMMAND_LIMIT``).
        cache_dir: the folder to cache games in (``None``: see :mod:`~tokengym.envs.games.textworld_cache`).
    """

    name: ClassVar[str] = "TextWorld"
    challenge: ClassVar[str]
    LEVELS: ClassVar[range | tuple[int, ...]] = (1,)
    DEFAULT_MAX_TURNS: ClassVar[int] = 100
    DEFAULT_POOL_SIZE: ClassVar[int] = 10
    DEFAULT_COMMAND_LIMIT: ClassVar[int] = 64
    COMPONENTS: ClassVar[tuple[str, ...]] = ("score", "intermediate", "invalid")
    COMMON_OPTIONS: ClassVar[tuple[str, ...]] = (
        "invalid_penalty",
        "split",
        "pool_size",
        "intermediate_reward",
        "normalise_score",
        "command_limit",
        "cache_dir",
        "history",
        "objective",
    )
    OPTIONS: ClassVar[tuple[str, ...]] = COMMON_OPTIONS

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        invalid_penalty: float = 0.05,
        split: str = "train",
        pool_size: int | None = None,
        intermediate_reward: float = 0.0,
        normalise_score: bool = True,
        command_limit: int | None = None,
        cache_dir: str | os.PathLike | None = None,
        history: int = 0,
        objective: bool = True,
    ) -> None:
        super().__init__(level, max_turns, invalid_penalty)
        if isinstance(history, bool) or not isinstance(history, (int, np.integer)) or history < 0:
            raise ValueError(f"history must be a non-negative integer (commands to repeat), not {history!r}")
        self.history = int(history)
        if not isinstance(objective, bool):
            raise ValueError(f"objective must be True or False, not {objective!r}")
        self.show_objective = objective
        import_textworld()  # fail now, naming the extra, rather than at the first reset
        if split not in SPLITS:
            raise ValueError(f"split must be one of {tuple(SPLITS)}, not {split!r}")
        pool_size = self.DEFAULT_POOL_SIZE if pool_size is None else pool_size
        check_count("pool_size", pool_size, len(SPLITS[split]))
        check_number("intermediate_reward", intermediate_reward)
        if not isinstance(normalise_score, bool):
            raise ValueError(f"normalise_score must be True or False, not {normalise_score!r}")
        command_limit = self.DEFAULT_COMMAND_LIMIT if command_limit is None else command_limit
        check_count("command_limit", command_limit, 10_000)
        self.split = split
        self.intermediate_reward = float(intermediate_reward)
        self.normalise_score = normalise_score
        self.command_limit = int(command_limit)
        self.cache_dir = None if cache_dir is None else os.fspath(cache_dir)
        self.settings = self._settings()
        seeds = SPLITS[split][: int(pool_size)]
        self.pool: tuple[GameFiles, ...] = tuple(ensure_games(self.challenge, self.settings, seeds, self.cache_dir))
        self._vocabulary = tuple(sorted(set().union(*(game.commands for game in self.pool))))
        self._vocabulary_set = frozenset(self._vocabulary)
        self._keys: dict[str, str] = {}
        for command in self._vocabulary:
            self._keys[command] = command
            self._keys.setdefault(normalise_command(command), command)
        self._engine: Any = None  # textworld's environment; rebuilt (by replay) after unpickling
        self._loaded: int | None = None  # pool index of the game the engine holds
        self._episode: tuple[int, int, list[str]] | None = None  # pool index, engine seed, commands sent
        self.game_index = 0
        self.tw_score = 0
        self.max_score = 0
        self.lost = False
        self._objective = ""
        self._raw_description = ""
        self._raw_inventory = ""
        self._now: tuple[str, ...] = ()
        self._offered_version = -1
        self._offered: tuple[str, ...] = ()
        self._clean: dict[str, str] = {}

    # ------------------------------------------------------------------------------------------- protocol

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        raise TypeError(f"the commands of {cls.__name__} depend on its pool of games; call vocabulary() on a game")

    def vocabulary(self) -> tuple[str, ...]:
        """Every command any game of the pool can ever admit (TextWorld's possible admissible commands)."""
        return self._vocabulary

    def max_offered(self) -> int:
        return min(len(self._vocabulary), self.command_limit)

    @property
    def game_files(self) -> GameFiles:
        """The current game's files and facts (its walkthrough, maximum score, seed)."""
        return self.pool[self.game_index]

    @property
    def walkthrough(self) -> tuple[str, ...] | None:
        """A winning command sequence of the current game, as TextWorld recorded it."""
        return self.game_files.walkthrough

    def offered_commands(self) -> tuple[str, ...]:
        """The admissible commands, at most ``command_limit`` (past it, ``examine ...`` commands are left out first;
        a command left out is still admissible when written at token level or given as text)."""
        commands = self.admissible_commands()
        if len(commands) <= self.command_limit:
            return commands
        if self._offered_version != self._version:
            ordered = sorted(commands, key=lambda c: c.startswith("examine "))
            self._offered = tuple(sorted(ordered[: self.command_limit]))
            self._offered_version = self._version
        return self._offered

    def step(self, command: str) -> StepResult:
        """Play one command; admissible or not, it goes to TextWorld's engine and takes a turn. Empty text and
        the commands that would restart, save, restore or undo the game are answered here instead."""
        if not isinstance(command, str):
            raise TypeError(f"a command is a string, not {type(command).__name__}: {command!r}")
        self._require_started()
        if self.done:
            raise RuntimeError(f"the {self.name} game is over; call reset() to play another")
        key = normalise_command(command)
        known = self._keys.get(command) or self._keys.get(key)
        valid = known is not None and self.is_admissible(known)
        played = known if valid else key
        components = dict.fromkeys(self.COMPONENTS, 0.0)
        won = lost = False
        if valid or self._sendable(key):
            feedback, won, lost = self._send(played, components)
        else:
            feedback = self._reject(key, known)
        if not valid:
            components["invalid"] = -self.invalid_penalty
        self.turn += 1
        self._version += 1
        if won or lost:
            self.done, self.won, self.lost = True, won, lost
            feedback = f"{feedback} {self._end_text(won)}".strip()
        elif self.turn >= self.max_turns:
            self.done = True
            feedback = f"{feedback} Out of turns: game over.".strip()
        reward = sum(components.values())
        self.score += reward
        self._feedback = feedback
        return StepResult(played, valid, feedback, reward, components, self.done, won)

    def close(self) -> None:
        engine = getattr(self, "_engine", None)  # absent when __init__ failed
        self._engine = self._loaded = None
        if engine is not None:
            engine.close()

    # ----------------------------------------------------------------------------------------------- hooks

    def _settings(self) -> dict[str, Any]:
        """The challenge's settings for ``textworld.challenges`` (the cache key)."""
        raise NotImplementedError

    def _new_game(self, rng: np.random.Generator) -> str:
        index = int(rng.integers(len(self.pool)))
        engine_seed = int(rng.integers(1, 2**31 - 1))
        self._episode = (index, engine_seed, [])
        self.lost = False
        self._absorb(self._start(index, engine_seed))
        return ""  # the objective and the room are the goal and description lines

    def _admissible(self) -> tuple[str, ...]:
        return self._now

    def _reject(self, key: str, known: str | None) -> str:
        verb = key.split(" ", 1)[0]
        if verb in REFUSED_VERBS or verb.startswith("tw-"):
            return f'"{verb}" is not available in this game.'
        return super()._reject(key, known)

    def _goal(self) -> str:
        return self._objective if self.show_objective else ""

    def _status(self) -> str:
        inventory = self._cleaned(self._raw_inventory).replace("\n", " ")
        status = f"Score: {self.tw_score} of {self.max_score}. {inventory}".strip()
        sent = self._episode[2] if self._episode is not None else []
        if self.history and sent:
            status = f"{status} Your last commands: {', '.join(sent[-self.history :])}."
        return status

    def _description(self) -> str:
        return self._cleaned(self._raw_description)

    def _end_text(self, won: bool) -> str:
        return "You win!" if won else "You lost: game over."

    # ---------------------------------------------------------------------------------------------- engine

    def _request_infos(self) -> Any:
        textworld = import_textworld()
        return textworld.EnvInfos(
            admissible_commands=True,
            description=True,
            inventory=True,
            objective=True,
            score=True,
            max_score=True,
            won=True,
            lost=True,
            intermediate_reward=self.intermediate_reward != 0,
        )

    def _start(self, index: int, engine_seed: int) -> Any:
        """Load game ``index`` (unless the engine holds it already) and start it; return TextWorld's state."""
        if self._engine is None or self._loaded != index:
            # Check the files again before the interpreter reads them: on a corrupt story file it ends the whole
            # process. A file broken since the pool was made is generated again (the same game: same seed).
            pool = list(self.pool)
            pool[index] = ensure_games(self.challenge, self.settings, [pool[index].seed], self.cache_dir)[0]
            self.pool = tuple(pool)
        path = str(self.pool[index].game_file)
        try:
            if self._engine is None:
                self._engine = import_textworld().start(path, request_infos=self._request_infos())
            elif self._loaded != index:
                self._engine.load(path)
            self._loaded = index
            self._engine.seed(engine_seed)
            state = self._engine.reset()
        except Exception as exc:  # the engine's errors (a broken file) are not TextWorld's documented ones
            self.close()
            raise RuntimeError(
                f"TextWorld cannot play {path}: {type(exc).__name__}: {exc}. Delete the folder "
                f"{self.pool[index].folder}; the next environment made with these settings generates it again."
            ) from exc
        self.game_index = index
        return state

    def _restore(self) -> None:
        """Rebuild the engine's state after unpickling: start the episode's game again and replay its commands."""
        assert self._episode is not None
        index, engine_seed, sent = self._episode
        self._start(index, engine_seed)
        for command in sent:
            self._engine.step(command)

    def _send(self, command: str, components: dict[str, float]) -> tuple[str, bool, bool]:
        if self._engine is None:
            self._restore()
        state, _, _ = self._engine.step(command)
        self._episode[2].append(command)
        before = self.tw_score
        self._absorb(state)
        gained = self.tw_score - before
        scale = self.max_score if self.normalise_score and self.max_score > 0 else 1
        components["score"] = gained / scale
        if self.intermediate_reward:
            components["intermediate"] = self.intermediate_reward * float(state.get("intermediate_reward") or 0)
        feedback = clean_feedback(state["feedback"], self._description())
        return feedback, bool(state["won"]), bool(state["lost"])

    def _absorb(self, state: Any) -> None:
        """Keep what the player reads and what the score needs; text is cleaned only when it is read."""
        self.tw_score = int(state["score"] or 0)
        self.max_score = int(state["max_score"] or 0)
        self._objective = " ".join((state["objective"] or "").split())
        self._raw_description = state["description"] or ""
        self._raw_inventory = state["inventory"] or ""
        vocabulary = self._vocabulary_set
        self._now = tuple(c for c in state["admissible_commands"] if c in vocabulary)

    def _cleaned(self, raw: str) -> str:
        text = self._clean.get(raw)
        if text is None:
            if len(self._clean) > 4096:
                self._clean.clear()
            text = self._clean[raw] = clean_block(raw)
        return text

    @staticmethod
    def _sendable(key: str) -> bool:
        if not key or len(key) > MAX_COMMAND_CHARS or not key.isascii() or not key.isprintable() or "\\" in key:
            return False  # a backslash starts an escape of the interpreter (dumb-frotz), not game input
        verb = key.split(" ", 1)[0]
        return verb not in REFUSED_VERBS and not verb.startswith("tw-")

    def __getstate__(self) -> dict[str, Any]:
        # The engine (a C library) does not pickle: the episode's commands are replayed on the next step.
        state = dict(self.__dict__)
        state["_engine"], state["_loaded"], state["_clean"] = None, None, {}
        if state["_episode"] is not None:
            index, engine_seed, sent = state["_episode"]
            state["_episode"] = (index, engine_seed, list(sent))
        return state

    def __del__(self) -> None:
        self.close()


def check_count(name: str, value: Any, most: int) -> None:
    """Raise ``ValueError`` unless ``value`` is an integer from 1 to ``most``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= most:
        raise ValueError(f"{name} must be an integer from 1 to {most}, not {value!r}")


def check_choice(name: str, value: Any, choices: tuple) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``, of the same kind (``6.0`` is not the choice
    ``6``, ``True`` not ``1``): :func:`tokengym.envs.validation.check_choice`."""
    validation.check_choice(name, value, choices)
