"""Text games at command level: the policy picks one of the admissible commands, listed as token ids."""

from __future__ import annotations

import copy
import string
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from tokengym.envs.core import integer_action, snapshot_rng, text_image
from tokengym.envs.games.base import TextGame, levels_text, make_game, normalise_command
from tokengym.envs.games.coin_collector import CoinCollector
from tokengym.envs.games.layout import GameTokenizer, env_docstring, level_argument
from tokengym.envs.games.textnav import TextNav
from tokengym.envs.games.twenty_questions import TwentyQuestions
from tokengym.envs.games.wordle import Wordle
from tokengym.envs.validation import (
    MAX_COMMAND_CELLS,
    MAX_TOKENS,
    check_int,
    check_reset_options,
    check_seed,
)
from tokengym.tokenizer import TokenCodec, load_tokenizer

UNUSED_SLOT = ""  # what the game receives for a slot no command fills: an empty, unknown command
RENAMED_INFO_KEYS = {"commands": "admissible_commands"}
"""Info keys renamed so that both action modes use one name, old name to new; the old name reads the new key,
with a ``DeprecationWarning``, for this release only."""


class GameInfo(dict):
    """A step's or a reset's ``info``: a plain ``dict`` whose renamed keys (:data:`RENAMED_INFO_KEYS`) still read,
    with a ``DeprecationWarning``.

    Example:
        >>> info = GameInfo(admissible_commands=["go north"])
        >>> import warnings
        >>> with warnings.catch_warnings(record=True):
        ...     warnings.simplefilter("always")
        ...     info["commands"]
        ['go north']
    """

    def _renamed(self, key: Any) -> Any:
        new = RENAMED_INFO_KEYS.get(key) if isinstance(key, str) else None
        if new is None or dict.__contains__(self, key):
            return key
        warnings.warn(
            f"info[{key!r}] is renamed info[{new!r}], the name token-level games use; the old name is removed in the "
            "next release",
            DeprecationWarning,
            stacklevel=3,
        )
        return new

    def __getitem__(self, key: Any) -> Any:
        return dict.__getitem__(self, self._renamed(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, self._renamed(key), default)

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, self._renamed(key))


class TextGameCommandEnv(gym.Env):
    """Base class of the command-level text games (each game's subclass documents itself in full)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "human", "rgb_array"], "render_fps": 4}
    game_cls: ClassVar[type[TextGame]]
    default_max_text_len: ClassVar[int] = 192
    default_max_commands: ClassVar[int] = 16
    # None: the longest command of the game's vocabulary. A game whose vocabulary depends on its instance (a pool
    # of generated games) fixes it, so that every pool (train and test) has the same observation space.
    default_max_command_len: ClassVar[int | None] = None
    #: The keys ``reset(options=...)`` reads: ``repeat_task`` plays the current game again from its start.
    reset_options: ClassVar[tuple[str, ...]] = ("repeat_task",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A game's subclass gets its full docstring from its game and its defaults."""
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__doc__") is None and "game_cls" in cls.__dict__:
            name = cls.game_cls.__name__
            cls.__doc__ = _command_doc(
                cls.game_cls,
                f"{name}Cmd-v0",
                f"{name}-v0",
                cls.default_max_text_len,
                cls.default_max_commands,
                cls.default_max_command_len,
            )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        tokenizer: Any = None,
        max_text_len: int | None = None,
        max_commands: int | None = None,
        game_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
        max_command_len: int | None = None,
    ) -> None:
        text_len = self.default_max_text_len if max_text_len is None else max_text_len
        slots = self.default_max_commands if max_commands is None else max_commands
        command_len = self.default_max_command_len if max_command_len is None else max_command_len
        text_len = check_int("max_text_len", text_len, low=1, high=MAX_TOKENS, what="tokens")
        slots = check_int("max_commands", slots, low=1, high=MAX_COMMAND_CELLS, what="command slots")
        if command_len is not None:
            command_len = check_int("max_command_len", command_len, low=1, high=MAX_TOKENS, what="tokens")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}, not {render_mode!r}")
        game = make_game(self.game_cls, level, max_turns, game_kwargs)
        if slots < game.max_offered():
            raise ValueError(
                f"max_commands={slots} is too small for {game.name} level {game.level}, which lists up to "
                f"{game.max_offered()} commands; use max_commands >= {game.max_offered()}"
            )
        self.codec: TokenCodec = load_tokenizer(tokenizer)
        self.game = game
        self.level = game.level
        self.max_turns = game.max_turns
        self.max_text_len = int(text_len)
        self.max_commands = int(slots)
        self.render_mode = render_mode
        self.tokens = GameTokenizer(self.codec, game)
        longest = self.tokens.max_command_len
        if command_len is not None and longest > command_len:
            raise ValueError(
                f"max_command_len={command_len} is too short for {game.name}: the command "
                f"{self.tokens.longest_command!r} takes {longest} tokens; use max_command_len >= {longest}"
            )
        self.max_command_len = longest if command_len is None else int(command_len)
        if self.max_commands * self.max_command_len > MAX_COMMAND_CELLS:
            raise ValueError(
                f"max_commands * max_command_len = {self.max_commands * self.max_command_len:,} token ids an "
                f"observation exceeds the limit of {MAX_COMMAND_CELLS:,} "
                "(tokengym.envs.validation.MAX_COMMAND_CELLS); lower one of them"
            )
        vocab = self.codec.vocab_size
        shape = (self.max_commands, self.max_command_len)
        self.action_space = spaces.Discrete(self.max_commands)
        self.observation_space = spaces.Dict(
            {
                "input_ids": spaces.Box(0, vocab - 1, (self.max_text_len,), np.int32),
                "attention_mask": spaces.Box(0, 1, (self.max_text_len,), np.int8),
                "command_ids": spaces.Box(0, vocab - 1, shape, np.int32),
                "command_mask": spaces.Box(0, 1, shape, np.int8),
            }
        )
        self._commands: tuple[str, ...] = ()
        self._status = "new"
        self._game_rng: np.random.Generator | None = None

    # --------------------------------------------------------------------------------------- gym interface

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start a new game drawn with the env's seeded generator; ``options={"repeat_task": True}`` plays the
        current game again from its start (as the token-level games do, for group baselines)."""
        seed = check_seed(seed)
        options = check_reset_options(options, self.reset_options, type(self).__name__)
        if options.get("repeat_task") and self._game_rng is None:
            raise RuntimeError("reset(options={'repeat_task': True}) has no game to repeat; reset once without it")
        restore = snapshot_rng(self)
        super().reset(seed=seed)
        if options.get("repeat_task"):
            rng = copy.deepcopy(self._game_rng)
        else:
            rng, game_rng = self.np_random, copy.deepcopy(self.np_random)
        try:
            self.game.reset(rng=rng)
        except BaseException:
            restore()
            self._status = "new"  # the game was (partly) reset: the previous episode cannot go on
            raise
        if not options.get("repeat_task"):
            self._game_rng = game_rng
        self._status = "running"
        obs = self._observe()
        return obs, GameInfo(text=str(self.game.text()), admissible_commands=list(self._commands))

    @property
    def episode_step_limit(self) -> int:
        """The most steps an episode can take: one per turn, ``max_turns`` (see
        :func:`tokengym.envs.match_time_limit`)."""
        return self.max_turns

    def step(self, action: Any):
        slot = self._check_action(action)
        if self._status != "running":
            raise RuntimeError(
                "call reset() before step()"
                if self._status == "new"
                else "the episode is over (terminated); call reset() to start a new one"
            )
        command = self._commands[slot] if slot < len(self._commands) else UNUSED_SLOT
        result = self.game.step(command)
        if result.done:
            self._status = "terminated"
        obs = self._observe()
        info = GameInfo(
            command=result.command,
            valid=result.valid,
            feedback=result.feedback,
            reward_components=result.components,
            score=self.game.score,
            turn=self.game.turn,
            won=result.won,
            admissible_commands=list(self._commands),
        )
        if self.render_mode == "human":
            self.render()
        return obs, float(result.reward), result.done, False, info

    def action_masks(self) -> np.ndarray:
        """``True`` on the slots that hold a command now (bool, ``(max_commands,)``), for MaskablePPO."""
        mask = np.zeros(self.max_commands, dtype=bool)
        mask[: len(self._commands)] = True
        if not self._commands:
            mask[0] = True  # nothing is offered (the game is over): keep one action so masked sampling works
        return mask

    @property
    def admissible_commands(self) -> list[str]:
        """The commands in the slots now, in slot order (sorted)."""
        return list(self._commands)

    def close(self) -> None:
        self.game.close()
        super().close()

    def slot_of(self, text: str) -> int | None:
        """The slot of the offered command matching ``text`` (compared normalised), or ``None``."""
        key = normalise_command(text)
        for slot, command in enumerate(self._commands):
            if normalise_command(command) == key:
                return slot
        return None

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'human'")
            return None
        if self._status == "new":
            text = "(call reset() first)"
        else:
            listed = "\n".join(f"  {slot}: {command}" for slot, command in enumerate(self._commands))
            text = f"{self.game.text()}\nCommands:\n{listed}" if listed else str(self.game.text())
        if self.render_mode == "human":
            print(text)
            return None
        if self.render_mode == "rgb_array":
            return text_image(text)
        return text

    # ----------------------------------------------------------------------------------------------- helpers

    def _observe(self) -> dict[str, np.ndarray]:
        game = self.game
        self._commands = game.offered_commands()
        text = self.tokens.text_ids(game.text(), self.max_text_len)
        n = len(text)
        ids = np.full(self.max_text_len, self.codec.pad_id, dtype=np.int32)
        ids[:n] = text
        mask = np.zeros(self.max_text_len, dtype=np.int8)
        mask[:n] = 1
        shape = (self.max_commands, self.max_command_len)
        command_ids = np.full(shape, self.codec.pad_id, dtype=np.int32)
        command_mask = np.zeros(shape, dtype=np.int8)
        k = len(self._commands)
        if k:
            rows = self.tokens.rows(self._commands)
            width = self.tokens.max_command_len
            command_ids[:k, :width] = self.tokens.id_table[rows]
            command_mask[:k, :width] = self.tokens.mask_table[rows]
        return {"input_ids": ids, "attention_mask": mask, "command_ids": command_ids, "command_mask": command_mask}

    def _check_action(self, action: Any) -> int:
        return integer_action(action, self.max_commands, "slot", "CommandTextWrapper to step with text")


class CommandTextWrapper(gym.Wrapper):
    """Step a command-level game with the text of a command: ``env.step("go north")``.

    The text is matched (normalised: case, spaces and final ``?``/``.``/``!`` ignored) against the commands
    offered now; a match plays its slot. Text matching no offered command plays an unused slot, which the game
    treats as an unknown command; ``info["text"]`` keeps the text given.

    Example:
        >>> import gymnasium as gym, tokengym
        >>> env = CommandTextWrapper(gym.make("TextNavCmd-v0"))
        >>> _, info = env.reset(seed=0)
        >>> _, reward, terminated, truncated, info = env.step(info["admissible_commands"][0])
        >>> info["valid"]
        True
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        if not isinstance(env.unwrapped, TextGameCommandEnv):
            raise TypeError(f"CommandTextWrapper needs a command-level text game, got {type(env.unwrapped).__name__}")
        self.action_space = spaces.Text(max_length=256, charset=string.printable)

    def step(self, action: Any):
        if not isinstance(action, str):
            raise TypeError(f"CommandTextWrapper steps with a string, not {type(action).__name__}: {action!r}")
        u = self.env.unwrapped
        slot = u.slot_of(action)
        if slot is None:
            if len(u.admissible_commands) >= u.max_commands:
                raise ValueError(
                    f"{action!r} is not one of the offered commands and every slot holds one, so it cannot be "
                    "played as an unknown command; pick one of info['admissible_commands']"
                )
            slot = u.max_commands - 1
        obs, reward, terminated, truncated, info = self.env.step(slot)
        info = copy.copy(info)  # the same kind of dict (GameInfo keeps the renamed keys readable)
        info["text"] = action
        return obs, reward, terminated, truncated, info


_MODE_SECTIONS = {
    "Description": (
        "Command level: each step plays one of the admissible commands, listed (sorted alphabetically) in\n"
        "numbered slots; the observation holds the game text and the listed commands as token ids, for\n"
        "bag-of-words, LSTM or language-model policies."
    ),
    "Action Space": (
        "``Discrete(max_commands)``: the slot of the command to play. Slots ``0..k-1`` hold the ``k`` commands\n"
        "offered now in sorted order; ``action_masks()`` (bool, ``(max_commands,)``) marks them ``True`` and the\n"
        "unused slots ``False``. Choosing an unused slot plays an empty command: the game's response to an\n"
        "unknown command, the invalid penalty, one turn used. Out-of-range actions raise ``ValueError``."
    ),
    "Observation Space": (
        "| key              | dtype | shape                 | content                                |\n"
        "|------------------|-------|-----------------------|----------------------------------------|\n"
        "| ``input_ids``      | int32 | (T,)                  | game text ids, then pad id             |\n"
        "| ``attention_mask`` | int8  | (T,)                  | 1 on text tokens, 0 on padding         |\n"
        "| ``command_ids``    | int32 | (M, C)                | row i: slot i's command, then pad id   |\n"
        "| ``command_mask``   | int8  | (M, C)                | 1 on command tokens; unused rows all 0 |\n\n"
        "T = ``max_text_len``, M = ``max_commands``, C = ``max_command_len`` (by default the game's longest\n"
        "command).\n"
        "The game text is, one part per line: ``Goal: <goal>`` (if any), the feedback to the last command,\n"
        "``Turns left: N.`` and the game's status, then the description; lines are tokenised one by one and joined\n"
        "by the newline token, and text longer than ``max_text_len`` is cut at its end (the oldest history goes\n"
        "first).\n"
        "Commands are tokenised with a leading space."
    ),
    "Rewards": (
        "Per step, the game's score change, with ``info['reward_components']``, ``command``, ``valid``,\n"
        "``feedback``, ``score``, ``turn``, ``won`` and the next ``admissible_commands`` (the key token-level games\n"
        "use too; ``info['commands']``, its former name, still reads it with a ``DeprecationWarning``). ``reset``'s\n"
        "info holds ``text`` and ``admissible_commands``."
    ),
    "Episode End": (
        "Termination: when the game ends. Truncation: the registered ``TimeLimit`` at ``max_turns`` steps, which\n"
        "falls at the latest on the step where the game's turns run out."
    ),
}


def _command_doc(
    game_cls: type[TextGame], env_id: str, token_id: str, text_len: int, slots: int, command_len: int | None
) -> str:
    longest = "the longest command of the game" if command_len is None else str(command_len)
    arguments = (
        f"- ``level`` (1): {levels_text(game_cls.LEVELS)}.\n"
        f"- ``max_turns`` (None: {game_cls.DEFAULT_MAX_TURNS}): turns per game; ``gym.make`` fits the\n"
        "  ``TimeLimit`` to it (one step per turn).\n"
        "- ``tokenizer`` (None: the embedded one): a tokenizer object, local path or hub id.\n"
        f"- ``max_text_len`` (None: {text_len}): text budget in tokens.\n"
        f"- ``max_commands`` (None: {slots}): command slots; at least the most commands the level lists.\n"
        f"- ``max_command_len`` (None: {longest}): token columns of ``command_ids``.\n"
        "- ``game_kwargs``: the game's options (below).\n"
        "- ``render_mode``: ``None``, ``'ansi'``, ``'human'`` or ``'rgb_array'``.\n"
        "- ``reset(options={'repeat_task': True})`` plays the current game again from its start (the only option).\n"
        "\n"
        f'```python\nenv = gym.make("{env_id}"{level_argument(game_cls, 3)})\n```\n\n'
        "``CommandTextWrapper(env)`` steps with the text of a command instead of its slot."
    )
    variants = (
        f"``{env_id}`` (command level, ``max_episode_steps`` {game_cls.DEFAULT_MAX_TURNS}) and ``{token_id}``\n"
        "(token level); pick the level with ``level=``."
    )
    sections = {**_MODE_SECTIONS, "Arguments": arguments, "Variants": variants}
    return env_docstring(game_cls, list(sections.items()))


class TwentyQuestionsCmdEnv(TextGameCommandEnv):
    game_cls = TwentyQuestions
    default_max_text_len = 320
    default_max_commands = 160


class WordleCmdEnv(TextGameCommandEnv):
    game_cls = Wordle
    default_max_text_len = 224
    default_max_commands = 40


class TextNavCmdEnv(TextGameCommandEnv):
    game_cls = TextNav
    default_max_text_len = 128
    default_max_commands = 24


class CoinCollectorCmdEnv(TextGameCommandEnv):
    game_cls = CoinCollector
    default_max_text_len = 128
    default_max_commands = 8
