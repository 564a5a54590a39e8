"""Environments. Importing this package registers every environment with Gymnasium.

============================ ================================== ==================
id                           entry point                        max_episode_steps
============================ ================================== ==================
``Dialogue-v0``              :class:`DialogueEnv`               48
``Summarization-v0``         :class:`SummarizationEnv`          48
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

The text games (``tokengym.envs.games``) come in two action modes: ``<Game>-v0`` writes each command token by
token, ``<Game>Cmd-v0`` picks a command from the admissible ones. Token-level games run ``max_turns`` commands
of at most ``max_new_tokens`` tokens, so their ``max_episode_steps`` is the product.
"""

from gymnasium.envs.registration import register, registry

from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.wrappers import RepeatTask, TextActionWrapper

ENVIRONMENTS = {
    "Dialogue-v0": ("tokengym.envs.dialogue:DialogueEnv", 48, {}),
    "Summarization-v0": ("tokengym.envs.summarization:SummarizationEnv", 48, {}),
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

for _env_id, (_entry_point, _steps, _kwargs) in ENVIRONMENTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, max_episode_steps=_steps, kwargs=_kwargs)


def registered_ids() -> list[str]:
    """Ids of every tokengym environment, in registration order."""
    return list(ENVIRONMENTS)


__all__ = ["ENVIRONMENTS", "RepeatTask", "Sample", "TextActionWrapper", "TokenEnv", "fit_prompt", "registered_ids"]
