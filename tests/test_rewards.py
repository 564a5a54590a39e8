import math
import pickle

import pytest

from tokengym.rewards import (
    Bleu,
    Brevity,
    Chrf,
    CompositeReward,
    LexicalRelevance,
    Repetition,
    Rouge,
    Verbosity,
    get_reward,
    make_reward,
    parse_reward_spec,
    reward_names,
)


def one(fn, completion, reference=None):
    kwargs = {"references": [reference]} if reference is not None else {}
    return fn(["prompt"], [completion], **kwargs)[0]


# ----------------------------------------------------------------------------------- hand-computed values


def test_rouge_1_precision_recall():
    # 3 of 3 hypothesis words match, 3 of 6 reference words: P=1, R=1/2, F=2/3.
    assert one(Rouge("rouge_1"), "the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)


def test_rouge_2_bigrams():
    # bigrams {the cat, cat sat, sat on} vs {the cat, cat sat, sat down}: 2 of 3 each way.
    assert one(Rouge("rouge_2"), "the cat sat on", "the cat sat down") == pytest.approx(2 / 3)


def test_rouge_l_longest_common_subsequence():
    # LCS 3; P = 3/3, R = 3/4 -> F = 2*0.75/1.75.
    assert one(Rouge("rouge_l"), "the cat sat", "the cat sat down") == pytest.approx(1.5 / 1.75)
    # LCS "a c" = 2 of 3 hyp and 2 of 3 ref.
    assert one(Rouge("rouge_l"), "a b c", "a c d") == pytest.approx(2 / 3)


def test_rouge_stems_and_handles_empty():
    assert one(Rouge("rouge_1"), "cats running", "cat run") == pytest.approx(1.0)
    assert one(Rouge("rouge_1", use_stemmer=False), "cats running", "cat run") == 0.0
    assert one(Rouge("rouge_l"), "", "anything at all") == 0.0
    assert one(Rouge("rouge_l"), "   ", "anything at all") == 0.0


def test_relevance_lexical_is_named_and_rouge1():
    fn = LexicalRelevance()
    assert fn.name == "relevance_lexical"
    assert one(fn, "the cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)


def test_bleu_identity_disjoint_and_smoothed_partial():
    assert one(Bleu(), "the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert one(Bleu(), "zebra yak xylophone walrus", "the cat sat on the mat") == 0.0
    # clipped precisions 5/6, 3/5, 2/4, 1/3; equal lengths -> no brevity penalty.
    expected = (5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25
    assert one(Bleu(), "the cat sat on the mat", "the cat sat on a mat") == pytest.approx(expected, abs=1e-4)


def test_chrf_identity_and_disjoint():
    assert one(Chrf(), "hello world", "hello world") == pytest.approx(1.0)
    assert one(Chrf(), "qqq", "zzz") == 0.0
    assert 0.0 < one(Chrf(), "hello word", "hello world") < 1.0


def test_verbosity_fixed_budget_and_ratio():
    v = Verbosity(max_words=4)
    assert one(v, "one two three four") == 0.0
    assert one(v, "one two three four five six") == pytest.approx(-0.5)
    assert one(v, " ".join(["w"] * 20)) == -1.0
    r = Verbosity(ratio=2.0)  # budget 2 * 2 reference words = 4
    assert one(r, "a b c d e", "x y") == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="needs references"):
        r(["p"], ["a b"])


def test_brevity_and_repetition():
    assert one(Brevity(min_words=4), "") == -1.0
    assert one(Brevity(min_words=4), "one two") == -0.5
    assert one(Brevity(min_words=4), "one two three four") == 0.0
    assert one(Repetition(n=1), "go go go stop") == pytest.approx(-0.5)
    # bigrams: (a b), (b a), (a b), (b a) -> 2 distinct of 4.
    assert one(Repetition(n=2), "a b a b a") == pytest.approx(-0.5)
    assert one(Repetition(n=2), "all different words here") == 0.0
    assert one(Repetition(n=3), "too short") == 0.0


# What a multi-turn dialogue env passes besides references (the dialogue rewards need them).
DIALOGUE_COLUMNS = {
    "history": [["Hi!", "Hello! My favourite colour is blue.", "Nice."]],
    "user_reply": ["Thanks, what else?"],
    "user_engaged": [True],
    "user_left": [False],
    "user_goal_met": [False],
    "user_satisfaction": [0.5],
    "user_satisfaction_before": [0.25],
    "user_facts": [{"name": "Maya", "interests": ["the weather"]}],
}


# "learned" needs a trained reward model's folder; tests/test_learned_reward.py checks its outputs.
@pytest.mark.parametrize("name", [n for n in reward_names() if n != "learned"])
def test_every_builtin_stays_in_its_documented_range(name):
    fn = get_reward(name)
    low, high = fn.range
    texts = ["", "the cat", "the the the the the the the the", "A fine reply about the weather today, thanks!"]
    for text in texts:
        value = fn(
            ["p"],
            [text],
            references=["the weather today is fine, thanks"],
            facts=[{"what": "the weather"}],
            **DIALOGUE_COLUMNS,
        )[0]
        assert low <= value <= high, (name, text, value)


# ------------------------------------------------------------------------------------------- composition


def test_composite_weighted_sum_and_components():
    mix = make_reward("rouge_l + 0.5*verbosity(max_words=3)")
    totals, parts = mix.score(["p"], ["a b c d e f"], references=["a b c"])
    assert parts["rouge_l"][0] == pytest.approx(2 / 3)
    assert parts["verbosity"][0] == -1.0
    assert totals[0] == pytest.approx(2 / 3 - 0.5)
    assert mix(["p"], ["a b c d e f"], references=["a b c"]) == totals


def test_composite_normalize_and_negative_weights():
    mix = make_reward({"rouge_l": 2.0, "repetition": -1.0}, normalize=True)
    totals, parts = mix.score(["p"], ["x x"], references=["x"])
    assert totals[0] == pytest.approx((2.0 * parts["rouge_l"][0] - parts["repetition"][0]) / 3.0)


def test_spec_forms_agree():
    a = make_reward("rouge_l - 0.1*repetition(n=1)")
    b = make_reward({"rouge_l": 1.0, "repetition": (-0.1, {"n": 1})})
    args = (
        ["p"],
        ["go go stop"],
    )
    assert a(*args, references=["go stop"]) == b(*args, references=["go stop"])
    assert parse_reward_spec("-rouge_l + 2 * bleu") == [(-1.0, "rouge_l", {}), (2.0, "bleu", {})]
    assert parse_reward_spec("0.5*verbosity(max_words=30)") == [(0.5, "verbosity", {"max_words": 30})]


def test_custom_callables_compose_and_pickle():
    def shout(prompts, completions, **kwargs):
        return [float(c.isupper()) for c in completions]

    mix = make_reward([shout, Rouge("rouge_1")])
    assert list(mix.weights) == ["shout", "rouge_1"]
    assert mix(["p"], ["HI"], references=["hi"]) == [2.0]
    clone = pickle.loads(pickle.dumps(make_reward("rouge_l + bleu + chrf")))
    assert clone(["p"], ["the cat"], references=["the cat"]) == pytest.approx([3.0])


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("rouge_x", KeyError, "did you mean 'rouge_l'"),
        ("rouge_l +", ValueError, "does not parse"),
        ("rouge_l * bleu", ValueError, "NUMBER\\*name"),
        ("rouge_l + os.system('x')", ValueError, "cannot read"),
        ("verbosity(max_words=n)", ValueError, "must be a literal"),
        ("rouge_l + rouge_l", ValueError, "appears twice"),
        ("", ValueError, "empty reward spec"),
        ({"rouge_l": "heavy"}, TypeError, "must be a finite number"),
        ({"rouge_l": True}, TypeError, "must be a finite number"),
        ({"rouge_l": math.nan}, TypeError, "must be a finite number"),
        ("verbosity(max_words=0)", ValueError, "positive integer"),
        ("rouge_l(colour=1)", TypeError, "bad arguments for reward 'rouge_l'"),
        (42, TypeError, "reward must be"),
    ],
)
def test_bad_specs_get_specific_errors(spec, error, match):
    with pytest.raises(error, match=match):
        make_reward(spec)


def test_component_returning_nan_or_wrong_length_is_refused():
    def broken(prompts, completions, **kwargs):
        return [math.nan] * len(completions)

    def short(prompts, completions, **kwargs):
        return []

    with pytest.raises(ValueError, match="must be real numbers"):
        make_reward(broken)(["p"], ["c"])
    with pytest.raises(ValueError, match="returned 0 values for 1"):
        make_reward(short)(["p"], ["c"])
    with pytest.raises(ValueError, match="weights given for unknown"):
        CompositeReward({"a": broken}, weights={"b": 1.0})


def test_missing_references_named():
    with pytest.raises(ValueError, match="'rouge_l' needs references"):
        make_reward("rouge_l")(["p"], ["c"])


def test_rouge_matches_rouge_score_defaults_exactly():
    from rouge_score import rouge_scorer

    from tokengym.data.articles import article_for

    reference = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    ours = {"rouge1": Rouge("rouge_1"), "rouge2": Rouge("rouge_2"), "rougeL": Rouge("rouge_l")}
    for i in range(30):
        a, b = article_for(i), article_for(i + 100)
        for hyp in (a.summary, b.summary, a.article[:200], "running runners ran quickly"):
            expected = reference.score(a.summary, hyp)
            for key, fn in ours.items():
                assert one(fn, hyp, a.summary) == expected[key].fmeasure
