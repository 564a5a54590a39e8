"""The text the embedded tokenizer and the embedded model are trained on, laid out as the tasks lay it out.

Every document is laid out as an environment shows its task — a conversation whose assistant turns each end
with the end-of-sequence token, an article prompt followed by its summary and the end-of-sequence token —
so that a model trained on it learns both the formats and where to stop.

In most articles and persona conversations of the model's text (:func:`training_documents`) every person,
place and number is invented for that document (:mod:`tokengym.data.fresh_entities`), so that the only way to
predict a name in a summary or a reply is to copy it from the context; the rest keep the tables' own names.
The tokenizer was trained before that, on :func:`tokenizer_documents` (the corpus of version 0.1.0), which
stays as it was so that ``python -m tokengym.assets.build`` rebuilds the shipped tokenizer byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tokengym.data.articles import DIFFICULTIES, Article, article_for, corpus_article_v0
from tokengym.data.chatterbot import chatterbot_conversations
from tokengym.data.dialogue_layout import dialogue_document
from tokengym.data.dialogues import conversation_for
from tokengym.data.fresh_entities import refresh_article, refresh_conversation
from tokengym.tokenizer import EOS_TOKEN

#: Documents per source in the default corpus, and how many in four get invented entities.
DEFAULT_SIZES = {"articles": 6000, "dialogues": 30000, "corpus_repeats": 5, "fresh_in_4": 3, "key_facts": True}

# The third seed word of an invented-entity draw (the first two are the index and the difficulty or 0).
_FRESH_STREAM = 7


def _dialogue_documents(turns: tuple[str, ...]) -> Iterator[str]:
    if len(turns) >= 2:
        yield dialogue_document(turns, EOS_TOKEN)


def training_documents(
    articles: int = DEFAULT_SIZES["articles"],
    dialogues: int = DEFAULT_SIZES["dialogues"],
    corpus_repeats: int = DEFAULT_SIZES["corpus_repeats"],
    fresh_in_4: int = DEFAULT_SIZES["fresh_in_4"],
    key_facts: bool = DEFAULT_SIZES["key_facts"],
) -> Iterator[str]:
    """Yield the embedded model's training documents, deterministically, from the train splits only.

    Args:
        articles: generated articles per difficulty (each becomes ``article\\nTL;DR: summary<eos>``).
        dialogues: generated conversations (one document each; every assistant turn ends with EOS).
        corpus_repeats: how many times the chatterbot-corpus train conversations appear (they are few).
        fresh_in_4: of every four articles and conversations, how many have their people, places and numbers
            invented (0 to 4); the document at ``index`` is refreshed when ``index % 4 < fresh_in_4``.
        key_facts: also yield each article followed by its key facts
            (``article\nKey facts: who; where; when; number.<eos>``): one more place per article where a name,
            a town and a number must be copied from the text. Without it, a summary's number is the only digit
            string in the corpus that copying predicts, and the model wrote other digits in its place.
    """
    if not 0 <= fresh_in_4 <= 4:
        raise ValueError(f"fresh_in_4 must be between 0 and 4, not {fresh_in_4!r}")
    for index in range(articles):
        for difficulty in DIFFICULTIES:
            a = article_for(index, "train", difficulty)
            if index % 4 < fresh_in_4:
                a = refresh_article(a, np.random.default_rng([index, difficulty, _FRESH_STREAM]))
            yield f"{a.article}\nTL;DR: {a.summary}{EOS_TOKEN}"
            if key_facts:
                yield key_facts_document(a)
    for index in range(dialogues):
        conversation = conversation_for(index, "train")
        if index % 4 < fresh_in_4:
            conversation = refresh_conversation(conversation, np.random.default_rng([index, 0, _FRESH_STREAM]))
        yield from _dialogue_documents(conversation.turns)
    yield from _chatterbot(corpus_repeats)


def key_facts_document(article: Article) -> str:
    """``article`` followed by its key facts, person, place, day and number, as they are written in it.

    Example:
        >>> from tokengym.data.articles import article_for
        >>> key_facts_document(article_for(3, "train", 2)).split("\\n")[-1]
        'Key facts: Diego Lindgren; Rushford; Thursday; 766.<|endoftext|>'
    """
    f = article.facts
    return f"{article.article}\nKey facts: {f['who']}; {f['where']}; {f['when']}; {f['number']}.{EOS_TOKEN}"


def tokenizer_documents() -> Iterator[str]:
    """Yield the corpus the shipped tokenizer was trained on (version 0.1.0's, without invented entities)."""
    for index in range(DEFAULT_SIZES["articles"]):
        for difficulty in DIFFICULTIES:
            a = corpus_article_v0(index, "train", difficulty)
            yield f"{a.article}\nTL;DR: {a.summary}{EOS_TOKEN}"
    for index in range(DEFAULT_SIZES["dialogues"]):
        yield from _dialogue_documents(conversation_for(index, "train").turns)
    yield from _chatterbot(DEFAULT_SIZES["corpus_repeats"])


def _chatterbot(repeats: int) -> Iterator[str]:
    for _ in range(repeats):
        for turns in chatterbot_conversations("train"):
            yield from _dialogue_documents(turns)
