"""Rebuild the embedded default tokenizer: ``python -m tokengym.assets.build [--out DIR]``.

A byte-level BPE of 4,096 tokens (``<|endoftext|>`` = 0, ``<|pad|>`` = 1) trained with Hugging Face
``tokenizers`` on :func:`tokengym.data.pretraining_text.tokenizer_documents`. The corpus is deterministic, so the
result is the same file every time; the files load with ``tokenizers.Tokenizer.from_file`` and with
``transformers.AutoTokenizer.from_pretrained(DIR)``.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

from tokengym.tokenizer import EOS_TOKEN, PAD_TOKEN, default_tokenizer_dir

VOCAB_SIZE = 4096


def train_tokenizer(documents: list[str], vocab_size: int = VOCAB_SIZE):
    """Train the byte-level BPE on ``documents`` and return a ``tokenizers.Tokenizer``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[EOS_TOKEN, PAD_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Special tokens inside documents are separators, not text to learn merges from.
    tokenizer.train_from_iterator((d.replace(EOS_TOKEN, "\n") for d in documents), trainer=trainer)
    return tokenizer


def save_tokenizer(tokenizer, out: Path) -> Path:
    """Write ``tokenizer.json`` and the ``transformers`` config files into ``out``."""
    from transformers import PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=EOS_TOKEN, bos_token=EOS_TOKEN, pad_token=PAD_TOKEN, unk_token=None
    )
    fast.model_max_length = 1024
    fast.save_pretrained(str(out))
    return out / "tokenizer.json"


def main(argv: list[str] | None = None) -> None:
    from tokengym.data.pretraining_text import tokenizer_documents

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=default_tokenizer_dir(), help="output folder")
    parser.add_argument("--vocab-size", type=int, default=VOCAB_SIZE)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    documents = list(tokenizer_documents())
    mb = sum(len(d) for d in documents) / 1e6
    corpus_time = time.perf_counter() - start
    start = time.perf_counter()
    tokenizer = train_tokenizer(documents, args.vocab_size)
    train_time = time.perf_counter() - start
    path = save_tokenizer(tokenizer, args.out)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    print(f"corpus: {len(documents)} documents, {mb:.1f} MB in {corpus_time:.1f}s")
    print(f"tokenizer: {tokenizer.get_vocab_size()} tokens in {train_time:.1f}s -> {path} (sha256 {digest})")


if __name__ == "__main__":
    main()
