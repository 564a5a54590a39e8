"""Step a batch of growing token sequences with a key/value cache, one token per row per call.

During a rollout, SB3 asks the policy for the next action of every environment at every step, passing the whole
observation each time. Without a cache each call re-encodes every prefix: O(n) work per token, O(n^2) per
episode. Observations of one environment grow by exactly one token per step, so :class:`IncrementalDecoder`
keeps each row's keys and values and feeds only the new token. A row whose observation is not its previous one
plus a token (a new episode, a user's turn inserted by the environment) is encoded afresh from its observation;
other rows are not disturbed. The result is the same logits and hidden states as a full forward pass, to
floating-point rounding (about 1e-6 in log-probability).

Observations are laid out contiguously from position 0, so the cache is preallocated once per batch shape: per
layer, ``(B, heads, L, head_dim)`` keys and values whose column ``p`` holds the token at position ``p`` of that
row. A step writes one column per row in place (no concatenation, no growing tensors) and attends over the
columns before each row's length; a fresh row overwrites its first columns, and whatever lies beyond a row's
length is masked out. The model is run through its own cache interface with a prepared 4D mask,
so any Hugging Face causal LM whose attention calls ``Cache.update`` takes it.

A one-token step of a small model costs less in arithmetic than in Python: the model's forward wrappers (output
capturing, mask preparation, cache dispatch) take longer than its matrix products. For GPT-2 bodies (the embedded
default model and its family) the step is therefore written out with PyTorch's functions on the model's own
weights (gathered at the first step after each reset) and PyTorch's fused attention; other architectures, GPT-2
variants this step does not cover, and blocks whose modules were replaced or hooked take the model's forward.
After replacing a module or a parameter object of a model in use, call ``reset()``.

The decoder notices when the model's weights change (a training update, a loaded checkpoint) and starts over,
so cached states never come from old weights. When to take this pass rather than the full one is decided in one
place, :class:`~tokengym.agents.lm.states.LastTokenStates`.

Library internals, knowingly (checked against transformers 5.x, 5.25, and PyTorch 2.x):

- The row cache is a subclass of transformers' ``CacheLayerMixin`` inside a ``Cache(layers=...)``. Both are
  public (exported by ``transformers``; a ``Cache`` is documented as a list of ``CacheLayerMixin`` layers), and no
  public layer writes each row at its own position (``DynamicLayer`` appends one column for all rows,
  ``StaticLayer`` writes at one shared position), so the subclass is needed. What a model calls on a layer
  (``update``, ``get_mask_sizes``, ``get_seq_length``, ``get_max_length``, ``is_sliding``) is the contract of the
  layered caches that came with transformers 4.56, without a deprecation cycle: bound transformers below 6.
- The body's forward takes the cache as ``cache`` since transformers 5.24 and as ``past_key_values`` before (the
  old name is accepted until 5.40), and its output's field was renamed with it; the decoder reads the forward's
  signature and uses whichever it has.
- The attention implementation is read from ``config._attn_implementation`` (private: transformers exposes no
  public getter); missing, it is taken as ``"sdpa"``.
- The written-out GPT-2 step reads GPT-2's modules (``transformers.models.gpt2.modeling_gpt2.GPT2Model``, its
  blocks' ``attn.c_attn``, ``split_size``, ``head_dim``, ``scaling``, ``mlp.c_fc``, ...): model internals, not API.
  A body or block laid out otherwise (another version, a replaced or hooked module, whose hooks it finds in
  PyTorch's private ``_forward_hooks`` and ``_forward_pre_hooks``) takes the model's own forward.
- Weight changes are seen through PyTorch's in-place version counter ``Tensor._version`` (private; what autograd
  itself checks in-place changes with).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from transformers import Cache, CacheLayerMixin, DynamicCache

from tokengym.agents.lm.loading import tanh_gelu_classes


class _RowSlots(CacheLayerMixin):
    """One layer's preallocated keys and values, written at each row's own position (transformers' public cache
    layer base; the contract it fulfils is described in the module).

    ``rows`` (``None``: every row; ``index`` then lists them all) and ``positions`` say where the next ``update``
    writes; it returns the keys and values of those rows up to ``width`` columns (a view when every row steps).
    """

    is_sliding = False
    is_compileable = False
    is_croppable = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor) -> None:
        super().__init__()
        self.keys, self.values = keys, values
        self.is_initialized = True
        self.rows: torch.Tensor | None = None
        self.index = torch.arange(keys.shape[0], device=keys.device)
        self.positions = torch.zeros(0, dtype=torch.long, device=keys.device)
        self.width = 0

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        raise AssertionError("the row cache is allocated up front")

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any):
        assert self.keys is not None and self.values is not None
        rows = self.index if self.rows is None else self.rows
        self.keys[rows, :, self.positions] = key_states[:, :, -1]
        self.values[rows, :, self.positions] = value_states[:, :, -1]
        if self.rows is None:
            return self.keys[:, :, : self.width], self.values[:, :, : self.width]
        return self.keys[self.rows, :, : self.width], self.values[self.rows, :, : self.width]

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.width, 0

    def get_seq_length(self) -> int:
        return self.width

    def get_max_length(self) -> int:
        assert self.keys is not None
        return int(self.keys.shape[2])


def _fused_tanh_gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x, approximate="tanh")


class _GPT2Layer(NamedTuple):
    """What the written-out GPT-2 step reads from one block, gathered once per weights rather than through
    several module attribute lookups per block per step (the parameters themselves, so in-place updates show)."""

    ln_1: tuple[Any, ...]  # F.layer_norm's normalized_shape, weight, bias, eps
    qkv_weight: torch.Tensor
    qkv_bias: torch.Tensor
    split: int
    head_dim: int
    scaling: float
    out_weight: torch.Tensor
    out_bias: torch.Tensor
    ln_2: tuple[Any, ...]
    fc_weight: torch.Tensor
    fc_bias: torch.Tensor
    act: Callable[[torch.Tensor], torch.Tensor]  # a tanh-approximated GELU runs fused, without a module call
    proj_weight: torch.Tensor
    proj_bias: torch.Tensor

    @classmethod
    def of(cls, block: nn.Module) -> _GPT2Layer:
        attention, mlp = block.attn, block.mlp
        return cls(
            (block.ln_1.normalized_shape, block.ln_1.weight, block.ln_1.bias, block.ln_1.eps),
            attention.c_attn.weight,
            attention.c_attn.bias,
            attention.split_size,
            attention.head_dim,
            attention.scaling,
            attention.c_proj.weight,
            attention.c_proj.bias,
            (block.ln_2.normalized_shape, block.ln_2.weight, block.ln_2.bias, block.ln_2.eps),
            mlp.c_fc.weight,
            mlp.c_fc.bias,
            _fused_tanh_gelu if type(mlp.act) in tanh_gelu_classes() else mlp.act,
            mlp.c_proj.weight,
            mlp.c_proj.bias,
        )


class IncrementalDecoder:
    """Logits and last hidden states for token-contract observations, reusing work across calls.

    Args:
        lm: a Hugging Face causal LM whose body (``.transformer`` or ``.base_model``) takes a key/value cache
            (``cache``, or ``past_key_values`` before transformers 5.24).
        gpt2_step: step GPT-2 bodies with the written-out step (same results to rounding, faster); False always
            runs the model's own forward.

    Call it with ``(ids (B, W), lengths (B,))``; it returns ``(logits (B, V), hidden (B, H))`` at each row's
    last real token, like :func:`tokengym.agents.lm.prefixes.last_token_states`. Use it only without gradients.
    """

    def __init__(self, lm: nn.Module, gpt2_step: bool = True) -> None:
        self.lm = lm
        self.body = lm.transformer if hasattr(lm, "transformer") else lm.base_model
        self.gpt2_step = gpt2_step and _is_plain_gpt2(self.body)
        # transformers 5.24 renamed the forward's ``past_key_values`` to ``cache`` (the old name goes in 5.40).
        self._cache_arg = "cache" if "cache" in inspect.signature(self.body.forward).parameters else "past_key_values"
        self.reset()

    def reset(self) -> None:
        """Forget every row."""
        self._params = list(self.lm.parameters())
        self._layers: list[_GPT2Layer] | None = None  # the GPT-2 step's weights, gathered on first use
        self.cache: Cache | None = None
        self.ids: torch.Tensor | None = None  # (B, W) the last observation of each row
        self.lengths: torch.Tensor | None = None  # (B,)
        self.version: tuple[int, ...] | None = None
        self.stats = {"fresh_rows": 0, "cached_rows": 0}

    @property
    def valid(self) -> torch.Tensor | None:
        """``(B, W)``: which cache columns hold a row's tokens (those before its length)."""
        if self.lengths is None or self.ids is None:
            return None
        return torch.arange(self.ids.shape[1], device=self.ids.device)[None, :] < self.lengths[:, None]

    @torch.no_grad()
    def __call__(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids, lengths = ids.long(), lengths.long()
        batch, width = ids.shape
        # In-place updates (optimizer steps, load_state_dict's copy_) bump each tensor's version counter.
        version = tuple(p._version for p in self._params)
        if self.ids is None or self.ids.shape != ids.shape or version != self.version or self.lengths is None:
            self.reset()
            self.version = version
            rows = torch.arange(batch, device=ids.device)
            logits, hidden = self._fresh(ids, lengths, rows)
            self.ids, self.lengths = ids.clone(), lengths.clone()
            return logits, hidden
        old, old_lengths = self.ids, self.lengths
        seen = int(old_lengths.max())
        beyond_old = torch.arange(seen, device=ids.device)[None, :] >= old_lengths[:, None]
        agree = ((ids[:, :seen] == old[:, :seen]) | beyond_old).all(-1)
        extends = (lengths == old_lengths + 1) & agree
        if bool(extends.all()):
            logits, hidden = self._step(ids, lengths, None)
        else:
            rows = torch.arange(batch, device=ids.device)
            fresh, stepped = rows[~extends], rows[extends]
            hidden = torch.empty(batch, self._hidden_size(), device=ids.device)
            logits = torch.empty(batch, self._vocab_size(), device=ids.device)
            if len(stepped):
                logits[stepped], hidden[stepped] = self._step(ids, lengths, stepped)
            logits[fresh], hidden[fresh] = self._fresh(ids, lengths, fresh)
        self.ids, self.lengths = ids.clone(), lengths.clone()
        return logits, hidden

    # ------------------------------------------------------------------------------------------- internals

    def _hidden_size(self) -> int:
        return int(self.lm.config.hidden_size)

    def _vocab_size(self) -> int:
        return int(self.lm.get_output_embeddings().weight.shape[0])

    def _fresh(self, ids: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``rows`` from scratch and store their keys and values in their first columns."""
        width = int(lengths[rows].max())
        sub_ids = ids[rows, :width]
        positions = torch.arange(width, device=ids.device)
        mask = positions[None, :] < lengths[rows][:, None]
        out = self.body(
            input_ids=sub_ids,
            attention_mask=mask.long(),
            position_ids=positions.expand_as(sub_ids),
            use_cache=True,
            **{self._cache_arg: DynamicCache()},
        )
        layers = getattr(out, self._cache_arg).layers  # the output's field was renamed with the argument
        if self.cache is None:
            slots = []
            for layer in layers:
                shape = (ids.shape[0], layer.keys.shape[1], ids.shape[1], layer.keys.shape[3])
                slots.append(_RowSlots(layer.keys.new_zeros(shape), layer.values.new_zeros(shape)))
            self.cache = Cache(layers=slots)
        for slot, layer in zip(self.cache.layers, layers, strict=True):
            slot.keys[rows, :, :width] = layer.keys
            slot.values[rows, :, :width] = layer.values
        self.stats["fresh_rows"] += len(rows)
        last = out.last_hidden_state[torch.arange(len(rows), device=ids.device), lengths[rows] - 1]
        return self.lm.get_output_embeddings()(last).float(), last.float()

    def _step(
        self, ids: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed each of ``rows`` (``None``: all) its newest token against its cached keys and values."""
        assert self.cache is not None
        sub_lengths = lengths if rows is None else lengths[rows]
        positions = sub_lengths - 1
        width = int(sub_lengths.max())
        token = (ids if rows is None else ids[rows]).gather(1, positions[:, None])
        for slot in self.cache.layers:
            slot.rows, slot.positions, slot.width = rows, positions, width
        if self.gpt2_step and not self.body.training and self._gpt2_layers():
            last = self._gpt2_step(token, positions, sub_lengths, width)
        else:
            out = self.body(
                input_ids=token,
                attention_mask=self._step_mask(sub_lengths, width),
                position_ids=positions[:, None],
                **{self._cache_arg: self.cache},
                use_cache=True,
            )
            last = out.last_hidden_state[:, -1]
        self.stats["cached_rows"] += len(sub_lengths)
        return self.lm.get_output_embeddings()(last).float(), last.float()

    def _gpt2_layers(self) -> list[_GPT2Layer]:
        """The written-out step's weights, gathered at the first step after a reset; empty when a block is not
        plain GPT-2 (a module replaced by another kind, or hooked): the model's forward then runs."""
        if self._layers is None:
            blocks = list(self.body.h)
            try:
                self._layers = [_GPT2Layer.of(block) for block in blocks] if all(map(_plain_block, blocks)) else []
            except AttributeError:  # GPT-2 modules laid out otherwise (another transformers version)
                self._layers = []
        return self._layers

    def _gpt2_step(
        self, token: torch.Tensor, positions: torch.Tensor, lengths: torch.Tensor, width: int
    ) -> torch.Tensor:
        """GPT-2's forward for one token per row, with this decoder's cache (evaluation mode: no dropout).

        The model's own weights through PyTorch's functions, not its modules: at one token per row each module
        call's overhead costs about as much as its arithmetic. GPT-2's tanh-approximated GELU runs as PyTorch's
        fused kernel (the same function, to rounding), other activations as the model's own.
        """
        assert self.cache is not None
        body = self.body
        assert self._layers
        allowed = (torch.arange(width, device=lengths.device)[None, :] < lengths[:, None])[:, None, None, :]
        x = F.embedding(token[:, 0], body.wte.weight) + F.embedding(positions, body.wpe.weight)  # (n, hidden)
        n = x.shape[0]
        for layer, slot in zip(self._layers, self.cache.layers, strict=True):
            normed = F.layer_norm(x, *layer.ln_1)
            query, key, value = torch.addmm(layer.qkv_bias, normed, layer.qkv_weight).split(layer.split, dim=-1)
            heads = (n, -1, 1, layer.head_dim)
            keys, values = slot.update(key.view(heads), value.view(heads))
            mixed = F.scaled_dot_product_attention(
                query.view(heads), keys, values, attn_mask=allowed, scale=layer.scaling
            )
            x = torch.addmm(layer.out_bias, mixed.reshape(n, -1), layer.out_weight).add_(x)
            inner = torch.addmm(layer.fc_bias, F.layer_norm(x, *layer.ln_2), layer.fc_weight)
            x = torch.addmm(layer.proj_bias, layer.act(inner), layer.proj_weight).add_(x)
        return F.layer_norm(x, body.ln_f.normalized_shape, body.ln_f.weight, body.ln_f.bias, body.ln_f.eps)

    def _step_mask(self, lengths: torch.Tensor, width: int) -> torch.Tensor:
        """The one-token query's 4D attention mask over ``width`` cache columns, in the attention's format:
        boolean (True: attend) for SDPA, additive (0 or the dtype's minimum) for eager-style implementations."""
        allowed = (torch.arange(width, device=lengths.device)[None, :] < lengths[:, None])[:, None, None, :]
        if getattr(self.lm.config, "_attn_implementation", "sdpa") == "sdpa":
            return allowed
        dtype = next(iter(self._params)).dtype
        return torch.zeros(allowed.shape, dtype=dtype, device=lengths.device).masked_fill(
            ~allowed, torch.finfo(dtype).min
        )


def _plain_block(block: nn.Module) -> bool:
    """A GPT-2 block made of GPT-2's own module kinds with no hooks: what :class:`_GPT2Layer` reads computes
    what the block's forward would."""
    from transformers.pytorch_utils import Conv1D

    convs = (block.attn.c_attn, block.attn.c_proj, block.mlp.c_fc, block.mlp.c_proj)
    norms = (block.ln_1, block.ln_2)
    modules = (block, block.attn, block.mlp, block.mlp.act, *convs, *norms)
    return (
        all(type(conv) is Conv1D for conv in convs)
        and all(type(norm) is nn.LayerNorm for norm in norms)
        and not any(m._forward_hooks or m._forward_pre_hooks for m in modules)
    )


def _is_plain_gpt2(body: nn.Module) -> bool:
    """A GPT-2 body that :meth:`IncrementalDecoder._gpt2_step` reproduces: no cross-attention, and none of
    the eager-only upcast-and-reorder attention."""
    from transformers.models.gpt2.modeling_gpt2 import GPT2Model

    config = body.config
    return (
        type(body) is GPT2Model
        and not getattr(config, "add_cross_attention", False)
        and not getattr(config, "reorder_and_upcast_attn", False)
        and getattr(config, "_attn_implementation", "sdpa") in ("sdpa", "eager")
    )
