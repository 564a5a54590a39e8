"""Load causal language models and their tokenizers: the embedded "tiny" or any Hugging Face model.

Example:
    >>> from tokengym.agents import load_lm
    >>> model, tokenizer = load_lm("tiny")
    >>> model.config.n_layer, tokenizer.vocab_size
    (4, 4096)
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from tokengym.tokenizer import TokenCodec, default_tokenizer_dir, load_tokenizer

WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
EMBEDDED = {"tiny": default_tokenizer_dir}


def model_names() -> list[str]:
    """Names of the embedded models (any Hugging Face id or local folder works too)."""
    return sorted(EMBEDDED)


def resolve_model_path(name: str | os.PathLike[str]) -> str:
    """The folder or hub id to load ``name`` from; checks local folders for weights.

    Raises:
        FileNotFoundError: a local folder without weights, or the embedded model missing from the install.
    """
    name = os.fspath(name)
    if name in EMBEDDED:
        path = EMBEDDED[name]()
        if not (path / "model.safetensors").is_file():
            raise FileNotFoundError(
                f"the embedded model {name!r} has no weights in {path}; rebuild it with "
                "`python -m tokengym.agents.supervised.pretrain`"
            )
        return str(path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise FileNotFoundError(f"{name!r} is a file; pass the folder holding config.json and the weights")
        if not (path / "config.json").is_file() or not any((path / f).is_file() for f in WEIGHT_FILES):
            raise FileNotFoundError(
                f"{name!r} holds no model: expected config.json and one of {', '.join(WEIGHT_FILES)} "
                "(save one with model.save_pretrained(folder))"
            )
        return str(path)
    looks_like_path = name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
    if looks_like_path:
        raise FileNotFoundError(f"model folder {name!r} does not exist")
    return name


def model_config(name: str | os.PathLike[str]) -> Any:
    """The model's ``transformers`` configuration, read without loading its weights (a JSON file).

    Example:
        >>> model_config("tiny").vocab_size
        4096

    Raises:
        FileNotFoundError: as :func:`resolve_model_path`.
        OSError: a hub id that cannot be reached.
    """
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(resolve_model_path(name))


def output_size(model: Any) -> int:
    """How many tokens the causal LM ``model`` scores (the rows of its output embedding).

    Example:
        >>> output_size(load_lm("tiny")[0])
        4096
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if head is not None and getattr(head, "weight", None) is not None:
        return int(head.weight.shape[0])
    return int(model.config.vocab_size)


def load_lm(
    name: str | os.PathLike[str] = "tiny", dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"
) -> tuple[Any, TokenCodec]:
    """Load a causal LM and its tokenizer.

    Args:
        name: ``"tiny"`` (embedded, offline), a local folder saved with ``save_pretrained``, or a Hugging Face
            hub id (needs network access or the hub cache).
        dtype: parameter dtype (the embedded weights are stored in fp16 and loaded as ``dtype``).
        device: where to put the model.

    Returns:
        ``(model, tokenizer)``: a ``transformers`` causal LM in eval mode with dropout off, and a
        :class:`~tokengym.tokenizer.TokenCodec`.

    Raises:
        KeyError: for a name that is neither embedded, a folder nor a plausible hub id.
        FileNotFoundError: for a folder without weights.
        OSError: when the hub cannot be reached, with how to use a local folder instead.
    """
    from transformers import AutoModelForCausalLM

    source = resolve_model_path(name)
    try:
        model = AutoModelForCausalLM.from_pretrained(source, dtype=dtype)
    except OSError as err:
        if source == os.fspath(name) and not Path(source).exists():
            raise OSError(
                f"could not load model {source!r}: it is not an embedded model ({', '.join(model_names())}), "
                "not a local folder, and the Hugging Face hub could not provide it (offline?). Where you have "
                "network access, run `AutoModelForCausalLM.from_pretrained(id).save_pretrained('folder')` and "
                "`AutoTokenizer.from_pretrained(id).save_pretrained('folder')`, then load_lm('folder')."
            ) from err
        raise
    tokenizer = load_tokenizer(None if str(name) in EMBEDDED else source)
    if model.get_input_embeddings().num_embeddings < tokenizer.vocab_size:
        raise ValueError(
            f"model {str(name)!r} has {model.get_input_embeddings().num_embeddings} token embeddings but its "
            f"tokenizer has {tokenizer.vocab_size} tokens"
        )
    disable_dropout(model)
    fuse_tanh_gelus(model)
    return model.to(device).eval(), tokenizer


def disable_dropout(model: torch.nn.Module) -> None:
    """Set every dropout probability to 0: PPO's ratios assume the same function at rollout and update."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    config = getattr(model, "config", None)
    for attr in ("resid_pdrop", "embd_pdrop", "attn_pdrop", "dropout", "attention_dropout", "hidden_dropout"):
        if config is not None and hasattr(config, attr):
            setattr(config, attr, 0.0)


class FusedTanhGELU(torch.nn.Module):
    """``F.gelu(x, approximate="tanh")``: GPT-2's GELU in one fused operation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")


@functools.cache
def _transformers_tanh_gelus() -> tuple[type, ...]:
    """transformers' modules for GPT-2's ``gelu_new``, ``gelu_fast`` and ``gelu_pytorch_tanh`` (the first two
    written out in eight elementwise operations)."""
    from transformers import activations

    names = ("NewGELUActivation", "FastGELUActivation", "GELUTanh", "PytorchGELUTanh")  # the last: older name
    return tuple(cls for name in names if isinstance(cls := getattr(activations, name, None), type))


def tanh_gelu_classes() -> tuple[type, ...]:
    """The activation modules that compute ``F.gelu(x, approximate="tanh")``: transformers' and
    :class:`FusedTanhGELU`."""
    return (*_transformers_tanh_gelus(), FusedTanhGELU)


def fuse_tanh_gelus(model: torch.nn.Module) -> int:
    """Replace every tanh-approximated GELU module of ``model`` with :class:`FusedTanhGELU`; returns how many.

    The same function to rounding (about 1e-7), computed and backpropagated in one operation: GPT-2's
    ``gelu_new`` written out costs a small model several percent of its training pass. The config is left
    alone, so a model saved afterwards loads as before.
    """
    slow = _transformers_tanh_gelus()
    replaced = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) in slow:
                setattr(module, name, FusedTanhGELU())
                replaced += 1
    return replaced
