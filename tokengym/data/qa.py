"""A seeded generator of short contexts with questions, some of which the context cannot answer.

Each item is a context from one of the existing generators, a question about it and the answer, or none:

* ``"article"``: a generated news article (:func:`~tokengym.data.articles.article_for`, difficulty 1: 4-6
  sentences). Questions ask who, where or when "the news about <event>" happened; the answer is the article's
  key fact. Unanswerable: the same questions about an event of another article (kind ``"absent"``).
* ``"persona"``: a profile of a persona's facts (:func:`~tokengym.data.dialogues.conversation_for`, kind
  ``"persona"``): name and interest always, city, job and pet when the persona has them. Questions ask for the
  interest, city, job or the pet's name. Unanswerable: a city, job or pet the persona does not have
  (``"absent"``), or the name of a pet of another species than the one it has (``"false_premise"``).
* ``"support"``: a support ticket's note (kind ``"support"``): the product, the problem and its fix, and a
  ticket number in half of them. Questions ask for the fix or the ticket number. Unanswerable: a ticket number
  the note does not give (``"absent"``), or the fix for another product than the ticket's (``"false_premise"``).

An item is unanswerable with probability ``unanswerable_share``; its kind is then drawn among the reasons its
context allows. Everything is a pure function of ``(index, split, source, unanswerable_share)``: the context
comes from the generator's own ``split`` (``train`` and ``test`` contexts are disjoint streams) and the
question from a generator seeded by the same address.

Example:
    >>> item = qa_item_for(0, "train", source="persona", unanswerable_share=0.0)
    >>> item.answerable, item.answer in item.context
    (True, True)
    >>> sorted({qa_item_for(i, "test", unanswerable_share=1.0).kind for i in range(12)})
    ['absent', 'false_premise']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tokengym.data.articles import article_for, document_index
from tokengym.data.dialogues import PETS, PRODUCTS, conversation_for

__all__ = ["KINDS", "MIXED", "SOURCES", "SPLIT_CODES", "QAItem", "qa_item_for"]

SOURCES = ("article", "persona", "support")
#: ``source="mix"``: item ``i`` comes from ``SOURCES[i % 3]``.
MIXED = "mix"
#: ``"answerable"``, then the reasons a question is not.
KINDS = ("answerable", "absent", "false_premise")
SPLIT_CODES = {"train": 0, "test": 1}
_SOURCE_CODES = {"article": 1, "persona": 2, "support": 3}
_SALT = 0x51A  # keeps the question stream apart from the context generators' own seeds

_ARTICLE_QUESTIONS = {
    "who": "Who is the main person in the news about {what}?",
    "where": "In which town did the news about {what} happen?",
    "when": "When did the news about {what} happen?",
}
_PERSONA_QUESTIONS = {
    "interest": "What does {name} enjoy?",
    "city": "Where does {name} live?",
    "job": "What is {name}'s job?",
    "pet_name": "What is the name of {name}'s {pet}?",
}
_SUPPORT_QUESTIONS = {
    "solution": "What was the fix for the {product}?",
    "ticket": "What is the ticket number?",
}


@dataclass(frozen=True)
class QAItem:
    """A context, a question about it and its answer.

    Attributes:
        context: the text the question is about.
        question: the question, ending in a question mark.
        answer: the answer, verbatim in the context; ``""`` when the context cannot answer the question.
        kind: ``"answerable"``, ``"absent"`` (the context lacks the fact) or ``"false_premise"`` (the question
            assumes something the context contradicts).
        source: ``"article"``, ``"persona"`` or ``"support"``.
    """

    context: str
    question: str
    answer: str
    kind: str
    source: str

    @property
    def answerable(self) -> bool:
        return self.kind == "answerable"


def _article_item(index: int, split: str, rng: np.random.Generator, unanswerable: bool) -> QAItem:
    article = article_for(index, split, 1)
    fact = ("who", "where", "when")[int(rng.integers(3))]
    if not unanswerable:
        question = _ARTICLE_QUESTIONS[fact].format(what=article.facts["what"])
        return QAItem(article.article, question, article.facts[fact], "answerable", "article")
    # another article's event, one this article never mentions
    other = index
    while True:
        other = int(rng.integers(2**31 - 1))
        what = article_for(other, split, 1).facts["what"] if other != index else article.facts["what"]
        if what.lower() not in article.article.lower():
            break
    return QAItem(article.article, _ARTICLE_QUESTIONS[fact].format(what=what), "", "absent", "article")


def _persona_context(persona: dict[str, str], rng: np.random.Generator) -> str:
    name = persona["name"]
    lines = [f"{name} enjoys {persona['interest']}."]
    if "city" in persona:
        lines.append(f"{name} lives in {persona['city']}.")
    if "job" in persona:
        job = persona["job"]
        lines.append(f"{name} works as {'an' if job[0] in 'aeiou' else 'a'} {job}.")
    if "pet" in persona:
        lines.append(f"{name} has a {persona['pet']} called {persona['pet_name']}.")
    order = rng.permutation(len(lines)).tolist()
    return " ".join(lines[i] for i in order)


def _persona_item(index: int, split: str, rng: np.random.Generator, unanswerable: bool) -> QAItem:
    persona = conversation_for(index, split, "persona").persona
    context = _persona_context(persona, rng)
    name = persona["name"]
    if not unanswerable:
        facts = [f for f in ("interest", "city", "job", "pet_name") if f in persona]
        fact = facts[int(rng.integers(len(facts)))]
        question = _PERSONA_QUESTIONS[fact].format(name=name, pet=persona.get("pet", ""))
        return QAItem(context, question, persona[fact], "answerable", "persona")
    reasons = [("absent", f) for f in ("city", "job", "pet_name") if f not in persona]
    if "pet" in persona:
        reasons.append(("false_premise", "pet_name"))
    kind, fact = reasons[int(rng.integers(len(reasons)))]
    pets = [p for p in PETS if p != persona.get("pet")]
    pet = pets[int(rng.integers(len(pets)))]
    return QAItem(context, _PERSONA_QUESTIONS[fact].format(name=name, pet=pet), "", kind, "persona")


def _support_item(index: int, split: str, rng: np.random.Generator, unanswerable: bool) -> QAItem:
    problem = conversation_for(index, split, "support").problem
    has_ticket = bool(rng.integers(2))
    ticket = str(int(rng.integers(10_000, 100_000)))
    issue = problem["issue"][0].upper() + problem["issue"][1:]
    product = problem["product"]
    opening = f"Ticket {ticket}. " if has_ticket else ""
    context = f"{opening}Product: {product}. Problem: {issue}. Fix: {problem['solution']}."
    if not unanswerable:
        fact = ("solution", "ticket")[int(rng.integers(2))] if has_ticket else "solution"
        question = _SUPPORT_QUESTIONS[fact].format(product=product)
        return QAItem(context, question, ticket if fact == "ticket" else problem["solution"], "answerable", "support")
    reasons = ["false_premise"] + ([] if has_ticket else ["absent"])
    kind = reasons[int(rng.integers(len(reasons)))]
    if kind == "absent":
        return QAItem(context, _SUPPORT_QUESTIONS["ticket"], "", kind, "support")
    others = [p for p in PRODUCTS if p != product and p not in context.lower()]
    other = others[int(rng.integers(len(others)))]
    return QAItem(context, _SUPPORT_QUESTIONS["solution"].format(product=other), "", kind, "support")


_BUILDERS = {"article": _article_item, "persona": _persona_item, "support": _support_item}


def qa_item_for(index: int, split: str = "train", source: str = MIXED, unanswerable_share: float = 0.4) -> QAItem:
    """Question ``index`` of ``split``: always the same item for the same arguments.

    Args:
        index: any non-negative integer (the context is the source generator's item ``index`` of ``split``).
        split: ``"train"`` or ``"test"``.
        source: ``"article"``, ``"persona"``, ``"support"`` or ``"mix"`` (item ``i`` from ``SOURCES[i % 3]``).
        unanswerable_share: the probability, in [0, 1], that the item's question cannot be answered from its
            context.

    Raises:
        ValueError: for a negative or non-integer index, an unknown split or source, or a share outside [0, 1].

    Example:
        >>> item = qa_item_for(5, "test", source="support", unanswerable_share=1.0)
        >>> item.answer, item.kind in ("absent", "false_premise")
        ('', True)
    """
    index = document_index(index, "question")
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; choose one of {tuple(SPLIT_CODES)}")
    if source != MIXED and source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; choose one of {(*SOURCES, MIXED)}")
    share = unanswerable_share
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not (math.isfinite(share) and 0 <= share <= 1):
        raise ValueError(f"unanswerable_share must be a number in [0, 1], not {share!r}")
    if source == MIXED:
        source = SOURCES[index % len(SOURCES)]
    rng = np.random.default_rng([index, SPLIT_CODES[split], _SOURCE_CODES[source], _SALT])
    unanswerable = bool(rng.random() < share)
    return _BUILDERS[source](index, split, rng, unanswerable)
