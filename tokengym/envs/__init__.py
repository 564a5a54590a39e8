"""Environments. Importing this package registers every environment with Gymnasium.

============================ ================================== ==================
id                           entry point                        max_episode_steps
============================ ================================== ==================
``Dialogue-v0``              :class:`DialogueEnv`               48
``DialogueChat-v0``          :class:`DialogueChatEnv`           192 (4 turns x 48)
``DialoguePersona-v0``       :class:`DialoguePersonaEnv`        192 (4 turns x 48)
``DialogueSupport-v0``       :class:`DialogueSupportEnv`        192 (4 turns x 48)
``Summarization-v0``         :class:`SummarizationEnv`          48
``ContextQA-v0``             :class:`ContextQAEnv`              24
``TokenSubset-v0``           :class:`TokenSubsetEnv` (toy)      8
``TwentyQuestions-v0``       :class:`TwentyQuestionsEnv`        320 (20 turns x 16)
``TwentyQuestionsCmd-v0``    :class:`TwentyQuestionsCmdEnv`     20
``Wordle-v0``                :class:`WordleEnv`                 48 (6 turns x 8)
``WordleCmd-v0``             :class:`WordleCmdEnv`              6
``TextNav-v0``               :class:`TextNavEnv`                800 (50 turns x 16)
``TextNavCmd-v0``            :class:`TextNavCmdEnv`             50
``CoinCollector-v0``         :class:`CoinCollectorEnv`          400 (50 turns x 8)
``CoinCollectorCmd-v0``      :class:`CoinCollectorCmdEnv`       50
============================ ================================== ==================

TextWorld's worlds (extra ``textworld``: ``pip install 'tokengym[textworld]'``) are registered too, but kept out
of :func:`registered_ids` (the environments every check and demo loops over): they need the extra and generate
their games on first use. :func:`textworld_ids` lists them:

============================ ================================== ==================
id                           entry point                        max_episode_steps
============================ ================================== ==================
``TWSimple-v0``              :class:`TWSimpleEnv`               3200 (100 turns x 32)
``TWSimpleCmd-v0``           :class:`TWSimpleCmdEnv`            100
``TWCoinCollector-v0``       :class:`TWCoinCollectorEnv`        1600 (100 turns x 16)
``TWCoinCollectorCmd-v0``    :class:`TWCoinCollectorCmdEnv`     100
``TWTreasureHunter-v0``      :class:`TWTreasureHunterEnv`       3200 (100 turns x 32)
``TWTreasureHunterCmd-v0``   :class:`TWTreasureHunterCmdEnv`    100
``TWCooking-v0``             :class:`TWCookingEnv`              3200 (100 turns x 32)
``TWCookingCmd-v0``          :class:`TWCookingCmdEnv`           100
============================ ================================== ==================

The text games (``tokengym.envs.games``) come in two action modes: ``<Game>-v0`` writes each command token by
token, ``<Game>Cmd-v0`` picks a command from the admissible ones. Token-level games run ``max_turns`` commands
of at most ``max_new_tokens`` tokens, so their ``max_episode_steps`` is the product.

The step limits above hold for the default arguments. Arguments that change how long an episode can be
(``max_turns``, ``max_new_tokens``) change the ``TimeLimit`` with them: ``gym.make("DialogueChat-v0",
max_turns=8)`` truncates at 8 x 48 steps, not after the registered 4 turns (:func:`match_time_limit`). A
``max_episode_steps`` given to ``gym.make`` is kept, unless it equals the registered one.
"""

from typing import Any

import gymnasium as gym
from gymnasium.envs.registration import WrapperSpec, register, registry
from gymnasium.wrappers import TimeLimit

from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.wrappers import RepeatTask, TextActionWrapper

ENVIRONMENTS = {
    "Dialogue-v0": ("tokengym.envs.dialogue:DialogueEnv", 48, {}),
    "DialogueChat-v0": ("tokengym.envs.dialogue_variants:DialogueChatEnv", 4 * 48, {}),
    "DialoguePersona-v0": ("tokengym.envs.dialogue_variants:DialoguePersonaEnv", 4 * 48, {}),
    "DialogueSupport-v0": ("tokengym.envs.dialogue_variants:DialogueSupportEnv", 4 * 48, {}),
    "Summarization-v0": ("tokengym.envs.summarization:SummarizationEnv", 48, {}),
    "ContextQA-v0": ("tokengym.envs.qa:ContextQAEnv", 24, {}),
    "TokenSubset-v0": ("tokengym.envs.toy:TokenSubsetEnv", 8, {}),
    "TwentyQuestions-v0": ("tokengym.envs.games.token_env:TwentyQuestionsEnv", 20 * 16, {}),
    "TwentyQuestionsCmd-v0": ("tokengym.envs.games.command_env:TwentyQuestionsCmdEnv", 20, {}),
    "Wordle-v0": ("tokengym.envs.games.token_env:WordleEnv", 6 * 8, {}),
    "WordleCmd-v0": ("tokengym.envs.games.command_env:WordleCmdEnv", 6, {}),
    "TextNav-v0": ("tokengym.envs.games.token_env:TextNavEnv", 50 * 16, {}),
    "TextNavCmd-v0": ("tokengym.envs.games.command_env:TextNavCmdEnv", 50, {}),
    "CoinCollector-v0": ("tokengym.envs.games.token_env:CoinCollectorEnv", 50 * 8, {}),
    "CoinCollectorCmd-v0": ("tokengym.envs.games.command_env:CoinCollectorCmdEnv", 50, {}),
}

_TW = "tokengym.envs.games.textworld_challenges:"
TEXTWORLD_ENVIRONMENTS = {
    "TWSimple-v0": (f"{_TW}TWSimpleEnv", 100 * 32, {}),
    "TWSimpleCmd-v0": (f"{_TW}TWSimpleCmdEnv", 100, {}),
    "TWCoinCollector-v0": (f"{_TW}TWCoinCollectorEnv", 100 * 16, {}),
    "TWCoinCollectorCmd-v0": (f"{_TW}TWCoinCollectorCmdEnv", 100, {}),
    "TWTreasureHunter-v0": (f"{_TW}TWTreasureHunterEnv", 100 * 32, {}),
    "TWTreasureHunterCmd-v0": (f"{_TW}TWTreasureHunterCmdEnv", 100, {}),
    "TWCooking-v0": (f"{_TW}TWCookingEnv", 100 * 32, {}),
    "TWCookingCmd-v0": (f"{_TW}TWCookingCmdEnv", 100, {}),
}


def match_time_limit(env: gym.Env, registered: int) -> gym.Env:
    """``env`` (as ``gym.make`` built it) with its ``TimeLimit`` fitted to the arguments it was made with.

    Registration fixes ``max_episode_steps`` for the default arguments, and ``gym.make`` applies it whatever the
    arguments: ``max_turns=8`` on a 4-turn registration would be cut after 4 turns, ``max_turns=3`` on
    ``Dialogue-v0`` after the first. Every id is registered with this function as an additional wrapper, so a
    ``TimeLimit`` still at the ``registered`` value is replaced by one at the environment's
    ``episode_step_limit`` (the most steps its episode can take). A different ``max_episode_steps`` given to
    ``gym.make`` is the caller's choice and is kept; ``max_episode_steps=-1`` (no limit) too.

    Gymnasium's ``TimeLimit`` keeps its limit in ``_max_episode_steps`` (read here; its only public view is
    ``spec``, which deep-copies the environment's arguments).
    """
    limit = getattr(env.unwrapped, "episode_step_limit", None)
    at_registered = isinstance(env, TimeLimit) and getattr(env, "_max_episode_steps", None) == registered
    if at_registered and limit is not None and limit != registered:
        return TimeLimit(env.env, int(limit))
    return env


def _register(env_id: str, entry_point: str, steps: int, kwargs: dict[str, Any]) -> None:
    fit = WrapperSpec("MatchTimeLimit", "tokengym.envs:match_time_limit", {"registered": steps})
    register(id=env_id, entry_point=entry_point, max_episode_steps=steps, kwargs=kwargs, additional_wrappers=(fit,))


for _env_id, (_entry_point, _steps, _kwargs) in {**ENVIRONMENTS, **TEXTWORLD_ENVIRONMENTS}.items():
    if _env_id not in registry:
        _register(_env_id, _entry_point, _steps, _kwargs)


def registered_ids() -> list[str]:
    """Ids of every tokengym environment that needs no extra, in registration order."""
    return list(ENVIRONMENTS)


def textworld_ids() -> list[str]:
    """Ids of the TextWorld environments (extra ``textworld``), in registration order."""
    return list(TEXTWORLD_ENVIRONMENTS)


def all_ids() -> list[str]:
    """Ids of every environment this package registers: :func:`registered_ids`, then :func:`textworld_ids`."""
    return [*ENVIRONMENTS, *TEXTWORLD_ENVIRONMENTS]


__all__ = [
    "ENVIRONMENTS",
    "TEXTWORLD_ENVIRONMENTS",
    "RepeatTask",
    "Sample",
    "TextActionWrapper",
    "TokenEnv",
    "all_ids",
    "fit_prompt",
    "match_time_limit",
    "registered_ids",
    "textworld_ids",
]
