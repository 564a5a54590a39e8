"""A person as the user: :class:`HumanUser` reads the user's turns (and ratings) from a terminal or any streams."""

from __future__ import annotations

import copy
import io
import sys
from typing import Any, TextIO

import numpy as np

from tokengym.envs.users.base import UserTurn
from tokengym.envs.validation import check_bool

__all__ = ["HumanUser"]


class HumanUser:
    """A person types the user's turns in a terminal (or any text streams), and optionally rates each reply.

    Commands: ``/quit`` (or the end of the input) leaves the conversation (``reason="quit"``); ``/done`` ends it
    satisfied (``goal_met``). An empty line is not an utterance: the person is asked again. With
    ``ask_rating``, each reply is rated 1-5 before answering (Enter skips; anything else is asked again); the
    satisfaction is the mean rating so far mapped to [0, 1] (``(r - 1) / 4``), 0 before any. Every answer
    that is not ``/quit`` counts as engaged.

    Args:
        input_stream: where the person's lines come from (``None``: ``sys.stdin`` at the time of reading).
        output_stream: where prompts and replies go (``None``: ``sys.stdout``).
        ask_rating: ask for a rating of each reply.

    Example:
        >>> import io
        >>> user = HumanUser(io.StringIO("Hi there!\\n4\\n/quit\\n"), io.StringIO())
        >>> user.start(np.random.default_rng(0)).text
        'Hi there!'
        >>> turn = user.respond("Hello! How can I help?", np.random.default_rng(0))
        >>> turn.left, turn.satisfaction
        (True, 0.75)
    """

    name = "human"

    def __init__(
        self, input_stream: TextIO | None = None, output_stream: TextIO | None = None, ask_rating: bool = True
    ) -> None:
        self.input_stream = input_stream
        self.output_stream = output_stream
        self.ask_rating = check_bool("ask_rating", ask_rating)
        self._ratings: list[float] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> HumanUser:
        clone = copy.copy(self)  # the streams are shared: a person cannot be copied
        clone._ratings = list(self._ratings)
        return clone

    def _write(self, text: str) -> None:
        out = self.output_stream or sys.stdout
        out.write(text)
        out.flush()

    def _read(self, prompt: str) -> str | None:
        self._write(prompt)
        line = (self.input_stream or sys.stdin).readline()
        return None if line == "" else line.rstrip("\n")

    def _utterance(self) -> str | None:
        while True:
            line = self._read("You: ")
            if line is None or line.strip():
                return None if line is None else line.strip()

    @property
    def satisfaction(self) -> float:
        return float(np.mean(self._ratings)) if self._ratings else 0.0

    def start(self, rng: np.random.Generator) -> UserTurn:
        self._ratings = []
        self._write("You are the user. Type your message; '/quit' leaves, '/done' ends the conversation satisfied.\n")
        text = self._utterance()
        if text is None or text in ("/quit", "/done"):
            raise EOFError("the person ended the input before saying anything")
        return UserTurn(text)

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        self._write(f"Assistant: {reply}\n")
        rating = None
        while self.ask_rating:
            line = self._read("Rate this reply 1-5 (Enter to skip): ")
            if line is None or not line.strip():
                break
            if line.strip() in ("1", "2", "3", "4", "5"):
                rating = (int(line) - 1) / 4
                self._ratings.append(rating)
                break
        if final:
            self._write("(That was the last turn of this conversation.)\n")
            return UserTurn("", True, self.satisfaction, rating=rating)
        text = self._utterance()
        if text is None or text == "/quit":
            return UserTurn("", False, self.satisfaction, left=True, reason="quit", rating=rating)
        if text == "/done":
            return UserTurn("", True, self.satisfaction, goal_met=True, reason="goal_met", rating=rating)
        return UserTurn(text, True, self.satisfaction, rating=rating)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        for key in ("input_stream", "output_stream"):
            if state[key] is not None and not isinstance(state[key], io.StringIO):
                raise TypeError(f"HumanUser with a {key} of {type(state[key]).__name__} cannot be pickled")
        return state
