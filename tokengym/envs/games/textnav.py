"""TextNav: walk through rooms described in text to the goal room, unlocking doors with keys on the way."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from tokengym.envs.games.base import GameDoc, TextGame
from tokengym.envs.games.maps import DIRECTIONS, Room, edge, exits_text, grow_map, parents_from, path_edges, reachable

KEY_COLOURS = ("red", "blue", "green", "yellow", "silver", "gold")


class TextNav(TextGame):
    name: ClassVar[str] = "TextNav"
    DEFAULT_MAX_TURNS: ClassVar[int] = 50
    COMPONENTS: ClassVar[tuple[str, ...]] = ("goal", "unlock", "invalid")
    OPTIONS: ClassVar[tuple[str, ...]] = ("invalid_penalty",)
    # level -> (rooms, locked doors, spare keys)
    LAYOUTS: ClassVar[dict[int, tuple[int, int, int]]] = {1: (4, 0, 0), 2: (7, 1, 0), 3: (10, 2, 1)}
    DOC: ClassVar[GameDoc] = GameDoc(
        summary="TextNav: find the way through rooms described in text to the goal room.",
        description=(
            "A seeded map of named rooms joined by passages to the north, east, south and west (a tree on a grid:\n"
            "one route between any two rooms). The player sees only the current room: its exits with the names of\n"
            "the rooms behind them, locked doors, and keys lying there; the status line shows the inventory."
        ),
        goal="Reach the goal room named in the goal line.",
        commands=(
            "``go <direction>`` through each exit without a locked door; ``take <colour> key`` for each key in the\n"
            "room; ``unlock <direction> door with <colour> key`` for each locked door here and each key held (a\n"
            "wrong key is admissible and does nothing; the right one unlocks the door for good and stays in it)."
        ),
        rewards=(
            "``goal`` +1 on entering the goal room; ``unlock`` +0.1 per door unlocked; ``invalid`` -0.05 per\n"
            "command that is not admissible (``invalid_penalty``). Returns lie in about [-2.5, 1.2]."
        ),
        starting_state=(
            "The map, the start room (room 0) and the keys are drawn from the seed; the goal is the room farthest\n"
            "from the start. Locked doors lie on the route to the goal; each door's key lies in a room reachable\n"
            "before that door, never behind it."
        ),
        episode_end="Terminates on reaching the goal room (won) or when the 50 turns are used.",
        levels={
            1: "4 rooms, no doors.",
            2: "7 rooms, one locked door and its key.",
            3: "10 rooms, two locked doors, their keys and a spare key that fits nothing.",
        },
        options="``invalid_penalty`` (0.05).",
    )

    def __init__(self, level: int = 1, max_turns: int | None = None, invalid_penalty: float = 0.05) -> None:
        super().__init__(level, max_turns, invalid_penalty)
        self._rooms: list[Room] = []
        self._here = 0
        self._goal_room = 0
        self._locks: dict[tuple[int, int], str] = {}  # passage -> colour of the key that opens it
        self._keys: dict[int, list[str]] = {}  # room -> keys lying there
        self._inventory: list[str] = []

    @classmethod
    def command_vocabulary(cls) -> tuple[str, ...]:
        commands = [f"go {d}" for d in DIRECTIONS] + [f"take {c} key" for c in KEY_COLOURS]
        commands += [f"unlock {d} door with {c} key" for d in DIRECTIONS for c in KEY_COLOURS]
        return tuple(sorted(commands))

    def max_offered(self) -> int:
        _, locks, spare = self.LAYOUTS[self.level]
        keys = locks + spare
        return len(DIRECTIONS) + keys + len(DIRECTIONS) * keys

    @property
    def goal_room(self) -> str:
        self._require_started()
        return self._rooms[self._goal_room].name

    @property
    def location(self) -> str:
        self._require_started()
        return self._rooms[self._here].name

    def _new_game(self, rng: np.random.Generator) -> str:
        n_rooms, n_locks, n_spare = self.LAYOUTS[self.level]
        while True:  # redraw the rare maps whose route is too short for the doors
            rooms = grow_map(rng, n_rooms)
            dist, parent = parents_from(rooms)
            goal = int(np.argmax(dist))
            route = path_edges(parent, goal)
            if len(route) >= max(2, n_locks):
                break
        colours = [KEY_COLOURS[i] for i in rng.permutation(len(KEY_COLOURS))[: n_locks + n_spare]]
        spots = sorted(int(i) for i in rng.choice(len(route), size=n_locks, replace=False))
        doors = [route[i] for i in spots]
        self._locks = dict(zip(doors, colours, strict=False))
        self._keys = {}
        for k, colour in enumerate(colours):
            # A door's key lies where the player can walk once the doors before it are open; a spare key
            # lies anywhere before the first door.
            region = reachable(rooms, 0, set(doors[k:] if k < n_locks else doors))
            if len(region) > 1:
                region = region[1:]  # not in the start room (room 0 sorts first)
            room = region[int(rng.integers(len(region)))]
            self._keys.setdefault(room, []).append(colour)
        self._rooms = rooms
        self._here = 0
        self._goal_room = goal
        self._inventory = []
        return f"Find your way to the {rooms[goal].name}."

    def _admissible(self) -> list[str]:
        room = self._rooms[self._here]
        commands = []
        for direction, there in room.exits.items():
            if edge(self._here, there) in self._locks:
                commands += [f"unlock {direction} door with {c} key" for c in self._inventory]
            else:
                commands.append(f"go {direction}")
        commands += [f"take {c} key" for c in self._keys.get(self._here, ())]
        return commands

    def _apply(self, command: str, components: dict[str, float]) -> tuple[str, bool]:
        words = command.split()
        if words[0] == "go":
            self._here = self._rooms[self._here].exits[words[1]]
            name = self._rooms[self._here].name
            if self._here == self._goal_room:
                components["goal"] = 1.0
                return f"You go {words[1]} into the {name}.", True
            return f"You go {words[1]} into the {name}.", False
        if words[0] == "take":
            self._keys[self._here].remove(words[1])
            self._inventory.append(words[1])
            return f"You take the {words[1]} key.", False
        direction, colour = words[1], words[4]
        door = edge(self._here, self._rooms[self._here].exits[direction])
        if self._locks[door] != colour:
            return f"The {colour} key does not fit the {direction} door.", False
        del self._locks[door]
        self._inventory.remove(colour)
        components["unlock"] = 0.1
        return f"You unlock the {direction} door with the {colour} key.", False

    def _reject(self, key: str, known: str | None) -> str:
        if known is not None and known.startswith("go "):
            there = self._rooms[self._here].exits.get(known[3:])
            if there is None:
                return f"You can't go {known[3:]} from here."
            return f"The {known[3:]} door is locked."
        return super()._reject(key, known)

    def _goal(self) -> str:
        return f"reach the {self._rooms[self._goal_room].name}."

    def _status(self) -> str:
        held = " and ".join(f"{c} key" for c in self._inventory) if self._inventory else "nothing"
        return f"Inventory: {held}."

    def _description(self) -> str:
        doors = {e: "locked door" for e in self._locks}
        text = f"You are in the {self._rooms[self._here].name}. {exits_text(self._rooms, self._here, doors)}"
        keys = self._keys.get(self._here)
        if keys:
            text += " You see " + " and ".join(f"a {c} key" for c in keys) + "."
        return text
