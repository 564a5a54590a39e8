"""Token ids of game text and commands, shared by the token-level and the command-level game environments.

Text layout (both modes): the lines of :meth:`GameText.lines` — ``Goal: ...``, the feedback, the status line
(``Turns left: N.`` and the game's state), then the description — each tokenised on its own and joined with
the newline token, so a step re-tokenises only the lines it has not seen before. Text too long for its
budget is cut at its end; games put the oldest information last, so that goes first.

With a byte-level BPE whose pre-tokenizer splits before every space (GPT-2's, the embedded tokenizer's), a
line's ids are the ids of its space-separated words joined, so new lines are built from cached words; this is
checked against whole-line encoding when the tokenizer is loaded and used only where it is identical.

Commands are tokenised with a leading space (``" go north"``), the way they follow the ``>`` prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tokengym.envs.games.base import CommandTrie, GameText, TextGame
from tokengym.tokenizer import TokenCodec

_CACHE_LIMIT = 20_000


class GameTokenizer:
    """Cached token ids of one game's text and commands for one tokenizer.

    Args:
        codec: the environment's tokenizer.
        game: the game, a class or an instance; its vocabulary (:meth:`~TextGame.command_vocabulary`, or an
            instance's :meth:`~TextGame.vocabulary`) is tokenised once, here.

    Example:
        >>> from tokengym.envs.games import Wordle
        >>> from tokengym.tokenizer import load_tokenizer
        >>> tok = GameTokenizer(load_tokenizer(), Wordle)
        >>> codec = load_tokenizer()
        >>> codec.decode(tok.command_ids["crane"])
        ' crane'
    """

    def __init__(self, codec: TokenCodec, game: TextGame | type[TextGame]) -> None:
        self.codec = codec
        vocabulary = game.vocabulary() if isinstance(game, TextGame) else game.command_vocabulary()
        encoded = codec.encode_batch([" " + c for c in vocabulary])
        self.command_ids: dict[str, tuple[int, ...]] = {
            c: tuple(ids) for c, ids in zip(vocabulary, encoded, strict=True)
        }
        self.max_command_len = max(len(ids) for ids in encoded)
        self.longest_command = max(vocabulary, key=lambda c: len(self.command_ids[c]))
        self._row = {c: k for k, c in enumerate(vocabulary)}
        rows, width = len(vocabulary), self.max_command_len
        self.id_table = np.full((rows, width), codec.pad_id, dtype=np.int32)
        self.mask_table = np.zeros((rows, width), dtype=np.int8)
        for k, ids in enumerate(encoded):
            self.id_table[k, : len(ids)] = ids
            self.mask_table[k, : len(ids)] = 1
        self.newline = np.asarray(codec.encode("\n"), dtype=np.int32)
        self._lines: dict[str, np.ndarray] = {}
        self._words: dict[str, list[int]] = {}
        self._by_words = _splits_before_spaces(codec)
        self._rows: dict[tuple[str, ...], np.ndarray] = {}
        self.trie = CommandTrie([(self.command_ids[c], c) for c in vocabulary])

    def line_ids(self, line: str) -> np.ndarray:
        """Token ids of one line of text (cached)."""
        ids = self._lines.get(line)
        if ids is None:
            if len(self._lines) >= _CACHE_LIMIT:
                self._lines.clear()
            ids = self._lines[line] = np.asarray(self._encode_line(line), dtype=np.int32)
        return ids

    def _encode_line(self, line: str) -> list[int]:
        words = line.split(" ")
        if not self._by_words or "" in words:
            return self.codec.encode(line)
        cache = self._words
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        ids: list[int] = []
        for i, word in enumerate(words):
            piece = word if i == 0 else " " + word
            found = cache.get(piece)
            if found is None:
                found = cache[piece] = self.codec.encode(piece)
            ids += found
        return ids

    def text_ids(self, text: GameText, budget: int, suffix: np.ndarray | None = None) -> np.ndarray:
        """The text's ids, cut at the end to ``budget`` tokens with ``suffix`` (kept whole) after the cut."""
        parts: list[np.ndarray] = []
        for line in text.lines():
            if parts:
                parts.append(self.newline)
            parts.append(self.line_ids(line))
        ids = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
        room = budget - (0 if suffix is None else len(suffix))
        if len(ids) > room:
            ids = ids[:room]
        return ids if suffix is None else np.concatenate([ids, suffix])

    def rows(self, commands: tuple[str, ...]) -> np.ndarray:
        """Rows of ``id_table`` / ``mask_table`` for ``commands`` (cached by the tuple)."""
        rows = self._rows.get(commands)
        if rows is None:
            if len(self._rows) >= _CACHE_LIMIT:
                self._rows.clear()
            rows = self._rows[commands] = np.fromiter((self._row[c] for c in commands), np.int64, len(commands))
        return rows

    def __getstate__(self) -> dict:
        # Caches are rebuilt on demand; leaving them out keeps pickles (SubprocVecEnv, checkpoints) small.
        state = dict(self.__dict__)
        state["_lines"], state["_rows"], state["_words"] = {}, {}, {}
        return state


def env_docstring(game_cls: type[TextGame], sections: Sequence[tuple[str, str]]) -> str:
    """An environment's docstring in Gymnasium's order: the game's sections with the action mode's in between.

    ``sections`` holds the mode's ``(heading, text)`` pairs for Action Space, Observation Space, Rewards (added
    to the game's), Episode End (added), Arguments and Variants (added).
    """
    doc = game_cls.DOC
    mode = dict(sections)
    levels = "\n".join(f"- level {level}: {text}" for level, text in doc.levels.items())
    parts = [
        doc.summary,
        f"## Description\n{doc.description}\n\n{mode['Description']}",
        f"## Goal\n{doc.goal}",
        f"## Action Space\n{mode['Action Space']}\n\nCommands: {doc.commands}",
        f"## Observation Space\n{mode['Observation Space']}",
        f"## Rewards\n{doc.rewards}\n\n{mode['Rewards']}",
        f"## Starting State\n{doc.starting_state}",
        f"## Episode End\n{doc.episode_end}\n\n{mode['Episode End']}",
        f"## Arguments\n{mode['Arguments']}\n\nGame options (``game_kwargs``): {doc.options}",
        f"## Variants\n{levels}\n\n{mode['Variants']}",
        "## Version History\n- v0: initial version.",
    ]
    return "\n\n".join(parts) + "\n"


def level_argument(game_cls: type[TextGame], level: int) -> str:
    """The ``level=`` argument of a docstring's example (nothing for a game whose only level is 1)."""
    return f", level={level}" if level in game_cls.LEVELS else ""


def _splits_before_spaces(codec: TokenCodec) -> bool:
    """Whether ``codec`` tokenises ``"a b"`` as ``"a"`` then ``" b"`` (byte-level BPE with GPT-2's splitting)."""
    try:
        from tokenizers import Tokenizer, pre_tokenizers
    except ImportError:  # pragma: no cover - tokenizers is a hard dependency
        return False
    backend = codec.backend
    if not isinstance(backend, Tokenizer) or backend.normalizer is not None:
        return False
    pre = backend.pre_tokenizer
    if not isinstance(pre, pre_tokenizers.ByteLevel) or pre.add_prefix_space or not pre.use_regex:
        return False
    sample = "Goal: it's [c] (r) a n (e), 12 coins; go north? You can't go west from here."
    words = sample.split(" ")
    return codec.encode(sample) == [t for i, w in enumerate(words) for t in codec.encode(w if i == 0 else " " + w)]
