"""Sentiment, politeness and safety rewards: hand-computed values, the safety lexicon on flagged and ordinary
text, composition in a spec, and a real environment stepped with strings."""

import math
import pickle

import gymnasium as gym
import pytest

import tokengym  # noqa: F401  (registers the environments)
from tokengym.data import safety_lexicon
from tokengym.envs import TextActionWrapper
from tokengym.rewards import Politeness, Safety, Sentiment, get_reward, make_reward
from tokengym.rewards.text import normalize_for_matching, vader_compound


def one(fn, completion):
    return fn(["prompt"], [completion])[0]


def vader_by_hand(valence_sum):
    """VADER's normalisation of a summed valence: x / sqrt(x^2 + 15)."""
    return valence_sum / math.sqrt(valence_sum**2 + 15)


# ------------------------------------------------------------------------------------------- sentiment


def test_sentiment_matches_vader_normalisation_by_hand():
    # "good" has valence 1.9 in VADER's lexicon; "not" flips and scales it by -0.74; "please" has 1.3.
    fn = Sentiment()
    assert one(fn, "The food is good.") == pytest.approx(vader_by_hand(1.9), abs=1e-4)
    assert one(fn, "The food is not good.") == pytest.approx(vader_by_hand(-0.74 * 1.9), abs=1e-4)
    assert one(fn, "Please close the door.") == pytest.approx(vader_by_hand(1.3), abs=1e-4)
    assert one(fn, "The meeting is at noon.") == 0.0
    assert one(fn, "") == 0.0
    assert one(fn, "   ") == 0.0


def test_sentiment_is_batched_ordered_and_in_range():
    fn = Sentiment()
    texts = ["I love this, it is wonderful!", "The meeting is at noon.", "This is terrible and I hate it."]
    happy, neutral, angry = fn(["p"] * 3, texts)
    assert happy > neutral == 0.0 > angry
    assert all(-1.0 <= v <= 1.0 for v in (happy, neutral, angry))
    assert [one(fn, t) for t in texts] == [happy, neutral, angry]
    assert fn.name == "sentiment" and fn.range == (-1.0, 1.0)


# ------------------------------------------------------------------------------------------ politeness


def test_politeness_markers_alone():
    fn = Politeness(marker_weight=1.0)  # markers only: (min(polite, 2) - min(rude, 2)) / 2
    assert one(fn, "Please close the door.") == 0.5
    assert one(fn, "Could you please check the file? Thank you.") == 1.0  # 3 polite markers saturate at 2
    assert one(fn, "Shut up and go away.") == -1.0
    assert one(fn, "Sorry, whatever.") == 0.0  # one of each
    assert one(fn, "The meeting is at noon.") == 0.0
    assert one(fn, "") == 0.0


def test_politeness_default_mix_by_hand():
    fn = Politeness()  # 0.6 * markers + 0.4 * VADER compound
    assert one(fn, "Please close the door.") == pytest.approx(0.6 * 0.5 + 0.4 * vader_by_hand(1.3), abs=1e-4)
    assert one(fn, "Shut up and go away.") == pytest.approx(-0.6)  # VADER finds no sentiment words here
    text = "Could you please check the file? Thank you."
    assert one(fn, text) == pytest.approx(0.6 * 1.0 + 0.4 * vader_compound(text))


def test_politeness_finds_markers_as_whole_words_longest_first():
    polite, rude = Politeness().markers("Hello! Would you kindly send it? THANKS. Ugh, whatever.")
    assert polite == ["hello", "would you kindly", "thanks"]
    assert rude == ["ugh", "whatever"]
    # "this" does not hold "hi", "shipped" does not hold "shit", "thankful" is not "thank you".
    assert Politeness().markers("this shipped; thankful") == ([], [])


def test_politeness_orders_replies():
    fn = Politeness()
    polite, neutral, rude = fn(
        ["p"] * 3,
        [
            "Good morning! Could you tell me your order number, please? Thank you.",
            "Your order number is on the receipt.",
            "Ugh, whatever. Figure it out yourself, it's not my problem.",
        ],
    )
    assert polite > neutral > rude
    assert -1.0 <= rude < 0.0 < polite <= 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"marker_weight": 1.5}, "marker_weight"), ({"saturation": 0}, "saturation")]
)
def test_politeness_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Politeness(**kwargs)


# ---------------------------------------------------------------------------------------------- safety

FLAGGED = [
    ("What an idiot.", "insult", -0.5),
    ("you are worthless", "insult", -0.5),
    ("You're such a stuuupid m0r0n!", "insult", -1.0),  # two insults
    ("what an a55hole", "insult", -0.5),  # leetspeak
    ("IDIOT", "insult", -0.5),  # case
    ("I will kill you!", "threat", -1.0),
    ("I'm going to hurt you and your family.", "threat", -1.0),
    ("kill yourself", "threat", -1.0),
    ("I know where you live.", "threat", -1.0),
    ("i'll beat you up tomorrow", "threat", -1.0),
    ("Immigrants are lazy.", "stereotype", -1.0),
    ("All women are bad drivers.", "stereotype", -1.0),
    ("Black people are criminals", "stereotype", -1.0),
    ("most mexicans are just lazy", "stereotype", -1.0),
    ("Muslims can't be trusted.", "stereotype", -1.0),
    ("Women belong in the kitchen.", "stereotype", -1.0),
]

ORDINARY = [
    "Scunthorpe United won on Saturday.",
    "We need to assess the risk before we start.",
    "The class starts at nine.",
    "I killed it at the gym today!",
    "Women are underrepresented in engineering.",
    "Immigrants are an important part of the economy.",
    "The dog was lazy all afternoon.",
    "Most people are kind.",
    "He passed the assessment with ease.",
    "The cocktail was delicious.",
    "The therapist took careful notes.",
    "Shiitake mushrooms are tasty.",
    "Knife crime fell by 10 percent last year.",
    "Kill the process with Ctrl-C and restart it.",
    "Men are taller than women on average.",
    "The fire retardant slowed the blaze.",
    "I'll shoot you an email tomorrow.",
    "I don't want to hurt her feelings.",
    "It is a myth that women are bad drivers.",
    "The men are lazy today, it's too hot.",
    "I could kill for a coffee.",
    "This game is killing me.",
    "She shot the photo at dawn.",
    "The army killed thousands in the war.",
    "Grape juice and a glass of water, please.",
    "The analyst's report came out on Monday.",
    "Dick Smith opened a shop in Sussex.",
    "I have 10 apples and 3 pears.",
    "Middlesex beat Essex by 40 runs.",
    "The cockpit was cramped but the pilot was calm.",
    "He's a skilled butcher and a kind neighbour.",
    "Can you pass the salt, please?",
]


@pytest.mark.parametrize(("text", "category", "expected"), FLAGGED)
def test_safety_flags_obvious_cases(text, category, expected):
    fn = Safety()
    assert one(fn, text) == expected
    assert category in {c for c, _ in fn.flags(text)}


@pytest.mark.parametrize("text", ORDINARY)
def test_safety_leaves_ordinary_text_alone(text):
    fn = Safety()
    assert fn.flags(text) == []
    assert one(fn, text) == 0.0


def test_safety_slurs_from_the_encoded_list():
    fn = Safety()
    slur = safety_lexicon.slurs()[0]
    assert one(fn, f"You are a {slur}.") == -1.0
    assert fn.flags(f"you {slur.upper()}") == [("slur", slur)]
    # Leetspeak and repeated letters: every "i" written as "1", the last letter tripled.
    disguised = slur.replace("i", "1") + slur[-1] * 2
    assert fn.flags(f"you {disguised}") == [("slur", normalize_for_matching(disguised))]
    assert one(fn, f"un{slur}ly") == 0.0  # inside another word: no match
    assert len(safety_lexicon.slurs()) == len(safety_lexicon.SLURS_ROT13)
    assert all(word.isascii() and word.islower() for word in safety_lexicon.slurs())


def test_safety_penalties_add_up_and_cap_at_minus_one():
    fn = Safety()
    assert one(fn, "idiot") == -0.5
    assert one(fn, "idiot, moron") == -1.0
    assert one(fn, "idiot, moron, cretin. I will kill you.") == -1.0
    assert one(fn, "") == 0.0
    assert fn.range == (-1.0, 0.0)


def test_normalisation_reads_leetspeak_only_in_words():
    assert normalize_for_matching("1d10t") == "idiot"
    assert normalize_for_matching("$tupid") == "stupid"
    assert normalize_for_matching("10 apples for $5") == "10 apples for $5"
    assert normalize_for_matching("It\u2019s") == "it's"


# ------------------------------------------------------------------------------------- composition


def test_text_rewards_compose_in_a_spec_and_pickle():
    mix = make_reward("sentiment + 0.5*politeness(marker_weight=1.0) + 2*safety")
    texts = ["Thank you, that is wonderful!", "Shut up, idiot."]
    totals, parts = mix.score(["p", "p"], texts)
    for i, text in enumerate(texts):
        expected = one(Sentiment(), text) + 0.5 * one(Politeness(marker_weight=1.0), text) + 2 * one(Safety(), text)
        assert totals[i] == pytest.approx(expected)
    assert parts["safety"] == [0.0, -0.5]
    clone = pickle.loads(pickle.dumps(mix))
    assert clone(["p", "p"], texts) == totals
    for name in ("sentiment", "politeness", "safety"):
        fn = get_reward(name)
        assert pickle.loads(pickle.dumps(fn))(["p"], ["Please, thanks!"]) == fn(["p"], ["Please, thanks!"])


def test_text_rewards_in_a_dialogue_env_stepped_with_strings():
    env = TextActionWrapper(gym.make("Dialogue-v0", reward="relevance_lexical + 0.5*politeness + safety"))
    replies = ["Could you tell me more, please? Thank you!", "Shut up, you idiot."]
    results = []
    for reply in replies:
        env.reset(seed=3)
        _, reward, terminated, _, info = env.step(reply)
        assert terminated
        parts = info["reward_components"]
        assert set(parts) == {"relevance_lexical", "politeness", "safety"}
        assert parts["politeness"] == pytest.approx(one(Politeness(), info["completion"]))
        assert parts["safety"] == one(Safety(), info["completion"])
        assert reward == pytest.approx(parts["relevance_lexical"] + 0.5 * parts["politeness"] + parts["safety"])
        results.append(parts)
    assert results[0]["politeness"] > 0 > results[1]["politeness"]
    assert results[0]["safety"] == 0.0 and results[1]["safety"] == -0.5
    env.close()
