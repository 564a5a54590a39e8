import doctest
import re

import numpy as np
import pytest

import tokengym.data.dialogues as dialogues
from tokengym.data.dialogues import (
    INTERESTS,
    KINDS,
    NAMES,
    PROBLEMS,
    PRODUCTS,
    TONES,
    TOPICS,
    Conversation,
    conversation_for,
    generate_conversation,
)

N = 400  # conversations per kind in the property tests


def sample(kind, n=N, split="train"):
    return [conversation_for(i, split, kind) for i in range(n)]


def test_conversation_for_is_deterministic():
    for kind in (None, *KINDS):
        for i in (0, 1, 17, 2**31 - 1):
            assert conversation_for(i, "test", kind) == conversation_for(i, "test", kind)
    assert conversation_for(np.int64(5)) == conversation_for(5)


def test_generate_conversation_uses_only_the_generator_passed():
    state = np.random.get_state()
    a = [generate_conversation(np.random.default_rng(3)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(3)
    first, second = generate_conversation(rng), generate_conversation(rng)
    assert first == a[0] and second.turns != first.turns  # the generator advanced
    assert np.all(np.random.get_state()[1] == state[1])  # the global RNG was not touched


def test_train_and_test_are_different_streams():
    train, test = sample(None, 300, "train"), sample(None, 300, "test")
    assert sum(a.turns == b.turns for a, b in zip(train, test, strict=True)) == 0
    assert len({c.turns for c in train} & {c.turns for c in test}) < 10


def test_each_kind_is_generated_and_none_mixes_them():
    for kind in KINDS:
        assert {c.kind for c in sample(kind, 50)} == {kind}
    kinds = [c.kind for c in sample(None, 600)]
    assert all(kinds.count(k) > 150 for k in KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_turn_count_and_alternation(kind):
    for c in sample(kind):
        assert isinstance(c, Conversation) and isinstance(c.turns, tuple)
        assert 4 <= len(c.turns) <= 10 and len(c.turns) % 2 == 0  # user first, assistant last
        # A question the assistant asks is answered by the user, not met with another question.
        for i in range(1, len(c.turns) - 1, 2):
            if c.turns[i].endswith("?") and kind != "persona":
                assert not c.turns[i + 1].endswith("?"), c.turns
        assert c.persona == {} or kind == "persona"
        assert c.problem == {} or kind == "support"


@pytest.mark.parametrize("kind", KINDS)
def test_text_is_clean_ascii_prose(kind):
    for c in sample(kind):
        for t in c.turns:
            assert t.isascii(), t
            assert t == t.strip() and "  " not in t and "\n" not in t, repr(t)
            assert 4 <= len(t.split()) <= 40, t
            assert re.match(r"[A-Z0-9]", t) and t[-1] in ".!?", t
            assert not re.search(r"[.!?] [a-z]", t), t  # every sentence starts with a capital
            assert not re.search(r" [,.!?]|,,|\.\.|[,;:][A-Za-z]|[{}]", t), t
            assert not re.match(r"(User|Assistant|Customer|Agent|Bot)\s*:", t), t


def test_chitchat_covers_many_topics_and_says_goodbye():
    assert len(TOPICS) >= 15 and len(set(TOPICS)) == len(TOPICS)
    convs = sample("chitchat", 1000)
    text = " ".join(" ".join(c.turns) for c in convs).lower()
    for word in ("weather", "weekend", "film", "book", "music", "travel", "work", "cook"):
        assert word in text
    goodbyes = 0
    for c in convs:
        for i in range(0, len(c.turns), 2):
            if re.search(r"\bbye\b|good night", c.turns[i].lower()):
                goodbyes += 1
                assert "bye" in c.turns[i + 1].lower(), c.turns
    assert goodbyes > 300
    # The assistant sometimes asks a follow-up question, and not always.
    asking = sum(any(t.endswith("?") for t in c.turns[1::2]) for c in convs)
    assert 0.2 * len(convs) < asking < 0.95 * len(convs)


def test_persona_facts_are_stated_by_the_user_and_used_by_the_assistant():
    assert len(NAMES) >= 40 and len(set(NAMES)) == len(NAMES)
    assert len(INTERESTS) >= 30 and len(set(INTERESTS)) == len(INTERESTS)
    seen = set()
    for c in sample("persona"):
        p = c.persona
        assert {"name", "interest", "tone"} <= set(p) <= {"name", "interest", "tone", "city", "job", "pet", "pet_name"}
        assert p["name"] in NAMES and p["interest"] in INTERESTS and p["tone"] in TONES
        assert ("pet" in p) == ("pet_name" in p)
        seen |= set(p)
        for key in set(p) - {"tone"}:
            said = [i for i in range(0, len(c.turns), 2) if p[key] in c.turns[i]]
            assert said, (key, c.turns)
            if key != "pet":  # the pet is used by name
                assert any(p[key] in t for t in c.turns[said[0] + 1 :: 2]), (key, c.turns)
        assert p["name"] in c.turns[0] and p["interest"] in c.turns[0]
        assert any(p["name"] in t and p["interest"] in t for t in c.turns[1::2])
    assert {"city", "job", "pet"} <= seen


def test_persona_tone_shapes_the_register():
    formal = [c for c in sample("persona") if c.persona["tone"] == "formal"]
    casual = [c for c in sample("persona") if c.persona["tone"] == "casual"]
    assert formal and casual
    assert not any(t.startswith(("Hey", "Hi")) for c in formal for t in c.turns)
    assert not any(t.startswith(("Good morning", "Good afternoon")) for c in casual for t in c.turns)


def test_support_reply_contains_the_solution_keywords():
    assert len(PRODUCTS) >= 12 and all(len(PROBLEMS[p]) >= 3 for p in PRODUCTS)
    for issue in dialogues._ISSUES:  # every solution text names its keywords
        assert all(k in issue.steps.lower() for k in issue.keywords.split(",")), issue.issue
    issues = set()
    for c in sample("support"):
        problem = c.problem
        assert set(problem) == {"product", "issue", "solution", "keywords"} and problem["product"] in PRODUCTS
        assert problem in PROBLEMS[problem["product"]]
        keywords = problem["keywords"].split(",")
        assert keywords and all(k == k.strip().lower() and k for k in keywords)
        assert all(k in c.turns[3].lower() for k in keywords), c.turns  # the solution reply
        assert c.turns[1].endswith("?")  # the clarifying question
        if len(c.turns) > 4:
            assert "bye" in c.turns[-1].lower() or "day" in c.turns[-1].lower()  # a polite close
        issues.add(problem["issue"])
    assert len(issues) > 30


def test_variety():
    for kind in (None, *KINDS):
        convs = sample(kind, 1000)
        assert len({c.turns for c in convs}) >= 900, kind


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: conversation_for(0, kind="poetry"), ValueError, r"'chitchat', 'persona', 'support'"),
        (lambda: conversation_for(0, split="validation"), ValueError, r"'train', 'test'"),
        (lambda: conversation_for(-1), ValueError, "non-negative"),
        (lambda: conversation_for(1.5), TypeError, "integer"),
        (lambda: generate_conversation(np.random.default_rng(0), "smalltalk"), ValueError, "'support'"),
    ],
)
def test_bad_input_is_rejected(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_docstring_examples_run():
    assert doctest.testmod(dialogues).failed == 0
