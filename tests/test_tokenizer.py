import hashlib

import pytest

from tokengym.tokenizer import EOS_TOKEN, PAD_TOKEN, default_tokenizer_dir, load_tokenizer


def test_default_tokenizer_roundtrips_and_has_special_tokens():
    codec = load_tokenizer()
    assert codec.vocab_size == 4096
    assert codec.eos_id == 0 and codec.pad_id == 1
    for text in ["Hello there!", "The council voted 7-2 on Tuesday in Lakeford.", "café — naïve ünïcode ✓"]:
        assert codec.decode(codec.encode(text)) == text
    assert codec.token_text(0) == EOS_TOKEN and codec.token_text(1) == PAD_TOKEN


def test_default_tokenizer_is_compact_on_task_text():
    from tokengym.data.articles import article_for

    codec = load_tokenizer()
    article = article_for(0, "test").article
    assert len(codec.encode(article)) < 0.35 * len(article)  # about 3+ characters a token


@pytest.mark.slow
def test_build_script_reproduces_the_shipped_tokenizer(tmp_path):
    from tokengym.assets.build import main

    main(["--out", str(tmp_path)])
    shipped = (default_tokenizer_dir() / "tokenizer.json").read_bytes()
    rebuilt = (tmp_path / "tokenizer.json").read_bytes()
    assert hashlib.sha256(shipped).hexdigest() == hashlib.sha256(rebuilt).hexdigest()
