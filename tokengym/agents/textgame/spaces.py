"""What a command-level text game offers an agent: the layout of its spaces, their checks, the playable slots.

Command-level games (``<Game>Cmd-v0``) offer a list of admissible commands each turn: the observation holds the
game text (``input_ids``/``attention_mask``) and each offered command (``command_ids``/``command_mask``, one row
per slot), and the action is a slot. Token-level games (``<Game>-v0``) are written token by token instead
(:func:`is_token_level_game`).

Example:
    >>> import gymnasium as gym, tokengym
    >>> env = gym.make("TextNavCmd-v0")
    >>> layout = check_command_spaces(env.observation_space, env.action_space)
    >>> obs, _ = env.reset(seed=0)
    >>> bool((command_slot_mask(obs) == env.unwrapped.action_masks()).all())
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env import DummyVecEnv

from tokengym.envs.games.token_env import TextGameTokenEnv

COMMAND_KEYS = ("input_ids", "attention_mask", "command_ids", "command_mask")


@dataclass(frozen=True)
class CommandLayout:
    """Sizes read from a command-level observation space."""

    vocab_size: int
    max_text_len: int
    max_commands: int
    max_command_len: int


def check_command_spaces(observation_space: spaces.Space, action_space: spaces.Space | None = None) -> CommandLayout:
    """Check that the spaces are a command-level text game's and return their sizes.

    Raises:
        ValueError: naming what is missing or mis-shaped (a token-level game, for example, has no
            ``command_ids``/``command_mask``; its ``<Game>Cmd-v0`` variant does).
    """
    hint = "command-level text games (such as TextNavCmd-v0) have it"
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(
            f"command-level agents need a Dict observation with keys {', '.join(COMMAND_KEYS)}; "
            f"got {type(observation_space).__name__} {observation_space} ({hint})"
        )
    missing = [key for key in COMMAND_KEYS if key not in observation_space.spaces]
    if missing:
        raise ValueError(
            f"the observation has no {', '.join(missing)} (it has {', '.join(observation_space.spaces)}): "
            f"command-level agents need {', '.join(COMMAND_KEYS)}; token-level games list no commands, "
            f"use their command level ({hint})"
        )
    text, text_mask, ids, mask = (observation_space.spaces[key] for key in COMMAND_KEYS)
    if not all(isinstance(s, spaces.Box) for s in (text, text_mask, ids, mask)):
        raise ValueError(f"{', '.join(COMMAND_KEYS)} must be Box spaces, got {observation_space}")
    if len(text.shape) != 1 or text.shape != text_mask.shape:
        raise ValueError(f"input_ids and attention_mask must share one shape (T,), got {text.shape}, {text_mask.shape}")
    if len(ids.shape) != 2 or ids.shape != mask.shape:
        raise ValueError(f"command_ids and command_mask must share one shape (M, C), got {ids.shape}, {mask.shape}")
    slots = int(ids.shape[0])
    if action_space is not None and not (isinstance(action_space, spaces.Discrete) and int(action_space.n) == slots):
        raise ValueError(f"the action space must be Discrete({slots}), one action per command slot, not {action_space}")
    vocab = int(max(np.max(text.high), np.max(ids.high))) + 1
    return CommandLayout(vocab, int(text.shape[0]), slots, int(ids.shape[1]))


def command_slot_mask(observation: Mapping[str, Any]) -> np.ndarray:
    """The playable slots of an observation (bool ``(M,)``, or ``(B, M)`` for a batch), equal to the env's
    ``action_masks()``: the slots whose command has tokens, or slot 0 alone when none has (the game is over)."""
    if "command_mask" not in observation:
        raise ValueError(f"the observation has no command_mask (keys: {', '.join(observation)}); {COMMAND_KEYS}")
    mask = np.asarray(observation["command_mask"]).any(-1)
    mask[..., 0] |= ~mask.any(-1)
    return mask


def is_token_level_game(env: gym.Env | DummyVecEnv) -> bool:
    """Whether ``env`` (or a ``DummyVecEnv``'s first env) is a token-level text game (``<Game>-v0``)."""
    first = env.envs[0] if isinstance(env, DummyVecEnv) else env
    return isinstance(first.unwrapped, TextGameTokenEnv)
