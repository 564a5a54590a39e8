"""Seeded maps of rooms on a grid, shared by the navigation games (TextNav, Coin Collector).

A map is a tree of rooms: each new room is placed next to a random existing one on a free grid cell and
joined to it by a passage, so there is exactly one route between any two rooms. Passages may carry a door
(closed, or locked with a key); the games decide which.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

DIRECTIONS = ("north", "east", "south", "west")
OPPOSITE = {"north": "south", "south": "north", "east": "west", "west": "east"}
_OFFSETS = {"north": (0, 1), "east": (1, 0), "south": (0, -1), "west": (-1, 0)}

ROOM_NAMES = (
    "attic", "ballroom", "bathroom", "bedroom", "cellar", "chapel", "conservatory", "dining room", "garage",
    "garden", "gallery", "greenhouse", "hallway", "kitchen", "laundry", "library", "music room", "nursery",
    "office", "pantry", "porch", "storeroom", "study", "workshop",
)  # fmt: skip


@dataclass
class Room:
    """A room: its name, grid cell and exits (direction -> index of the neighbouring room)."""

    name: str
    cell: tuple[int, int]
    exits: dict[str, int] = field(default_factory=dict)


def edge(a: int, b: int) -> tuple[int, int]:
    """The key of the passage between rooms ``a`` and ``b`` (order-free)."""
    return (a, b) if a < b else (b, a)


def grow_map(rng: np.random.Generator, n_rooms: int) -> list[Room]:
    """A tree of ``n_rooms`` distinctly named rooms on a grid; room 0 is where the player starts."""
    names = [ROOM_NAMES[i] for i in rng.permutation(len(ROOM_NAMES))[:n_rooms]]
    rooms = [Room(names[0], (0, 0))]
    taken = {(0, 0): 0}
    while len(rooms) < n_rooms:
        src = int(rng.integers(len(rooms)))
        direction = DIRECTIONS[int(rng.integers(4))]
        dx, dy = _OFFSETS[direction]
        x, y = rooms[src].cell
        cell = (x + dx, y + dy)
        if cell in taken:
            continue
        new = len(rooms)
        rooms.append(Room(names[new], cell))
        taken[cell] = new
        rooms[src].exits[direction] = new
        rooms[new].exits[OPPOSITE[direction]] = src
    return rooms


def parents_from(rooms: list[Room], start: int = 0) -> tuple[list[int], list[int]]:
    """Breadth-first distances and parents from ``start`` (parent of ``start`` is -1)."""
    dist = [-1] * len(rooms)
    parent = [-1] * len(rooms)
    dist[start] = 0
    queue = deque([start])
    while queue:
        here = queue.popleft()
        for direction in DIRECTIONS:
            there = rooms[here].exits.get(direction)
            if there is not None and dist[there] < 0:
                dist[there] = dist[here] + 1
                parent[there] = here
                queue.append(there)
    return dist, parent


def path_edges(parent: list[int], goal: int) -> list[tuple[int, int]]:
    """The passages from the start to ``goal``, in walking order."""
    edges = []
    here = goal
    while parent[here] >= 0:
        edges.append(edge(parent[here], here))
        here = parent[here]
    return edges[::-1]


def reachable(rooms: list[Room], start: int, blocked: set[tuple[int, int]]) -> list[int]:
    """Rooms reachable from ``start`` without crossing a passage in ``blocked`` (sorted)."""
    seen = {start}
    stack = [start]
    while stack:
        here = stack.pop()
        for there in rooms[here].exits.values():
            if there not in seen and edge(here, there) not in blocked:
                seen.add(there)
                stack.append(there)
    return sorted(seen)


def exits_text(rooms: list[Room], here: int, doors: dict[tuple[int, int], str]) -> str:
    """``Exits: north to the hallway, east to the study (locked door).`` with doors named by ``doors``."""
    parts = []
    for direction in DIRECTIONS:
        there = rooms[here].exits.get(direction)
        if there is None:
            continue
        door = doors.get(edge(here, there))
        parts.append(f"{direction} to the {rooms[there].name}" + (f" ({door})" if door else ""))
    return "Exits: " + ", ".join(parts) + "."
