"""Task-specific behaviour of Dialogue-v0 and Summarization-v0, and the string-level wrapper."""

import json

import gymnasium as gym
import numpy as np
import pytest

from tokengym import TextActionWrapper
from tokengym.data import DataFileError
from tokengym.envs.dialogue import corpus_examples, format_dialogue


def play(env_id, text, seed=0, **kwargs):
    env = TextActionWrapper(gym.make(env_id, **kwargs))
    _, info = env.reset(seed=seed)
    return env.step(text)


def test_dialogue_prompt_format_and_reference_reward():
    env = TextActionWrapper(gym.make("Dialogue-v0", source="corpus"))
    env.reset(seed=0, options={"index": 0})
    example = corpus_examples("train")[0]
    assert env.unwrapped.current_sample.prompt == format_dialogue(example.history)
    assert env.unwrapped.current_sample.prompt.endswith("Assistant:")
    _, reward, terminated, _, info = env.step(example.reference)
    assert terminated and info["completion"] == example.reference
    assert info["reward_components"]["relevance_lexical"] == pytest.approx(1.0)
    assert info["source"] == "corpus"


def test_dialogue_reference_beats_off_topic_reply():
    env = TextActionWrapper(gym.make("Dialogue-v0"))
    better = 0
    for seed in range(20):
        _, info = env.reset(seed=seed)
        reference = env.unwrapped.current_sample.columns["references"]
        good = env.step(reference)[1]
        env.reset(seed=seed)
        bad = env.step("Purple elephants calculate the tax of sandwiches.")[1]
        better += good > bad
    assert better == 20


def test_dialogue_sources_and_splits_differ():
    corpus = gym.make("Dialogue-v0", source="corpus")
    generated = gym.make("Dialogue-v0", source="generated")
    kinds = set()
    for seed in range(30):
        assert corpus.reset(seed=seed)[1]["prompt"].startswith("User:")
        generated.reset(seed=seed)
        kinds.add(generated.unwrapped.current_sample.metadata["kind"])
    assert kinds == {"chitchat", "persona", "support"}
    train = {gym.make("Dialogue-v0", source="generated").reset(seed=s)[1]["prompt"] for s in range(20)}
    test = {gym.make("Dialogue-v0", source="generated", split="test").reset(seed=s)[1]["prompt"] for s in range(20)}
    assert not train & test


def test_long_dialogue_keeps_the_latest_turns():
    env = gym.make("Dialogue-v0", source="generated", max_prompt_len=24).unwrapped
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        n = env.prompt_length
        assert n <= 24
        text = env.codec.decode(obs["input_ids"][:n])
        assert text.endswith("Assistant:")
        assert info["prompt"].endswith(text)


def test_dialogue_from_local_files(tmp_path):
    path = tmp_path / "chat.jsonl"
    lines = [
        {"context": ["Hi", "Hello!", "Any plans?"], "response": "Just reading."},
        {"context": "Yo", "response": "Hey"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in lines))
    env = gym.make("Dialogue-v0", data_path=str(path))
    _, info = env.reset(seed=0, options={"index": 0})
    assert info["prompt"] == "User: Hi\nAssistant: Hello!\nUser: Any plans?\nAssistant:"
    csv = tmp_path / "chat.csv"
    csv.write_text("history,answer\nHow are you?,Fine thanks\n")
    env = gym.make("Dialogue-v0", data_path=str(csv), fields={"context": "history", "response": "answer"})
    assert env.reset(seed=0)[1]["prompt"] == "User: How are you?\nAssistant:"
    with pytest.raises(ValueError, match="index 5 is outside the 1 examples"):
        env.reset(options={"index": 5})
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"context": ["a"], "response": "b"}\n{"context": ["a"]}\n')
    with pytest.raises(DataFileError, match=r"bad.jsonl:2: missing field 'response'"):
        gym.make("Dialogue-v0", data_path=str(bad))


def test_summarization_reference_scores_high_and_facts_are_reported():
    _, reward, terminated, _, info = play("Summarization-v0", "placeholder")
    env = TextActionWrapper(gym.make("Summarization-v0"))
    env.reset(seed=5)
    sample = env.unwrapped.current_sample
    _, reward, terminated, _, info = env.step(sample.columns["references"])
    assert terminated and info["reward_components"]["rouge_l"] == pytest.approx(1.0)
    assert reward == pytest.approx(1.0)
    assert info["facts"] and all(v in info["references"] for v in info["facts"].values())
    assert info["prompt"].endswith("\nTL;DR:")


def test_summarization_long_article_keeps_lead_and_suffix():
    env = gym.make("Summarization-v0", difficulty=3, max_prompt_len=40).unwrapped
    obs, info = env.reset(seed=0)
    text = env.codec.decode(obs["input_ids"][: env.prompt_length])
    assert env.prompt_length == 40
    assert text.endswith("\nTL;DR:")
    assert info["prompt"].startswith(text.removesuffix("\nTL;DR:"))


def test_summarization_difficulty_and_files(tmp_path):
    lengths = {}
    for d in (1, 2, 3):
        env = gym.make("Summarization-v0", difficulty=d, max_prompt_len=1024)
        env.reset(seed=0)
        lengths[d] = env.unwrapped.prompt_length
    assert lengths[1] < lengths[2] < lengths[3]
    with pytest.raises(ValueError, match="difficulty must be one of"):
        gym.make("Summarization-v0", difficulty=4)
    path = tmp_path / "news.csv"
    path.write_text("document,highlights\nThe mayor opened a bridge.,Mayor opens bridge.\n")
    env = gym.make("Summarization-v0", data_path=str(path), fields={"article": "document", "summary": "highlights"})
    _, info = env.reset(seed=0)
    assert info["prompt"] == "The mayor opened a bridge.\nTL;DR:"


def test_summarization_mixes_difficulties_by_article_index():
    env = gym.make("Summarization-v0", max_prompt_len=1024).unwrapped
    seen = {}
    for index in range(6):
        _, info = env.reset(seed=0, options={"index": index})
        seen[index] = env.current_sample.metadata["difficulty"]
    assert seen == {0: 1, 1: 2, 2: 3, 3: 1, 4: 2, 5: 3}
    fixed = gym.make("Summarization-v0", difficulty=2).unwrapped
    fixed.reset(seed=0, options={"index": 0})
    assert fixed.current_sample.metadata["difficulty"] == 2
    with pytest.raises(ValueError, match=r"difficulty must be one of \(1, 2, 3\) or 'mix'"):
        gym.make("Summarization-v0", difficulty="hard")


def test_summarization_seq2seq_format_splits_into_source_and_summary():
    from tokengym.envs.summarization import split_seq2seq

    env = gym.make("Summarization-v0", prompt_format="seq2seq", max_prompt_len=64).unwrapped
    obs, info = env.reset(seed=3)
    eos = env.codec.eos_id
    n = env.prompt_length
    assert info["prompt"].startswith("summarize: ") and "TL;DR" not in info["prompt"]
    assert obs["input_ids"][n - 1] == eos and eos not in obs["input_ids"][: n - 1]
    assert env.codec.decode(obs["input_ids"][: n - 1]).startswith("summarize: ")
    first = split_seq2seq(obs["input_ids"], obs["attention_mask"], eos)
    assert first["encoder_attention_mask"].sum() == n and first["decoder_attention_mask"].sum() == 0
    written = env.codec.encode(" The council met.")
    for token in written:
        obs, *_ = env.step(token)
    later = split_seq2seq(obs["input_ids"], obs["attention_mask"], eos)
    assert later["encoder_input_ids"].tolist() == first["encoder_input_ids"].tolist()
    assert later["decoder_input_ids"][: len(written)].tolist() == written
    assert later["decoder_attention_mask"].sum() == len(written)
    assert later["decoder_input_ids"].shape == obs["input_ids"].shape
    batch = split_seq2seq(np.stack([obs["input_ids"]] * 2), np.stack([obs["attention_mask"]] * 2), eos)
    assert batch["decoder_input_ids"].shape == (2, env.seq_len)
    assert (batch["decoder_input_ids"][1] == later["decoder_input_ids"]).all()
    obs, reward, terminated, _, info = env.step(eos)
    assert terminated and info["completion"] == "The council met."
    with pytest.raises(ValueError, match="no end-of-sequence token"):
        split_seq2seq(np.array([5, 6, 7]), np.array([1, 1, 1]), eos)
    with pytest.raises(ValueError, match="unknown prompt_format 'chat'"):
        gym.make("Summarization-v0", prompt_format="chat")
    with pytest.raises(ValueError, match="leaves no room for the article"):
        gym.make("Summarization-v0", prompt_format="seq2seq", max_prompt_len=3)


def test_summarization_seq2seq_format_passes_the_registry_checks():
    from tokengym.testing import check_token_env

    check_token_env(lambda: gym.make("Summarization-v0", prompt_format="seq2seq", max_prompt_len=64))


def test_text_wrapper_sums_rewards_and_drops_overflow():
    env = TextActionWrapper(gym.make("Dialogue-v0", max_new_tokens=8, max_episode_steps=8))
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("one two three four five six seven eight nine ten eleven")
    assert terminated and truncated and info["ended_by"] == "budget"
    assert info["tokens_fed"] == 8 and info["tokens_dropped"] > 0
    assert reward == pytest.approx(
        sum(info["reward_components"][k] * w for k, w in env.unwrapped.reward_fn.weights.items())
    )
    with pytest.raises(TypeError, match="steps with a string"):
        env.step(5)


def test_text_wrapper_without_end_of_utterance_appends():
    env = TextActionWrapper(gym.make("Dialogue-v0"), end_utterance=False)
    env.reset(seed=0)
    _, _, terminated, _, _ = env.step("Hello")
    assert not terminated
    env.step(" there")
    assert env.unwrapped.codec.decode(env.unwrapped.completion_ids) == "Hello there"
    with pytest.raises(ValueError, match="empty text"):
        env.step("")
    with pytest.raises(TypeError, match="needs a tokengym"):
        TextActionWrapper(gym.make("CartPole-v1"))


def test_earlier_assistant_turns_end_with_eos_like_the_agents_own_reply(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"context": ["Hi", "Hello!", "Any plans?"], "response": "Reading."}) + "\n")
    env = gym.make("Dialogue-v0", data_path=str(path)).unwrapped
    obs, info = env.reset(seed=0)
    codec = env.codec
    ids = obs["input_ids"][: env.prompt_length].tolist()
    expected = [
        *codec.encode("User: Hi\n"),
        *codec.encode("Assistant: Hello!"),
        codec.eos_id,
        *codec.encode("\n"),
        *codec.encode("User: Any plans?\n"),
        *codec.encode("Assistant:"),
    ]
    assert ids == expected
    assert codec.decode(ids) == info["prompt"]


def test_training_documents_are_laid_out_like_prompts():
    from tokengym.data.dialogue_layout import dialogue_document
    from tokengym.data.pretraining_text import training_documents
    from tokengym.tokenizer import EOS_TOKEN

    assert dialogue_document(["a", "b", "c", "d", "e"], "<e>") == "User: a\nAssistant: b<e>\nUser: c\nAssistant: d<e>"
    docs = list(training_documents(articles=2, dialogues=3, corpus_repeats=0, key_facts=False))
    assert len(docs) == 2 * 3 + 3
    assert all(d.endswith(EOS_TOKEN) for d in docs)
    assert "\nTL;DR: " in docs[0] and docs[-1].startswith("User: ")


def test_training_text_and_prompt_ids_share_one_layout():
    from tokengym.data.dialogue_layout import dialogue_document, dialogue_turn_ids
    from tokengym.data.dialogues import conversation_for
    from tokengym.tokenizer import EOS_TOKEN, load_tokenizer

    codec = load_tokenizer()
    for index in range(20):
        turns = conversation_for(index, "test").turns
        from_text = codec.encode(dialogue_document(turns, EOS_TOKEN))
        from_turns = [t for i, turn in enumerate(turns) for t in dialogue_turn_ids(codec, i, turn)]
        assert from_text == from_turns[: -len(codec.encode("\n"))]  # the document stops at the last EOS
