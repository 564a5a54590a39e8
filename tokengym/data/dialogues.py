"""A seeded procedural generator of short, natural user-assistant conversations: chit-chat, persona, support.

Every conversation alternates user and assistant turns, starts with the user, ends with the assistant and has
4 to 10 turns of 4 to 40 words each, in plain ASCII with no speaker labels. Three kinds:

* ``"chitchat"``: greetings and small talk on one or two of 18 topics (weather, weekend plans, food, cooking,
  films, TV, books, music, sport, fitness, travel, pets, work, school, games, gardening, photography,
  languages). The assistant answers on topic, sometimes asks a follow-up question (which the user then
  answers), and says goodbye when the user does.
* ``"persona"``: the user states facts about themselves early (a name and an interest, often a city, a job or
  a pet, sometimes a preferred tone) and the assistant's later replies use them ("Since you enjoy gardening,
  Maya, ..."). ``Conversation.persona`` holds the facts.
* ``"support"``: the user has a concrete problem with a product (14 products, 3 issues each); the assistant
  asks a clarifying question, gives the solution steps (which contain every word of
  ``problem["keywords"]``), the user confirms it worked or needs a second step, and the assistant closes.

All randomness comes from the ``numpy.random.Generator`` passed in; :func:`conversation_for` derives one from
the index, split and kind, so a conversation is reproducible from those alone and the ``"train"`` and
``"test"`` splits are disjoint random streams.

The templates and word lists are data: ``dialogue_templates.json`` beside this module, read once at import.
Items are drawn by position, so editing the order of that file changes every conversation (and the corpus the
embedded tokenizer and model were trained on).

Example:
    >>> c = conversation_for(0, "train", kind="support")
    >>> c.kind, len(c.turns) % 2
    ('support', 0)
    >>> all(k in c.turns[3].lower() for k in c.problem["keywords"].split(","))
    True
"""

from __future__ import annotations

import json
import operator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "CITIES",
    "INTERESTS",
    "JOBS",
    "KINDS",
    "KIND_CODES",
    "NAMES",
    "PETS",
    "PET_NAMES",
    "PROBLEMS",
    "PRODUCTS",
    "SPLIT_CODES",
    "TONES",
    "TOPICS",
    "Conversation",
    "conversation_for",
    "generate_conversation",
]

KINDS = ("chitchat", "persona", "support")
SPLIT_CODES = {"train": 0, "test": 1}
#: The third seed word of :func:`conversation_for`: ``None`` (a kind drawn at random) or a fixed kind.
KIND_CODES: dict[str | None, int] = {None: 0, "chitchat": 1, "persona": 2, "support": 3}
TONES = ("casual", "formal")
MAX_WORDS = 40

_DRAWS = 64  # random numbers drawn per batch; a conversation uses 7 to 46 (refilled if ever needed)
_DRAW_HIGH = 1 << 40  # so that ``value % n`` is uniform to within 1e-10 for every n used here


@dataclass(frozen=True)
class Conversation:
    """A generated conversation and the structured facts behind it.

    Attributes:
        kind: ``"chitchat"``, ``"persona"`` or ``"support"``.
        turns: 4 to 10 utterances, alternating user (``turns[0]``) and assistant, ending on the assistant.
        persona: for ``"persona"``: ``name``, ``interest`` and ``tone`` (``"casual"`` or ``"formal"``, the
            register both sides write in), and when the user mentions them ``city``, ``job``, ``pet`` and
            ``pet_name``. Every value but ``tone`` appears verbatim in a user turn. ``{}`` for other kinds.
        problem: for ``"support"``: ``product``, ``issue`` (a short description), ``solution`` (a short
            imperative) and ``keywords`` (comma-separated lowercase words that a reply must contain to count
            as solving the problem). ``{}`` for other kinds.

    Example:
        >>> c = Conversation("chitchat", ("Hi, how are you today?", "Very well, thank you for asking!"))
        >>> c.persona, c.problem
        ({}, {})
    """

    kind: str
    turns: tuple[str, ...]
    persona: dict[str, str] = field(default_factory=dict)
    problem: dict[str, str] = field(default_factory=dict)


class _Draw:
    """Indices into tuples from batches of ``rng.integers`` (much faster than a call per choice)."""

    __slots__ = ("_buf", "_pos", "_rng")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buf: list[int] = rng.integers(0, _DRAW_HIGH, size=_DRAWS).tolist()
        self._pos = 0

    def index(self, n: int) -> int:
        if self._pos == _DRAWS:
            self._buf = self._rng.integers(0, _DRAW_HIGH, size=_DRAWS).tolist()
            self._pos = 0
        value = self._buf[self._pos]
        self._pos += 1
        return value % n

    def pick(self, options: tuple):
        return options[self.index(len(options))]

    def chance(self, p: float) -> bool:
        return self.index(1_000_000) < p * 1_000_000


def _words(text: str) -> int:
    return text.count(" ") + 1


def _fit(text: str, extra: str) -> str:
    """``text`` followed by ``extra`` if the two fit in :data:`MAX_WORDS` words, else ``text`` alone."""
    return f"{text} {extra}" if _words(text) + _words(extra) <= MAX_WORDS else text


def _lower_first(text: str) -> str:
    """``text`` with its first letter lowercased, for use after a comma (the pronoun "I" stays)."""
    if text.startswith(("I ", "I'")):
        return text
    return text[0].lower() + text[1:]


def _frozen(value: Any) -> Any:
    """``value`` with every JSON array made a tuple: the tables are immutable, and the public ones are tuples."""
    if isinstance(value, dict):
        return {k: _frozen(v) for k, v in value.items()}
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


_TABLES: dict[str, Any] = _frozen(
    json.loads(resources.files("tokengym.data").joinpath("dialogue_templates.json").read_text("utf-8"))
)


# ---------------------------------------------------------------------------------------------------------
# Chit-chat
# ---------------------------------------------------------------------------------------------------------


class _Topic(NamedTuple):
    name: str
    slots: tuple[tuple[tuple[str, ...], tuple[tuple[str, ...], ...]], ...]  # (keys, rows of values)
    open: tuple[str, ...]  # the user brings the topic up (a statement)
    reply: tuple[str, ...]  # the assistant's on-topic answer, no question
    ask: tuple[tuple[str, tuple[str, ...]], ...]  # assistant follow-up question, the user's possible answers
    react: tuple[str, ...]  # the assistant's reaction to any such answer
    more: tuple[tuple[str, tuple[str, ...]], ...]  # a user question on the topic, the assistant's answers
    wish: tuple[str, ...]  # a farewell wish on the topic


def _topic(row: dict[str, Any]) -> _Topic:
    """A topic from its JSON row, where a slot row of a single key may be a bare string."""
    slots = tuple((s["keys"], tuple(r if isinstance(r, tuple) else (r,) for r in s["rows"])) for s in row["slots"])
    questions = {key: tuple((q["question"], q["answers"]) for q in row[key]) for key in ("ask", "more")}
    return _Topic(**{**row, "slots": slots, **questions})


_CHITCHAT = _TABLES["chitchat"]
_TOPICS: tuple[_Topic, ...] = tuple(_topic(row) for row in _CHITCHAT["topics"])
#: The chit-chat topics, in order.
TOPICS = tuple(t.name for t in _TOPICS)

# body length (turns besides greeting and goodbye) -> possible segment lengths, one per topic
_SEGMENTS = {
    2: ((2,),),
    4: ((4,), (4,), (2, 2)),
    6: ((6,), (4, 2), (2, 4)),
    8: ((4, 4), (6, 2), (2, 6)),
    10: ((6, 4), (4, 6)),
}


def _topic_slots(d: _Draw, topic: _Topic) -> dict[str, str]:
    slots: dict[str, str] = {}
    for keys, rows in topic.slots:
        slots.update(zip(keys, rows[d.index(len(rows))], strict=True))
    return slots


def _segment(d: _Draw, topic: _Topic, slots: dict[str, str], length: int, may_ask_last: bool) -> list[str]:
    """``length`` turns on one topic, user first: an opener and reply, then follow-up exchanges."""
    turns = [d.pick(topic.open).format_map(slots)]
    pending = d.pick(topic.reply).format_map(slots)  # the assistant turn being built
    moves = (
        () if length == 2 else (d.pick(("ask", "more")),) if length == 4 else d.pick((("ask", "more"), ("more", "ask")))
    )
    for move in moves:
        if move == "ask":
            question, answers = d.pick(topic.ask)
            turns.append(f"{pending} {question.format_map(slots)}")
            turns.append(d.pick(answers).format_map(slots))
            pending = d.pick(topic.react).format_map(slots)
        else:
            question, answers = d.pick(topic.more)
            turns.append(pending)
            turns.append(question.format_map(slots))
            pending = d.pick(answers).format_map(slots)
    if may_ask_last and d.chance(0.3):  # a follow-up question nobody answers: the conversation ends here
        pending = _fit(pending, d.pick(topic.ask)[0].format_map(slots))
    turns.append(pending)
    return turns


def _chitchat(d: _Draw) -> Conversation:
    target = d.pick((4, 6, 6, 8, 8, 10))
    greet, bye = d.chance(0.55), d.chance(0.65)
    body = target - 2 * greet - 2 * bye
    if body < 2:
        greet, body = False, body + 2
    layout = d.pick(_SEGMENTS[body])
    first = d.index(len(_TOPICS))
    topics = [_TOPICS[first]]
    if len(layout) == 2:
        topics.append(_TOPICS[(first + 1 + d.index(len(_TOPICS) - 1)) % len(_TOPICS)])

    hello = d.pick(_CHITCHAT["hellos"])
    turns: list[str] = []
    asked_how = False
    if greet:
        greeting = d.pick(_CHITCHAT["greetings"])  # the user's, and replies that ask how they are or invite a topic
        asked_how = d.chance(0.5)
        replies = greeting["how"] if asked_how else greeting["invite"]
        turns += [greeting["user"].format(hello=hello), d.pick(replies).format(hello=hello)]
    slots: dict[str, str] = {}
    for i, (topic, length) in enumerate(zip(topics, layout, strict=True)):
        slots = _topic_slots(d, topic)
        segment = _segment(d, topic, slots, length, may_ask_last=not bye and i == len(layout) - 1)
        if i > 0:
            segment[0] = d.pick(_CHITCHAT["transitions"]) + _lower_first(segment[0])
        elif asked_how:
            segment[0] = f"{d.pick(_CHITCHAT['feelings'])} {segment[0]}"
        elif not greet and d.chance(0.4):
            segment[0] = f"{hello}! {segment[0]}"
        turns += segment
    if bye:
        wish = d.pick(topics[-1].wish).format_map(slots)
        turns += [d.pick(_CHITCHAT["user_byes"]), d.pick(_CHITCHAT["assistant_byes"]).format(wish=wish)]
    elif not turns[-1].endswith("?") and d.chance(0.25):
        turns[-1] = _fit(turns[-1], d.pick(_CHITCHAT["anything_else"]))
    return Conversation("chitchat", tuple(turns))


# ---------------------------------------------------------------------------------------------------------
# Persona
# ---------------------------------------------------------------------------------------------------------


class _Interest(NamedTuple):
    interest: str  # fits "I love ...", "since you enjoy ...", "get better at ..."
    activity: str  # fits "you could ... this weekend"
    gift: str
    group: str  # fits "joining ..."
    fun: str  # fits "Have fun ...!"


class _Request(NamedTuple):
    ask: dict[str, tuple[str, ...]]  # tone -> the user's request
    answer: dict[str, tuple[str, ...]]  # tone -> the assistant's answer, using name and interest
    extra: dict[str, dict[str, str]]  # tone -> fact -> an optional clause using that fact


_PERSONA = _TABLES["persona"]
NAMES: tuple[str, ...] = _PERSONA["names"]
_INTERESTS = tuple(_Interest(**row) for row in _PERSONA["interests"])
INTERESTS = tuple(i.interest for i in _INTERESTS)
CITIES: tuple[str, ...] = _PERSONA["cities"]
JOBS: tuple[str, ...] = tuple(job for job, _ in _PERSONA["jobs"])
PETS: tuple[str, ...] = _PERSONA["pets"]
PET_NAMES: tuple[str, ...] = tuple(_PERSONA["pet_names"])
_FACTS = ("city", "job", "pet")
_REQUESTS = tuple(_Request(**row) for row in _PERSONA["requests"])


def _persona(d: _Draw) -> Conversation:
    tone = d.pick(TONES)
    hobby = d.pick(_INTERESTS)
    values = {"name": d.pick(NAMES), **hobby._asdict()}
    persona = {"name": values["name"], "interest": hobby.interest, "tone": tone}
    facts = [f for f in _FACTS if d.chance(0.5)]
    if len(facts) > 1 and d.chance(0.5):
        facts.reverse()
    if "city" in facts:
        values["city"] = persona["city"] = d.pick(CITIES)
    if "job" in facts:
        persona["job"], values["a_job"] = d.pick(_PERSONA["jobs"])  # ("vet", "a vet")
    if "pet" in facts:
        values["pet"] = persona["pet"] = d.pick(PETS)
        values["pet_name"] = persona["pet_name"] = d.pick(PET_NAMES)

    n_requests = d.pick((1, 2, 2, 3))  # with the introduction and a goodbye, at most ten turns
    bye = d.chance(0.7)
    first = d.index(len(_REQUESTS))
    step = 1 + d.index(len(_REQUESTS) - 1)  # requests without repetition
    requests = [_REQUESTS[(first + k * step) % len(_REQUESTS)] for k in range(n_requests)]
    # Who states what: the first fact in the introduction, the next ones one per request, any left over in
    # the introduction too (a reply then acknowledges at most one new fact, which keeps it short).
    stated: list[list[str]] = [[] for _ in range(n_requests + 1)]
    for k, fact in enumerate(facts):
        stated[k if k <= n_requests else 0].append(fact)

    def fmt(template: str) -> str:
        return template.format_map(values)

    intro = fmt(d.pick(_PERSONA["intros"][tone]))
    for fact in stated[0]:
        intro = f"{intro} {fmt(d.pick(_PERSONA['state'][tone][fact]))}"
    tone_stated = False
    if d.chance(0.3):
        with_tone = _fit(intro, d.pick(_PERSONA["tone_state"][tone]))
        tone_stated, intro = with_tone != intro, with_tone
    welcome = fmt(d.pick(_PERSONA["welcome"][tone]))
    for fact in stated[0]:
        welcome = f"{welcome} {fmt(d.pick(_PERSONA['ack'][tone][fact]))}"
    if tone_stated:
        welcome = _fit(welcome, d.pick(_PERSONA["tone_ack"][tone]))
    turns = [intro, _fit(welcome, d.pick(_PERSONA["offer"][tone]))]

    known = list(stated[0])
    for k, request in enumerate(requests, start=1):
        ask = fmt(d.pick(request.ask[tone]))
        reply = fmt(d.pick(request.answer[tone]))
        for fact in reversed(stated[k]):
            ask = f"{fmt(d.pick(_PERSONA['state'][tone][fact]))} {ask}"
            reply = f"{fmt(d.pick(_PERSONA['ack'][tone][fact]))} {reply}"
        if k > 1 and d.chance(0.6):
            ask = f"{d.pick(_PERSONA['reactions'][tone])} {ask}"
        known += stated[k]
        if known and d.chance(0.6):
            reply = _fit(reply, fmt(request.extra[tone][d.pick(known)]))
        turns += [ask, reply]
    if bye:
        # A farewell and its last words, with room for a line about the pet between them.
        farewell, last = (fmt(t) for t in d.pick(_PERSONA["byes"][tone]))
        if "pet" in known and d.chance(0.5):
            farewell = f"{farewell} {fmt(_PERSONA['pet_byes'][tone])}"
        farewell = f"{farewell} {last}"
        turns += [d.pick(_PERSONA["user_byes"][tone]), farewell]
    return Conversation("persona", tuple(turns), persona=persona)


# ---------------------------------------------------------------------------------------------------------
# Support
# ---------------------------------------------------------------------------------------------------------


class _Issue(NamedTuple):
    product: str  # problem["product"]
    the_product: str  # fits "the trouble with ..."
    issue: str  # problem["issue"]
    complaints: tuple[str, ...]  # the user's first description
    clarify: str  # the assistant's clarifying question
    answers: tuple[str, ...]  # the user's possible answers (the solution fits all of them)
    steps: str  # the solution, as the assistant writes it; contains every keyword
    solution: str  # problem["solution"]
    keywords: str  # problem["keywords"]
    service: bool  # True when the company acts (a refund, a replacement), False when the user fixes it
    partial: str  # the user's report that the steps were not enough ("" for the generic ones)
    second: str  # the assistant's second step ("" when there is none)


_SUPPORT = _TABLES["support"]
_ISSUES = tuple(_Issue(**row) for row in _SUPPORT["issues"])


def _problem(issue: _Issue) -> dict[str, str]:
    return {"product": issue.product, "issue": issue.issue, "solution": issue.solution, "keywords": issue.keywords}


#: The products of the support conversations.
PRODUCTS = tuple(dict.fromkeys(i.product for i in _ISSUES))
#: Every support problem, by product, as ``Conversation.problem`` holds it.
PROBLEMS: dict[str, tuple[dict[str, str], ...]] = {
    p: tuple(_problem(i) for i in _ISSUES if i.product == p) for p in PRODUCTS
}


def _unthen(text: str) -> str:
    """A second step without its leading "Then", to follow a lead such as "Let's try one more thing."."""
    return text[5].upper() + text[6:] if text.startswith("Then ") else text


def _support(d: _Draw) -> Conversation:
    issue = d.pick(_ISSUES)
    complaint = d.pick(issue.complaints)
    if d.chance(0.5):
        complaint = f"{d.pick(_SUPPORT['openings'])} {complaint}"
    empathy = d.pick(_SUPPORT["empathy"]).format(the_product=issue.the_product)
    checks = _SUPPORT["service_checks"] if issue.service else _SUPPORT["checks"]
    solution = _fit(f"{d.pick(_SUPPORT['leads'])} {issue.steps}", d.pick(checks)) if d.chance(0.7) else issue.steps
    turns = [complaint, f"{empathy} {issue.clarify}", d.pick(issue.answers), solution]
    ending = d.pick(("none", "close", "close", "more", "more", "second", "second2"))
    if ending in ("second", "second2") and not issue.second:
        ending = "close"
    if ending in ("second", "second2"):
        partial = issue.partial or d.pick(_SUPPORT["partials"])
        second = issue.second if issue.partial else f"{d.pick(_SUPPORT['second_leads'])} {_unthen(issue.second)}"
        turns += [partial, second, d.pick(_SUPPORT["fixed_after"])]
        turns += (
            [d.pick(_SUPPORT["closes"])]
            if ending == "second"
            else [d.pick(_SUPPORT["anything_more"]), d.pick(_SUPPORT["nothing_more"]), d.pick(_SUPPORT["final"])]
        )
    elif ending != "none":
        turns.append(d.pick(_SUPPORT["service_ok"] if issue.service else _SUPPORT["worked"]))
        turns += (
            [d.pick(_SUPPORT["closes"])]
            if ending == "close"
            else [d.pick(_SUPPORT["anything_more"]), d.pick(_SUPPORT["nothing_more"]), d.pick(_SUPPORT["final"])]
        )
    return Conversation("support", tuple(turns), problem=_problem(issue))


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------

_BUILDERS = {"chitchat": _chitchat, "persona": _persona, "support": _support}


def _check_kind(kind: str | None) -> None:
    if kind is not None and kind not in _BUILDERS:
        allowed = ", ".join(map(repr, KINDS))
        raise ValueError(f"unknown conversation kind {kind!r}; use one of {allowed} or None")


def generate_conversation(rng: np.random.Generator, kind: str | None = None) -> Conversation:
    """Generate one conversation, using only ``rng`` for randomness.

    Args:
        rng: the random source; the same generator state always gives the same conversation.
        kind: ``"chitchat"``, ``"persona"`` or ``"support"``, or ``None`` to draw one of them uniformly.

    Returns:
        A :class:`Conversation` of 4 to 10 turns, user first and assistant last.

    Raises:
        ValueError: for an unknown kind.

    Example:
        >>> import numpy as np
        >>> c = generate_conversation(np.random.default_rng(7), "persona")
        >>> c.persona["name"] in c.turns[0] and c.persona["interest"] in c.turns[1]
        True
    """
    _check_kind(kind)
    d = _Draw(rng)
    if kind is None:
        kind = KINDS[d.index(len(KINDS))]
    return _BUILDERS[kind](d)


def conversation_for(index: int, split: str = "train", kind: str | None = None) -> Conversation:
    """Conversation number ``index`` of ``split``: the same arguments always give the same conversation.

    The generator is ``np.random.default_rng([index, SPLIT_CODES[split], KIND_CODES[kind]])``, so the
    ``"train"`` and ``"test"`` splits are independent random streams.

    Args:
        index: a non-negative integer.
        split: ``"train"`` or ``"test"``.
        kind: ``"chitchat"``, ``"persona"``, ``"support"``, or ``None`` for a kind drawn at random.

    Raises:
        ValueError: for a negative index, or an unknown split or kind.
        TypeError: for an index that is not an integer.

    Example:
        >>> conversation_for(3, "test") == conversation_for(3, "test")
        True
        >>> conversation_for(3, "train").turns != conversation_for(3, "test").turns
        True
    """
    if split not in SPLIT_CODES:
        raise ValueError(f"unknown split {split!r}; use one of {', '.join(map(repr, SPLIT_CODES))}")
    _check_kind(kind)
    if isinstance(index, bool):
        raise TypeError(f"index must be an integer, not {index!r}")
    index = operator.index(index)
    if index < 0:
        raise ValueError(f"index must be non-negative, got {index}")
    rng = np.random.default_rng([index, SPLIT_CODES[split], KIND_CODES[kind]])
    return generate_conversation(rng, kind)
