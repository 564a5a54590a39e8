"""Twenty Questions: find a hidden object by asking yes/no questions answered from a bundled taxonomy."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any, ClassVar, NamedTuple

import numpy as np

from tokengym.envs.games.base import GameDoc, TextGame, check_number

GUESS = "guess "


class Question(NamedTuple):
    """A yes/no question and the attribute it reads: ``kind`` is category, attribute, size_above or size_below."""

    text: str
    kind: str
    value: Any


class Thing(NamedTuple):
    """An object of the taxonomy: its name, category, size (1 to 5) and boolean attributes."""

    name: str
    category: str
    size: int
    attributes: frozenset[str]


@lru_cache(maxsize=1)
def load_taxonomy() -> tuple[tuple[Question, ...], tuple[Thing, ...]]:
    """The bundled questions and objects (``tokengym/data/twenty_questions.json``)."""
    raw = json.loads(resources.files("tokengym.data").joinpath("twenty_questions.json").read_text("utf-8"))
    questions = tuple(Question(q["text"], q["kind"], q["value"]) for q in raw["questions"])
    things = tuple(Thing(o["name"], o["category"], int(o["size"]), frozenset(o["attributes"])) for o in raw["objects"])
    return questions, things


def answer(question: Question, thing: Thing) -> bool:
    """The true answer to ``question`` about ``thing``."""
    if question.kind == "category":
        return thing.category == question.value
    if question.kind == "attribute":
        return question.value in thing.attributes
    if question.kind == "size_above":
        return thing.size > question.value
    if question.kind == "size_below":
        return thing.size < question.value
    raise ValueError(f"unknown question kind {question.kind!r}")


class TwentyQuestions(TextGame):
    name: ClassVar[str] = "Twenty Questions"
    DEFAULT_MAX_TURNS: ClassVar[int] = 20
    COMPONENTS: ClassVar[tuple[str, ...]] = ("win", "question", "wrong_guess", "invalid")
    OPTIONS: ClassVar[tuple[str, ...]] = ("invalid_penalty", "question_cost", "wrong_guess_penalty")
    CANDIDATES: ClassVar[dict[int, int | None]] = {1: 8, 2: 16, 3: None}
    DOC: ClassVar[GameDoc] = GameDoc(
        summary="Twenty Questions: find the hidden object with yes/no questions, then guess it.",
        description=(
            "The game hides one object of a bundled taxonomy (94 everyday objects: animals, plants, food, tools,\n"
            "vehicles, furniture, instruments, clothing, electronics, household objects), each with a category, a\n"
            "size and boolean attributes. 40 fixed yes/no questions read one of them each (``is it an animal?``,\n"
            "``can it fly?``, ``is it bigger than a car?``). The text shows the candidates (levels 1 and 2) and\n"
            "every answer so far, newest first."
        ),
        goal="Guess the hidden object (``guess <object>``) before the turns run out.",
        commands=(
            "Each question not yet asked, and ``guess <object>`` for each candidate not yet guessed (at level 3 every\n"
            "object of the taxonomy). Asking a question twice or guessing a non-candidate is not admissible."
        ),
        rewards=(
            "``win`` +1 for the right guess; ``question`` -0.02 per question (``question_cost``); ``wrong_guess``\n"
            "-0.05 per wrong guess (``wrong_guess_penalty``); ``invalid`` -0.05 per command that is not admissible\n"
            "(``invalid_penalty``). A game's return lies in about [-1, 1]."
        ),
        starting_state=(
            "The candidates are drawn uniformly without replacement from the taxonomy (all of it at level 3) and\n"
            "the hidden object uniformly among them."
        ),
        episode_end="Terminates on the right guess (won) or when the 20 turns are used (the object is revealed).",
        levels={
            1: "8 candidates, listed in the text.",
            2: "16 candidates, listed in the text.",
            3: "any of the 94 objects; no list.",
        },
        options=(
            "``invalid_penalty`` (0.05), ``question_cost`` (0.02), ``wrong_guess_penalty`` (0.05): non-negative\n"
            "numbers."
        ),
    )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        invalid_penalty: float = 0.05,
        question_cost: float = 0.02,
        wrong_guess_penalty: float = 0.05,
    ) -> None:
        super().__init__(level, max_turns, invalid_penalty)
        check_number("question_cost", question_cost)
        check_number("wrong_guess_penalty", wrong_guess_penalty)
        self.question_cost = float(question_cost)
        self.wrong_guess_penalty = float(wrong_guess_penalty)
        questions, things = load_taxonomy()
        self._questions = {q.text: q for q in questions}
        self._things = {t.name: t for t in things}
        self._candidates: list[str] = []
        self._secret: Thing | None = None
        self._open: set[str] = set()  # admissible commands left
        self._history: list[str] = []

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        questions, things = load_taxonomy()
        return tuple(sorted([q.text for q in questions] + [GUESS + t.name for t in things]))

    def max_offered(self) -> int:
        questions, things = load_taxonomy()
        return len(questions) + (self.CANDIDATES[self.level] or len(things))

    @property
    def secret(self) -> str:
        """The hidden object's name (for tests and analysis; not part of the player's text)."""
        self._require_started()
        return self._secret.name

    def _new_game(self, rng: np.random.Generator) -> str:
        names = list(self._things)
        count = self.CANDIDATES[self.level] or len(names)
        picked = sorted(names[i] for i in rng.choice(len(names), size=count, replace=False))
        self._candidates = picked
        self._secret = self._things[picked[int(rng.integers(count))]]
        self._open = set(self._questions) | {GUESS + name for name in picked}
        self._history = []
        return "I am thinking of an object. Ask yes or no questions, then guess it."

    def _admissible(self) -> list[str]:
        return list(self._open)

    def is_admissible(self, command: str) -> bool:
        return not self.done and command in self._open

    def _apply(self, command: str, components: dict[str, float]) -> tuple[str, bool]:
        self._open.discard(command)
        if command.startswith(GUESS):
            name = command[len(GUESS) :]
            if name == self._secret.name:
                components["win"] = 1.0
                return f"Yes, it is the {name}!", True
            components["wrong_guess"] = -self.wrong_guess_penalty
            self._history.append(f"{command}? no")
            return f"No, it is not the {name}.", False
        components["question"] = -self.question_cost
        yes = answer(self._questions[command], self._secret)
        self._history.append(f"{command} {'yes' if yes else 'no'}")
        return f"{command} {'Yes.' if yes else 'No.'}", False

    def _reject(self, key: str, known: str | None) -> str:
        if known is not None and known in self._questions:
            return f"You already asked: {known}"
        if known is not None or key.startswith(GUESS):
            return f"{key[len(GUESS) :] or 'That'} is not one of the candidates you can still guess."
        return super()._reject(key, known)

    def _goal(self) -> str:
        return "find the hidden object with yes or no questions, then type guess and its name."

    def _description(self) -> str:
        if self.CANDIDATES[self.level]:
            lines = ["Candidates: " + ", ".join(self._candidates) + "."]
        else:
            lines = [f"It is one of {len(self._candidates)} everyday objects."]
        if self._history:
            lines.append("Answers (newest first):")
            lines.extend(reversed(self._history))
        return "\n".join(lines)

    def _end_text(self, won: bool) -> str:
        return "You win!" if won else f"Out of turns: it was the {self._secret.name}."
