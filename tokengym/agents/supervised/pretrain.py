"""Pretrain the embedded default model "tiny".

``python -m tokengym.agents.supervised.pretrain [--max-steps N] [--out DIR]``.

A GPT-2-architecture causal LM on the embedded tokenizer, trained from a seed on the documents of
:func:`tokengym.data.pretraining_text.training_documents` (dialogue turns, articles with their summaries: the
train splits only), packed whole into blocks as long as the model's context (:func:`pack_documents`).
The script reads top to bottom: configuration, seeding, data, model, loop, then it saves safetensors weights
(fp16), the config and a model card with the measured loss, and prints sample generations.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from tokengym.tokenizer import EOS_TOKEN, TokenCodec, default_tokenizer_dir, load_tokenizer


@dataclass
class PretrainConfig:
    """Everything that determines the pretrained model."""

    n_layer: int = 4
    """Transformer blocks."""
    n_embd: int = 256
    """Hidden size."""
    n_head: int = 4
    """Attention heads."""
    n_positions: int = 512
    """Longest sequence the model can read (prompt + completion budgets of every environment fit)."""
    block_size: int = 512
    """Tokens per training sequence: whole documents packed, each ending with end-of-sequence, the rest padded.

    As long as the context (``n_positions``), so that every position's embedding is trained and a summary is
    always seen with its whole article: in 256-token blocks cut from one stream, a document of L tokens lies whole
    in a block with chance (256 - L) / 256 at best, so most articles were split from their summaries, and the
    model learned to guess a summary's number
    instead of copying it (0 of 60 numbers copied by ``benchmarks/copy_probe.py``)."""
    batch_size: int = 16
    """Sequences per optimisation step (16 x 512 = 8,192 token positions, padding included)."""
    lr: float = 2e-3
    """Peak learning rate (linear warm-up, then cosine decay to a tenth)."""
    warmup_steps: int = 100
    """Steps of linear warm-up."""
    weight_decay: float = 0.05
    """AdamW weight decay on matrices."""
    minutes: float = 45.0
    """Wall-clock safety cap; training normally ends at ``max_steps`` (so the result does not depend on speed)."""
    max_steps: int = 2000
    """Optimisation steps (the schedule's length): 16.4M token positions."""
    seed: int = 0
    """Seed of initialisation and batch order."""
    val_fraction: float = 0.01
    """Share of blocks held out to measure the loss."""
    corpus: dict = field(default_factory=dict)
    """Overrides of :data:`tokengym.data.pretraining_text.DEFAULT_SIZES`."""


def pack_documents(documents: list[list[int]], block_size: int, pad_id: int) -> torch.Tensor:
    """Pack tokenised documents whole into rows of ``block_size`` tokens, in order, right-padded with ``pad_id``.

    A document starts a new row when it does not fit in what is left of the current one, so none is split
    between rows; one longer than a row is cut into consecutive rows.

    Example:
        >>> pack_documents([[5, 6, 0], [7, 0], [8, 9, 9, 0]], block_size=5, pad_id=1).tolist()
        [[5, 6, 0, 7, 0], [8, 9, 9, 0, 1]]
    """
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, not {block_size}")
    rows: list[list[int]] = []
    row: list[int] = []
    for doc in documents:
        if len(row) + len(doc) > block_size and row:
            rows.append(row + [pad_id] * (block_size - len(row)))
            row = []
        while len(doc) > block_size:
            rows.append(doc[:block_size])
            doc = doc[block_size:]
        row = row + doc
    if row:
        rows.append(row + [pad_id] * (block_size - len(row)))
    return torch.tensor(rows, dtype=torch.long)


def build_blocks(cfg: PretrainConfig, codec: TokenCodec) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenise the corpus, pack whole documents into ``block_size`` rows, and split them (train, validation)."""
    from tokengym.data.pretraining_text import training_documents

    docs = [d.removesuffix(EOS_TOKEN) for d in training_documents(**cfg.corpus)]
    blocks = pack_documents([ids + [codec.eos_id] for ids in codec.encode_batch(docs)], cfg.block_size, codec.pad_id)
    gen = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(blocks), generator=gen)
    n_val = max(1, int(len(blocks) * cfg.val_fraction))
    return blocks[order[n_val:]], blocks[order[:n_val]]


def lm_loss(model, batch: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Next-token cross-entropy over a batch of packed rows, padding left out of the loss."""
    return model(input_ids=batch, labels=batch.masked_fill(batch == pad_id, -100)).loss


def make_model(cfg: PretrainConfig, codec: TokenCodec):
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=codec.vocab_size,
        n_positions=cfg.n_positions,
        n_embd=cfg.n_embd,
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        bos_token_id=codec.eos_id,
        eos_token_id=codec.eos_id,
        pad_token_id=codec.pad_id,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=True,
    )
    return GPT2LMHeadModel(config)


@torch.no_grad()
def evaluate(model, blocks: torch.Tensor, batch_size: int, pad_id: int) -> float:
    model.eval()
    losses = []
    for i in range(0, len(blocks), batch_size):
        batch = blocks[i : i + batch_size]
        losses.append(lm_loss(model, batch, pad_id).item() * len(batch))
    model.train()
    return sum(losses) / len(blocks)


def sample_texts(model, codec: TokenCodec, prompts: list[str], max_new_tokens: int = 40, seed: int = 0) -> list[str]:
    torch.manual_seed(seed)
    model.eval()
    out = []
    for prompt in prompts:
        ids = torch.tensor([codec.encode(prompt)])
        gen = model.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=max_new_tokens,
            do_sample=True,
            top_k=0,
            top_p=0.9,
            temperature=0.8,
            pad_token_id=codec.pad_id,
            eos_token_id=codec.eos_id,
        )
        out.append(codec.decode(gen[0, ids.shape[1] :]).strip())
    return out


def pretrain(cfg: PretrainConfig, out: Path) -> dict:
    torch.manual_seed(cfg.seed)
    codec = load_tokenizer()
    start = time.perf_counter()
    train, val = build_blocks(cfg, codec)
    data_time = time.perf_counter() - start
    model = make_model(cfg, codec)
    params = sum(p.numel() for p in model.parameters())
    print(
        f"data: {len(train)} train / {len(val)} val blocks of {cfg.block_size} in {data_time:.0f}s; "
        f"model: {params / 1e6:.2f}M parameters"
    )

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=cfg.lr,
        betas=(0.9, 0.95),
    )

    def lr_at(step: int) -> float:
        if step < cfg.warmup_steps:
            return cfg.lr * (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, cfg.max_steps - cfg.warmup_steps))
        return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))

    gen = torch.Generator().manual_seed(cfg.seed + 1)
    order = torch.randperm(len(train), generator=gen)
    cursor, step, tokens, train_start = 0, 0, 0, time.perf_counter()
    model.train()
    history = []
    while step < cfg.max_steps and time.perf_counter() - train_start < cfg.minutes * 60:
        if cursor + cfg.batch_size > len(order):
            order, cursor = torch.randperm(len(train), generator=gen), 0
        batch = train[order[cursor : cursor + cfg.batch_size]]
        cursor += cfg.batch_size
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = lm_loss(model, batch, codec.pad_id)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        step += 1
        tokens += int((batch != codec.pad_id).sum())
        if step % 100 == 0:
            elapsed = time.perf_counter() - train_start
            history.append({"step": step, "loss": round(loss.item(), 4), "minutes": round(elapsed / 60, 2)})
            print(
                f"step {step:>5}  loss {loss.item():.3f}  lr {lr_at(step):.2e}  "
                f"{tokens / elapsed:,.0f} tokens/s  {elapsed / 60:.1f} min",
                flush=True,
            )
    train_minutes = (time.perf_counter() - train_start) / 60
    val_loss = evaluate(model, val, cfg.batch_size, codec.pad_id)
    print(
        f"done: {step} steps, {tokens / 1e6:.1f}M tokens, {train_minutes:.1f} min, validation loss {val_loss:.3f} "
        f"(perplexity {math.exp(val_loss):.1f})"
    )

    out.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(str(out), safe_serialization=True)
    model.float()
    report = {
        "config": asdict(cfg),
        "parameters": params,
        "steps": step,
        "train_tokens": tokens,
        "train_minutes": round(train_minutes, 1),
        "train_blocks": len(train),
        "validation_loss": round(val_loss, 4),
        "history": history,
    }
    (out / "pretrain_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return report


MODEL_CARD = """# tiny: tokengym's embedded default model

A GPT-2-architecture causal language model, small enough to ship inside the package and to train with RL on
a laptop CPU, and trained only on text that tokengym bundles or generates, so it works offline.

| | |
|---|---|
| architecture | GPT-2 ({n_layer} layers, d={n_embd}, {n_head} heads, {n_positions} positions, tied embeddings) |
| parameters | {parameters:,} ({size_mb:.1f} MB as fp16 safetensors) |
| tokenizer | byte-level BPE, 4,096 tokens (`<|endoftext|>` = 0, `<|pad|>` = 1), trained on the same corpus |
| training data | {blocks:,} blocks of {block_size} tokens (whole documents, padded), `tokengym.data.pretraining_text` |
| training budget | {steps:,} steps x {batch_size} blocks = {tokens_m:.1f}M tokens, {train_min:.1f} min on 2 CPU cores |
| validation loss | {val_loss:.3f} (perplexity {ppl:.1f}) on {val_fraction:.0%} held-out blocks |
| seed | {seed} |
| licence | MIT (the model); training text: tokengym's generators (MIT) and chatterbot-corpus (BSD-3-Clause) |

Reproduce it with `python -m tokengym.agents.supervised.pretrain` (same seed, same data; float results can differ in
the last bits across machines).

## Data
- Generated news-like articles at three difficulties, each followed by `TL;DR:` and its reference summary, and
  each again followed by its key facts (`Key facts: person; place; day; number.`).
- Generated conversations (chit-chat, persona, customer support) and the English chatterbot-corpus
  conversations, one document each, laid out as `Dialogue-v0` lays out its prompts.
- In three of every four articles and persona conversations, every person, place and number is invented for
  that document (`tokengym.data.fresh_entities`), so the only way to predict a name in a summary or a reply is
  to copy it from the context.
- Every assistant turn and every summary ends with `<|endoftext|>`, so the model learns where they stop.
- Documents are packed whole into blocks of 512 tokens, the model's context, so that a summary is always trained
  with its article in view and every position embedding is trained.

## Behaviour
It writes fluent template-level replies and summaries for tokengym's tasks and copies names and places from
its context, including names it has never seen, but seldom numbers: a summary's number usually has the article's
shape and other digits (`python benchmarks/copy_probe.py` measures both). It knows nothing beyond its data.

## Samples (temperature 0.8, top-p 0.9)
{samples}
"""


def write_model_card(out: Path, report: dict, samples: list[tuple[str, str]]) -> None:
    """Write ``README.md`` (the model card) from the pretraining report and sample generations."""
    cfg = report["config"]
    size_mb = (out / "model.safetensors").stat().st_size / 1e6
    text = "\n".join(f"- prompt `...{p[-80:]!r}`\n  -> {t}" for p, t in samples)
    (out / "README.md").write_text(
        MODEL_CARD.format(
            parameters=report["parameters"],
            size_mb=size_mb,
            blocks=report["train_blocks"],
            steps=report["steps"],
            tokens_m=report["train_tokens"] / 1e6,
            train_min=report["train_minutes"],
            val_loss=report["validation_loss"],
            ppl=math.exp(report["validation_loss"]),
            samples=text,
            **cfg,
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_tokenizer_dir(), help="output folder")
    parser.add_argument("--minutes", type=float, default=PretrainConfig.minutes)
    parser.add_argument("--max-steps", type=int, default=PretrainConfig.max_steps)
    parser.add_argument("--seed", type=int, default=PretrainConfig.seed)
    args = parser.parse_args(argv)
    cfg = PretrainConfig(minutes=args.minutes, max_steps=args.max_steps, seed=args.seed)
    report = pretrain(cfg, args.out)
    if args.out.resolve() != default_tokenizer_dir().resolve():
        from tokengym.agents.supervised.sft import save_tokenizer_files

        save_tokenizer_files("tiny", load_tokenizer(), args.out)  # so that load_lm(out) finds the tokenizer
    from transformers import GPT2LMHeadModel

    model = GPT2LMHeadModel.from_pretrained(str(args.out), dtype=torch.float32)
    from tokengym.data.articles import article_for
    from tokengym.data.dialogue_layout import format_dialogue
    from tokengym.envs.summarization import format_article

    prompts = [
        format_dialogue(["Hi! How are you today?"]),
        format_dialogue(["My printer keeps jamming, can you help?"]),
        format_article(article_for(0, "test").article),
    ]
    samples = list(zip(prompts, sample_texts(model, load_tokenizer(), prompts), strict=True))
    for prompt, text in samples:
        print(f"--- {prompt[-120:]!r}\n>>> {text}")
    write_model_card(args.out, report, samples)
    print(json.dumps({k: report[k] for k in ("parameters", "steps", "train_minutes", "validation_loss")}))


if __name__ == "__main__":
    main()
