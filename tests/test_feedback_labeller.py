"""The simulated labeller (Bradley-Terry choices, noise, ties, raters), candidate pairs and their sampling."""

import math

import gymnasium as gym
import pytest

import tokengym  # noqa: F401
from tokengym.feedback import Preference
from tokengym.feedback.candidates import Candidate, read_candidates, write_candidates
from tokengym.feedback.labeller import DEFAULT_GOLD, SimulatedLabeller, bradley_terry, label_pairs, sample_pairs

# verbosity(max_words=1): "one" scores 0, "one two" scores -1: a gold gap of exactly 1.
SHORT, LONG = "one", "one two"
GAP_GOLD = "verbosity(max_words=1)"


def _pairs(n):
    words = ["please", "thanks", "no", "whatever", "sure", "hello", "go", "away", "kindly", "help"]
    return [
        Candidate(f"User: q{i}\nAssistant:", " ".join(words[: 1 + i % 7]), " ".join(words[i % 5 : 2 + i % 9]))
        for i in range(n)
    ]


def _binomial_ok(k, n, p, sigmas=4.0):
    return abs(k / n - p) <= sigmas * math.sqrt(p * (1 - p) / n)


def test_same_seed_same_labels_and_another_seed_differs():
    pairs = _pairs(60)
    first = label_pairs(pairs, SimulatedLabeller("politeness", temperature=0.5, noise=0.1, seed=3))
    again = label_pairs(pairs, SimulatedLabeller("politeness", temperature=0.5, noise=0.1, seed=3))
    other = label_pairs(pairs, SimulatedLabeller("politeness", temperature=0.5, noise=0.1, seed=4))
    assert [p.to_record() for p in first] == [p.to_record() for p in again]
    assert [p.chosen for p in first] != [p.chosen for p in other]


def test_very_low_temperature_always_picks_the_higher_gold():
    labeller = SimulatedLabeller(DEFAULT_GOLD, temperature=1e-6, seed=0)
    prefs = labeller.label_pairs(_pairs(80))
    judged = [p for p in prefs if p.metadata["gold_chosen"] != p.metadata["gold_rejected"]]
    assert len(judged) > 40
    assert all(p.metadata["gold_chosen"] > p.metadata["gold_rejected"] for p in judged)
    assert all(p.metadata["p_chosen"] > 0.999 for p in judged)


def test_choice_frequency_follows_bradley_terry():
    n, temperature = 3000, 0.8
    labeller = SimulatedLabeller(GAP_GOLD, temperature=temperature, seed=1)
    prefs = labeller.label_pairs([Candidate("Q:", SHORT, LONG)] * n)
    p_short = 1 / (1 + math.exp(-1 / temperature))
    assert bradley_terry(1.0, temperature) == pytest.approx(p_short)
    assert _binomial_ok(sum(p.chosen == SHORT for p in prefs), n, p_short)


def test_noise_flips_at_its_rate():
    n, noise = 3000, 0.2
    prefs = SimulatedLabeller(GAP_GOLD, temperature=0.0, noise=noise, seed=2).label_pairs(
        [Candidate("Q:", LONG, SHORT)] * n
    )
    flipped = [p.metadata["flipped"] for p in prefs]
    assert _binomial_ok(sum(flipped), n, noise)
    assert all((p.chosen == LONG) == f for p, f in zip(prefs, flipped, strict=True))  # wrong exactly when flipped


def test_ties_below_the_threshold():
    labeller = SimulatedLabeller(GAP_GOLD, temperature=0.1, tie_threshold=0.5, seed=0)
    tie, clear = labeller.label_pairs([Candidate("Q:", "a b", "c d"), Candidate("Q:", LONG, SHORT)])
    assert tie.tie and (tie.chosen, tie.rejected) == ("a b", "c d") and tie.metadata["p_chosen"] == 0.5
    assert not clear.tie


def test_raters_disagree_and_tag_their_judgements():
    labeller = SimulatedLabeller(
        "politeness + verbosity(max_words=3)",
        temperature=0.2,
        raters=4,
        disagreement=0.7,
        judgements_per_pair=2,
        seed=5,
    )
    assert len({r.temperature for r in labeller.raters}) == 4
    assert len({tuple(r.factors.values()) for r in labeller.raters}) == 4
    prefs = labeller.label_pairs(_pairs(30))
    assert len(prefs) == 60
    assert {p.rater for p in prefs} <= {f"simulated-{k}" for k in range(4)}
    for first, second in zip(prefs[::2], prefs[1::2], strict=True):
        assert first.prompt == second.prompt and first.rater != second.rater
    assert SimulatedLabeller(temperature=0.2, seed=5).label("Q:", "a", "b")[0].rater == "simulated"


def test_gold_columns_come_from_the_pair_and_metadata_is_kept():
    pair = Candidate(
        "User: Hi\nAssistant:",
        "the weather is fine",
        "bananas are yellow",
        {"env": "Dialogue-v0", "seed": 11, "columns": {"references": "the weather is fine today"}},
    )
    [pref] = SimulatedLabeller("relevance_lexical", temperature=0.0, seed=0).label_pairs([pair])
    assert pref.chosen == "the weather is fine"
    assert pref.metadata["env"] == "Dialogue-v0" and pref.metadata["seed"] == 11
    assert pref.metadata["gold"] == "relevance_lexical" and pref.metadata["labeller_seed"] == 0
    assert pref.metadata["gold_chosen"] > pref.metadata["gold_rejected"] == 0.0
    with pytest.raises(ValueError, match="needs references"):
        SimulatedLabeller("relevance_lexical", seed=0).label("Q:", "a", "b")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"temperature": -1.0}, "temperature"),
        ({"noise": 1.5}, "noise"),
        ({"tie_threshold": float("nan")}, "tie_threshold"),
        ({"raters": 0}, "raters"),
        ({"raters": 2, "judgements_per_pair": 3}, "judgements_per_pair"),
        ({"seed": -1}, "seed"),
        ({"gold": "no_such_reward"}, "unknown reward"),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulatedLabeller(**kwargs)


def test_sample_pairs_follow_the_env_prompts_and_are_reproducible(micro_lm, tmp_path):
    pairs = sample_pairs("Dialogue-v0", n_prompts=3, model=micro_lm, seed=7, env_kwargs={"max_new_tokens": 8})
    again = sample_pairs("Dialogue-v0", n_prompts=3, model=micro_lm, seed=7, env_kwargs={"max_new_tokens": 8})
    assert pairs == again and len(pairs) == 3
    env = gym.make("Dialogue-v0")
    for pair in pairs:
        env.reset(seed=pair.metadata["seed"])
        sample = env.unwrapped.current_sample
        assert pair.prompt == sample.prompt and pair.metadata["columns"]["references"] == sample.columns["references"]
        assert pair.metadata["columns"]["history"] == list(sample.columns["history"])
        assert pair.a != pair.b and pair.metadata["env"] == "Dialogue-v0"
    labeller = SimulatedLabeller("relevance_lexical + politeness", seed=0)
    prefs = label_pairs(pairs, labeller)
    assert all(isinstance(p, Preference) and p.metadata["seed"] in (7, 8, 9) for p in prefs)
    path = tmp_path / "candidates.jsonl"  # the labelling page's format: the same labels after a round trip
    write_candidates(path, pairs)
    assert read_candidates(path) == pairs
    again = label_pairs(read_candidates(path), SimulatedLabeller("relevance_lexical + politeness", seed=0))
    assert [p.to_record() for p in again] == [p.to_record() for p in prefs]


def test_sample_pairs_carries_the_user_facts_of_a_conversation(micro_lm):
    [pair] = sample_pairs("DialoguePersona-v0", n_prompts=1, model=micro_lm, seed=0, env_kwargs={"max_new_tokens": 4})
    assert {"user_facts", "references", "history"} <= set(pair.metadata["columns"])
    SimulatedLabeller("context_use + politeness", seed=0).label_pairs([pair])


def test_sample_pairs_refuses_what_it_cannot_sample_from(micro_lm):
    from tokengym.agents.lm.loading import load_lm

    model, _ = load_lm(micro_lm)
    with pytest.raises(ValueError, match="tokenizer="):
        sample_pairs("Dialogue-v0", 1, model=model)
    policy_like = type("Policy", (), {"lm": model})()  # an LM policy holds its model as .lm
    assert (
        len(sample_pairs("Dialogue-v0", 1, model=policy_like, tokenizer="tiny", env_kwargs={"max_new_tokens": 4})) <= 1
    )
    with pytest.raises(TypeError, match="model must be"):
        sample_pairs("Dialogue-v0", 1, model=object(), tokenizer="tiny")
    with pytest.raises(ValueError, match="not a token-level environment"):
        sample_pairs("WordleCmd-v0", 1, model=micro_lm)
    with pytest.raises(ValueError, match="temperature"):
        sample_pairs("Dialogue-v0", 1, model=micro_lm, temperature=0.0)
