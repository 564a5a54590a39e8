"""tokengym: Gymnasium environments for language tasks with token-level actions and pluggable rewards.

Importing the package registers every environment::

    >>> import gymnasium as gym
    >>> import tokengym
    >>> env = gym.make("Dialogue-v0")
    >>> obs, info = env.reset(seed=0)
    >>> sorted(obs)
    ['attention_mask', 'input_ids']
"""

__version__ = "0.1.0"

from tokengym.envs import TextActionWrapper, TokenEnv, registered_ids
from tokengym.rewards import make_reward, reward_names

__all__ = ["TextActionWrapper", "TokenEnv", "__version__", "make_reward", "registered_ids", "reward_names"]
