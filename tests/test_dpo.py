"""DPO: the implicit reward moves the right way, ties are skipped, prompts are laid out as the env lays them out,
the model folder loads."""

import json

import numpy as np
import pytest
import torch

from tokengym.feedback import Preference
from tokengym.feedback.dpo import REPORT_FILE, DPOConfig, dpo_margins, encode_preferences, train_dpo

WORDS = ["the", "a", "sure", "okay", "we", "can", "do", "that", "now", "later", "here", "fine", "good", "yes"]
ENV_KWARGS = {"max_prompt_len": 32, "max_new_tokens": 8}


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


def fast(micro_lm, **overrides):
    settings = {
        "model_name": micro_lm,
        "epochs": 2,
        "lr": 1e-2,
        "beta": 0.5,
        "max_length": 64,
        "env_kwargs": ENV_KWARGS,
        "eval_episodes": 4,
    }
    return DPOConfig(**{**settings, **overrides})


def quiet(*args):
    pass


@pytest.fixture(scope="module")
def trained(micro_lm, tmp_path_factory):
    out = tmp_path_factory.mktemp("dpo") / "model"
    return train_dpo(please_pairs(160), fast(micro_lm), out=out, log=quiet), out


def test_dpo_moves_the_implicit_reward_margin_toward_the_preferred_replies(trained, micro_lm):
    from tokengym.agents.lm.loading import load_lm

    result, _ = trained
    report = result.report
    assert report["train_pairs"] == 128 and report["held_out_pairs"] == 32
    assert report["held_out_accuracy"] >= 0.9 and report["held_out_mean_margin"] > 0
    assert report["last_loss"] < report["first_loss"] == pytest.approx(np.log(2), abs=1e-4)  # policy = reference
    # Unseen prompts and words: the trained model prefers the reply with "please" more than the start did.
    start, codec = load_lm(micro_lm)
    fresh = [Preference(f"User: another one {i}?\nAssistant:", f"{w} please", w) for i, w in enumerate(WORDS)]
    pairs, _ = encode_preferences(fresh, codec, fast(micro_lm))
    from tokengym.feedback.dpo import _reference_log_probs

    reference = _reference_log_probs(start, pairs, codec.pad_id, 32)
    margins = dpo_margins(result.model, pairs, reference, beta=1.0, pad_id=codec.pad_id)
    assert np.mean(np.asarray(margins) > 0) >= 0.9
    assert dpo_margins(start, pairs, reference, beta=1.0, pad_id=codec.pad_id) == pytest.approx([0.0] * len(pairs))


def test_the_model_folder_loads_as_a_model_and_as_a_policy(trained):
    from tokengym.agents.lm.loading import load_lm
    from tokengym.agents.running.policies import load_policy

    result, out = trained
    loaded, codec = load_lm(str(out))
    ids = torch.tensor([codec.encode("User: hello?\nAssistant: please")])
    with torch.no_grad():
        assert torch.allclose(loaded(input_ids=ids).logits, result.model(input_ids=ids).logits, atol=1e-5)
    report = json.loads((out / REPORT_FILE).read_text())
    assert report["held_out_accuracy"] == result.report["held_out_accuracy"]
    assert load_policy(str(out), "Dialogue-v0").checkpoint is None


def test_the_held_out_evaluation_compares_with_the_starting_model(trained):
    result, _ = trained
    ev = result.report["eval"]
    assert ev["dpo"]["episodes"] == ev["zero_shot"]["episodes"] == 4
    change = np.mean(ev["dpo"]["gold_values"]) - np.mean(ev["zero_shot"]["gold_values"])
    assert ev["gold_change"] == pytest.approx(change)
    assert ev["dpo"]["kl"] > 0 and ev["zero_shot"]["kl"] is None


def test_ties_are_skipped_and_only_ties_are_refused(micro_lm, tmp_path):
    prefs = please_pairs(20)
    ties = [Preference(p.prompt, p.chosen, p.rejected, tie=True) for p in prefs]
    result = train_dpo(prefs + ties, fast(micro_lm, epochs=1, eval_episodes=0), log=quiet)
    assert result.report["ties_skipped"] == 20 and result.report["train_pairs"] + result.report["held_out_pairs"] == 20
    assert "eval" not in result.report
    with pytest.raises(ValueError, match="no preference pairs to train on"):
        train_dpo(ties, fast(micro_lm), out=tmp_path / "never", log=quiet)
    assert not (tmp_path / "never").exists()


def test_prompts_sampled_from_the_env_are_laid_out_by_the_env(micro_lm):
    from tokengym.agents.lm.loading import load_lm
    from tokengym.feedback.labeller import SimulatedLabeller, sample_pairs

    lm, codec = load_lm(micro_lm)
    pairs = sample_pairs("Dialogue-v0", 6, model=lm, tokenizer=codec, seed=3, env_kwargs=ENV_KWARGS)
    prefs = SimulatedLabeller("politeness", seed=0).label_pairs(pairs)
    encoded, counts = encode_preferences(prefs, codec, fast(micro_lm))
    assert counts == {"env": len(prefs), "text": 0}
    import gymnasium as gym

    env = gym.make("Dialogue-v0", tokenizer=codec, **ENV_KWARGS)
    for pref, (prompt, chosen, _) in zip(prefs, encoded, strict=True):
        obs, _ = env.reset(seed=pref.metadata["seed"])
        assert prompt == obs["input_ids"][: env.unwrapped.prompt_length].tolist()
        assert chosen[-1] == codec.eos_id
    moved = [Preference("User: not this one\nAssistant:", p.chosen, p.rejected, metadata=p.metadata) for p in prefs]
    assert encode_preferences(moved, codec, fast(micro_lm))[1] == {"env": 0, "text": len(prefs)}
