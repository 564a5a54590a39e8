"""Command-level text-game agents: they pick one of the commands a game offers (``<Game>Cmd-v0``).

LSTM-DQN (:class:`CommandDQN` with :class:`CommandDQNPolicy`), BOW-DQN (:class:`BOWDQNPolicy`), command-level
MaskablePPO (:class:`CommandActorCriticPolicy`), :class:`RandomCommandAgent`, and :func:`evaluate_win_rate` on
unseen games. Nothing here imports ``transformers``: these baselines run without the language-model stack.

The modules, by responsibility:

- :mod:`~tokengym.agents.textgame.spaces`: the command-level spaces (:func:`check_command_spaces`,
  :func:`command_slot_mask`) and :func:`is_token_level_game`;
- :mod:`~tokengym.agents.textgame.encoders`: the LSTM and bag-of-words encoders (SB3 features extractors) and the
  action scorer that rates each offered command;
- :mod:`~tokengym.agents.textgame.dqn`: LSTM-DQN and BOW-DQN (after Narasimhan et al., 2015) on SB3's ``DQN``;
- :mod:`~tokengym.agents.textgame.actor_critic`: the same encoder and scorer as a ``MaskablePPO`` policy;
- :mod:`~tokengym.agents.textgame.random_agent`: the random baseline;
- :mod:`~tokengym.agents.textgame.seeds`: training and held-out game seeds, :class:`SeedPool`,
  :func:`make_train_env`, :func:`unseen_games_kwargs`;
- :mod:`~tokengym.agents.textgame.evaluation`: :func:`evaluate_win_rate` (episodes played by
  :func:`tokengym.agents.episodes.play_episodes`).

Every agent plays offered commands only. The presets (:func:`~tokengym.agents.running.presets.make_agent`) are
in :mod:`tokengym.agents.running.presets`.

Example:
    >>> import tokengym
    >>> from tokengym.agents.textgame import RandomCommandAgent, evaluate_win_rate, held_out_seeds
    >>> report = evaluate_win_rate(RandomCommandAgent(seed=0), "TextNavCmd-v0", held_out_seeds(20),
    ...                            env_kwargs={"level": 1, "max_turns": 5})
    >>> report.as_dict()["episodes"]
    20
"""

from tokengym.agents.textgame.actor_critic import CommandActorCriticPolicy
from tokengym.agents.textgame.dqn import BOWDQNPolicy, CommandDQN, CommandDQNPolicy, LSTMDQNPolicy
from tokengym.agents.textgame.encoders import BOWCommandEncoder, LSTMCommandEncoder
from tokengym.agents.textgame.evaluation import WinRateReport, evaluate_win_rate
from tokengym.agents.textgame.random_agent import RandomCommandAgent
from tokengym.agents.textgame.seeds import (
    TEST_SEEDS,
    TRAIN_SEEDS,
    SeedPool,
    held_out_seeds,
    make_train_env,
    unseen_games_kwargs,
)
from tokengym.agents.textgame.spaces import check_command_spaces, command_slot_mask, is_token_level_game

__all__ = [
    "TEST_SEEDS",
    "TRAIN_SEEDS",
    "BOWCommandEncoder",
    "BOWDQNPolicy",
    "CommandActorCriticPolicy",
    "CommandDQN",
    "CommandDQNPolicy",
    "LSTMCommandEncoder",
    "LSTMDQNPolicy",
    "RandomCommandAgent",
    "SeedPool",
    "WinRateReport",
    "check_command_spaces",
    "command_slot_mask",
    "evaluate_win_rate",
    "held_out_seeds",
    "is_token_level_game",
    "make_train_env",
    "unseen_games_kwargs",
]
