"""Coin Collector: explore rooms described in text and pick up every coin."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tokengym.envs.games.base import GameDoc, TextGame
from tokengym.envs.games.maps import DIRECTIONS, Room, edge, exits_text, grow_map

TAKE = "take coin"


class CoinCollector(TextGame):
    name: ClassVar[str] = "Coin Collector"
    DEFAULT_MAX_TURNS: ClassVar[int] = 50
    COMPONENTS: ClassVar[tuple[str, ...]] = ("coin", "invalid")
    OPTIONS: ClassVar[tuple[str, ...]] = ("invalid_penalty",)
    # level -> (rooms, coins, closed doors)
    LAYOUTS: ClassVar[dict[int, tuple[int, int, int]]] = {1: (3, 1, 0), 2: (6, 3, 0), 3: (9, 4, 3)}
    DOC: ClassVar[GameDoc] = GameDoc(
        summary="Coin Collector: explore rooms described in text and pick up every coin.",
        description=(
            "A seeded map of named rooms joined by passages to the north, east, south and west (a tree on a grid).\n"
            "Coins lie in some rooms, at most one per room and never in the start room. The player sees only the\n"
            "current room: its exits with the names of the rooms behind them, closed doors, and a coin if there is\n"
            "one; the status line counts the coins collected."
        ),
        goal="Collect every coin of the map.",
        commands=(
            "``go <direction>`` through each open exit; ``open <direction> door`` for each closed door here;\n"
            "``take coin`` when a coin lies here."
        ),
        rewards=(
            "``coin`` +1/n per coin of the n on the map (collecting all of them earns 1); ``invalid`` -0.05 per\n"
            "command that is not admissible (``invalid_penalty``). Returns lie in [-2.5, 1]."
        ),
        starting_state="The map, the coins' rooms and the closed doors are drawn from the seed; play starts in room 0.",
        episode_end="Terminates when the last coin is taken (won) or when the 50 turns are used.",
        levels={
            1: "3 rooms, 1 coin.",
            2: "6 rooms, 3 coins.",
            3: "9 rooms, 4 coins, 3 closed doors to open.",
        },
        options="``invalid_penalty`` (0.05).",
    )

    def __init__(self, level: int = 1, max_turns: int | None = None, invalid_penalty: float = 0.05) -> None:
        super().__init__(level, max_turns, invalid_penalty)
        self._rooms: list[Room] = []
        self._here = 0
        self._coins: set[int] = set()
        self._closed: set[tuple[int, int]] = set()
        self._total = 0

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        return tuple(sorted([f"go {d}" for d in DIRECTIONS] + [f"open {d} door" for d in DIRECTIONS] + [TAKE]))

    def max_offered(self) -> int:
        return len(DIRECTIONS) + 1

    @property
    def coins_left(self) -> int:
        return len(self._coins)

    @property
    def location(self) -> str:
        self._require_started()
        return self._rooms[self._here].name

    def _new_game(self, rng: np.random.Generator) -> str:
        n_rooms, n_coins, n_closed = self.LAYOUTS[self.level]
        rooms = grow_map(rng, n_rooms)
        self._coins = {int(i) + 1 for i in rng.choice(n_rooms - 1, size=n_coins, replace=False)}
        passages = sorted({edge(a, b) for a, room in enumerate(rooms) for b in room.exits.values()})
        self._closed = {passages[int(i)] for i in rng.choice(len(passages), size=n_closed, replace=False)}
        self._rooms = rooms
        self._here = 0
        self._total = n_coins
        return "There is 1 coin to find." if n_coins == 1 else f"There are {n_coins} coins to find."

    def _admissible(self) -> list[str]:
        commands = []
        for direction, there in self._rooms[self._here].exits.items():
            closed = edge(self._here, there) in self._closed
            commands.append(f"open {direction} door" if closed else f"go {direction}")
        if self._here in self._coins:
            commands.append(TAKE)
        return commands

    def _apply(self, command: str, components: dict[str, float]) -> tuple[str, bool]:
        if command == TAKE:
            self._coins.discard(self._here)
            components["coin"] = 1.0 / self._total
            got = self._total - len(self._coins)
            return f"You take the coin ({got} of {self._total}).", not self._coins
        words = command.split()
        there = self._rooms[self._here].exits[words[1]]
        if words[0] == "open":
            self._closed.discard(edge(self._here, there))
            return f"You open the {words[1]} door.", False
        self._here = there
        return f"You go {words[1]} into the {self._rooms[there].name}.", False

    def _reject(self, key: str, known: str | None) -> str:
        if known == TAKE:
            return "There is no coin here."
        if known is not None and known.startswith("go "):
            if known[3:] in self._rooms[self._here].exits:
                return f"The {known[3:]} door is closed."
            return f"You can't go {known[3:]} from here."
        if known is not None and known.startswith("open "):
            return f"There is no closed door to the {known.split()[1]}."
        return super()._reject(key, known)

    def _goal(self) -> str:
        return f"collect all {self._total} coins." if self._total > 1 else "collect the coin."

    def _status(self) -> str:
        return f"Coins: {self._total - len(self._coins)} of {self._total}."

    def _description(self) -> str:
        doors = {e: "closed door" for e in self._closed}
        text = f"You are in the {self._rooms[self._here].name}. {exits_text(self._rooms, self._here, doors)}"
        return text + (" There is a coin here." if self._here in self._coins else "")
