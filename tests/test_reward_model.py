"""Reward models: the Bradley-Terry training loop, the held-out split, saving, loading and every refusal."""

import json
import shutil

import numpy as np
import pytest
import torch

from tokengym.feedback import Preference, write_preferences
from tokengym.feedback.reward_model import (
    DESCRIPTION_FILE,
    WEIGHTS_FILE,
    RewardModelChecksumError,
    RewardModelConfig,
    RewardModelError,
    RewardModelNotFoundError,
    RewardModelTokenizerError,
    encode_pair,
    load_reward_model,
    main,
    split_by_prompt,
    train_reward_model,
    wilson_interval,
)
from tokengym.tokenizer import load_tokenizer

WORDS = ["the", "a", "sure", "okay", "we", "can", "do", "that", "now", "later", "here", "fine", "good", "yes"]


def please_pairs(n, seed=0):
    """Pairs that prefer the same words with "please" put in somewhere."""
    rng = np.random.default_rng(seed)
    prefs = []
    for i in range(n):
        words = list(rng.choice(WORDS, size=int(rng.integers(3, 7))))
        polite = list(words)
        polite.insert(int(rng.integers(len(words) + 1)), "please")
        prefs.append(Preference(f"User: request number {i}?\nAssistant:", " ".join(polite), " ".join(words)))
    return prefs


FAST = RewardModelConfig(epochs=2, lr=1e-2, batch_size=16, max_length=64, seed=0)


@pytest.fixture(scope="module")
def trained(micro_lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("rm") / "model"
    rm = train_reward_model(please_pairs(160), base=micro_lm, config=FAST, out=out)
    return rm, out


def copy_of(folder, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(folder, target)
    return target


def test_learns_a_synthetic_preference_to_high_held_out_accuracy(trained):
    rm, _ = trained
    report = rm.report
    assert report["held_out_pairs"] == 32 and report["train_pairs"] == 128
    assert report["held_out_accuracy"] >= 0.9
    low, high = report["held_out_accuracy_interval"]
    assert low <= report["held_out_accuracy"] <= high
    assert report["last_loss"] < report["first_loss"]
    polite, plain = rm.score(["User: help?\nAssistant:"] * 2, ["sure please", "sure"])
    assert polite > plain


def test_save_load_round_trip(trained):
    rm, folder = trained
    assert {"config.json", WEIGHTS_FILE, "tokenizer.json", DESCRIPTION_FILE} <= {p.name for p in folder.iterdir()}
    description = json.loads((folder / DESCRIPTION_FILE).read_text())
    assert description["format"] == "tokengym-reward-model" and len(description["weights"]["sha256"]) == 64
    assert description["report"]["held_out_accuracy"] == rm.report["held_out_accuracy"]
    assert description["head"]["pooling"] == "last token that is not padding"
    loaded = load_reward_model(folder)
    prompts, completions = ["A:", "B: longer prompt here"] * 2, ["x please", "", "y", "z " * 30]
    assert loaded.score(prompts, completions) == pytest.approx(rm.score(prompts, completions), abs=1e-5)
    normalized = loaded.score(prompts, completions, normalize=True)
    mean, std = description["score_mean"], description["score_std"]
    assert normalized == pytest.approx([(s - mean) / std for s in loaded.score(prompts, completions)])
    assert not any(p.requires_grad for p in loaded.model.parameters())


def test_scores_do_not_depend_on_the_batch(trained):
    rm, _ = trained
    prompts = [f"User: {i}\nAssistant:" for i in range(5)]
    completions = ["a", "b c d e f g", "please", "", "sure thing, please come"]
    one_by_one = [rm.score([p], [c])[0] for p, c in zip(prompts, completions, strict=True)]
    assert rm.score(prompts, completions, batch_size=3) == pytest.approx(one_by_one, abs=1e-5)


def test_load_refuses_a_missing_folder_or_model(trained, tmp_path):
    with pytest.raises(RewardModelNotFoundError, match="does not exist"):
        load_reward_model(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RewardModelNotFoundError, match="holds no reward model"):
        load_reward_model(tmp_path / "empty")
    folder = copy_of(trained[1], tmp_path)
    (folder / WEIGHTS_FILE).unlink()
    with pytest.raises(RewardModelNotFoundError, match="has no weights"):
        load_reward_model(folder)
    assert issubclass(RewardModelNotFoundError, FileNotFoundError)


def test_load_refuses_weights_whose_checksum_differs(trained, tmp_path):
    folder = copy_of(trained[1], tmp_path)
    data = bytearray((folder / WEIGHTS_FILE).read_bytes())
    data[-5] ^= 0xFF  # a byte of the last tensor's data
    (folder / WEIGHTS_FILE).write_bytes(bytes(data))
    with pytest.raises(RewardModelChecksumError, match="SHA-256"):
        load_reward_model(folder)


def test_load_refuses_another_tokenizer(trained, tmp_path):
    folder = copy_of(trained[1], tmp_path)
    spec = json.loads((folder / "tokenizer.json").read_text())
    vocab = spec["model"]["vocab"]
    first, second = sorted(vocab, key=vocab.get)[300:302]
    vocab[first], vocab[second] = vocab[second], vocab[first]  # the same size, two tokens swapped
    (folder / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(RewardModelTokenizerError, match="differs from the one"):
        load_reward_model(folder)


def test_load_refuses_a_damaged_description(trained, tmp_path):
    folder = copy_of(trained[1], tmp_path)
    (folder / DESCRIPTION_FILE).write_text("{not json")
    with pytest.raises(RewardModelError, match="cannot be read as JSON"):
        load_reward_model(folder)
    (folder / DESCRIPTION_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(RewardModelError, match="not a tokengym reward model"):
        load_reward_model(folder)


def test_encode_pair_keeps_the_reply_and_the_newest_prompt_tokens():
    codec = load_tokenizer()
    prompt, reply = "User: " + "word " * 50 + "last\nAssistant:", "Hello there, " * 20
    ids = encode_pair(codec, prompt, reply, max_length=32)
    assert len(ids) == 32 and ids[-1] == codec.eos_id
    assert ids == codec.encode(prompt)[-1:] + codec.encode(" " + reply.strip())[:30] + [codec.eos_id]
    short = encode_pair(codec, prompt, "Hi!", max_length=32)
    assert codec.decode(short).endswith("last\nAssistant: Hi!") and len(short) == 32
    assert encode_pair(codec, prompt, "  Hi!  ", 32) == short


def test_split_by_prompt_holds_out_whole_prompts_reproducibly():
    prefs = [Preference(f"P{i % 10}", f"a{i}", f"b{i}") for i in range(40)]
    train, held = split_by_prompt(prefs, 0.2, seed=3)
    assert len(held) == 8 and not {p.prompt for p in train} & {p.prompt for p in held}
    assert split_by_prompt(prefs, 0.2, seed=3) == (train, held)
    assert split_by_prompt(prefs, 0.0, seed=3) == (prefs, [])


def test_train_layers_freezes_the_embeddings_and_lower_blocks():
    from tokengym.feedback.reward_model import _load_base

    before, _ = _load_base("tiny")
    rm = train_reward_model(
        please_pairs(8), config=RewardModelConfig(epochs=1, batch_size=8, lr=1e-3, train_layers=1, eval_fraction=0.0)
    )
    after = dict(rm.model.named_parameters())
    changed = {n for n, p in before.named_parameters() if n in after and not torch.equal(p, after[n])}
    n = rm.model.config.num_hidden_layers
    assert changed and all(f".h.{n - 1}." in name or "ln_f" in name or name == "score.weight" for name in changed)
    assert any(f".h.{n - 1}." in name for name in changed)
    assert rm.report["held_out_pairs"] == 0 and rm.report["held_out_accuracy"] is None


def test_ties_train_towards_equal_scores_or_are_skipped(micro_lm):
    ties = [Preference(f"Q{i}", "please yes", "no", tie=True) for i in range(16)]
    config = RewardModelConfig(epochs=1, batch_size=16, lr=1e-2, eval_fraction=0.0, ties="skip")
    with pytest.raises(ValueError, match="no preference pairs to train on"):
        train_reward_model(ties, base=micro_lm, config=config)
    rm = train_reward_model(ties + please_pairs(16), base=micro_lm, config=FAST)
    assert rm.report["ties"] == 16


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ties": "coin"}, "ties must be one of"),
        ({"eval_fraction": 1.0}, "eval_fraction"),
        ({"epochs": 0}, "epochs"),
        ({"lr": 0.0}, "lr"),
        ({"train_layers": -1}, "train_layers"),
    ],
)
def test_config_refuses_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RewardModelConfig(**kwargs)


def test_max_length_over_the_context_is_refused(micro_lm):
    with pytest.raises(ValueError, match="over the model's context"):
        train_reward_model(please_pairs(4), base=micro_lm, config=RewardModelConfig(max_length=4096))


def test_module_entry_point_trains_from_a_file(micro_lm, tmp_path, capsys):
    prefs = tmp_path / "prefs.jsonl"
    write_preferences(prefs, please_pairs(40))
    out = tmp_path / "rm"
    args = ["--prefs", str(prefs), "--out", str(out), "--base", micro_lm, "--epochs", "1", "--lr", "0.01"]
    assert main(args) == 0
    assert "held-out accuracy" in capsys.readouterr().out
    assert load_reward_model(out).report["config"]["epochs"] == 1
    with pytest.raises(SystemExit):
        main(["--prefs", str(tmp_path / "missing.jsonl"), "--out", str(out)])


def test_wilson_interval():
    assert [round(x, 3) for x in wilson_interval(80, 100)] == [0.711, 0.867]
    assert wilson_interval(0, 0) == (0.0, 1.0)
