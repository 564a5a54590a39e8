"""The text the embedded tokenizer (and the embedded model) is trained on, laid out as the tasks lay it out.

Every document is a complete task episode as an environment would show it — a dialogue prompt followed by
its reply, an article prompt followed by its summary — ending with the end-of-sequence token, so that a
model trained on it learns both the formats and where to stop.
"""

from __future__ import annotations

from collections.abc import Iterator

from tokengym.data.articles import DIFFICULTIES, article_for
from tokengym.data.corpus import chatterbot_conversations
from tokengym.data.dialogues import conversation_for
from tokengym.tokenizer import EOS_TOKEN

#: Documents per source in the default corpus (about 36 MB of text).
DEFAULT_SIZES = {"articles": 6000, "dialogues": 12000, "corpus_repeats": 3}


def _dialogue_documents(turns: tuple[str, ...]) -> Iterator[str]:
    from tokengym.envs.dialogue import format_dialogue

    for i in range(1, len(turns), 2):
        yield f"{format_dialogue(turns[:i])} {turns[i]}{EOS_TOKEN}"


def training_documents(
    articles: int = DEFAULT_SIZES["articles"],
    dialogues: int = DEFAULT_SIZES["dialogues"],
    corpus_repeats: int = DEFAULT_SIZES["corpus_repeats"],
) -> Iterator[str]:
    """Yield the training documents, deterministically, from the train splits only (never the test splits).

    Args:
        articles: generated articles per difficulty (each becomes ``article\\nTL;DR: summary<eos>``).
        dialogues: generated conversations (each gives one document per assistant turn).
        corpus_repeats: how many times the chatterbot-corpus train conversations appear (they are few).
    """
    for index in range(articles):
        for difficulty in DIFFICULTIES:
            a = article_for(index, "train", difficulty)
            yield f"{a.article}\nTL;DR: {a.summary}{EOS_TOKEN}"
    for index in range(dialogues):
        yield from _dialogue_documents(conversation_for(index, "train").turns)
    for _ in range(corpus_repeats):
        for turns in chatterbot_conversations("train"):
            yield from _dialogue_documents(turns)
