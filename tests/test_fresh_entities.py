"""Invented entities in the pretraining text, and the dense faithfulness penalty of Summarization-v0."""

from __future__ import annotations

import re

import gymnasium as gym
import numpy as np
import pytest

import tokengym  # noqa: F401
from tokengym.data.articles import FIRST_NAMES, SURNAMES, TOWNS, article_for
from tokengym.data.dialogues import NAMES, conversation_for
from tokengym.data.fresh_entities import NameInventor, refresh_article, refresh_conversation
from tokengym.data.pretraining_text import training_documents
from tokengym.rewards.summary import InventedItems, unsupported


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]+", text))


@pytest.mark.parametrize("index", range(12))
def test_refreshed_articles_keep_their_facts_and_lose_the_tables_names(index):
    for difficulty in (1, 2, 3):
        old = article_for(index, "train", difficulty)
        new = refresh_article(old, np.random.default_rng([index, difficulty]))
        assert all(value in new.article and value in new.summary for value in new.facts.values())
        assert not _words(new.article) & (set(FIRST_NAMES) | set(SURNAMES) | set(TOWNS)) - _words(old.title)
        assert new.facts["what"] == old.facts["what"] or old.facts["what"].startswith("Storm ")  # a storm's name
        day = re.fullmatch(r"[A-Z][a-z]+ (\d+)", new.facts["when"])  # "June 18" becomes another day of June
        assert new.facts["when"] == old.facts["when"] or (day and 1 <= int(day.group(1)) <= 28)
        assert new.facts["who"] != old.facts["who"] and new.facts["where"] != old.facts["where"]
        # the summary invents nothing the article does not hold, as the original's did not
        assert unsupported(new.summary, new.article) == unsupported(old.summary, old.article) == []
        # the same article and generator give the same document
        assert new == refresh_article(old, np.random.default_rng([index, difficulty]))


def test_numbers_keep_their_shape_and_years_stay():
    inventor = NameInventor(np.random.default_rng(0))
    for like in ("7", "58", "1,548", "47,700", "12.5"):
        new = inventor.number(like)
        assert new != like and re.sub(r"\d", "9", new) == re.sub(r"\d", "9", like) and new[0] != "0"
    old = article_for(3, "train", 3)
    new = refresh_article(old, np.random.default_rng(1))
    assert "1990" in old.article and "1990" in new.article


def test_invented_names_are_new_capitalised_and_avoid_the_given_words():
    inventor = NameInventor(np.random.default_rng(0), avoid={"bana", "dole"})
    names = [inventor.name() for _ in range(300)]
    assert len(set(names)) == 300 and all(n[0].isupper() and 4 <= len(n) <= 10 for n in names)
    assert not {n.lower() for n in names} & {"bana", "dole"}
    with pytest.raises(ValueError, match="no digits"):
        inventor.number("many")


def test_refreshed_persona_conversations_use_one_invented_name_throughout():
    for index in range(10):
        old = conversation_for(index, "train", kind="persona")
        new = refresh_conversation(old, np.random.default_rng(index))
        name = new.persona["name"]
        assert name != old.persona["name"] and name not in NAMES
        assert name in new.turns[0]
        assert sum(old.persona["name"] in t for t in old.turns) == sum(name in t for t in new.turns)
        assert not any(old.persona["name"] in t for t in new.turns)
    chitchat = conversation_for(0, "train", kind="chitchat")
    assert refresh_conversation(chitchat, np.random.default_rng(0)) is chitchat


def test_training_documents_invent_entities_in_three_of_four():
    docs = list(training_documents(articles=4, dialogues=0, corpus_repeats=0, key_facts=False))
    plain = [article_for(i, "train", d) for i in range(4) for d in (1, 2, 3)]
    same = [f"{a.article}\nTL;DR: {a.summary}" in doc for a, doc in zip(plain, docs, strict=True)]
    assert same == [False] * 9 + [True] * 3  # index % 4 < 3 is refreshed
    none = list(training_documents(articles=4, dialogues=0, corpus_repeats=0, fresh_in_4=0, key_facts=False))
    assert all(f"{a.article}\nTL;DR: {a.summary}" in doc for a, doc in zip(plain, none, strict=True))
    with pytest.raises(ValueError, match="fresh_in_4"):
        next(training_documents(fresh_in_4=5))


def test_each_article_is_followed_by_its_key_facts_document():
    docs = list(training_documents(articles=2, dialogues=0, corpus_repeats=0))
    assert len(docs) == 2 * 3 * 2
    for summary_doc, facts_doc in zip(docs[::2], docs[1::2], strict=True):
        article, facts = facts_doc.removesuffix("<|endoftext|>").rsplit("\nKey facts: ", 1)
        assert summary_doc.startswith(article + "\nTL;DR: ")  # the same article, refreshed or not
        values = facts.removesuffix(".").split("; ")
        assert len(values) == 4 and all(v in article for v in values)  # every fact is copied from the text


def test_invented_items_are_reported_once_when_complete():
    tracker = InventedItems("Maria Okafor won 500 dollars in Ferndale on Monday.")
    assert tracker.update("Maria Okafor") == []  # a supported name, maybe still growing
    assert tracker.update("Maria Okafor won 5") == []  # "5" may become "500"
    assert tracker.update("Maria Okafor won 50 ") == ["50"]
    assert tracker.update("Maria Okafor won 50 dollars in New") == []
    assert tracker.update("Maria Okafor won 50 dollars in New York") == []  # the name may go on
    assert tracker.update("Maria Okafor won 50 dollars in New York o") == ["new york"]
    assert tracker.update("Maria Okafor won 50 dollars in New York on Monday.", final=True) == []


def _play(env, text):
    u = env.unwrapped
    rewards, info = [], {}
    for token in [*u.codec.encode(text), u.codec.eos_id]:
        _, reward, terminated, truncated, info = env.step(token)
        rewards.append(reward)
        if terminated or truncated:
            break
    return rewards, info


def test_dense_penalty_lands_inside_the_summary_and_sums_to_the_invented_items():
    dense = gym.make("Summarization-v0", split="test", invented_penalty=0.25, max_new_tokens=64)
    sparse = gym.make("Summarization-v0", split="test", max_new_tokens=64)
    dense.reset(seed=3)
    sparse.reset(seed=3)
    article = dense.unwrapped._sample_.columns["sources"]
    text = " Quenby Marlowe said 1,234,567 people came on Monday. It went well."
    d_rewards, d_info = _play(dense, text)
    s_rewards, s_info = _play(sparse, text)
    invented = unsupported(text, article)
    assert sorted(d_info["invented"]) == sorted(invented) and len(invented) >= 2
    inside = [r for r in d_rewards[:-1] if r]
    assert len(inside) == len(invented) and all(r == -0.25 for r in inside)
    assert d_rewards[-1] == pytest.approx(s_rewards[-1])  # nothing left to charge at the end
    assert d_info["reward_components"]["invented_penalty"] == pytest.approx(-0.25 * len(invented))
    assert all(r == 0 for r in s_rewards[:-1])
    # the penalty lands on the first token after the invented item, not on later ones
    first = d_rewards.index(-0.25)
    ids = dense.unwrapped.codec.encode(text)
    assert "Marlowe" in dense.unwrapped.codec.decode(ids[:first]) and "said" not in dense.unwrapped.codec.decode(
        ids[: first - 1]
    )


def test_a_faithful_summary_pays_no_dense_penalty():
    env = gym.make("Summarization-v0", split="test", invented_penalty=1.0)
    env.reset(seed=5)
    rewards, info = _play(env, " " + env.unwrapped._sample_.columns["references"])
    assert info["invented"] == [] and all(r == 0 for r in rewards[:-1])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), 11.0, "high"])
def test_invented_penalty_is_checked(bad):
    with pytest.raises(ValueError, match="invented_penalty"):
        gym.make("Summarization-v0", invented_penalty=bad)


def test_pretraining_packs_whole_documents_so_a_summary_is_seen_with_its_article():
    import doctest

    import torch

    from tokengym.agents.supervised import pretrain
    from tokengym.tokenizer import load_tokenizer

    assert doctest.testmod(pretrain).failed == 0
    rows = pretrain.pack_documents([[5] * 3 + [0], [6] * 4 + [0], [7] * 12 + [0], [8, 0]], block_size=8, pad_id=1)
    assert rows.tolist() == [
        [5, 5, 5, 0, 1, 1, 1, 1],  # the second document does not fit what is left: a new row, not a split
        [6, 6, 6, 6, 0, 1, 1, 1],
        [7] * 8,  # only a document longer than a row is cut, into consecutive rows
        [7, 7, 7, 7, 0, 8, 0, 1],
    ]
    with pytest.raises(ValueError, match="block_size"):
        pretrain.pack_documents([[5]], block_size=0, pad_id=1)
    # every article document of the real corpus fits one block: its summary is trained with the article in view
    codec = load_tokenizer()
    docs = [d for _, d in zip(range(300), training_documents(), strict=False) if "TL;DR" in d]
    assert max(len(ids) + 1 for ids in codec.encode_batch(docs)) <= pretrain.PretrainConfig.block_size
    assert pretrain.PretrainConfig.block_size == pretrain.PretrainConfig.n_positions  # every position is trained
    # padding is left out of the loss
    model = pretrain.make_model(pretrain.PretrainConfig(n_layer=1, n_embd=16, n_head=2), codec)
    batch = torch.tensor([[5, 6, 0, codec.pad_id, codec.pad_id], [5, 6, 0, 7, 0]])
    padded = pretrain.lm_loss(model, batch[:1], codec.pad_id)
    assert torch.isclose(padded, pretrain.lm_loss(model, batch[:1, :3], codec.pad_id))
