"""Step a batch of growing token sequences with a key/value cache, one token per row per call.

During a rollout, SB3 asks the policy for the next action of every environment at every step, passing the whole
observation each time. Without a cache each call re-encodes every prefix: O(n) work per token, O(n^2) per
episode. Observations of one environment grow by exactly one token per step, so :class:`IncrementalDecoder`
keeps each row's keys and values and feeds only the new token. A row whose observation is not its previous one
plus a token (a new episode, a user's turn inserted by the environment) is encoded afresh from its observation;
other rows are not disturbed. The result is the same logits and hidden states as a full forward pass, to
floating-point rounding (about 1e-6 in log-probability).

The cache is a set of per-layer tensors ``(B, heads, C, head_dim)`` with a ``(B, C)`` validity mask: rows
encoded afresh leave holes that the attention mask hides, and positions are passed explicitly, so rows of
different lengths and ages share one batched forward pass. Columns are compacted when the holes pile up.

The decoder notices when the model's weights change (a training update, a loaded checkpoint) and starts over,
so cached states never come from old weights.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import DynamicCache


def _weights_version(lm: nn.Module) -> tuple[int, ...]:
    # In-place updates (optimizer steps, load_state_dict's copy_) bump each tensor's version counter.
    return tuple(p._version for p in lm.parameters())


class IncrementalDecoder:
    """Logits and last hidden states for token-contract observations, reusing work across calls.

    Args:
        lm: a Hugging Face causal LM whose body (``.transformer`` or ``.base_model``) takes ``past_key_values``.

    Call it with ``(ids (B, W), lengths (B,))``; it returns ``(logits (B, V), hidden (B, H))`` at each row's
    last real token, like :func:`tokengym.agents.policy.last_token_states`. Use it only without gradients.
    """

    def __init__(self, lm: nn.Module) -> None:
        self.lm = lm
        self.body = lm.transformer if hasattr(lm, "transformer") else lm.base_model
        self.reset()

    def reset(self) -> None:
        """Forget every row."""
        self.keys: list[torch.Tensor] = []
        self.values: list[torch.Tensor] = []
        self.valid: torch.Tensor | None = None  # (B, C) bool
        self.ids: torch.Tensor | None = None  # (B, W) the last observation of each row
        self.lengths: torch.Tensor | None = None  # (B,)
        self.version: tuple[int, ...] | None = None
        self.stats = {"fresh_rows": 0, "cached_rows": 0}

    @torch.no_grad()
    def __call__(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids, lengths = ids.long(), lengths.long()
        batch, width = ids.shape
        version = _weights_version(self.lm)
        if self.ids is None or self.ids.shape != ids.shape or version != self.version:
            self.reset()
            self.version = version
            return self._fresh(ids, lengths, torch.arange(batch, device=ids.device), new_batch=True)
        old = self.ids
        beyond_old = torch.arange(width - 1, device=ids.device)[None, :] >= self.lengths[:, None]
        agree = (ids[:, :-1] == old[:, :-1]) | beyond_old
        extends = (lengths == self.lengths + 1) & agree.all(-1)
        rows = torch.arange(batch, device=ids.device)
        hidden = torch.empty(batch, self._hidden_size(), device=ids.device)
        logits = torch.empty(batch, self._vocab_size(), device=ids.device)
        fresh, stepped = rows[~extends], rows[extends]
        if len(stepped):
            logits[stepped], hidden[stepped] = self._step(ids, lengths, stepped)
        if len(fresh):
            logits[fresh], hidden[fresh] = self._fresh(ids, lengths, fresh)
        self.ids, self.lengths = ids.clone(), lengths.clone()
        if self.valid is not None and self.valid.shape[1] > 2 * width:
            self._compact()
        return logits, hidden

    # ------------------------------------------------------------------------------------------- internals

    def _hidden_size(self) -> int:
        return int(self.lm.config.hidden_size)

    def _vocab_size(self) -> int:
        return int(self.lm.get_output_embeddings().weight.shape[0])

    def _fresh(
        self, ids: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor, new_batch: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``rows`` from scratch and store their keys and values."""
        width = int(lengths[rows].max())
        sub_ids = ids[rows, :width]
        positions = torch.arange(width, device=ids.device)
        mask = positions[None, :] < lengths[rows][:, None]
        out = self.body(
            input_ids=sub_ids,
            attention_mask=mask.long(),
            position_ids=positions.expand_as(sub_ids),
            past_key_values=DynamicCache(),
            use_cache=True,
        )
        layers = out.past_key_values.layers
        if new_batch:
            self.keys = [layer.keys for layer in layers]
            self.values = [layer.values for layer in layers]
            self.valid = mask.clone()
            self.ids, self.lengths = ids.clone(), lengths.clone()
        else:
            assert self.valid is not None
            if width > self.valid.shape[1]:
                self._pad_columns(width - self.valid.shape[1])
            for i, layer in enumerate(layers):
                self.keys[i][rows] = 0
                self.values[i][rows] = 0
                self.keys[i][rows, :, :width] = layer.keys
                self.values[i][rows, :, :width] = layer.values
            self.valid[rows] = False
            self.valid[rows, :width] = mask
        self.stats["fresh_rows"] += len(rows)
        last = out.last_hidden_state[torch.arange(len(rows), device=ids.device), lengths[rows] - 1]
        return self.lm.get_output_embeddings()(last).float(), last.float()

    def _step(self, ids: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Feed each of ``rows`` its newest token against its cached keys and values."""
        assert self.valid is not None
        everyone = len(rows) == self.valid.shape[0]
        cache = DynamicCache()
        for i, (k, v) in enumerate(zip(self.keys, self.values, strict=True)):
            cache.update(k if everyone else k[rows], v if everyone else v[rows], i)
        valid = self.valid if everyone else self.valid[rows]
        new_pos = lengths[rows] - 1
        token = ids[rows, new_pos][:, None]
        mask = torch.cat([valid, torch.ones(len(rows), 1, dtype=torch.bool, device=ids.device)], 1)
        out = self.body(
            input_ids=token,
            attention_mask=mask.long(),
            position_ids=new_pos[:, None],
            past_key_values=cache,
            use_cache=True,
        )
        self._pad_columns(1)
        for i, layer in enumerate(out.past_key_values.layers):
            self.keys[i][rows, :, -1:] = layer.keys[:, :, -1:]
            self.values[i][rows, :, -1:] = layer.values[:, :, -1:]
        self.valid[rows, -1] = True
        self.stats["cached_rows"] += len(rows)
        last = out.last_hidden_state[:, -1]
        return self.lm.get_output_embeddings()(last).float(), last.float()

    def _pad_columns(self, n: int) -> None:
        assert self.valid is not None
        for store in (self.keys, self.values):
            for i, t in enumerate(store):
                store[i] = torch.cat([t, t.new_zeros(*t.shape[:2], n, t.shape[3])], 2)
        self.valid = torch.cat([self.valid, self.valid.new_zeros(self.valid.shape[0], n)], 1)

    def _compact(self) -> None:
        """Move each row's valid columns to the left, in order, and drop the columns nobody uses."""
        assert self.valid is not None
        valid = self.valid
        # A stable sort of "not valid" puts the valid columns first, keeping their order.
        order = torch.sort((~valid).to(torch.int8), dim=1, stable=True).indices
        keep = int(valid.sum(1).max())
        order = order[:, :keep]
        for store in (self.keys, self.values):
            for i, t in enumerate(store):
                index = order[:, None, :, None].expand(t.shape[0], t.shape[1], keep, t.shape[3])
                store[i] = torch.gather(t, 2, index)
        self.valid = torch.gather(valid, 1, order)
