"""Wordle: find a hidden five-letter word from letter-by-letter feedback on each guess."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import ClassVar

import numpy as np

from tokengym.envs.games.base import GameDoc, TextGame

GREEN, YELLOW, GREY = 2, 1, 0


@lru_cache(maxsize=1)
def load_words() -> tuple[str, ...]:
    """The bundled word list (``tokengym/data/wordle_words.json``): sorted, lower case, five letters each."""
    raw = json.loads(resources.files("tokengym.data").joinpath("wordle_words.json").read_text("utf-8"))
    return tuple(raw["words"])


def score_guess(guess: str, answer: str) -> tuple[int, ...]:
    """Per-letter marks: 2 green (right place), 1 yellow (elsewhere in the word), 0 grey.

    Greens are marked first; a repeated letter is yellow only as often as the answer has it left over.

    Example:
        >>> score_guess("speed", "abide")
        (0, 0, 1, 0, 1)
    """
    marks = [GREY] * len(guess)
    left: dict[str, int] = {}
    for i, (g, a) in enumerate(zip(guess, answer, strict=True)):
        if g == a:
            marks[i] = GREEN
        else:
            left[a] = left.get(a, 0) + 1
    for i, g in enumerate(guess):
        if marks[i] != GREEN and left.get(g, 0) > 0:
            marks[i] = YELLOW
            left[g] -= 1
    return tuple(marks)


def render_marks(guess: str, marks: tuple[int, ...]) -> str:
    """The readable notation: ``[c]`` green, ``(r)`` yellow, bare ``a`` grey, e.g. ``[c] (r) a n (e)``."""
    return " ".join(
        f"[{c}]" if m == GREEN else f"({c})" if m == YELLOW else c for c, m in zip(guess, marks, strict=True)
    )


class Wordle(TextGame):
    name: ClassVar[str] = "Wordle"
    DEFAULT_MAX_TURNS: ClassVar[int] = 6
    COMPONENTS: ClassVar[tuple[str, ...]] = ("win", "invalid")
    OPTIONS: ClassVar[tuple[str, ...]] = ("invalid_penalty", "candidates")
    CANDIDATES: ClassVar[dict[int, int]] = {1: 8, 2: 16, 3: 32}
    DOC: ClassVar[GameDoc] = GameDoc(
        summary="Wordle: find the hidden five-letter word in 6 tries from letter-by-letter feedback.",
        description=(
            "The game hides a word of a bundled list of 691 common five-letter English words. Each guess is a word\n"
            "of the list, marked letter by letter: ``[x]`` right letter in the right place (green), ``(x)`` in the\n"
            "word but elsewhere (yellow), bare ``x`` not in the word, or not as many times (grey). The text shows\n"
            "every guess with its marks (newest first) and the letters ruled out."
        ),
        goal="Guess the hidden word: type it (``crane``).",
        commands=(
            "Token level: every word of the list not yet guessed. Command level: a fixed set of candidate words\n"
            "per game (the hidden word and others drawn from the list; 8, 16 or 32 by level, or ``candidates``),\n"
            "sorted alphabetically, less the words already guessed. At level 3 (hard mode) a guess must also\n"
            "keep every green letter in place and use every yellow letter."
        ),
        rewards=(
            "``win`` +1 for the right word; ``invalid`` -0.05 per command that is not admissible\n"
            "(``invalid_penalty``; a word outside the list, repeated, or breaking hard mode). Returns lie in\n"
            "[-0.3, 1]."
        ),
        starting_state=(
            "The candidate set is drawn uniformly without replacement from the list and the hidden word uniformly\n"
            "among it; at level 1 the text also tells the hidden word's first letter."
        ),
        episode_end="Terminates on the right word (won) or after 6 turns (the word is revealed).",
        levels={
            1: "the first letter is given; 8 command-level candidates.",
            2: "no hint; 16 candidates.",
            3: "hard mode (greens kept, yellows used); 32 candidates.",
        },
        options="``invalid_penalty`` (0.05); ``candidates`` (an int from 2 to 691: command-level candidate count).",
    )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        invalid_penalty: float = 0.05,
        candidates: int | None = None,
    ) -> None:
        super().__init__(level, max_turns, invalid_penalty)
        words = load_words()
        if candidates is None:
            candidates = self.CANDIDATES[self.level]
        if (
            isinstance(candidates, bool)
            or not isinstance(candidates, (int, np.integer))
            or not 2 <= candidates <= len(words)
        ):
            raise ValueError(f"candidates must be an integer from 2 to {len(words)}, not {candidates!r}")
        self.candidates = int(candidates)
        self.hard_mode = self.level == 3
        self._words = words
        self._word_set = frozenset(words)
        self._answer = ""
        self._pool: tuple[str, ...] = ()
        self._guessed: list[str] = []
        self._marks: list[tuple[int, ...]] = []
        self._greens: dict[int, str] = {}
        self._yellows: dict[str, int] = {}  # letter -> how many times it must appear
        self._absent: set[str] = set()
        self._offered: tuple[str, ...] = ()
        self._offered_version = -1

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        return load_words()

    def max_offered(self) -> int:
        return self.candidates

    @property
    def secret(self) -> str:
        """The hidden word (for tests and analysis; not part of the player's text)."""
        self._require_started()
        return self._answer

    def _new_game(self, rng: np.random.Generator) -> str:
        words = self._words
        pool = sorted(words[i] for i in rng.choice(len(words), size=self.candidates, replace=False))
        self._pool = tuple(pool)
        self._offered = self._pool
        self._answer = pool[int(rng.integers(len(pool)))]
        self._guessed, self._marks = [], []
        self._greens, self._yellows, self._absent = {}, {}, set()
        return "I am thinking of a five-letter word. Type a word to guess it."

    def is_admissible(self, command: str) -> bool:
        if self.done or command not in self._word_set or command in self._guessed:
            return False
        if self.hard_mode:
            for i, c in self._greens.items():
                if command[i] != c:
                    return False
            for c, n in self._yellows.items():
                if command.count(c) < n:
                    return False
        return True

    def _admissible(self) -> list[str]:
        if self.hard_mode:
            return [w for w in self._words if self.is_admissible(w)]
        guessed = set(self._guessed)
        return [w for w in self._words if w not in guessed]

    def offered_commands(self) -> tuple[str, ...]:
        self._require_started()
        if self._offered_version != self._version:
            # Guesses only ever remove words (used up, or ruled out by hard mode): filter the last list.
            self._offered = tuple(w for w in self._offered if self.is_admissible(w))
            self._offered_version = self._version
        return self._offered

    def _apply(self, command: str, components: dict[str, float]) -> tuple[str, bool]:
        marks = score_guess(command, self._answer)
        self._guessed.append(command)
        self._marks.append(marks)
        needed: dict[str, int] = {}
        for i, (c, m) in enumerate(zip(command, marks, strict=True)):
            if m == GREEN:
                self._greens[i] = c
            if m != GREY:
                needed[c] = needed.get(c, 0) + 1
        for c, n in needed.items():
            self._yellows[c] = max(self._yellows.get(c, 0), n)
        self._absent |= {c for c, m in zip(command, marks, strict=True) if m == GREY and c not in needed}
        if command == self._answer:
            components["win"] = 1.0
            return f"{command}: {render_marks(command, marks)}", True
        return f"{command}: {render_marks(command, marks)}", False

    def _reject(self, key: str, known: str | None) -> str:
        if known is None:
            return f'"{key}" is not in the word list.' if key else "Type a five-letter word."
        if known in self._guessed:
            return f"You already guessed {known}."
        return f"Hard mode: {known} must keep the green letters in place and use the yellow ones."

    def _goal(self) -> str:
        hard = " Hard mode: keep green letters in place and use yellow ones." if self.hard_mode else ""
        return f"guess the hidden five-letter word. [x] right place, (x) elsewhere in the word, x not in it.{hard}"

    def _status(self) -> str:
        return f"Hint: it starts with {self._answer[0]}." if self.level == 1 else ""

    def _description(self) -> str:
        if not self._guessed:
            return ""
        lines = ["Guesses (newest first):"]
        lines += [
            f"{w}: {render_marks(w, m)}" for w, m in zip(reversed(self._guessed), reversed(self._marks), strict=True)
        ]
        if self._absent:
            lines.append("Not in the word: " + " ".join(sorted(self._absent)) + ".")
        return "\n".join(lines)

    def _end_text(self, won: bool) -> str:
        return "You win!" if won else f"Out of tries: the word was {self._answer}."
