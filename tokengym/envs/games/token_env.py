"""Text games at token level: the policy writes each command token by token, under an optional trie mask."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from tokengym.envs.core import Sample, TokenEnv
from tokengym.envs.games.base import CommandTrie, GameText, StepResult, TextGame, levels_text, make_game
from tokengym.envs.games.coin_collector import CoinCollector
from tokengym.envs.games.layout import GameTokenizer, env_docstring, level_argument
from tokengym.envs.games.textnav import TextNav
from tokengym.envs.games.twenty_questions import TwentyQuestions
from tokengym.envs.games.wordle import Wordle

COMMAND_PROMPT = "\n>"


class TextGameTokenEnv(TokenEnv):
    """Base class of the token-level text games (each game's subclass documents itself in full).

    An episode is a whole game of many commands. Each command is written token by token after the game's
    text and ends with the end-of-sequence token (or when ``max_new_tokens`` tokens are written); the game
    answers, and the context is laid out again with the game's new text as the prompt.
    """

    game_cls: ClassVar[type[TextGame]]
    default_reward: ClassVar[str | None] = None  # the game keeps the score
    truncation_side: ClassVar[str] = "right"
    default_max_prompt_len: ClassVar[int] = 192
    default_max_new_tokens: ClassVar[int] = 16
    min_prompt_len: ClassVar[int] = 16  # room for a line of game text and the command prompt

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A game's subclass gets its full docstring from its game and its defaults."""
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("__doc__") is None and "game_cls" in cls.__dict__:
            name = cls.game_cls.__name__
            cls.__doc__ = _token_doc(
                cls.game_cls, f"{name}-v0", f"{name}Cmd-v0", cls.default_max_prompt_len, cls.default_max_new_tokens
            )

    def __init__(
        self,
        level: int = 1,
        max_turns: int | None = None,
        tokenizer: Any = None,
        max_prompt_len: int | None = None,
        max_new_tokens: int | None = None,
        game_kwargs: Mapping[str, Any] | None = None,
        render_mode: str | None = None,
    ) -> None:
        game = make_game(self.game_cls, level, max_turns, game_kwargs)
        super().__init__(
            tokenizer=tokenizer,
            reward=None,
            max_prompt_len=self.default_max_prompt_len if max_prompt_len is None else max_prompt_len,
            max_new_tokens=self.default_max_new_tokens if max_new_tokens is None else max_new_tokens,
            render_mode=render_mode,
        )
        self.game = game
        self.level = game.level
        self.max_turns = game.max_turns
        self.tokens = GameTokenizer(self.codec, game)
        self._suffix = np.asarray(self.codec.encode(COMMAND_PROMPT), dtype=np.int32)
        longest = self.tokens.max_command_len
        if longest + 1 > self.max_new_tokens:
            raise ValueError(
                f"max_new_tokens={self.max_new_tokens} is too short for {game.name}: the command "
                f"{self.tokens.longest_command!r} takes {longest} tokens plus end-of-sequence; "
                f"use max_new_tokens >= {longest + 1}"
            )
        self._node: CommandTrie | None = None
        self._command_ended = False
        self._game_rng: np.random.Generator | None = None

    # ---------------------------------------------------------------------------------------------- layout

    def _prompt(self, text: GameText) -> Sample:
        ids = self.tokens.text_ids(text, self.max_prompt_len, self._suffix)
        return Sample(prompt=f"{text}{COMMAND_PROMPT}", prompt_ids=ids.tolist())

    # ----------------------------------------------------------------------------------------- task hooks

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        game_rng = copy.deepcopy(self.np_random)  # the draw of this game, for repeat_task
        sample = self._new_game(self.np_random)
        self._game_rng = game_rng
        return sample

    def _repeat_sample(self) -> Sample:
        # The same game from its start: the game is drawn again from a copy of the generator as it was.
        if self._game_rng is None:
            raise RuntimeError("reset(options={'repeat_task': True}) has no game to repeat; reset once without it")
        return self._new_game(copy.deepcopy(self._game_rng))

    def _new_game(self, rng: np.random.Generator) -> Sample:
        try:
            return self._prompt(self.game.reset(rng=rng))
        except BaseException:
            self._status = "new"  # the game was (partly) reset: the previous episode cannot go on
            raise

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        result: StepResult = self.game.step(completion)
        prompt = self._sample_.prompt
        self._lay_out(self._prompt(self.game.text()))
        self._node = None if result.done else self.tokens.trie
        self._command_ended = True
        info = {
            "prompt": prompt,
            "completion": completion,
            "command": result.command,
            "valid": result.valid,
            "feedback": result.feedback,
            "reward_components": result.components,
            "score": self.game.score,
            "turn": self.game.turn,
            "won": result.won,
            "admissible_commands": list(self.game.admissible_commands()),
        }
        return result.reward, result.done, info

    # --------------------------------------------------------------------------------------- gym interface

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        obs, info = super().reset(seed=seed, options=options)
        self._node = self.tokens.trie
        info["admissible_commands"] = list(self.game.admissible_commands())
        return obs, info

    def step(self, action: Any):
        ended_before, self._command_ended = self._command_ended, False
        try:
            obs, reward, terminated, truncated, info = super().step(action)
        except BaseException:
            self._command_ended = ended_before  # a refused step leaves the env as it was
            raise
        if not self._command_ended and self._node is not None:
            self._node = self._node.child(int(self._ids[self._pos - 1]))
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Legal tokens now: those continuing an admissible command; end-of-sequence where one is complete.

        Once the written tokens have left every admissible command (possible only without the mask), or when
        the game is over, only end-of-sequence is offered, which ends the command.
        """
        mask = np.zeros(self._vocab, dtype=bool)
        node = self._node
        if node is not None:
            admissible = self.game.admissible_set().__contains__
            allowed = node.allowed_tokens(admissible)
            mask[allowed] = True
            if node.complete(admissible) is not None:
                mask[self._eos] = True
            elif not len(allowed):
                node = None  # the tokens written lead to no admissible command any more
        if node is None:
            mask[self._eos] = True
        return mask

    @property
    def admissible_commands(self) -> list[str]:
        """The game's admissible commands now, sorted."""
        return list(self.game.admissible_commands())

    def close(self) -> None:
        self.game.close()
        super().close()


_MODE_SECTIONS = {
    "Description": (
        "Token level: an episode is a whole game. The policy writes each command token by token after the game's\n"
        "text and ends it with the end-of-sequence token; the game answers and the context is laid out again,\n"
        "``[new game text + '\\n>' | pad]``, so observations keep the ``(L,)`` contract however long the game."
    ),
    "Action Space": (
        "``Discrete(vocab_size)`` of the tokenizer (4096 for the embedded one): the next token of the command;\n"
        "end-of-sequence ends it. Commands are matched as text (:func:`normalise_command`), so any tokenisation\n"
        "of an admissible command counts. ``action_masks()`` (bool, ``(vocab_size,)``, for sb3-contrib's\n"
        "MaskablePPO) walks a token trie of the game's commands, each tokenised with a leading space, filtered\n"
        "by what is admissible now: it offers the tokens that continue some admissible command, and\n"
        "end-of-sequence exactly where the tokens written form a whole admissible command. Once the tokens\n"
        "written lead to no admissible command (possible only without the mask) it offers end-of-sequence only."
    ),
    "Observation Space": (
        "| key              | dtype | shape | content                                                      |\n"
        "|------------------|-------|-------|--------------------------------------------------------------|\n"
        "| ``input_ids``      | int32 | (L,)  | ``[game text + '\\n>' | command so far | pad]``, pad id after |\n"
        "| ``attention_mask`` | int8  | (L,)  | 1 on text and command tokens, 0 on padding                   |\n\n"
        "L = ``max_prompt_len + max_new_tokens``. The game text is, one part per line: ``Goal: <goal>`` (if any), the\n"
        "feedback to the last command, ``Turns left: N.`` and the game's status, then the description. Lines are\n"
        "tokenised one by one and joined by the newline token; text that does not fit ``max_prompt_len`` with the\n"
        "``\\n>`` command prompt is cut at its end (the oldest history goes first); the prompt is always kept."
    ),
    "Rewards": (
        "Per step, a delta: the game's score change arrives on the step that ends a command; every other token\n"
        "step earns 0. That step's ``info`` holds ``reward_components``, ``completion`` (the text written),\n"
        "``command`` (what the game played), ``valid``, ``feedback``, ``score``, ``turn``, ``won``, ``prompt``,\n"
        "``ended_by`` and the next ``admissible_commands``."
    ),
    "Episode End": (
        "A command ends on end-of-sequence or when ``max_new_tokens`` tokens are written; text that is not an\n"
        "admissible command is an unknown command (the game's response, the invalid penalty, the game goes on).\n"
        "Termination: only when the game ends. Truncation: the registered ``TimeLimit`` at ``max_turns *\n"
        "max_new_tokens`` token steps, which falls at the latest on the step where the game's turns run out.\n\n"
        "Through ``TextActionWrapper`` one call writes one command and its end-of-sequence token; text longer\n"
        "than ``max_new_tokens - 1`` tokens fills one command's budget and the rest is written as the next one."
    ),
}


def _token_doc(game_cls: type[TextGame], env_id: str, cmd_id: str, prompt_len: int, new_tokens: int) -> str:
    arguments = (
        f"- ``level`` (1): {levels_text(game_cls.LEVELS)}.\n"
        f"- ``max_turns`` (None: {game_cls.DEFAULT_MAX_TURNS}): turns per game; ``gym.make`` fits the\n"
        "  ``TimeLimit`` to it (``max_turns * max_new_tokens`` steps).\n"
        "- ``tokenizer`` (None: the embedded one): a tokenizer object, local path or hub id.\n"
        f"- ``max_prompt_len`` (None: {prompt_len}), ``max_new_tokens`` (None: {new_tokens}): token budgets.\n"
        "- ``game_kwargs``: the game's options (below).\n"
        "- ``render_mode``: ``None``, ``'ansi'``, ``'human'`` or ``'rgb_array'``.\n"
        "- ``reset(options={'repeat_task': True})`` plays the current game again from its start (the only option).\n"
        "\n"
        f'```python\nenv = gym.make("{env_id}"{level_argument(game_cls, 2)})\n```'
    )
    variants = (
        f"``{env_id}`` (token level, ``max_episode_steps`` {game_cls.DEFAULT_MAX_TURNS * new_tokens}) and\n"
        f"``{cmd_id}`` (command level); pick the level with ``level=``."
    )
    sections = {**_MODE_SECTIONS, "Arguments": arguments, "Variants": variants}
    return env_docstring(game_cls, list(sections.items()))


class TwentyQuestionsEnv(TextGameTokenEnv):
    game_cls = TwentyQuestions
    default_max_prompt_len = 320
    default_max_new_tokens = 16


class WordleEnv(TextGameTokenEnv):
    game_cls = Wordle
    default_max_prompt_len = 224
    default_max_new_tokens = 8


class TextNavEnv(TextGameTokenEnv):
    game_cls = TextNav
    default_max_prompt_len = 128
    default_max_new_tokens = 16


class CoinCollectorEnv(TextGameTokenEnv):
    game_cls = CoinCollector
    default_max_prompt_len = 128
    default_max_new_tokens = 8
