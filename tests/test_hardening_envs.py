"""Environment arguments and reset options: every bad one gets a specific ValueError before anything is built or
changed; the TimeLimit follows max_turns and max_new_tokens; command-level games repeat a task like token-level ones."""

import pickle

import gymnasium as gym
import numpy as np
import pytest

import tokengym
from tokengym.envs import RepeatTask, TextActionWrapper
from tokengym.envs.games import TextNav
from tokengym.envs.users import HumanUser, PersonaUser, UserMix, make_user
from tokengym.envs.validation import (
    MAX_TOKENS,
    check_bool,
    check_choice,
    check_int,
    check_mapping,
    check_number,
    check_reset_options,
    check_seed,
)

# ------------------------------------------------------------------------------------------ the helpers


def test_check_int_refuses_bools_floats_strings_and_out_of_range():
    assert check_int("n", np.int64(3), low=1) == 3 and type(check_int("n", np.int64(3))) is int
    for bad in (True, 2.0, "3", None, [1], 0):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            check_int("n", bad, low=1)
    with pytest.raises(ValueError, match="up to 10"):
        check_int("n", 11, low=0, high=10)


def test_check_bool_number_choice_mapping():
    assert check_bool("flag", np.bool_(True)) is True
    for bad in ("no", "False", 1, 0, None):
        with pytest.raises(ValueError, match="flag must be True or False"):
            check_bool("flag", bad)
    for bad in (float("inf"), float("nan"), -1, "1", True):
        with pytest.raises(ValueError, match="x must be a"):
            check_number("x", bad)
    assert check_choice("d", np.int64(2), (1, 2, 3)) == 2
    for bad in (2.0, True, "2", [2]):
        with pytest.raises(ValueError, match=r"d must be one of \(1, 2, 3\)"):
            check_choice("d", bad, (1, 2, 3))
    assert check_mapping("kw", None) == {}
    for bad in ("str", ["a"], 5):
        with pytest.raises(ValueError, match="kw must be a mapping"):
            check_mapping("kw", bad)
    with pytest.raises(ValueError, match="string keys"):
        check_mapping("kw", {1: 2})


def test_check_seed_and_reset_options():
    assert check_seed(np.int64(4)) == 4 and check_seed(2**70) == 2**70 and check_seed(None) is None
    for bad in (-1, 1.5, "3", True, float("nan"), [1]):
        with pytest.raises(ValueError, match="seed must be None or a non-negative integer"):
            check_seed(bad)
    allowed = ("repeat_task", "index")
    assert check_reset_options({"index": np.int64(2)}, allowed, "E") == {"index": 2}
    cases = [
        ("str", "takes a dict"),
        (5, "takes a dict"),
        ([("index", 1)], "takes a dict"),
        ({"idx": 1}, "unknown option 'idx'"),
        ({"repeat_task": "yes"}, "repeat_task'\\] must be True or False"),
        ({"index": -1}, "non-negative integer"),
        ({"index": 1.5}, "non-negative integer"),
        ({"index": True}, "non-negative integer"),
        ({"index": 1, "repeat_task": True}, "pass one of them"),
    ]
    for options, match in cases:
        with pytest.raises(ValueError, match=match):
            check_reset_options(options, allowed, "E")


# ------------------------------------------------------------------------------------ constructor arguments

BAD_ARGUMENTS = [
    ("Dialogue-v0", {"users": []}, "users is an empty list"),
    ("DialogueChat-v0", {"users": ()}, "users is an empty list"),
    ("Dialogue-v0", {"max_turns": 2, "users": [["corpus"]]}, "flat list"),
    ("Dialogue-v0", {"max_prompt_len": 1}, "leaves no room for the conversation"),
    ("Dialogue-v0", {"max_prompt_len": 10**9}, "max_prompt_len must be a positive integer up to 131,072"),
    ("Dialogue-v0", {"max_new_tokens": 10**9}, "max_new_tokens must be a positive integer up to 131,072"),
    ("Dialogue-v0", {"max_prompt_len": MAX_TOKENS, "max_new_tokens": 1}, "exceeds the limit of 131,072"),
    ("Dialogue-v0", {"keep_opening": "no"}, "keep_opening must be True or False"),
    ("DialogueChat-v0", {"keep_opening": 1}, "keep_opening must be True or False"),
    ("Dialogue-v0", {"patience": "4"}, "patience must be a positive integer"),
    ("Dialogue-v0", {"max_turns": 2.0}, "max_turns must be a positive integer"),
    ("Dialogue-v0", {"source": ["corpus"]}, "unknown dialogue source"),
    ("Summarization-v0", {"difficulty": 2.0}, r"difficulty must be one of \(1, 2, 3\) or 'mix'"),
    ("Summarization-v0", {"difficulty": True}, "difficulty must be one of"),
    ("Summarization-v0", {"dataset_limit": -1}, "dataset_limit must be a positive integer"),
    ("Summarization-v0", {"fields": {"article": "document"}}, "pass one of them, or drop fields"),
    ("Dialogue-v0", {"fields": {"context": "prompt"}}, "pass data_path too"),
    ("TokenSubset-v0", {"max_prompt_len": 1}, "max_prompt_len must be an integer from 2 to 131,072"),
    ("TokenSubset-v0", {"max_new_tokens": 10**9}, "max_new_tokens must be a positive integer up to"),
    ("TextNav-v0", {"game_kwargs": "str"}, "game_kwargs must be a mapping"),
    ("TextNav-v0", {"game_kwargs": ["invalid_penalty"]}, "game_kwargs must be a mapping"),
    ("TextNav-v0", {"max_prompt_len": 1}, "max_prompt_len must be an integer from 16 to"),
    ("TextNav-v0", {"max_turns": "5"}, "max_turns must be a positive integer"),
    ("TextNavCmd-v0", {"game_kwargs": "str"}, "game_kwargs must be a mapping"),
    ("TextNavCmd-v0", {"max_text_len": 10**9}, "max_text_len must be a positive integer up to 131,072"),
    ("TextNavCmd-v0", {"max_commands": 10**9}, "max_commands must be a positive integer up to"),
    ("TextNavCmd-v0", {"max_command_len": 10**9}, "max_command_len must be a positive integer up to"),
    ("TextNavCmd-v0", {"max_commands": 10**5, "max_command_len": 10**5}, "exceeds the limit of 1,048,576"),
    ("TwentyQuestions-v0", {"game_kwargs": {"question_cost": float("inf")}}, "finite number"),
]


@pytest.mark.parametrize(("env_id", "kwargs", "match"), BAD_ARGUMENTS, ids=lambda v: str(v)[:40])
def test_bad_constructor_arguments_get_a_specific_value_error(env_id, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(env_id, **kwargs)


def test_arguments_are_checked_before_the_tokenizer_or_reward_is_built(monkeypatch):
    import tokengym.envs.core as core

    def fail(*args, **kwargs):
        raise AssertionError("built before the arguments were checked")

    monkeypatch.setattr(core, "load_tokenizer", fail)
    for kwargs in ({"keep_opening": "no"}, {"users": []}, {"max_new_tokens": 10**9}, {"patience": 0}):
        with pytest.raises(ValueError):
            gym.make("Dialogue-v0", **kwargs)


def test_users_personas_and_mix_weights_are_checked():
    with pytest.raises(ValueError, match="empty list"):
        make_user([])
    with pytest.raises(ValueError, match="personas must be a persona file"):
        PersonaUser(personas=42)
    with pytest.raises(ValueError, match="ask_rating must be True or False"):
        HumanUser(ask_rating="no")
    for weights in (["a", "b"], [float("nan"), 1.0], "ab", [1.0, float("inf")]):
        with pytest.raises(ValueError, match="weights must be 2 non-negative numbers"):
            UserMix([make_user("corpus"), make_user("persona")], weights=weights)


def test_text_wrapper_end_utterance_must_be_a_bool():
    with pytest.raises(ValueError, match="end_utterance must be True or False"):
        TextActionWrapper(gym.make("Dialogue-v0"), end_utterance="no")


# ---------------------------------------------------------------------------------------------- reset options


@pytest.mark.parametrize("env_id", ["Dialogue-v0", "Summarization-v0", "TokenSubset-v0", "TextNav-v0", "TextNavCmd-v0"])
@pytest.mark.parametrize(
    ("seed", "options", "match"),
    [
        (0, "str", "takes a dict"),
        (0, 5, "takes a dict"),
        (0, {"foo": 1}, "unknown option 'foo'"),
        (0, {"repeat_task": "yes"}, "must be True or False"),
        (-1, None, "seed must be None or a non-negative integer"),
        (1.5, None, "seed must be None or a non-negative integer"),
        ("3", None, "seed must be None or a non-negative integer"),
    ],
)
def test_bad_reset_arguments_leave_the_env_unchanged(env_id, seed, options, match):
    env = gym.make(env_id).unwrapped
    env.reset(seed=1)
    before = pickle.dumps(env)
    with pytest.raises(ValueError, match=match):
        env.reset(seed=seed, options=options)
    assert pickle.dumps(env) == before


@pytest.mark.parametrize(
    ("env_id", "index", "match"),
    [
        ("Summarization-v0", -1, "non-negative integer"),
        ("Summarization-v0", 1.5, "non-negative integer"),
        ("Summarization-v0", "3", "non-negative integer"),
        ("Summarization-v0", True, "non-negative integer"),
        ("Summarization-v0", 2**31, "outside the 2,147,483,647 articles"),
        ("Dialogue-v0", 10**12, "is outside the"),
        ("TextNav-v0", 0, "unknown option 'index'"),
        ("TokenSubset-v0", 0, "unknown option 'index'"),
        ("DialogueChat-v0", 0, "picks a single-reply example"),
    ],
)
def test_bad_index_is_refused_and_the_generator_is_untouched(env_id, index, match):
    env = gym.make(env_id).unwrapped
    env.reset(seed=1)
    before = pickle.dumps(env)
    with pytest.raises(ValueError, match=match):
        env.reset(options={"index": index})
    assert pickle.dumps(env) == before  # the generator did not move: the next draw is the one it would have been


def test_numpy_integer_seeds_and_indices_are_accepted():
    env = gym.make("Summarization-v0")
    a = env.reset(seed=np.int64(3), options={"index": np.int32(7)})[0]
    b = env.reset(seed=3, options={"index": 7})[0]
    assert np.array_equal(a["input_ids"], b["input_ids"])


# -------------------------------------------------------------------------------- max_turns and TimeLimit


@pytest.mark.parametrize(
    ("env_id", "kwargs", "limit"),
    [
        ("Dialogue-v0", {"max_turns": 3}, 3 * 48),
        ("Dialogue-v0", {"max_new_tokens": 64}, 64),
        ("DialogueChat-v0", {"max_turns": 8}, 8 * 48),
        ("DialogueChat-v0", {"max_turns": 2, "max_new_tokens": 8}, 16),
        ("TextNav-v0", {"max_turns": 60}, 60 * 16),
        ("TextNavCmd-v0", {"max_turns": 60}, 60),
        ("Dialogue-v0", {}, 48),
        ("DialogueChat-v0", {}, 4 * 48),
    ],
)
def test_the_time_limit_follows_max_turns_and_max_new_tokens(env_id, kwargs, limit):
    env = gym.make(env_id, **kwargs)
    assert env.spec.max_episode_steps == limit == env.unwrapped.episode_step_limit
    assert gym.make(env.spec).spec.max_episode_steps == limit  # remade from its spec, the same limit


def test_an_explicit_max_episode_steps_is_kept():
    assert gym.make("Dialogue-v0", max_turns=3, max_episode_steps=100).spec.max_episode_steps == 100
    assert gym.make("Dialogue-v0", max_turns=3, max_episode_steps=-1).spec.max_episode_steps is None


def test_a_multi_turn_dialogue_is_not_cut_after_its_first_turn():
    """Replies that fill their 48-token budget: the registered limit of 48 steps used to truncate the first one."""
    env = gym.make("Dialogue-v0", max_turns=3, users="support", patience=3)
    env.reset(seed=0)
    for step in range(1, 3 * 48 + 1):
        _, _, terminated, truncated, info = env.step(5)
        if step % 48 == 0:
            assert info["turn"] == step // 48
            assert terminated == truncated == (step == 3 * 48), "cut before the last turn"
        else:
            assert not (terminated or truncated)


# ------------------------------------------------------------------------- repeat_task at command level


@pytest.mark.parametrize("env_id", ["TextNavCmd-v0", "WordleCmd-v0", "TwentyQuestionsCmd-v0", "CoinCollectorCmd-v0"])
def test_command_level_games_repeat_a_task_from_its_start(env_id):
    env = gym.make(env_id, level=2)
    obs, info = env.reset(seed=4)
    _, _, terminated, _, _ = env.step(0)
    again, info_again = env.reset(options={"repeat_task": True})
    assert all(np.array_equal(obs[k], again[k]) for k in obs) and info == info_again
    fresh, _ = env.reset()
    assert not np.array_equal(fresh["input_ids"], obs["input_ids"]) or env_id.startswith("Wordle")


def test_command_level_repeat_task_needs_a_game_and_repeat_task_wraps_command_games():
    with pytest.raises(RuntimeError, match="no game to repeat"):
        gym.make("TextNavCmd-v0").reset(options={"repeat_task": True})
    env = RepeatTask(gym.make("TextNavCmd-v0", level=3), times=2)
    first = env.reset(seed=5)[1]["text"]
    env.step(0)
    assert env.reset()[1]["text"] == first
    assert env.reset()[1]["text"] != first


def test_game_max_turns_and_level_types():
    with pytest.raises(ValueError, match="max_turns must be a positive integer"):
        TextNav(max_turns=1.0)
    with pytest.raises(ValueError, match="invalid_penalty must be a finite number"):
        TextNav(invalid_penalty=float("inf"))


def test_every_registered_env_declares_its_reset_options():
    for env_id in tokengym.registered_ids():
        options = gym.make(env_id).unwrapped.reset_options
        assert "repeat_task" in options and set(options) <= {"repeat_task", "index"}


def test_textworld_choices_keep_numbers_and_bools_apart():
    from tokengym.envs.games.textworld_game import check_choice

    check_choice("go", 6, (1, 6, 9, 12))
    for bad in (6.0, True, "6"):
        with pytest.raises(ValueError, match=r"go must be one of \(1, 6, 9, 12\)"):
            check_choice("go", bad, (1, 6, 9, 12))
    with pytest.raises(ValueError, match="open must be one of"):
        check_choice("open", 0, (False, True))
