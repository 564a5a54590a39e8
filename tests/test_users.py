"""User simulators: each one's behaviour, persona files, the human user on injected streams, seeding, pickling."""

import copy
import io
import json
import pickle

import numpy as np
import pytest

from tokengym.envs.personas import PersonaFileError, PersonaProfile, load_personas, persona_turns
from tokengym.envs.users import (
    CorpusUser,
    HumanUser,
    PersonaUser,
    SupportUser,
    UserMix,
    UserSimulator,
    UserTurn,
    make_user,
)

SCRIPT = [
    ("Hi, how are you?", "I'm well, thanks! How are you?", "Fine. What is AI?", "It is the study of smart machines.")
]


def rng(seed=0):
    return np.random.default_rng(seed)


def test_every_simulator_follows_the_protocol():
    for user in (CorpusUser(), PersonaUser(), SupportUser(), HumanUser(), UserMix([CorpusUser(), SupportUser()])):
        assert isinstance(user, UserSimulator)


# ------------------------------------------------------------------------------------------------ corpus


def test_corpus_user_says_the_script_and_chains_another_conversation():
    user = CorpusUser(conversations=SCRIPT)
    opening = user.start(rng())
    assert (opening.text, opening.reference) == ("Hi, how are you?", "I'm well, thanks! How are you?")
    turn = user.respond("I'm well, thanks. How are you?", rng())
    assert turn.engaged and turn.text == "Fine. What is AI?" and turn.satisfaction == 1.0
    assert turn.reference == "It is the study of smart machines."
    turn = user.respond("AI is the study of machines that think.", rng())
    assert (
        turn.engaged
        and turn.text.endswith("how are you?")
        and turn.text.split(",")[0]
        in (
            "By the way",
            "Anyway",
            "Also",
            "On another note",
        )
    )


def test_corpus_user_goes_cold_then_leaves_when_ignored():
    user = CorpusUser(conversations=SCRIPT, patience=2)
    user.start(rng())
    turn = user.respond("Purple elephants calculate taxes.", rng())
    assert not turn.engaged and not turn.done and turn.text.endswith("Fine. What is AI?")
    assert turn.text != "Fine. What is AI?" and turn.satisfaction == 0.0
    turn = user.respond("", rng())
    assert turn.left and turn.reason == "disengaged" and not turn.engaged


def test_corpus_user_counts_questions_and_skips_farewells_and_is_offended_by_insults():
    user = CorpusUser(conversations=[("Hello!", "Hi!", "Thanks, bye!", "Goodbye!")])
    user.start(rng())
    turn = user.respond("What are you up to today?", rng())  # off topic, but a question keeps them talking
    assert turn.engaged and "bye" not in turn.text.lower()
    turn = user.respond("You're an idiot.", rng())
    assert turn.left and turn.reason == "offended"


def test_corpus_user_sources_and_bad_arguments():
    for source in ("corpus", "generated", "mixed"):
        assert CorpusUser(source=source, split="test").start(rng(1)).text
    with pytest.raises(ValueError, match="unknown corpus user source"):
        CorpusUser(source="web")
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        CorpusUser(patience=0)


# ----------------------------------------------------------------------------------------------- persona


def _persona_user(seed=0, **kwargs):
    user = PersonaUser(**kwargs)
    opening = user.start(rng(seed))
    return user, opening


def _personal_reply(user):
    p = user.profile
    if p.tone == "casual":
        return f"Hey {p.name}! Since you love {p.interests[0]}, you could try something fun with it!"
    return f"It is a pleasure, {p.name}. Given your interest in {p.interests[0]}, I would recommend a class."


def test_persona_user_reacts_to_its_name_interests_and_tone():
    for seed in range(6):
        user, opening = _persona_user(seed)
        assert user.profile.name in opening.text and opening.facts["name"] == user.profile.name
        personal = copy.deepcopy(user).respond(_personal_reply(user), rng())
        generic = copy.deepcopy(user).respond("Purple elephants calculate taxes.", rng())
        wrong_tone = "Hey! That's awesome!" if user.profile.tone == "formal" else "It is a pleasure to assist."
        assert personal.engaged and not generic.engaged
        assert personal.satisfaction == 1.0 and generic.satisfaction == 0.125  # a neutral tone: 0.25 * 0.5
        assert user.score(_personal_reply(user))[0] > user.score(f"{user.profile.name}! {wrong_tone}")[0]
        warm = ("Aw, thanks!", "Ha, love that!", "Oh nice, you remembered!", "Thank you", "How kind")
        assert personal.text.startswith(warm) and not generic.text.startswith(warm)


def test_persona_user_repeats_an_unanswered_request_and_leaves_happy_once_all_are_answered():
    user, _ = _persona_user(3)
    first = user.respond(_personal_reply(user), rng())  # to the introduction: now the first request
    again = user.respond("Okay, here is some general advice about the weekend?", rng())
    assert not again.done and again.text.endswith(first.text.split(". ")[-1])
    assert any(n in again.text for n in ("more about me", "generic", "into account"))
    turn = again
    for _ in range(5):
        turn = user.respond(_personal_reply(user), rng())
        if turn.done:
            break
    assert turn.goal_met and turn.reason == "goal_met" and not turn.left


def test_persona_user_leaves_when_ignored_for_its_patience():
    user, _ = _persona_user(1, patience=2)
    assert not user.respond("Purple elephants.", rng()).done
    turn = user.respond("Purple elephants.", rng())
    assert turn.left and turn.reason == "disengaged"


def test_persona_user_corrects_a_wrong_name():
    user, _ = _persona_user(4)
    other = "Liam" if user.profile.name != "Liam" else "Maya"
    wrong = _personal_reply(user).replace(user.profile.name, other)
    assert user.misnames(wrong) and user.score(wrong) == (0.0, False, False)
    turn = user.respond(wrong, rng())
    assert not turn.engaged and turn.text.startswith(("It's", "My name is")) and user.profile.name in turn.text


def test_persona_user_only_counts_facts_already_stated():
    user, opening = _persona_user(2)
    unstated = next(k for k in ("city", "job", "pet_name") if getattr(user.profile, k) and k not in opening.facts)
    value = getattr(user.profile, unstated)
    assert user.score(f"Tell me about {value}.")[1] is False
    assert user.score(f"Tell me about {user.profile.name}.")[1] is True


# ------------------------------------------------------------------------------------------ persona files


def test_personas_load_from_json_and_yaml(tmp_path):
    personas = [
        {"name": "Maya", "interests": ["gardening", "tea"], "tone": "casual", "city": "Leeds"},
        {"name": "Jonas", "interests": ["running"], "tone": "formal", "pet": "dog", "pet_name": "Rex"},
    ]
    (tmp_path / "p.json").write_text(json.dumps(personas))
    (tmp_path / "p.yaml").write_text(
        "personas:\n  - name: Maya\n    interests: [gardening, tea]\n    city: Leeds\n"
        "  - name: Jonas\n    interests: [running]\n    tone: formal\n    pet: dog\n    pet_name: Rex\n"
    )
    assert load_personas(tmp_path / "p.json") == load_personas(tmp_path / "p.yaml")
    maya = load_personas(tmp_path / "p.json")[0]
    assert maya == PersonaProfile("Maya", ("gardening", "tea"), "casual", city="Leeds")
    user = PersonaUser(personas=str(tmp_path / "p.yaml"))
    names = {user.start(rng(s)).facts["name"] for s in range(8)}
    assert names == {"Maya", "Jonas"}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('[{"interests": ["x"]}]', "'name' is required"),
        ('[{"name": "Ann", "interests": "chess"}]', r"'Ann'\): 'interests' must be a list of strings"),
        ('[{"name": "Ann"}]', "'interests' is required"),
        ('[{"name": "Ann", "interests": []}]', "at least one interest"),
        ('[{"name": "Ann", "interests": ["chess"], "tone": "loud"}]', "'tone' must be one of"),
        ('[{"name": "Ann", "interests": ["chess"], "age": 30}]', r"unknown field\(s\) \['age'\]"),
        ('[{"name": "Ann", "interests": ["chess"], "pet_name": "Rex"}]', "'pet_name' needs 'pet'"),
        ('[{"name": "Ann", "interests": ["chess"], "city": 5}]', "'city' must be a non-empty string"),
        ('[{"name": "Ann", "interests": ["chess"], "requests": [""]}]', "'requests' must hold non-empty strings"),
        ("[]", "non-empty list of personas"),
        ('{"name": "Ann"}', "non-empty list of personas"),
        ('["Ann"]', "persona 1: a persona must be a mapping"),
        ("[{", "does not parse as JSON"),
    ],
)
def test_persona_files_that_do_not_validate_say_why(tmp_path, content, match):
    path = tmp_path / "personas.json"
    path.write_text(content)
    with pytest.raises(PersonaFileError, match=match):
        load_personas(path)


def test_persona_file_errors_for_suffix_yaml_and_missing_file(tmp_path):
    (tmp_path / "p.txt").write_text("[]")
    with pytest.raises(PersonaFileError, match=r"are \.json, \.yaml or \.yml"):
        load_personas(tmp_path / "p.txt")
    (tmp_path / "p.yml").write_text("personas: [\n")
    with pytest.raises(PersonaFileError, match="does not parse as YAML"):
        load_personas(tmp_path / "p.yml")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_personas(tmp_path / "missing.json")
    with pytest.raises(PersonaFileError, match="persona 1"):
        PersonaUser(personas=[{"name": "Ann"}])


def test_persona_turns_state_the_facts_that_users_read():
    from tokengym.rewards.conversation import user_facts

    for tone in ("casual", "formal"):
        profile = PersonaProfile("Ada", ("chess",), tone, city="Oslo", job="engineer", pet="cat", pet_name="Luna")
        turns = persona_turns(profile, rng())
        assert user_facts(turns[0]) == {
            "name": "Ada",
            "interests": ["chess"],
            "city": "Oslo",
            "job": "engineer",
            "pet": "cat",
            "pet_name": "Luna",
        }
        assert len(turns) == 3 and all(t.endswith("?") for t in turns[1:])
    own = persona_turns(PersonaProfile("Ada", ("chess",), requests=("Any chess tips?",)), rng())
    assert own[1:] == ["Any chess tips?"]


# ----------------------------------------------------------------------------------------------- support


def test_support_user_is_satisfied_by_the_solution_and_not_by_an_unhelpful_reply():
    for seed in range(8):
        user = SupportUser(split="test")
        user.start(rng(seed))
        solution = user._script[3]  # the scripted solution turn names every keyword
        unhelpful = copy.deepcopy(user).respond("I understand, that must be annoying. Have a nice day.", rng())
        solved = copy.deepcopy(user).respond(solution, rng())
        assert solved.goal_met and solved.satisfaction == 1.0 and solved.reason == "goal_met"
        assert not unhelpful.done and not unhelpful.engaged and unhelpful.satisfaction == 0.0
        assert user.problem["issue"] in unhelpful.text


def test_support_user_answers_an_on_topic_question_once_and_credits_partial_steps():
    user = SupportUser()
    complaint = user.start(rng(1)).text
    assert user.problem["keywords"] == "startup,disable" and complaint
    off_topic = copy.deepcopy(user).respond("What is your favourite film?", rng())
    assert not off_topic.engaged
    answer = user.respond("When does the laptop feel slow?", rng())
    assert answer.engaged and answer.text == user._script[2]
    again = copy.deepcopy(user).respond("When does the laptop feel slow?", rng())
    assert not again.engaged  # the clarification is given once
    partial = user.respond("Please disable a few programs.", rng())
    assert partial.engaged and partial.satisfaction == 0.5 and not partial.done
    assert user.respond("Then look at startup.", rng()).goal_met


def test_support_user_leaves_after_its_patience():
    user = SupportUser(patience=3)
    user.start(rng(0))
    turns = [user.respond("Hmm.", rng()) for _ in range(3)]
    assert [t.left for t in turns] == [False, False, True] and turns[-1].reason == "disengaged"


# ------------------------------------------------------------------------------------------------- human


def test_human_user_reads_turns_and_ratings_from_streams():
    out = io.StringIO()
    user = HumanUser(io.StringIO("\n  \nHi, I need help.\n9\n5\nThanks!\n\n/done\n"), out)
    assert user.start(rng()).text == "Hi, I need help."  # empty lines are asked again
    turn = user.respond("Sure, what is the problem?", rng())
    assert turn.text == "Thanks!" and turn.rating == 1.0 and turn.satisfaction == 1.0  # "9" was asked again
    turn = user.respond("Glad to help.", rng())  # rating skipped with Enter
    assert turn.goal_met and turn.reason == "goal_met" and turn.rating is None and turn.satisfaction == 1.0
    assert "Assistant: Sure, what is the problem?" in out.getvalue() and "Rate this reply" in out.getvalue()


def test_human_user_quit_end_of_input_and_final_turn():
    user = HumanUser(io.StringIO("Hello\n/quit\n"), io.StringIO(), ask_rating=False)
    user.start(rng())
    turn = user.respond("Hi!", rng())
    assert turn.left and turn.reason == "quit"
    user = HumanUser(io.StringIO("Hello\n2\n"), io.StringIO())
    user.start(rng())
    final = user.respond("Hi!", rng(), final=True)  # the last turn asks for a rating, not a message
    assert not final.done and final.text == "" and final.satisfaction == 0.25
    user = HumanUser(io.StringIO("Hello\n"), io.StringIO(), ask_rating=False)
    user.start(rng())
    assert user.respond("Hi!", rng()).reason == "quit"  # end of input
    with pytest.raises(EOFError, match="before saying anything"):
        HumanUser(io.StringIO(""), io.StringIO()).start(rng())


# ------------------------------------------------------------------------------------ seeding and pickling


@pytest.mark.parametrize("make", [CorpusUser, PersonaUser, SupportUser, lambda: UserMix([CorpusUser(), PersonaUser()])])
def test_simulators_are_seeded_and_pickle_mid_conversation(make):
    replies = ["Hello! How are you?", "Purple elephants.", "Tell me more about that?", "Okay."]

    def play(user, seed):
        generator = rng(seed)
        turns = [user.start(generator)]
        turns += [user.respond(r, generator) for r in replies[:2]]
        clone = pickle.loads(pickle.dumps(user))
        state = copy.deepcopy(generator.bit_generator.state)
        rest = [user.respond(r, generator) for r in replies[2:]]
        generator.bit_generator.state = state
        assert [clone.respond(r, generator) for r in replies[2:]] == rest
        return turns + rest

    assert play(make(), 5) == play(make(), 5)
    assert play(make(), 5) != play(make(), 6)


def test_human_user_pickles_without_its_terminal():
    assert pickle.loads(pickle.dumps(HumanUser())).input_stream is None
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(HumanUser(input_stream=open(__file__)))  # noqa: SIM115


def test_user_mix_and_make_user():
    mix = UserMix([CorpusUser(), SupportUser()], weights=[0.0, 1.0])
    assert {mix.start(rng(s)) and mix.name for s in range(5)} == {"support"}
    with pytest.raises(ValueError, match="weights must be 2 non-negative numbers"):
        UserMix([CorpusUser(), SupportUser()], weights=[1.0])
    with pytest.raises(TypeError, match="is not a user simulator"):
        UserMix([object()])
    assert isinstance(make_user(["corpus", "persona"]), UserMix)
    assert isinstance(make_user("support", split="test"), SupportUser)
    with pytest.raises(ValueError, match="unknown user 'robot'"):
        make_user("robot")
    with pytest.raises(TypeError, match="users must be a name"):
        make_user(3)
    assert UserTurn("bye", left=True).done and not UserTurn("hi").done


def test_docstring_examples_run():
    import doctest
    import importlib

    for name in ("personas", "users.base", "users.simulated", "users.human"):
        result = doctest.testmod(importlib.import_module(f"tokengym.envs.{name}"))
        assert result.attempted > 0 and result.failed == 0
