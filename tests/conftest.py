import pytest
import torch

# The suite's models are tiny: one thread runs them fastest, and two threads on cores shared with other
# processes (SubprocVecEnv workers, a parallel job) spin against each other and run many times slower.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def micro_lm(tmp_path_factory):
    """A randomly initialised 1-layer GPT-2 on the embedded tokenizer, saved like any local model folder."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tokengym.agents.supervised.sft import save_tokenizer_files
    from tokengym.tokenizer import load_tokenizer

    torch.manual_seed(0)
    codec = load_tokenizer()
    config = GPT2Config(
        vocab_size=codec.vocab_size,
        n_positions=512,
        n_embd=32,
        n_layer=1,
        n_head=2,
        eos_token_id=codec.eos_id,
        bos_token_id=codec.eos_id,
        pad_token_id=codec.pad_id,
    )
    folder = tmp_path_factory.mktemp("micro_lm")
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    save_tokenizer_files("tiny", codec, folder)
    return str(folder)


@pytest.fixture
def hub_offline(monkeypatch):
    """The Hugging Face hub in offline mode, as on a machine without network (fails fast instead of retrying)."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
