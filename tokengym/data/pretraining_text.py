"""The text the embedded tokenizer (and the embedded model) is trained on, laid out as the tasks lay it out.

Every document is laid out as an environment shows its task — a conversation whose assistant turns each end
with the end-of-sequence token, an article prompt followed by its summary and the end-of-sequence token —
so that a model trained on it learns both the formats and where to stop.
"""

from __future__ import annotations

from collections.abc import Iterator

from tokengym.data.articles import DIFFICULTIES, corpus_article_v0
from tokengym.data.chatterbot import chatterbot_conversations
from tokengym.data.dialogue_layout import dialogue_document
from tokengym.data.dialogues import conversation_for
from tokengym.tokenizer import EOS_TOKEN

#: Documents per source in the default corpus.
DEFAULT_SIZES = {"articles": 6000, "dialogues": 30000, "corpus_repeats": 5}


def _dialogue_documents(turns: tuple[str, ...]) -> Iterator[str]:
    if len(turns) >= 2:
        yield dialogue_document(turns, EOS_TOKEN)


def training_documents(
    articles: int = DEFAULT_SIZES["articles"],
    dialogues: int = DEFAULT_SIZES["dialogues"],
    corpus_repeats: int = DEFAULT_SIZES["corpus_repeats"],
) -> Iterator[str]:
    """Yield the training documents, deterministically, from the train splits only (never the test splits).

    Args:
        articles: generated articles per difficulty (each becomes ``article\\nTL;DR: summary<eos>``).
        dialogues: generated conversations (one document each; every assistant turn ends with EOS).
        corpus_repeats: how many times the chatterbot-corpus train conversations appear (they are few).
    """
    for index in range(articles):
        for difficulty in DIFFICULTIES:
            # As version 0.1.0 generated them: the corpus the shipped tokenizer and "tiny" were trained on.
            a = corpus_article_v0(index, "train", difficulty)
            yield f"{a.article}\nTL;DR: {a.summary}{EOS_TOKEN}"
    for index in range(dialogues):
        yield from _dialogue_documents(conversation_for(index, "train").turns)
    for _ in range(corpus_repeats):
        for turns in chatterbot_conversations("train"):
            yield from _dialogue_documents(turns)
