"""Multi-turn dialogue environments: episodes, history layout and truncation, fact and consistency tracking,
early ends, determinism, group repeats, bad input, and the single-reply mode left as it was."""

import copy
import io
import json
import pickle

import gymnasium as gym
import numpy as np
import pytest

import tokengym
from tokengym import TextActionWrapper, testing
from tokengym.envs import RepeatTask
from tokengym.envs.dialogue import CHAT_REWARD, DialogueEnv, format_dialogue
from tokengym.envs.users import CorpusUser, HumanUser, UserSimulatorError, UserTurn

VARIANTS = ("DialogueChat-v0", "DialoguePersona-v0", "DialogueSupport-v0")


def text_env(env_id, **kwargs):
    return TextActionWrapper(gym.make(env_id, **kwargs))


def prompt_text(env, obs):
    u = env.unwrapped
    return u.codec.decode(obs["input_ids"][: u.prompt_length])


class ScriptedUser:
    """A user that says ``Line 1``, ``Line 2``... and can be told to misbehave."""

    name = "scripted"

    def __init__(self, fail_at=None, answer=None):
        self.fail_at, self.answer, self.count = fail_at, answer, 0

    def start(self, rng):
        self.count = 0
        return UserTurn("Line 0 from a user called Maya.", facts={"name": "Maya"})

    def respond(self, reply, rng, final=False):
        self.count += 1
        if self.count == self.fail_at:
            raise KeyError("boom")
        if self.answer is not None:
            return self.answer
        return UserTurn(f"Line {self.count}, with some words to fill the history up.", satisfaction=0.5)


@pytest.mark.parametrize("env_id", VARIANTS)
def test_registry_suite_passes_for_the_new_ids(env_id):
    assert env_id in tokengym.registered_ids()
    assert gym.spec(env_id).max_episode_steps == 4 * 48
    testing.check_token_env(env_id)


def test_single_reply_mode_is_the_default_and_unchanged():
    default, pinned = gym.make("Dialogue-v0"), gym.make("Dialogue-v0", max_turns=1)
    assert not default.unwrapped.multi_turn and not pinned.unwrapped.multi_turn
    assert default.unwrapped.max_prompt_len == 128 and default.unwrapped.reward_fn.weights == {
        "relevance_lexical": 1.0,
        "verbosity": 0.2,
        "repetition": 0.2,
        "brevity": 0.2,
    }
    for seed in range(10):
        a, b = default.reset(seed=seed), pinned.reset(seed=seed)
        assert a[1] == b[1] and np.array_equal(a[0]["input_ids"], b[0]["input_ids"])
        ra, rb = default.step(default.unwrapped.codec.eos_id), pinned.step(pinned.unwrapped.codec.eos_id)
        assert ra[1:4] == rb[1:4] and ra[2] and ra[4]["prompt"] == rb[4]["prompt"]


def test_a_conversation_runs_turn_by_turn_with_the_history_in_the_observation():
    env = text_env("DialogueChat-v0")
    obs, info = env.reset(seed=4)
    assert info["user"] in ("corpus", "persona") and info["turn"] == 1
    opening = env.unwrapped.history[0]
    replies = ["Hello! How are you today?", "That sounds lovely, tell me more?", "I see.", "Thanks for sharing!"]
    for turn, reply in enumerate(replies, start=1):
        obs, reward, terminated, truncated, info = env.step(reply)
        assert info["turn"] == turn and info["completion"] == reply and "user_reply" in info
        weights = env.unwrapped.reward_fn.weights
        assert reward == pytest.approx(sum(w * info["reward_components"][k] for k, w in weights.items()))
        assert 0.0 <= info["user_satisfaction"] <= 1.0 and set(obs) == {"input_ids", "attention_mask"}
        if terminated:
            break
        history = env.unwrapped.history
        assert history[-2:] == [reply, info["user_reply"]] and history[0] == opening
        assert prompt_text(env, obs).endswith(f"User: {info['user_reply']}\nAssistant:")
        assert env.unwrapped.current_sample.prompt == format_dialogue(history)
    assert terminated and not truncated and info["end_reason"] == "max_turns" and turn == 4


def test_history_is_truncated_from_the_oldest_turns_keeping_the_opening():
    replies = ["Reply number one, with several extra words in it.", "Reply number two.", "Reply number three."]
    for keep_opening in (True, False):
        env = TextActionWrapper(
            DialogueEnv(users=ScriptedUser(), max_turns=4, max_prompt_len=60, keep_opening=keep_opening)
        )
        env.reset(seed=0)
        for reply in replies:
            obs, *_ = env.step(reply)
        text = prompt_text(env, obs)
        assert env.unwrapped.prompt_length <= 60 and text.endswith(
            "User: Line 3, with some words to fill the history up.\nAssistant:"
        )
        assert "Reply number one" not in text  # the oldest turns went first
        assert text.startswith("User: Line 0 from a user called Maya.") == keep_opening


def test_an_utterance_over_the_budget_keeps_its_end():
    long_turn = "word " * 80 + "the very end."
    env = TextActionWrapper(DialogueEnv(users=ScriptedUser(answer=UserTurn(long_turn)), max_turns=2, max_prompt_len=32))
    env.reset(seed=0)
    obs, *_ = env.step("Hi!")
    text = prompt_text(env, obs)
    assert env.unwrapped.prompt_length == 32 and text.endswith("the very end.\nAssistant:")


def test_consistency_repetition_and_context_are_tracked_across_turns():
    reward = "consistency + repetition_turns + context_use"
    env = TextActionWrapper(DialogueEnv(users=ScriptedUser(), max_turns=4, reward=reward))
    env.reset(seed=0)
    parts = [
        env.step(r)[4]["reward_components"]
        for r in (
            "Hi Maya! My favourite colour is blue.",
            "My favourite colour is red.",
            "My favourite colour is red.",
        )
    ]
    assert parts[0] == {"consistency": 0.0, "repetition_turns": 0.0, "context_use": 0.5}
    assert parts[1]["consistency"] == -0.5 and parts[1]["context_use"] == 0.0
    assert parts[2]["repetition_turns"] == -1.0 and parts[2]["consistency"] == -0.5
    assert env.unwrapped.user_facts == {"name": "Maya"}


def test_persona_facts_are_tracked_and_using_them_pays():
    env = text_env("DialoguePersona-v0")
    env.reset(seed=2)
    facts = env.unwrapped.user_facts
    assert facts["name"] in env.unwrapped.history[0]
    name, interest = facts["name"], facts["interests"][0]
    _, _, _, _, used = copy.deepcopy(env).step(f"Hi {name}, it is lovely that you enjoy {interest}!")
    _, _, _, _, ignored = env.step("Purple elephants calculate taxes.")
    assert used["reward_components"]["context_use"] == 1.0 and ignored["reward_components"]["context_use"] == 0.0
    assert used["reward_components"]["user_satisfaction"] > ignored["reward_components"]["user_satisfaction"]
    assert used["user_engaged"] and not ignored["user_engaged"]


def test_support_ends_when_solved_and_the_user_leaves_when_ignored():
    env = text_env("DialogueSupport-v0", split="test")
    env.reset(seed=0)
    solution = env.unwrapped.users._script[3]
    _, reward, terminated, _, info = env.step(solution)
    assert terminated and info["end_reason"] == "goal_met" and info["reward_components"]["task_success"] == 1.0
    env = text_env("DialoguePersona-v0", patience=2)
    env.reset(seed=0)
    assert not env.step("Purple elephants.")[2]
    _, _, terminated, _, info = env.step("Purple elephants.")
    assert terminated and info["end_reason"] == "disengaged" and info["reward_components"]["engagement"] == -1.0
    env.reset(seed=0)
    _, _, terminated, _, info = env.step("You're a stupid idiot.")
    assert terminated and info["end_reason"] == "offended" and info["reward_components"]["safety"] < 0


def test_empty_reply_is_an_ignored_turn():
    env = gym.make("DialogueSupport-v0")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(env.unwrapped.codec.eos_id)
    assert not terminated and info["completion"] == "" and not info["user_engaged"]
    assert info["reward_components"]["brevity"] == -1.0 and "Are you still there?" in info["user_reply"]


def test_whole_conversations_are_determined_by_the_seed():
    replies = ["Hello there!", "Tell me more?", "Purple elephants.", "Okay, thanks."]

    def conversation(env_id, seed):
        env = text_env(env_id)
        env.reset(seed=seed)
        out = []
        for reply in replies:
            _, reward, terminated, _, info = env.step(reply)
            out.append((reward, info["user_reply"], info["user_satisfaction"]))
            if terminated:
                break
        return out, env.unwrapped.history

    for env_id in VARIANTS:
        assert conversation(env_id, 11) == conversation(env_id, 11)
        assert conversation(env_id, 11) != conversation(env_id, 12)


def test_repeat_task_replays_the_same_user_and_opening():
    env = RepeatTask(gym.make("DialoguePersona-v0"), times=2)
    first = env.reset(seed=3)
    profile = env.unwrapped.users.profile
    for _ in range(48 * 4):
        if env.step(5)[2]:
            break
    again = env.reset()
    assert np.array_equal(first[0]["input_ids"], again[0]["input_ids"]) and env.unwrapped.users.profile == profile
    assert env.unwrapped.history == [env.unwrapped.history[0]]
    third = env.reset()
    assert third[1]["prompt"] != first[1]["prompt"]


def test_env_pickles_mid_conversation():
    env = text_env("DialogueChat-v0")
    env.reset(seed=1)
    env.step("Hello! How are you?")
    clone = pickle.loads(pickle.dumps(env))
    for reply in ("Tell me more?", "Okay."):
        a, b = env.step(reply), clone.step(reply)
        assert a[1:4] == b[1:4] and a[4]["user_reply"] == b[4]["user_reply"]


def test_envs_given_one_user_object_do_not_share_its_state():
    user = ScriptedUser()
    a, b = TextActionWrapper(DialogueEnv(users=user, max_turns=3)), DialogueEnv(users=user, max_turns=3)
    a.reset(seed=0)
    b.reset(seed=0)
    a.step("Hello.")
    assert a.unwrapped.users.count == 1 and b.users.count == 0 and user.count == 0


def test_a_failing_simulator_names_itself_and_the_turn_and_the_step_is_undone():
    user = ScriptedUser(fail_at=2)
    env = TextActionWrapper(DialogueEnv(users=user, max_turns=3))
    env.reset(seed=0)
    env.step("First reply.")
    base = env.unwrapped
    before = (base.prompt_length, list(base.completion_ids), list(base.history))
    codec = base.codec
    for token in codec.encode("Second"):
        base.step(token)
    with pytest.raises(UserSimulatorError, match=r"'scripted' failed at turn 2 \(respond\): KeyError"):
        base.step(codec.eos_id)
    assert base.history == before[2] and base.users.count == 1  # the user's turn was undone too
    base.users.fail_at = None  # the env holds the user as it was before the failed turn (a copy)
    _, _, terminated, _, info = base.step(codec.eos_id)  # retrying the same end of reply works
    assert info["turn"] == 2 and info["completion"] == "Second" and not terminated


def test_a_simulator_failing_to_start_leaves_no_episode_to_step():
    class Mute(ScriptedUser):
        def start(self, rng):
            raise OSError("no microphone")

    env = DialogueEnv(users=Mute(), max_turns=2)
    with pytest.raises(UserSimulatorError, match=r"'scripted' failed at turn 0 \(start\): OSError: no microphone"):
        env.reset(seed=0)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(5)


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (UserTurn(""), "said nothing without ending the conversation"),
        (UserTurn("Hi", satisfaction=1.5), r"satisfaction 1.5; it must be a number in \[0, 1\]"),
        ("just text", "returned 'just text'; a user returns"),
    ],
)
def test_a_simulator_breaking_the_protocol_is_refused(answer, match):
    env = TextActionWrapper(DialogueEnv(users=ScriptedUser(answer=answer), max_turns=2))
    env.reset(seed=0)
    with pytest.raises(UserSimulatorError, match=match):
        env.step("Hello.")


def test_bad_arguments_and_options():
    with pytest.raises(ValueError, match="max_turns must be a positive integer"):
        gym.make("DialogueChat-v0", max_turns=0)
    with pytest.raises(ValueError, match="unknown user 'robot'"):
        gym.make("DialogueChat-v0", users="robot")
    with pytest.raises(ValueError, match="personas= is for persona users"):
        gym.make("DialogueSupport-v0", personas="p.yaml")
    with pytest.raises(ValueError, match="patience must be a positive integer"):
        gym.make("DialogueSupport-v0", patience=0)
    with pytest.raises(ValueError, match="picks a single-reply example"):
        gym.make("DialogueChat-v0").reset(seed=0, options={"index": 3})
    with pytest.raises(ValueError, match="reward 'engagement' needs user_engaged"):
        play = text_env("Dialogue-v0", reward="engagement")  # single reply: no user to react
        play.reset(seed=0)
        play.step("Hello!")
    with pytest.raises(TypeError, match="must be a finite number"):
        gym.make("DialogueChat-v0", reward={"engagement": "high"})


def test_dialogue_v0_multi_turn_mode_and_local_files(tmp_path):
    env = gym.make("Dialogue-v0", max_turns=3, max_episode_steps=3 * 48)
    assert (
        env.unwrapped.multi_turn
        and env.unwrapped.reward_fn.weights == gym.make("DialogueChat-v0").unwrapped.reward_fn.weights
    )
    assert CHAT_REWARD.startswith("relevance_lexical")
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"context": ["Hi", "Hello!", "Any plans?"], "response": "Just reading."}) + "\n")
    env = text_env("DialogueChat-v0", data_path=str(path), users="corpus")
    _, info = env.reset(seed=0)
    assert info["prompt"] == "User: Hi\nAssistant:" and env.unwrapped.current_sample.columns["references"] == "Hello!"
    _, _, _, _, info = env.step("Hello!")
    assert info["user_reply"] == "Any plans?" and info["reward_components"]["relevance_lexical"] == 1.0


def test_persona_file_through_the_env(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("- name: Zed\n  interests: [chess]\n  tone: formal\n")
    env = text_env("DialoguePersona-v0", personas=str(path))
    _, info = env.reset(seed=0)
    assert "Zed" in info["prompt"] and "chess" in info["prompt"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("- name: Zed\n  interests: chess\n")
    with pytest.raises(ValueError, match="'interests' must be a list of strings"):
        gym.make("DialoguePersona-v0", personas=str(bad))


def test_a_person_plays_the_user_through_injected_streams():
    out = io.StringIO()
    user = HumanUser(io.StringIO("Hello, bot.\n4\nTell me a joke.\n5\n"), out)
    env = text_env("DialogueChat-v0", users=user, max_turns=2, max_episode_steps=96)
    _, info = env.reset(seed=0)
    assert info["prompt"] == "User: Hello, bot.\nAssistant:" and info["user"] == "human"
    _, _, terminated, _, info = env.step("Hi! How can I help?")
    assert info["user_reply"] == "Tell me a joke." and info["user_rating"] == 0.75 and not terminated
    _, _, terminated, _, info = env.step("Why did the chicken cross the road?")
    assert terminated and info["end_reason"] == "max_turns" and info["user_satisfaction"] == 0.875
    assert "Assistant: Why did the chicken cross the road?" in out.getvalue()


def test_corpus_user_in_the_env_plays_real_flows():
    env = TextActionWrapper(DialogueEnv(users=CorpusUser(source="corpus"), max_turns=2, source="corpus"))
    _, info = env.reset(seed=0)
    reference = env.unwrapped.current_sample.columns["references"]
    _, _, _, _, info = env.step(reference)
    assert info["reward_components"]["relevance_lexical"] == pytest.approx(1.0) and info["user_engaged"]


class ScriptedReplies:
    """A policy that writes the same reply, token by token, at every turn (SB3's ``predict`` interface)."""

    def __init__(self, codec, text):
        self.ids, self.at = codec.encode(" " + text) + [codec.eos_id], 0

    def predict(self, obs, deterministic=False):
        token = self.ids[self.at]
        self.at = (self.at + 1) % len(self.ids)
        return np.array(token), None


def test_evaluation_sums_each_component_over_the_turns_of_a_conversation():
    from tokengym.agents.running.evaluate import evaluate_policy_text

    env = gym.make("DialogueSupport-v0")
    u = env.unwrapped
    policy = ScriptedReplies(u.codec, "I'm sorry to hear that. Please restart it and update it.")
    report = evaluate_policy_text(policy, env, seeds=range(3))
    weights = u.reward_fn.weights
    assert report.mean == pytest.approx(sum(weights[n] * report.components[n] for n in weights))
    # the same conversations played by hand: every turn's components, added up
    totals = {}
    for seed in range(3):
        env.reset(seed=seed)
        done = False
        while not done:
            action, _ = policy.predict(None)
            _, _, terminated, truncated, info = env.step(int(action))
            done = terminated or truncated
            for name, value in info.get("reward_components", {}).items():
                totals[name] = totals.get(name, 0.0) + value / 3
    assert report.components == pytest.approx(totals)
    # each sample keeps the whole conversation: every reply, its reward and the user's answer
    for sample, total in zip(report.samples, report.returns, strict=True):
        assert len(sample["turns"]) >= 2 and sample["end_reason"]
        assert sum(turn["reward"] for turn in sample["turns"]) == pytest.approx(total)
        assert {turn["completion"] for turn in sample["turns"]} == {sample["completion"]}
        assert all("user_reply" in turn for turn in sample["turns"])
