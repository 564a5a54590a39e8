"""The four TextWorld challenges as tokengym games, each playable at token level and at command level.

========================= ======================================= ==============================================
game                      token level / command level             goal
========================= ======================================= ==============================================
:class:`TWSimple`         ``TWSimple-v0`` / ``TWSimpleCmd-v0``    in a fixed house, fetch the food and put it on
                                                                  the stove
:class:`TWCoinCollector`  ``TWCoinCollector-v0`` /                walk a chain of rooms to the coin and take it
                          ``TWCoinCollectorCmd-v0``               (levels 1-300)
:class:`TWTreasureHunter` ``TWTreasureHunter-v0`` /               find the object the objective names (levels
                          ``TWTreasureHunterCmd-v0``              1-30)
:class:`TWCooking`        ``TWCooking-v0`` / ``TWCookingCmd-v0``  read the recipe, gather and prepare the
                                                                  ingredients, cook the meal and eat it
========================= ======================================= ==============================================

Each game plays a pool of games generated with TextWorld from the seeds of its split and cached on disk
(``textworld_cache``); see :class:`~tokengym.envs.games.textworld_game.TextWorldGame` for what they share.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from tokengym.envs.games.base import GameDoc
from tokengym.envs.games.command_env import TextGameCommandEnv
from tokengym.envs.games.textworld_game import TextWorldGame, check_choice, check_count
from tokengym.envs.games.token_env import TextGameTokenEnv

_COMMON_OPTIONS = (
    "``invalid_penalty`` (0.05); ``split`` (``'train'``; ``'valid'``, ``'test'``: disjoint seed ranges, so\n"
    "evaluation plays unseen games); ``pool_size`` ({pool}: games in the pool, generated on first use and cached);\n"
    "``intermediate_reward`` (0: weight of TextWorld's intermediate reward); ``normalise_score`` (True);\n"
    "``command_limit`` ({limit}: most commands offered at command level); ``cache_dir`` (None: the user cache,\n"
    "``$TOKENGYM_CACHE_DIR/textworld`` or ``$XDG_CACHE_HOME/tokengym/textworld``); ``history`` (0: how many of the\n"
    "last commands sent to the game the status line repeats, as ``Your last commands: go south, go east.``; the\n"
    "observation is otherwise the current scene only, so a memoryless agent cannot tell how far along a route it is);\n"
    "``objective`` (True: the ``Goal:`` line shows TextWorld's objective; False leaves the line out, which makes\n"
    "the prompt shorter where the objective is long; the coin collector's spells out the whole route)"
)
_REWARDS = (
    "``score`` the change of TextWorld's score at each command, divided by the game's maximum score (so a won\n"
    "game's ``score`` rewards sum to 1; ``normalise_score=False`` keeps TextWorld's points); ``intermediate``\n"
    "``intermediate_reward`` times TextWorld's intermediate reward (+1 for a command that brings the win closer,\n"
    "-1 for one that takes it further away, 0 otherwise; off by default); ``invalid`` -0.05 per command that is\n"
    "not admissible (``invalid_penalty``). Returns lie in [-0.05 * max_turns, 1] by default."
)
_EPISODE_END = (
    "Terminates when TextWorld reports the game won or lost, or when ``max_turns`` (100) turns are used. Every\n"
    "command takes a turn; one that is not admissible still goes to TextWorld's engine, which answers it\n"
    "(empty text and the commands that would restart, save, restore or undo the game are answered without it)."
)
_COMMANDS = (
    "the admissible commands TextWorld lists each turn (``go east``, ``take coin``, ``open wooden door``,\n"
    "``unlock ... with ...``, ``examine ...``, ``inventory``, ``look``...). The vocabulary of the token trie and\n"
    "the command ids is every command any game of the pool can ever admit (TextWorld's possible admissible\n"
    "commands)"
)
_STARTING_STATE = (
    "Each reset draws a game of the pool with the environment's seeded generator and starts it; the pool holds the\n"
    "first ``pool_size`` seeds of the split, generated with TextWorld {version} and the challenge's settings."
)


def _doc(summary: str, description: str, goal: str, levels: dict, options: str, pool: int, limit: int) -> GameDoc:
    return GameDoc(
        summary=summary,
        description=description,
        goal=goal,
        commands=_COMMANDS,
        rewards=_REWARDS,
        starting_state=_STARTING_STATE.format(version="1.7"),
        episode_end=_EPISODE_END,
        levels=levels,
        options="; ".join(part for part in (options, _COMMON_OPTIONS.format(pool=pool, limit=limit)) if part) + ".",
    )


class TWCoinCollector(TextWorldGame):
    name: ClassVar[str] = "TextWorld Coin Collector"
    challenge: ClassVar[str] = "tw-coin_collector"
    LEVELS: ClassVar[range] = range(1, 301)
    DEFAULT_COMMAND_LIMIT: ClassVar[int] = 16
    DOC: ClassVar[GameDoc] = _doc(
        summary="TextWorld Coin Collector: walk a chain of rooms to the coin at its end and take it.",
        description=(
            "TextWorld's ``tw-coin_collector`` challenge: a chain of rooms, the player at one end and a coin at the\n"
            "other, with no other object; higher levels add rooms that lead to dead ends. The objective tells the\n"
            "way; rooms name their exits."
        ),
        goal="Take the coin.",
        levels={
            "1-100": "as many rooms as the level (the coin lies in the first room at level 1).",
            "101-200": "(level - 100) rooms on the way, each with a dead-end room beside it.",
            "201-300": "(level - 200) rooms on the way and dead-end rooms placed at random (TextWorld 1.7 compiles\n"
            "at most 100 rooms, which bounds the highest levels).",
        },
        options="",
        pool=10,
        limit=16,
    )

    def _settings(self) -> dict[str, Any]:
        return {"level": self.level}


class TWTreasureHunter(TextWorldGame):
    name: ClassVar[str] = "TextWorld Treasure Hunter"
    challenge: ClassVar[str] = "tw-treasure_hunter"
    LEVELS: ClassVar[range] = range(1, 31)
    DEFAULT_COMMAND_LIMIT: ClassVar[int] = 32
    DOC: ClassVar[GameDoc] = _doc(
        summary="TextWorld Treasure Hunter: find the object the objective names somewhere in a house of rooms.",
        description=(
            "TextWorld's ``tw-treasure_hunter`` challenge (after Parisotto and Salakhutdinov's Neural Map task):\n"
            "a generated maze of rooms holds the object to find and a distractor; doors and containers may be\n"
            "closed or locked (the keys are in the inventory)."
        ),
        goal="Find the named object and take it.",
        levels={
            "1-10": "easy: 5 rooms without doors, quest of 1 to 5 commands.",
            "11-20": "medium: 10 rooms with closed doors and containers, quest of 2 to 10 commands.",
            "21-30": "hard: 20 rooms with locked doors and containers, quest of 3 to 20 commands (generating high\n"
            "levels can take minutes per game).",
        },
        options="",
        pool=10,
        limit=32,
    )

    def _settings(self) -> dict[str, Any]:
        return {"level": self.level}


class TWSimple(TextWorldGame):
    name: ClassVar[str] = "TextWorld Simple"
    challenge: ClassVar[str] = "tw-simple"
    DEFAULT_COMMAND_LIMIT: ClassVar[int] = 48
    OPTIONS: ClassVar[tuple[str, ...]] = (*TextWorldGame.COMMON_OPTIONS, "rewards", "goal", "textworld_split")
    DOC: ClassVar[GameDoc] = _doc(
        summary="TextWorld Simple: in a fixed house of six rooms, fetch the food and put it on the stove.",
        description=(
            "TextWorld's ``tw-simple`` challenge: a bedroom, kitchen, bathroom, living room, backyard and garden,\n"
            "a locked wooden door whose key lies in a trunk, and a food item to fetch (which one, and the text,\n"
            "vary with the seed). Eating the food loses the game."
        ),
        goal="Put the food item on the stove (the objective says how, in detail, briefly, or not at all).",
        levels={1: "the one layout; ``rewards`` and ``goal`` set the difficulty."},
        options=(
            "``rewards`` (``'dense'``: a point for every step of the plan; ``'balanced'``: for doors, the food\n"
            "and the goal; ``'sparse'``: for the goal only); ``goal`` (``'detailed'``, ``'brief'`` or ``'none'``:\n"
            "the objective shown); ``textworld_split`` (False; True draws ``split='test'`` games with TextWorld's\n"
            "test foods)"
        ),
        pool=10,
        limit=48,
    )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        *,
        rewards: str = "dense",
        goal: str = "detailed",
        textworld_split: bool = False,
        **common: Any,
    ) -> None:
        check_choice("rewards", rewards, ("dense", "balanced", "sparse"))
        check_choice("goal", goal, ("detailed", "brief", "none"))
        check_choice("textworld_split", textworld_split, (False, True))
        self.rewards, self.goal, self.textworld_split = rewards, goal, textworld_split
        # The options every challenge takes (split, pool_size, history...): TextWorldGame's, checked there.
        super().__init__(level, max_turns, **common)

    def _settings(self) -> dict[str, Any]:
        return {"rewards": self.rewards, "goal": self.goal, "test": self.textworld_split and self.split == "test"}


class TWCooking(TextWorldGame):
    name: ClassVar[str] = "TextWorld Cooking"
    challenge: ClassVar[str] = "tw-cooking"
    DEFAULT_COMMAND_LIMIT: ClassVar[int] = 128
    OPTIONS: ClassVar[tuple[str, ...]] = (
        *TextWorldGame.COMMON_OPTIONS,
        *("recipe", "take", "go", "open", "cook", "cut", "drop", "textworld_split"),
    )
    DOC: ClassVar[GameDoc] = _doc(
        summary="TextWorld Cooking: read the cookbook, gather and prepare the ingredients, cook the meal, eat it.",
        description=(
            "TextWorld's ``tw-cooking`` challenge, the games of the First TextWorld Problems competition: find the\n"
            "kitchen and its cookbook, fetch the recipe's ingredients, slice, dice or chop them with a knife and\n"
            "roast, fry or grill them as the recipe says, ``prepare meal`` and ``eat meal``. Eating an ingredient\n"
            "the recipe needs, or preparing it the wrong way, loses the game. The options choose the skills."
        ),
        goal="Prepare the meal of the cookbook's recipe and eat it.",
        levels={1: "the options (``game_kwargs``) set the difficulty."},
        options=(
            "``recipe`` (1: ingredients, 1-5); ``take`` (1: ingredients to find, 0 to ``recipe``; the rest are\n"
            "in the inventory); ``go`` (1: rooms, 1, 6, 9 or 12); ``open`` (False: containers and doors to open);\n"
            "``cook`` (False: ingredients to cook); ``cut`` (False: ingredients to cut); ``drop`` (False: a\n"
            "limited inventory); ``textworld_split`` (False; True also draws each split's foods from TextWorld's\n"
            "own food splits, so test games hold unseen foods)"
        ),
        pool=10,
        limit=128,
    )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        *,
        recipe: int = 1,
        take: int = 1,
        go: int = 1,
        open: bool = False,  # shadows the builtin: TextWorld's name for the skill
        cook: bool = False,
        cut: bool = False,
        drop: bool = False,
        textworld_split: bool = False,
        **common: Any,
    ) -> None:
        check_count("recipe", recipe, 5)
        if isinstance(take, bool) or not isinstance(take, (int, np.integer)) or not 0 <= take <= recipe:
            raise ValueError(f"take must be an integer from 0 to recipe={recipe}, not {take!r}")
        check_choice("go", go, (1, 6, 9, 12))
        for name, value in (("open", open), ("cook", cook), ("cut", cut), ("drop", drop)):
            check_choice(name, value, (False, True))
        check_choice("textworld_split", textworld_split, (False, True))
        self.skills = {"recipe": recipe, "take": take, "go": go, "open": open, "cook": cook, "cut": cut, "drop": drop}
        self.textworld_split = textworld_split
        # The options every challenge takes (split, pool_size, history...): TextWorldGame's, checked there.
        super().__init__(level, max_turns, **common)

    def _settings(self) -> dict[str, Any]:
        split = self.split if self.textworld_split else None
        return {**self.skills, "recipe_seed": 0, "split": split}


# --------------------------------------------------------------------------------------------- environments

_PROMPT_LEN, _TEXT_LEN, _COMMAND_LEN = 448, 448, 32  # prompt + command fit the embedded model's 512 positions


class TWSimpleEnv(TextGameTokenEnv):
    game_cls = TWSimple
    default_max_prompt_len = _PROMPT_LEN
    default_max_new_tokens = _COMMAND_LEN


class TWSimpleCmdEnv(TextGameCommandEnv):
    game_cls = TWSimple
    default_max_text_len = _TEXT_LEN
    default_max_commands = TWSimple.DEFAULT_COMMAND_LIMIT
    default_max_command_len = _COMMAND_LEN


class TWCoinCollectorEnv(TextGameTokenEnv):
    game_cls = TWCoinCollector
    default_max_prompt_len = _PROMPT_LEN
    default_max_new_tokens = 16


class TWCoinCollectorCmdEnv(TextGameCommandEnv):
    game_cls = TWCoinCollector
    default_max_text_len = _TEXT_LEN
    default_max_commands = TWCoinCollector.DEFAULT_COMMAND_LIMIT
    default_max_command_len = 16


class TWTreasureHunterEnv(TextGameTokenEnv):
    game_cls = TWTreasureHunter
    default_max_prompt_len = _PROMPT_LEN
    default_max_new_tokens = _COMMAND_LEN


class TWTreasureHunterCmdEnv(TextGameCommandEnv):
    game_cls = TWTreasureHunter
    default_max_text_len = _TEXT_LEN
    default_max_commands = TWTreasureHunter.DEFAULT_COMMAND_LIMIT
    default_max_command_len = _COMMAND_LEN


class TWCookingEnv(TextGameTokenEnv):
    game_cls = TWCooking
    default_max_prompt_len = _PROMPT_LEN
    default_max_new_tokens = _COMMAND_LEN


class TWCookingCmdEnv(TextGameCommandEnv):
    game_cls = TWCooking
    default_max_text_len = _TEXT_LEN
    default_max_commands = TWCooking.DEFAULT_COMMAND_LIMIT
    default_max_command_len = _COMMAND_LEN
