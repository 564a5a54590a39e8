"""Environments. Importing this package registers every environment with Gymnasium.

============================ ================================== ==================
id                           entry point                        max_episode_steps
============================ ================================== ==================
``Dialogue-v0``              :class:`DialogueEnv`               48
``Summarization-v0``         :class:`SummarizationEnv`          48
``TokenSubset-v0``           :class:`TokenSubsetEnv` (toy)      8
============================ ================================== ==================
"""

from gymnasium.envs.registration import register, registry

from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.wrappers import TextActionWrapper

ENVIRONMENTS = {
    "Dialogue-v0": ("tokengym.envs.dialogue:DialogueEnv", 48, {}),
    "Summarization-v0": ("tokengym.envs.summarization:SummarizationEnv", 48, {}),
    "TokenSubset-v0": ("tokengym.envs.toy:TokenSubsetEnv", 8, {}),
}

for _env_id, (_entry_point, _steps, _kwargs) in ENVIRONMENTS.items():
    if _env_id not in registry:
        register(id=_env_id, entry_point=_entry_point, max_episode_steps=_steps, kwargs=_kwargs)


def registered_ids() -> list[str]:
    """Ids of every tokengym environment, in registration order."""
    return list(ENVIRONMENTS)


__all__ = ["ENVIRONMENTS", "Sample", "TextActionWrapper", "TokenEnv", "fit_prompt", "registered_ids"]
