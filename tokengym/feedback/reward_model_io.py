"""Reward models on disk and in memory: the folder format, loading with its checks, and scoring.

A trained reward model (:mod:`tokengym.feedback.reward_model` trains one) is a folder, written atomically,
nothing pickled::

    models/rm/
      config.json            the transformers configuration (base architecture, one label, the pad id)
      model.safetensors      the weights, head included
      tokenizer.json ...     the tokenizer files
      reward_model.json      format, base model, head, max_length, tokenizer fingerprint, SHA-256 of the weights,
                             score mean and spread over the training completions, the training report

:func:`load_reward_model` refuses a folder without ``reward_model.json``, weights or configuration
(:class:`RewardModelNotFoundError`), weights whose SHA-256 is not the recorded one
(:class:`RewardModelChecksumError`), and a tokenizer that differs from the one the head was trained with
(:class:`RewardModelTokenizerError`). Loading needs no training code: :mod:`tokengym.rewards.learned` scores
replies through this module alone.

Example:
    >>> from tokengym.feedback.reward_model_io import load_reward_model
    >>> rm = load_reward_model("models/rm")  # doctest: +SKIP
    >>> rm.score(["User: Hi!\\nAssistant:"] * 2, ["Hello! Happy to help.", "Go away."])  # doctest: +SKIP
    [1.92, -2.41]
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from tokengym.data.loaders import sha256_file
from tokengym.tokenizer import TokenCodec, load_tokenizer

__all__ = [
    "DESCRIPTION_FILE",
    "FORMAT",
    "WEIGHTS_FILE",
    "RewardModel",
    "RewardModelChecksumError",
    "RewardModelError",
    "RewardModelNotFoundError",
    "RewardModelTokenizerError",
    "encode_pair",
    "load_reward_model",
    "read_description",
    "save_reward_model",
    "tokenizer_fingerprint",
]

FORMAT = "tokengym-reward-model"
FORMAT_VERSION = 1
DESCRIPTION_FILE = "reward_model.json"
WEIGHTS_FILE = "model.safetensors"
# Encoded by the fingerprint: two tokenizers with one vocabulary but different merges or normalisers differ here.
_PROBE = "Hello there! Could you help me, please? It's 12:30 -- naïve café, 東京, don't."


class RewardModelError(ValueError):
    """A reward model folder that cannot be used."""


class RewardModelNotFoundError(RewardModelError, FileNotFoundError):
    """No reward model where one was named: no such folder, or no ``reward_model.json``, weights or configuration."""


class RewardModelChecksumError(RewardModelError):
    """The weights' SHA-256 is not the one ``reward_model.json`` records (a damaged or replaced file)."""


class RewardModelTokenizerError(RewardModelError):
    """The folder's tokenizer is not the one the reward model was trained with."""


def encode_pair(codec: TokenCodec, prompt: str, completion: str, max_length: int) -> list[int]:
    """The token ids a reward model scores: ``prompt + " " + completion.strip() + EOS``, cut to ``max_length``.

    The completion keeps its first ``max_length - 2`` tokens at most; the prompt keeps its newest tokens in the
    room left (at least one).

    Example:
        >>> from tokengym.tokenizer import load_tokenizer
        >>> codec = load_tokenizer()
        >>> ids = encode_pair(codec, "User: Hi!\\nAssistant:", "Hello!", max_length=64)
        >>> codec.decode(ids), ids[-1] == codec.eos_id
        ('User: Hi!\\nAssistant: Hello!', True)
    """
    reply = codec.encode(" " + completion.strip())[: max_length - 2] + [codec.eos_id]
    context = codec.encode(prompt)[-(max_length - len(reply)) :] if prompt else []
    return context + reply


def tokenizer_fingerprint(codec: TokenCodec) -> str:
    """SHA-256 of what makes a tokenizer: its vocabulary, end-of-sequence and pad ids, and a probe text's ids."""
    backend = codec.backend
    vocab = backend.get_vocab(with_added_tokens=True) if hasattr(backend, "get_vocab_size") else backend.get_vocab()
    blob = json.dumps(
        {"vocab": sorted(vocab.items()), "eos": codec.eos_id, "pad": codec.pad_id, "probe": codec.encode(_PROBE)},
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class RewardModel:
    """A reward model ready to score: the model, its tokenizer and its description (``reward_model.json``).

    Build one with :func:`~tokengym.feedback.reward_model.train_reward_model` or :func:`load_reward_model`.

    Example:
        >>> rm = load_reward_model("models/rm")  # doctest: +SKIP
        >>> rm.score(["User: Hi!\\nAssistant:"] * 2, ["Hello! Happy to help.", "Go away."])  # doctest: +SKIP
        [1.92, -2.41]
    """

    def __init__(self, model: Any, codec: TokenCodec, description: dict[str, Any], path: Path | None = None) -> None:
        self.model = model
        self.codec = codec
        self.description = description
        self.path = path

    @property
    def report(self) -> dict[str, Any]:
        """The training report: pairs, held-out accuracy and its interval, gold agreement, losses, minutes."""
        return self.description.get("report", {})

    @property
    def max_length(self) -> int:
        return int(self.description["max_length"])

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def score_ids(self, sequences: Sequence[Sequence[int]], batch_size: int = 32, grad: bool = False) -> torch.Tensor:
        """Scores of token-id sequences (right-padded into batches of ``batch_size``), shape ``(n,)``."""
        out = []
        with torch.set_grad_enabled(grad):
            for start in range(0, len(sequences), batch_size):
                ids, mask = _pad(sequences[start : start + batch_size], self.codec.pad_id, self.device)
                out.append(self.model(input_ids=ids, attention_mask=mask).logits[:, 0].float())
        return torch.cat(out) if out else torch.zeros(0)

    def score(
        self, prompts: Sequence[str], completions: Sequence[str], batch_size: int = 32, normalize: bool = False
    ) -> list[float]:
        """One score per completion. ``normalize`` standardises with the mean and spread of the scores of the
        training completions (``reward_model.json``'s ``score_mean`` and ``score_std``)."""
        if len(prompts) != len(completions):
            raise ValueError(f"got {len(prompts)} prompts but {len(completions)} completions")
        sequences = [encode_pair(self.codec, p, c, self.max_length) for p, c in zip(prompts, completions, strict=True)]
        order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]))  # batches of similar lengths
        was_training = self.model.training
        self.model.eval()
        try:
            scores = self.score_ids([sequences[i] for i in order], batch_size).tolist()
        finally:
            self.model.train(was_training)
        out = [0.0] * len(sequences)
        for rank, i in enumerate(order):
            out[i] = scores[rank]
        if normalize:
            mean, std = float(self.description["score_mean"]), float(self.description["score_std"])
            out = [(s - mean) / std for s in out]
        return out


def _pad(sequences: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        mask[row, : len(seq)] = 1
    return ids.to(device), mask.to(device)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Hide transformers' progress bars and load report (a new head is "missing" from a causal LM's weights)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


# ------------------------------------------------------------------------------------------ save / load


def save_reward_model(rm: RewardModel, out: str | os.PathLike[str]) -> Path:
    """Write ``rm`` to the folder ``out`` atomically (staged beside it, flushed, renamed); returns the folder."""
    from tokengym.agents.running.atomic import fsync_tree, move_into_place, staging_folder
    from tokengym.agents.running.checkpoint import library_versions
    from tokengym.agents.supervised.sft import save_tokenizer_files

    out = Path(out)
    staging = staging_folder(out)
    try:
        with quiet_transformers():
            rm.model.save_pretrained(str(staging), safe_serialization=True)
        save_tokenizer_files(rm.description.get("base", "tiny"), rm.codec, staging)
        config = rm.model.config
        description = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            **rm.description,
            "architecture": getattr(config, "model_type", type(rm.model).__name__),
            "head": {"kind": "linear", "outputs": 1, "pooling": "last token that is not padding"},
            "tokenizer": {
                "fingerprint": tokenizer_fingerprint(rm.codec),
                "vocab_size": rm.codec.vocab_size,
                "eos_id": rm.codec.eos_id,
                "pad_id": rm.codec.pad_id,
            },
            "weights": {"file": WEIGHTS_FILE, "sha256": sha256_file(staging / WEIGHTS_FILE)},
            "versions": library_versions(),
        }
        (staging / DESCRIPTION_FILE).write_text(json.dumps(description, indent=2, allow_nan=False) + "\n")
        fsync_tree(staging)
        move_into_place(staging, out)
    except BaseException:
        import shutil

        shutil.rmtree(staging, ignore_errors=True)
        raise
    rm.description, rm.path = description, out
    return out


def read_description(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``reward_model.json`` of a reward model folder, checked to describe one whose weights are there.

    This reads no weights (the learned reward calls it when an environment is built, to fail early).

    Raises:
        RewardModelNotFoundError: no such folder, no ``reward_model.json``, no weights or no ``config.json``.
        RewardModelError: a ``reward_model.json`` that is not a tokengym reward model's description.
    """
    folder = Path(path).expanduser()
    if not folder.exists():
        raise RewardModelNotFoundError(f"reward model folder {os.fspath(path)!r} does not exist")
    if not folder.is_dir():
        raise RewardModelNotFoundError(f"{os.fspath(path)!r} is a file; name the folder that holds the reward model")
    file = folder / DESCRIPTION_FILE
    if not file.is_file():
        raise RewardModelNotFoundError(
            f"{os.fspath(path)!r} holds no reward model (no {DESCRIPTION_FILE}); train one with "
            "`python -m tokengym.feedback.reward_model --prefs FILE --out DIR`"
        )
    try:
        description = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise RewardModelError(f"{file}: cannot be read as JSON ({err})") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise RewardModelError(f"{file} is not a tokengym reward model description (format {FORMAT!r})")
    if description.get("format_version") != FORMAT_VERSION:
        raise RewardModelError(
            f"{file}: format version {description.get('format_version')!r}; this tokengym reads {FORMAT_VERSION}"
        )
    for key, kind in (("weights", dict), ("tokenizer", dict), ("max_length", int), ("score_std", float)):
        if not isinstance(description.get(key), kind):
            raise RewardModelError(f"{file}: field {key!r} is missing or not a {kind.__name__}")
    if not (folder / WEIGHTS_FILE).is_file():
        raise RewardModelNotFoundError(f"reward model {os.fspath(path)!r} has no weights ({WEIGHTS_FILE} is missing)")
    if not (folder / "config.json").is_file():
        raise RewardModelNotFoundError(f"reward model {os.fspath(path)!r} has no model configuration (config.json)")
    return description


def load_reward_model(path: str | os.PathLike[str], device: str | torch.device = "cpu") -> RewardModel:
    """Load a reward model folder written by :func:`save_reward_model`, after checking it.

    Raises:
        RewardModelNotFoundError: no such folder, no ``reward_model.json``, or no weights.
        RewardModelChecksumError: the weights' SHA-256 is not the recorded one.
        RewardModelTokenizerError: the folder's tokenizer is not the one the model was trained with.
        RewardModelError: a damaged description.
    """
    from transformers import AutoModelForSequenceClassification

    folder = Path(path).expanduser()
    description = read_description(folder)
    recorded = description["weights"].get("sha256")
    actual = sha256_file(folder / WEIGHTS_FILE)
    if actual != recorded:
        raise RewardModelChecksumError(
            f"{folder / WEIGHTS_FILE}: SHA-256 {actual[:16]}... differs from the recorded {str(recorded)[:16]}...; "
            "the weights were damaged or replaced: train or copy the reward model again"
        )
    try:
        codec = load_tokenizer(str(folder))
    except (OSError, ValueError) as err:
        raise RewardModelTokenizerError(f"{folder}: the tokenizer files cannot be loaded ({err})") from None
    if tokenizer_fingerprint(codec) != description["tokenizer"].get("fingerprint"):
        raise RewardModelTokenizerError(
            f"{folder}: the tokenizer differs from the one the reward model was trained with (vocabulary "
            f"{codec.vocab_size} tokens, {description['tokenizer'].get('vocab_size')} recorded); put its own "
            "tokenizer files back, or train a reward model with this tokenizer"
        )
    with quiet_transformers():
        model = AutoModelForSequenceClassification.from_pretrained(str(folder), dtype=torch.float32)
    for p in model.parameters():
        p.requires_grad_(False)
    return RewardModel(model.to(device).eval(), codec, description, folder)
