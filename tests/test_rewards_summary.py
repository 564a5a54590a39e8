"""Key-fact coverage, faithfulness and compression: the reading rules, hand-computed values (also on a real
generated article), composition in a spec, and a real summarization environment stepped with strings."""

import dataclasses
import pickle

import gymnasium as gym
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym.data.articles import article_for
from tokengym.envs import TextActionWrapper
from tokengym.rewards import Compression, FactCoverage, Faithfulness, make_reward
from tokengym.rewards.summary import fact_tokens, name_spans, numbers_in, unsupported

# ----------------------------------------------------------------------------------------- reading text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("About 1,760 people came.", ["1760"]),
        ("It cost 38.8 million dollars, up 57%.", ["38.8", "57"]),
        ("on January 10th, 2024", ["10", "2024"]),
        ("fifteen judges and twenty-five lawyers", ["15", "25"]),
        ("three hundred and forty homes", ["340"]),
        ("two thousand five hundred people", ["2500"]),
        ("twenty one", ["21"]),
        ("007 and 3.50", ["7", "3.5"]),
        ("the one who left, and a hundred more", []),  # "one" alone and "a hundred" are not read as numbers
        ("one hundred", ["100"]),
        ("one, two", ["2"]),  # a list, not "three"
    ],
)
def test_numbers_are_read_by_value(text, expected):
    assert numbers_in(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Malik Kovacs ruled in Saltmarsh.", ["malik kovacs", "saltmarsh"]),
        ("Kovacs ruled in Saltmarsh.", ["saltmarsh"]),  # one capitalised word opening a sentence: skipped
        ("On Thursday, judge Kovacs ruled.", ["thursday", "kovacs"]),
        ("The case in Ferndale was heard by Judge Chiara Banda.", ["ferndale", "chiara banda"]),
        ("Mr. Kovacs's ruling was read in Saltmarsh's hall.", ["kovacs", "saltmarsh"]),
        ('She said: "The rules exist." Later, I met Jean-Paul Sartre.', ["jean paul sartre"]),
        ('"I agree," Romano said.', ["romano"]),
        ("residents cheered. nobody objected.", []),
    ],
)
def test_name_spans(text, expected):
    assert name_spans(text) == expected


def test_fact_tokens_stem_and_drop_function_words():
    assert fact_tokens("the demolition of a historic cinema") == {"demolit", "histor", "cinema"}
    assert fact_tokens("1,760 cinemas") == {"1760", "cinema"}


# --------------------------------------------------------------------------------------- fact coverage


def coverage(summary, facts):
    return FactCoverage()(["prompt"], [summary], facts=[facts])[0]


def test_fact_coverage_hand_computed():
    facts = {"who": "Malik Kovacs", "where": "Saltmarsh", "when": "Thursday", "number": "459"}
    assert coverage("Malik Kovacs ruled for 459 people in Saltmarsh on Thursday.", facts) == 1.0
    assert coverage("Judge Kovacs ruled for 459 people in Saltmarsh.", facts) == 0.5  # who: "Malik" is missing
    assert coverage("A judge ruled on Thursday.", facts) == 0.25
    assert coverage("Nothing to see here.", facts) == 0.0
    assert coverage("", facts) == 0.0


def test_fact_coverage_matching_is_stemmed_number_aware_and_order_free():
    assert coverage("They stopped the historic cinema's demolition.", ["the demolition of a historic cinema"]) == 1.0
    assert coverage("Some 1760 people signed.", ["1,760"]) == 1.0
    assert coverage("He served fifteen years.", ["15"]) == 1.0
    assert coverage("He served 15 years.", ["fifteen"]) == 1.0
    assert coverage("It cost 38.8 million dollars.", ["38.8"]) == 1.0
    assert coverage("It cost 38 million dollars.", ["38.8"]) == 0.0
    assert coverage("on 10 January", ["January 10"]) == 1.0


def test_fact_coverage_accepts_mappings_lists_and_strings():
    summary = "Maria won in Ferndale."
    assert coverage(summary, {"who": "Maria", "where": "Ferndale", "number": "12"}) == pytest.approx(2 / 3)
    assert coverage(summary, ["Maria", "Ferndale", "12"]) == pytest.approx(2 / 3)
    assert coverage(summary, "Ferndale") == 1.0
    assert coverage(summary, {}) == 0.0  # nothing to cover earns nothing
    assert coverage("the end", ["the"]) == 1.0  # a fact of function words only is matched on them
    with pytest.raises(TypeError, match="facts must be"):
        coverage(summary, 12)


def test_fact_coverage_without_facts_says_what_is_needed():
    with pytest.raises(ValueError, match=r"'fact_coverage' needs facts=\[\.\.\.\].*Article\.facts"):
        FactCoverage()(["p"], ["a summary"], references=["a reference"])
    with pytest.raises(ValueError, match="facts has 1 items, expected 2"):
        FactCoverage()(["p", "p"], ["a", "b"], facts=[["x"]])


# ---------------------------------------------------------------------------------------- faithfulness


def faithful(summary, source):
    return Faithfulness()(["prompt"], [summary], sources=[source])[0]


SOURCE = "Maria Okafor won 500 dollars in Ferndale on Monday. Fifteen people watched. Kwame Walsh cheered."


def test_faithfulness_hand_computed():
    # items: 500, maria okafor, ferndale, monday -> 4
    assert faithful("Maria Okafor won 500 dollars in Ferndale on Monday.", SOURCE) == 0.0
    assert faithful("Maria Okafor won 900 dollars in Ferndale on Monday.", SOURCE) == -0.25  # invented number
    assert faithful("Maria Lopez won 500 dollars in Ferndale on Monday.", SOURCE) == -0.25  # invented surname
    assert faithful("Kwame Okafor won 500 dollars in Ferndale on Monday.", SOURCE) == -0.25  # swapped first name
    assert faithful("Maria Okafor won 900 dollars in Paris on Friday.", SOURCE) == -0.75
    assert faithful("Peter Smith won 7 dollars.", SOURCE) == -1.0
    assert faithful("15 people watched Maria Okafor win.", SOURCE) == 0.0  # "Fifteen" in the source
    assert faithful("someone won something somewhere.", SOURCE) == 0.0  # nothing checkable
    assert faithful("", SOURCE) == 0.0


def test_faithfulness_reads_the_source_from_the_prompt_without_sources():
    fn = Faithfulness()
    prompt = SOURCE + "\nTL;DR:"
    assert fn([prompt], ["Maria Okafor won 500 dollars."]) == [0.0]
    assert fn([prompt], ["Maria Okafor won 600 dollars."]) == [-0.5]
    assert unsupported("Maria Okafor won 600 dollars in Paris.", prompt) == ["600", "paris"]


# ---------------------------------------------------------------------------------- a generated article


@pytest.fixture
def article():
    a = article_for(1, "train", 2)
    # Pin the article the hand-computed values below were worked out on.
    assert a.facts == {
        "who": "Aisha Romano",
        "what": "a car-free zone in the old town",
        "where": "Willowby",
        "when": "Tuesday",
        "number": "38.8",
    }
    assert "Lakeford" in a.article and "Lakeford" not in a.summary  # a distractor town
    return a


def test_on_a_generated_article(article):
    def both(summary):
        return (
            Faithfulness()(["p"], [summary], sources=[article.article])[0],
            FactCoverage()(["p"], [summary], facts=[article.facts])[0],
        )

    summary = article.summary  # items: aisha romano, willowby, tuesday, 38.8
    assert both(summary) == (0.0, 1.0)
    assert both(summary.replace("38.8", "47.5")) == (-0.25, 0.8)  # invented number, number fact lost
    assert both(summary.replace("Aisha", "Peter")) == (-0.25, 0.8)  # invented name, who fact lost
    assert both(summary.replace("38.8", "47.5").replace("Aisha", "Peter")) == (-0.5, 0.6)
    # A distractor town from the article: faithful to the source, but the where fact is lost.
    assert both(summary.replace("Willowby", "Lakeford")) == (0.0, 0.8)
    assert both("Romano won in Willowby.") == (0.0, 0.2)


@pytest.mark.parametrize("difficulty", [1, 2, 3])
def test_reference_summaries_are_faithful_and_complete(difficulty):
    fn_faith, fn_cover = Faithfulness(), FactCoverage()
    articles = [article_for(i, "test", difficulty) for i in range(40)]
    summaries = [a.summary for a in articles]
    prompts = ["p"] * len(articles)
    assert fn_cover(prompts, summaries, facts=[a.facts for a in articles]) == [1.0] * len(articles)
    assert fn_faith(prompts, summaries, sources=[a.article for a in articles]) == [0.0] * len(articles)


# ----------------------------------------------------------------------------------------- compression


def test_compression_budget_from_the_source():
    source = " ".join(["word"] * 40)  # ratio 0.1 -> budget 4 words
    fn = Compression(ratio=0.1)
    assert fn(["p"], ["one two three four"], sources=[source]) == [0.0]
    assert fn(["p"], ["a b c d e f"], sources=[source]) == [-0.5]
    assert fn(["p"], [" ".join(["w"] * 20)], sources=[source]) == [-1.0]
    assert fn([source], ["a b c d e f"]) == [-0.5]  # the prompt stands in for the source
    with pytest.raises(ValueError, match="ratio"):
        Compression(ratio=0)


# ------------------------------------------------------------------------------ composition and the env


def test_summary_rewards_compose_in_a_spec_and_pickle(article):
    mix = make_reward("rouge_l + 0.5*faithfulness + 0.3*fact_coverage + 0.2*compression(ratio=0.5)")
    bad = article.summary.replace("38.8", "47.5")
    columns = {
        "references": [article.summary] * 2,
        "sources": [article.article] * 2,
        "facts": [article.facts] * 2,
    }
    totals, parts = mix.score(["p", "p"], [article.summary, bad], **columns)
    assert parts["faithfulness"] == [0.0, -0.25]
    assert parts["fact_coverage"] == [1.0, 0.8]
    assert parts["compression"] == [0.0, 0.0]
    assert totals[0] == pytest.approx(1.0 + 0.3)
    assert totals[1] == pytest.approx(parts["rouge_l"][1] - 0.125 + 0.24)
    assert pickle.loads(pickle.dumps(mix))(["p", "p"], [article.summary, bad], **columns) == totals


def _pass_facts_as_a_column(env, monkeypatch):
    """Summarization-v0 keeps an article's facts in the sample's metadata; rewards see only its columns. Until
    the env passes ``facts`` as a column, copy them there."""
    inner = env.unwrapped
    original = inner._sample

    def sample_with_facts(options):
        sample = original(options)
        if "facts" in sample.columns or "facts" not in sample.metadata:
            return sample
        return dataclasses.replace(sample, columns={**sample.columns, "facts": sample.metadata["facts"]})

    monkeypatch.setattr(inner, "_sample", sample_with_facts)


def test_summary_rewards_in_a_summarization_env_stepped_with_strings(monkeypatch):
    env = TextActionWrapper(
        gym.make("Summarization-v0", reward="rouge_l + 0.5*faithfulness + 0.3*fact_coverage + 0.1*compression")
    )
    _pass_facts_as_a_column(env, monkeypatch)
    env.reset(seed=0, options={"index": 1})
    sample = env.unwrapped.current_sample
    reference = sample.columns["references"]
    _, reward, terminated, _, info = env.step(reference)
    assert terminated
    assert info["reward_components"] == pytest.approx(
        {"rouge_l": 1.0, "faithfulness": 0.0, "fact_coverage": 1.0, "compression": 0.0}
    )
    assert reward == pytest.approx(1.3)

    env.reset(seed=0, options={"index": 1})
    number = sample.metadata["facts"]["number"]
    _, reward, _, _, info = env.step(reference.replace(number, "987654"))
    parts = info["reward_components"]
    assert parts["faithfulness"] < 0.0 and parts["fact_coverage"] == pytest.approx(0.8)
    env.close()


def test_faithfulness_reads_the_article_the_env_passes():
    env = TextActionWrapper(gym.make("Summarization-v0", reward="faithfulness"))
    env.reset(seed=0, options={"index": 2})
    reference = env.unwrapped.current_sample.columns["references"]
    _, reward, _, _, info = env.step(reference)
    assert reward == 0.0
    env.reset(seed=0, options={"index": 2})
    _, reward, _, _, info = env.step("Zebulon Quixote announced 123456 new jobs.")
    assert reward == -1.0
    env.close()
