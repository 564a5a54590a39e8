"""Teaching algorithms: REINFORCE for language-model policies and tabular Q-learning for command-level games.

Each is one file that reads top to bottom, in the style of CleanRL: a configuration dataclass with a docstring
per field, seeding, the model, the loop, every equation named where it is computed. They are the worked examples
of the notebooks and of bringing your own algorithm to ``tokengym train`` (:mod:`~tokengym.agents.teaching.runners`
adapts them to its configuration):

- :mod:`~tokengym.agents.teaching.reinforce`: :func:`train_reinforce`, REINFORCE with no baseline, a running
  mean, a learned value, or a group baseline (RLOO, GRPO), on single-completion token tasks;
- :mod:`~tokengym.agents.teaching.tabular_q`: :func:`train_tabular_q`, Watkins' Q-learning on a table of hashed
  observations of a command-level game.

Example:
    >>> from tokengym.agents.teaching import TabularQConfig, train_tabular_q
    >>> result = train_tabular_q(TabularQConfig(env_kwargs={"level": 1, "max_turns": 5}, total_steps=200))
    >>> result.steps >= 200
    True
"""

from tokengym.agents.teaching.reinforce import BASELINES, ReinforceConfig, ReinforceResult, train_reinforce
from tokengym.agents.teaching.tabular_q import (
    TabularQAgent,
    TabularQConfig,
    TabularQResult,
    state_key,
    train_tabular_q,
)

__all__ = [
    "BASELINES",
    "ReinforceConfig",
    "ReinforceResult",
    "TabularQAgent",
    "TabularQConfig",
    "TabularQResult",
    "state_key",
    "train_reinforce",
    "train_tabular_q",
]
