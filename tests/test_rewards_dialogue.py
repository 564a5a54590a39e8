"""The dialogue rewards and the conversation-reading rules behind them: known values, ranges, registration, and
specific errors for missing columns and bad arguments."""

import pickle

import pytest

from tokengym.rewards import make_reward, reward_names
from tokengym.rewards.conversation import (
    content_words,
    contradictions,
    fact_values,
    mentions,
    self_statements,
    tone_of,
    user_facts,
)
from tokengym.rewards.dialogue import (
    Consistency,
    ContextUse,
    Engagement,
    TaskSuccess,
    TurnRepetition,
    UserSatisfaction,
)

NEW = ("engagement", "user_satisfaction", "task_success", "context_use", "consistency", "repetition_turns")


def test_new_rewards_are_registered_and_parse_in_specs():
    assert set(NEW) <= set(reward_names())
    reward = make_reward("task_success + 0.5*user_satisfaction + 0.2*context_use(saturation=1)")
    assert reward.weights == {"task_success": 1.0, "user_satisfaction": 0.5, "context_use": 0.2}
    totals, parts = reward.score(
        ["Q"],
        ["Maya, restart the router."],
        user_goal_met=[True],
        user_satisfaction=[1.0],
        user_satisfaction_before=[0.5],
        user_facts=[{"name": "Maya"}],
    )
    assert parts == {"task_success": [1.0], "user_satisfaction": [0.5], "context_use": [1.0]}
    assert totals == [pytest.approx(1.0 + 0.25 + 0.2)]
    for name in NEW:
        assert pickle.loads(pickle.dumps(make_reward(name))).weights == {name: 1.0}


def test_engagement_known_values():
    fn = Engagement()
    values = fn(
        ["Q"] * 4,
        ["a", "b", "c", "d"],
        user_engaged=[False, False, True, True],
        user_left=[True, False, False, False],
        user_reply=["Bye.", "Hmm. Next?", "Okay.", "Really? Which one?"],
    )
    assert values == [-1.0, 0.0, 0.5, 1.0]


def test_user_satisfaction_is_a_delta_that_sums_to_the_final_level():
    levels = [0.0, 0.5, 0.25, 1.0]
    deltas = UserSatisfaction()(
        ["Q"] * 3, ["a", "b", "c"], user_satisfaction=levels[1:], user_satisfaction_before=levels[:-1]
    )
    assert deltas == [0.5, -0.25, 0.75]
    assert sum(deltas) == pytest.approx(levels[-1])
    assert TaskSuccess()(["Q", "Q"], ["a", "b"], user_goal_met=[True, False]) == [1.0, 0.0]


def test_context_use_counts_stated_facts_stemmed_and_saturates():
    facts = {"name": "Maya", "interests": ["gardening", "green tea"], "city": "Leeds", "tone": "formal"}
    fn = ContextUse()
    replies = [
        "Maya, a garden in Leeds sounds lovely.",  # name, gardening (stemmed), city: 3, saturates at 2
        "How about some green tea?",  # every word of "green tea"
        "How about some tea?",  # "green tea" is not fully mentioned
        "A formal reply.",  # the tone is not a fact to mention
        "",
    ]
    assert fn(["Q"] * 5, replies, user_facts=[facts] * 5) == [1.0, 0.5, 0.0, 0.0, 0.0]
    assert ContextUse(saturation=3)(["Q"], replies[:1], user_facts=[facts]) == [1.0]
    assert fn(["Q"], ["Hello"], user_facts=[{}]) == [0.0]
    with pytest.raises(ValueError, match="saturation must be a positive integer"):
        ContextUse(saturation=0)
    with pytest.raises(TypeError, match="user_facts must be a mapping"):
        fn(["Q"], ["Hi"], user_facts=[["Maya"]])


def test_consistency_penalises_contradicting_own_statements_only():
    history = [
        "Hi! What do you like?",
        "Hello! My favourite colour is blue and I live in Paris.",
        "Cool. Anything else?",
        "I'm a robot. I have two cats.",
        "Nice!",
    ]
    fn = Consistency()
    replies = [
        "My favourite colour is green.",  # one contradiction
        "My favourite colour is green, I live in Rome and I have three cats.",  # three: clipped at -1
        "My favourite colour is blue, as I said.",  # restated: fine
        "My favourite food is pizza.",  # a new slot: fine
        "I'm a human.",  # identity contradicted
    ]
    assert fn(["Q"] * 5, replies, history=[history] * 5) == [-0.5, -1.0, 0.0, 0.0, -0.5]
    # The user's own statements are not the assistant's: only history[1::2] counts.
    assert fn(["Q"], ["My favourite colour is red."], history=[["My favourite colour is blue."]]) == [0.0]
    assert Consistency(per_contradiction=1.0)(["Q"], replies[:1], history=[history]) == [-1.0]
    with pytest.raises(ValueError, match="per_contradiction must be in"):
        Consistency(per_contradiction=2)
    with pytest.raises(TypeError, match="history must be a sequence of turns"):
        fn(["Q"], ["Hi"], history=["just one string"])


def test_turn_repetition_known_values():
    history = ["Hi", "How can I help you today?", "My router is broken.", "Okay.", "Still broken."]
    fn = TurnRepetition()
    replies = ["How can I help you today?", "Okay.", "Restart the router now.", "", "How can I fix the router?"]
    values = fn(["Q"] * 5, replies, history=[history] * 5)
    # 5th: trigrams "how can i", "can i fix", "i fix the", "fix the router": 1 of 4 seen before.
    assert values == [-1.0, -1.0, 0.0, 0.0, -0.25]
    with pytest.raises(ValueError, match="n must be a positive integer"):
        TurnRepetition(n=0)


@pytest.mark.parametrize("name", NEW)
def test_missing_columns_raise_naming_them(name):
    with pytest.raises(ValueError, match=f"reward '{name}' needs"):
        make_reward(name)(["Q"], ["Hello"])


def test_a_weight_that_is_not_a_number_is_refused():
    with pytest.raises(TypeError, match="must be a finite number"):
        make_reward({"engagement": "high"})


def test_reading_rules_known_values():
    assert content_words("The gardens, Maya's garden!") == {"garden", "maya"}
    assert mentions("I grow herbs in my garden", "gardening") and not mentions("Hello", "it")
    assert fact_values({"a": "x", "b": ["x", "y"]}) == ["x", "y"]
    assert tone_of("Hey! That's awesome") == "casual"
    assert tone_of("I would certainly recommend it.") == "formal"
    assert tone_of("Restart the router.") == "neutral"
    assert user_facts("I'm not into golf. I don't love tennis.") == {}
    assert user_facts("Hey, Liam here. I'm a big fan of cooking. I'm based in New York.") == {
        "name": "Liam",
        "interests": ["cooking"],
        "city": "New York",
    }
    assert user_facts("I share my home with a cat named Luna.") == {"pet": "cat", "pet_name": "Luna"}
    assert self_statements("My name is Ada. I am 30 years old, I work as a teacher and I'm from Oslo.") == {
        "name": "ada",
        "age": "30",
        "home": "oslo",
        "job": "teacher",
    }
    assert self_statements("I'm a big fan of jazz.") == {}
    assert contradictions(["I have a dog."], "I have two dogs.") == [("number of dog", "1", "2")]


def test_user_facts_reads_every_generated_persona():
    from tokengym.data.dialogues import conversation_for

    for index in range(60):
        conversation = conversation_for(index, "test", "persona")
        facts = {}
        for turn in conversation.turns[::2]:
            for key, value in user_facts(turn).items():
                facts.setdefault(key, value)
        persona = conversation.persona
        assert facts["name"] == persona["name"] and persona["interest"] in facts["interests"]
        for key in ("city", "job", "pet", "pet_name"):
            assert facts.get(key) == persona.get(key)


def test_docstring_examples_run():
    import doctest

    import tokengym.rewards.conversation as conversation
    import tokengym.rewards.dialogue as dialogue

    for module in (conversation, dialogue):
        assert doctest.testmod(module).failed == 0
