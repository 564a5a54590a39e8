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
"""

from tokengym.envs.games.base import CommandTrie, GameText, StepResult, TextGame, normalise_command
from tokengym.envs.games.coin_collector import CoinCollector
from tokengym.envs.games.textnav import TextNav
from tokengym.envs.games.twenty_questions import TwentyQuestions
from tokengym.envs.games.wordle import Wordle

GAMES: dict[str, type[TextGame]] = {
    "twenty_questions": TwentyQuestions,
    "wordle": Wordle,
    "textnav": TextNav,
    "coin_collector": CoinCollector,
}

__all__ = [
    "GAMES",
    "CoinCollector",
    "CommandTrie",
    "GameText",
    "StepResult",
    "TextGame",
    "TextNav",
    "TwentyQuestions",
    "Wordle",
    "normalise_command",
]
