"""Tokenizers for environments and models: the embedded default and any Hugging Face tokenizer.

Environments need four things from a tokenizer: encode a prompt once per episode, decode a completion
once per episode, the vocabulary size (the action space) and the end-of-sequence and padding ids.
:class:`TokenCodec` gives exactly that over either a raw ``tokenizers.Tokenizer`` (what the embedded default
is, cheap to import in every subprocess) or any ``transformers`` tokenizer.

Example:
    >>> from tokengym.tokenizer import load_tokenizer
    >>> codec = load_tokenizer()           # the embedded default
    >>> ids = codec.encode("Hello there!")
    >>> codec.decode(ids)
    'Hello there!'
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.json",
    "vocab.txt",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
)
"""Files of which a folder holds at least one when ``save_pretrained`` wrote a tokenizer into it."""

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|pad|>"
SPECIAL_TOKENS = (EOS_TOKEN, PAD_TOKEN)


def default_tokenizer_dir() -> Path:
    """Folder of the embedded default tokenizer (and, once trained, the default model)."""
    return Path(str(resources.files("tokengym") / "assets" / "tiny"))


class TokenCodec:
    """Encode/decode adapter over a ``tokenizers.Tokenizer`` or a ``transformers`` tokenizer.

    Args:
        backend: a ``tokenizers.Tokenizer`` or a ``transformers.PreTrainedTokenizerBase``.
        name: how the tokenizer is named in messages and checkpoints.

    Raises:
        ValueError: if the tokenizer has no end-of-sequence token.
    """

    def __init__(self, backend: Any, name: str = "custom") -> None:
        self.backend = backend
        self.name = name
        self._is_raw = _is_raw_tokenizer(backend)
        if self._is_raw:
            self.vocab_size = int(backend.get_vocab_size(with_added_tokens=True))
            eos = backend.token_to_id(EOS_TOKEN)
            pad = backend.token_to_id(PAD_TOKEN)
        else:
            self.vocab_size = len(backend)
            eos = backend.eos_token_id
            pad = backend.pad_token_id
        if eos is None:
            raise ValueError(
                f"tokenizer {name!r} has no end-of-sequence token; set one (for a transformers tokenizer: "
                "tokenizer.eos_token = '...') so that episodes can end"
            )
        self.eos_id = int(eos)
        # Padding is masked out by attention_mask, so a tokenizer without a pad token pads with EOS.
        self.pad_id = int(pad) if pad is not None else self.eos_id

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, with no special tokens added."""
        if self._is_raw:
            return self.backend.encode(text, add_special_tokens=False).ids
        return self.backend.encode(text, add_special_tokens=False)

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        """Token ids of several texts at once (parallel in the Rust backend)."""
        if self._is_raw:
            return [e.ids for e in self.backend.encode_batch(texts, add_special_tokens=False)]
        return [self.backend.encode(t, add_special_tokens=False) for t in texts]

    def decode(self, ids: Any) -> str:
        """Text of ``ids`` with special tokens removed."""
        ids = [int(i) for i in ids]
        return self.backend.decode(ids, skip_special_tokens=True)

    def token_text(self, token_id: int) -> str:
        """Printable form of one token (for rendering and debugging)."""
        return (
            self.decode([token_id])
            if token_id not in (self.eos_id, self.pad_id)
            else (EOS_TOKEN if token_id == self.eos_id else PAD_TOKEN)
        )

    def __repr__(self) -> str:
        return f"TokenCodec({self.name!r}, vocab_size={self.vocab_size})"


def _is_raw_tokenizer(obj: Any) -> bool:
    try:
        from tokenizers import Tokenizer
    except ImportError:  # pragma: no cover - tokenizers is a hard dependency
        return False
    return isinstance(obj, Tokenizer)


def load_tokenizer(spec: Any = None) -> TokenCodec:
    """Load a tokenizer for an environment.

    Args:
        spec: ``None`` or ``"tiny"`` for the embedded default; a :class:`TokenCodec`; a ``tokenizers.Tokenizer``
            or ``transformers`` tokenizer object; a local folder or ``tokenizer.json`` file; or a Hugging Face hub
            id (needs network access, or the hub cache).

    Returns:
        A :class:`TokenCodec`.

    Raises:
        TypeError: if ``spec`` is none of the above.
        OSError: if a path or hub id cannot be loaded (offline, the message says how to use a local path).
    """
    if spec is None or spec == "tiny":
        from tokenizers import Tokenizer

        path = default_tokenizer_dir() / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"the embedded tokenizer is missing at {path}; rebuild it with `python -m tokengym.assets.build`"
            )
        return TokenCodec(Tokenizer.from_file(str(path)), name="tiny")
    if isinstance(spec, TokenCodec):
        return spec
    if isinstance(spec, os.PathLike):
        spec = os.fspath(spec)
    if isinstance(spec, str):
        path = Path(spec).expanduser()
        if path.is_file() and path.suffix == ".json":
            from tokenizers import Tokenizer

            return TokenCodec(Tokenizer.from_file(str(path)), name=str(path))
        if path.is_dir() and not any((path / name).is_file() for name in TOKENIZER_FILES):
            return _folder_without_tokenizer(path)
        return TokenCodec(_auto_tokenizer(spec), name=spec)
    if _is_raw_tokenizer(spec) or hasattr(spec, "eos_token_id"):
        return TokenCodec(spec, name=getattr(spec, "name_or_path", None) or type(spec).__name__)
    raise TypeError(
        f"tokenizer must be None, 'tiny', a path, a hub id or a tokenizer object, not {type(spec).__name__}"
    )


class TokenizerWarning(UserWarning):
    """A model folder without tokenizer files was given the embedded tokenizer, whose vocabulary it matches."""


_WARNED: set[str] = set()  # folders already warned about in this process (the env and the policy both load)


def _folder_without_tokenizer(path: Path) -> TokenCodec:
    """The tokenizer of a model folder that holds none: the embedded one when the model's vocabulary is the
    embedded tokenizer's size (with a :class:`TokenizerWarning` saying so), else a ``FileNotFoundError``.

    ``transformers`` would otherwise build an empty tokenizer of one token from such a folder, which fails later
    with errors that do not name the cause (a prompt of 0 tokens, an action outside ``Discrete(1)``).
    """
    import contextlib
    import json
    import warnings

    embedded = load_tokenizer()
    model_vocab = None
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no readable config: not a model folder
        model_vocab = json.loads((path / "config.json").read_text(encoding="utf-8")).get("vocab_size")
    if model_vocab == embedded.vocab_size:
        if str(path.resolve()) in _WARNED:
            return embedded
        _WARNED.add(str(path.resolve()))
        warnings.warn(
            f"{str(path)!r} holds no tokenizer files; its model's vocabulary has {model_vocab:,} tokens, as the "
            "embedded tokenizer's, so that one is used. If the model was trained with another tokenizer, save it "
            "beside the model (tokenizer.save_pretrained(folder))",
            TokenizerWarning,
            stacklevel=3,
        )
        return embedded
    size = f" (its model has {model_vocab:,} tokens)" if isinstance(model_vocab, int) else ""
    raise FileNotFoundError(
        f"{str(path)!r} holds no tokenizer{size}: none of {', '.join(TOKENIZER_FILES[:3])}... Save the tokenizer the "
        "model was trained with beside it: tokenizer.save_pretrained(folder) (AutoTokenizer.from_pretrained(<its "
        "source>) loads it; for the embedded one, copy tokenizer.json and tokenizer_config.json from "
        f"{default_tokenizer_dir()})"
    )


def _auto_tokenizer(name_or_path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(name_or_path)
    except OSError as err:
        if Path(name_or_path).expanduser().exists():
            raise OSError(f"could not load a tokenizer from the folder {name_or_path!r}: {err}") from err
        raise OSError(
            f"could not load tokenizer {name_or_path!r}: it is not a local folder and the Hugging Face hub could "
            "not provide it (offline?). Download it where you have network access "
            "(`AutoTokenizer.from_pretrained(id).save_pretrained('some/folder')`) and pass tokenizer='some/folder'."
        ) from err
