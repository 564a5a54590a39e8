"""Pure-Python text games, each playable at token level and at command level.

============================ ============================== ==================================================
game                         token level / command level    goal
============================ ============================== ==================================================
:class:`TwentyQuestions`     ``TwentyQuestions-v0`` /       find a hidden object with yes/no questions
                             ``TwentyQuestionsCmd-v0``
:class:`Wordle`              ``Wordle-v0`` / ``WordleCmd-v0`` find a hidden five-letter word
:class:`TextNav`             ``TextNav-v0`` /               reach the goal room, unlocking doors with keys
                             ``TextNavCmd-v0``
:class:`CoinCollector`       ``CoinCollector-v0`` /         pick up every coin of a map of rooms
                             ``CoinCollectorCmd-v0``
============================ ============================== ==================================================

The games (``base``, one module each) know nothing of tokens; ``token_env`` and ``command_env`` wrap them.

TextWorld's generated worlds (``TWSimple``, ``TWCoinCollector``, ``TWTreasureHunter``, ``TWCooking`` in
``textworld_challenges``, ids ``TW<Game>-v0`` / ``TW<Game>Cmd-v0``) play through TextWorld's engine, an optional
extra; they are listed in ``TEXTWORLD_GAMES``, apart from ``GAMES``, and import ``textworld`` only when made.
"""

from tokengym.envs.games.base import CommandTrie, GameText, StepResult, TextGame, normalise_command
from tokengym.envs.games.coin_collector import CoinCollector
from tokengym.envs.games.textnav import TextNav
from tokengym.envs.games.textworld_challenges import TWCoinCollector, TWCooking, TWSimple, TWTreasureHunter
from tokengym.envs.games.twenty_questions import TwentyQuestions
from tokengym.envs.games.wordle import Wordle

GAMES: dict[str, type[TextGame]] = {
    "twenty_questions": TwentyQuestions,
    "wordle": Wordle,
    "textnav": TextNav,
    "coin_collector": CoinCollector,
}
TEXTWORLD_GAMES: dict[str, type[TextGame]] = {
    "tw-simple": TWSimple,
    "tw-coin_collector": TWCoinCollector,
    "tw-treasure_hunter": TWTreasureHunter,
    "tw-cooking": TWCooking,
}

__all__ = [
    "GAMES",
    "TEXTWORLD_GAMES",
    "CoinCollector",
    "CommandTrie",
    "GameText",
    "StepResult",
    "TWCoinCollector",
    "TWCooking",
    "TWSimple",
    "TWTreasureHunter",
    "TextGame",
    "TextNav",
    "TwentyQuestions",
    "Wordle",
    "normalise_command",
]
