"""The simulated users: :class:`CorpusUser` (real conversation flows), :class:`PersonaUser` (a person who wants to
be remembered) and :class:`SupportUser` (a customer with a problem to solve)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokengym.data.chatterbot import chatterbot_conversations
from tokengym.data.dialogues import NAMES, conversation_for
from tokengym.envs.personas import PersonaProfile, load_personas, persona_turns
from tokengym.envs.users.base import (
    EMPTY_REPLY_REACTION,
    MAX_INDEX,
    SimulatedUser,
    UserTurn,
    is_farewell,
    last_sentence,
    lower_first,
    pick,
    strip_greeting,
)
from tokengym.envs.validation import short_repr
from tokengym.rewards.conversation import content_words, mentions, tone_of

__all__ = ["SOURCES", "CorpusUser", "PersonaUser", "SupportUser"]

SOURCES = ("mixed", "corpus", "generated")
_TRANSITIONS = ("By the way, ", "Anyway, ", "Also, ", "On another note, ")
_COLD = ("Hmm.", "Okay...", "That's not really what I meant.", "I'm not sure that answers me.")
_WARM = {
    "casual": ("Aw, thanks!", "Ha, love that!", "Oh nice, you remembered!"),
    "formal": ("Thank you, that is very thoughtful.", "How kind of you to remember."),
}
_NEUTRAL = {"casual": ("Okay.", "Sure."), "formal": ("I see.", "Very well.")}
_PERSONA_COLD = {"casual": ("Hmm, okay.", "Uh, right."), "formal": ("I see. That is not quite what I had in mind.",)}
_CORRECTION = {"casual": "It's {name}, actually.", "formal": "My name is {name}, actually."}
_NAME_WORD = re.compile(r"\b[A-Z][a-z]+\b")
_NUDGE = {
    "casual": ("Could you make it a bit more about me?", "That's a bit generic for me."),
    "formal": ("Could you take my interests into account, please?", "That is rather generic, I am afraid."),
}
_PERSONA_BYES = {
    "casual": ("Thanks so much, this was really helpful. Bye!", "Awesome, thanks for the ideas! Bye for now."),
    "formal": ("Thank you very much for your help. Goodbye.", "I appreciate your suggestions. Goodbye for now."),
}
_DETAIL_CUES = content_words("detail describe exactly explain happen long")
_SOLVED = ("That worked, thank you so much!", "Great, it works now. Thanks!", "Perfect, that fixed it.")
_PROGRESS = (
    "I tried that, but it's still not quite fixed. What else can I do?",
    "That helped a little, but the problem is still there. Anything else?",
)


# ------------------------------------------------------------------------------------------------ corpus


@dataclass
class _Line:
    text: str
    reference: str | None


class CorpusUser(SimulatedUser):
    """A user who follows real conversations: the user turns of a chatterbot-corpus conversation or a generated
    chit-chat conversation, and, when those run out, of another one (introduced with "By the way, ..."), so
    the user always has something to say.

    The assistant turns of the script are the ``reference`` replies. Farewell turns of the scripts are skipped
    (the episode ends at ``max_turns`` or when the user leaves).

    Judging a reply: it engages the user when it shares a content word with the user's last turn or the
    reference reply (:func:`~tokengym.rewards.conversation.content_words`), or asks a question, and is neither
    empty nor rude. An ignored reply puts a cold reaction ("Hmm.") before the user's next turn. Satisfaction
    is the share of the replies so far that engaged the user.

    Args:
        source: ``"mixed"`` (half corpus, half generated), ``"corpus"`` or ``"generated"``.
        split: ``"train"`` or ``"test"``.
        patience: ignored replies in a row before the user leaves.
        conversations: explicit conversations (tuples of turns, the user's first) instead of ``source``.

    Example:
        >>> user = CorpusUser(source="generated")
        >>> opening = user.start(np.random.default_rng(0))
        >>> user.respond("Purple elephants calculate taxes.", np.random.default_rng(0)).engaged
        False
    """

    name = "corpus"
    _shared = ("conversations",)

    def __init__(
        self,
        source: str = "mixed",
        split: str = "train",
        patience: int = 4,
        conversations: Sequence[Sequence[str]] | None = None,
    ) -> None:
        super().__init__(patience)
        if source not in SOURCES:
            raise ValueError(f"unknown corpus user source {source!r}; choose one of {SOURCES}")
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")
        self.source, self.split = source, split
        self.conversations = None if conversations is None else tuple(tuple(c) for c in conversations)
        if self.conversations is not None and not any(self.conversations):
            raise ValueError("conversations must hold at least one non-empty conversation")
        self._script: list[_Line] = []
        self._last = _Line("", None)

    def _draw(self, rng: np.random.Generator) -> tuple[str, ...]:
        if self.conversations is not None:
            return self.conversations[int(rng.integers(len(self.conversations)))]
        if self.source == "corpus" or (self.source == "mixed" and rng.random() < 0.5):
            corpus = chatterbot_conversations(self.split)
            return corpus[int(rng.integers(len(corpus)))]
        return conversation_for(int(rng.integers(MAX_INDEX)), self.split, "chitchat").turns

    def _refill(self, rng: np.random.Generator, chained: bool) -> None:
        for _ in range(100):
            turns = self._draw(rng)
            lines = [
                _Line(turns[i], turns[i + 1] if i + 1 < len(turns) else None)
                for i in range(0, len(turns), 2)
                if turns[i].strip() and not is_farewell(turns[i])
            ]
            if lines:
                if chained:
                    opening = lower_first(strip_greeting(lines[0].text))
                    lines[0] = _Line(pick(_TRANSITIONS, rng) + opening, lines[0].reference)
                self._script.extend(lines)
                return
        raise RuntimeError("corpus user: 100 conversations in a row held only farewells")

    def _next_line(self, rng: np.random.Generator) -> _Line:
        if not self._script:
            self._refill(rng, chained=True)
        self._last = self._script.pop(0)
        return self._last

    def start(self, rng: np.random.Generator) -> UserTurn:
        self._begin()
        self._script = []
        self._refill(rng, chained=False)
        line = self._next_line(rng)
        return UserTurn(line.text, reference=line.reference)

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        ended = self._react(reply, rng)
        if ended is not None:
            return ended
        topic = content_words(self._last.text) | content_words(self._last.reference or "")
        engaged = (
            bool(reply.strip()) and not self.is_rude(reply) and (bool(content_words(reply) & topic) or "?" in reply)
        )
        self._record(float(engaged), not engaged)
        if self._ignored >= self.patience:
            return self._leave("disengaged", rng)
        line = self._next_line(rng)
        reaction = EMPTY_REPLY_REACTION if not reply.strip() else pick(_COLD, rng)
        text = line.text if engaged else f"{reaction} {line.text}"
        return UserTurn(text, engaged, self.satisfaction, reference=line.reference)


# ----------------------------------------------------------------------------------------------- persona


class PersonaUser(SimulatedUser):
    """A user with a persona (name, interests, facts, preferred tone) who wants to be treated as a person.

    The persona and its turns come from a generated persona conversation (its introduction, its requests and
    their reference replies) or, with ``personas``, from a validated file or list
    (:func:`~tokengym.envs.personas.load_personas`; turns from :func:`~tokengym.envs.personas.persona_turns`).

    Judging a reply (only facts the user has already stated count)::

        personal = the reply mentions the name, an interest or another stated fact (city, job, pet, pet's name)
        tone     = 1 if the reply's tone (tone_of) is the user's, 0.5 if neutral, 0 if the other one
        on_topic = it shares a content word with the user's last turn or its reference reply
        score    = 0.5 * personal + 0.25 * tone + 0.25 * on_topic     (0 for an empty or rude reply)

    A reply that calls the user by another name (a first name of the generated personas, or of ``personas``,
    that is not theirs: "Welcome, Liam" to Rosa) scores 0 and is ignored; the user corrects it ("It's Rosa,
    actually."). A reply that is neither personal nor on topic (or is empty or rude) is ignored: the user
    answers coldly and loses patience. A personal reply in the user's tone gets a warm reaction ("Aw,
    thanks!"). A request counts as answered by a personal, engaged reply; otherwise the user asks again, with a
    nudge ("Could you make it a bit more about me?"). Once every request is answered the user says goodbye:
    goal met.
    Satisfaction is the mean score of the replies so far.

    Args:
        split: ``"train"`` or ``"test"`` (generated personas).
        personas: ``None`` (generated), a persona file path, or a sequence of profiles or mappings.
        patience: ignored replies in a row before the user leaves.
    """

    name = "persona"
    _shared = ("personas",)

    def __init__(self, split: str = "train", personas: Any = None, patience: int = 4) -> None:
        super().__init__(patience)
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")
        self.split = split
        if personas is None:
            self.personas: tuple[PersonaProfile, ...] | None = None
        elif isinstance(personas, (str, bytes)) or hasattr(personas, "__fspath__"):
            self.personas = tuple(load_personas(personas))
        elif not isinstance(personas, Sequence):
            raise ValueError(
                f"personas must be a persona file (a path) or a list of personas (PersonaProfile objects or "
                f"mappings), not {short_repr(personas)}"
            )
        else:
            self.personas = tuple(
                p if isinstance(p, PersonaProfile) else PersonaProfile.from_mapping(p, f"persona {i}")
                for i, p in enumerate(personas, start=1)
            )
            if not self.personas:
                raise ValueError("personas must hold at least one persona")
        self.profile: PersonaProfile | None = None
        self._requests: list[_Line] = []
        self._asking: _Line | None = None  # the request waiting for an answer (None: the introduction)
        self._last = _Line("", None)
        self._stated: dict[str, Any] = {}
        self._bye: str | None = None

    def start(self, rng: np.random.Generator) -> UserTurn:
        self._begin()
        self._bye = None
        if self.personas is not None:
            self.profile = self.personas[int(rng.integers(len(self.personas)))]
            lines = [_Line(t, None) for t in persona_turns(self.profile, rng)]
        else:
            conversation = conversation_for(int(rng.integers(MAX_INDEX)), self.split, "persona")
            p = conversation.persona
            self.profile = PersonaProfile(
                p["name"], (p["interest"],), p["tone"], p.get("city"), p.get("job"), p.get("pet"), p.get("pet_name")
            )
            turns = conversation.turns
            lines = []
            for i in range(0, len(turns), 2):
                if is_farewell(turns[i]):
                    self._bye = turns[i]
                else:
                    lines.append(_Line(turns[i], turns[i + 1] if i + 1 < len(turns) else None))
        self._stated = {}
        self._last, self._requests, self._asking = lines[0], lines[1:], None
        return UserTurn(lines[0].text, reference=lines[0].reference, facts=self._state(lines[0].text))

    def _state(self, text: str) -> dict[str, Any]:
        """The persona's facts that ``text`` states, remembered as stated."""
        assert self.profile is not None
        said: dict[str, Any] = {}
        for key, value in self.profile.facts().items():
            values = value if isinstance(value, list) else [value]
            found = [v for v in values if v.lower() in text.lower()]
            if found:
                said[key] = found if isinstance(value, list) else found[0]
        for key, value in said.items():
            if isinstance(value, list):
                known = self._stated.setdefault(key, [])
                known.extend(v for v in value if v not in known)
            else:
                self._stated[key] = value
        return said

    def misnames(self, reply: str) -> bool:
        """Whether the reply calls the user by a first name that is not theirs."""
        assert self.profile is not None
        names = set(NAMES) | {p.name for p in self.personas or ()}
        names.discard(self.profile.name)
        return any(word in names for word in _NAME_WORD.findall(reply))

    def score(self, reply: str) -> tuple[float, bool, bool]:
        """``(score, personal, on_topic)`` of a reply by the rule in the class docstring."""
        assert self.profile is not None
        if not reply.strip() or self.is_rude(reply) or self.misnames(reply):
            return 0.0, False, False
        said = content_words(reply)
        values = [v for value in self._stated.values() for v in (value if isinstance(value, list) else [value])]
        personal = any(mentions(said, v) for v in values)
        tone = tone_of(reply)
        tone_score = 1.0 if tone == self.profile.tone else 0.5 if tone == "neutral" else 0.0
        on_topic = bool(said & (content_words(self._last.text) | content_words(self._last.reference or "")))
        return 0.5 * personal + 0.25 * tone_score + 0.25 * on_topic, personal, on_topic

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        assert self.profile is not None, "call start() first"
        ended = self._react(reply, rng)
        if ended is not None:
            return ended
        score, personal, on_topic = self.score(reply)
        ignored = not (personal or on_topic)
        self._record(score, ignored)
        if self._ignored >= self.patience:
            return self._leave("disengaged", rng)
        tone = self.profile.tone
        if self._asking is not None and personal:
            self._requests.pop(0)  # answered
        if not self._requests:
            bye = self._bye or pick(_PERSONA_BYES[tone], rng)
            return UserTurn(bye, True, self.satisfaction, goal_met=True, reason="goal_met")
        again = self._asking is not None and not personal
        self._asking = self._last = self._requests[0]
        if self.misnames(reply):
            reaction = _CORRECTION[tone].format(name=self.profile.name)
        elif ignored:
            reaction = EMPTY_REPLY_REACTION if not reply.strip() else pick(_PERSONA_COLD[tone], rng)
        elif personal and tone_of(reply) == tone:
            reaction = pick(_WARM[tone], rng)
        else:
            reaction = pick(_NEUTRAL[tone], rng)
        if again:
            reaction = f"{reaction} {pick(_NUDGE[tone], rng)}"
        text = f"{reaction} {last_sentence(self._asking.text) if again else self._asking.text}"
        return UserTurn(text, not ignored, self.satisfaction, reference=self._asking.reference, facts=self._state(text))


# ----------------------------------------------------------------------------------------------- support


class SupportUser(SimulatedUser):
    """A customer with a concrete problem (a generated support conversation: product, issue, solution steps).

    The user complains. A reply that asks an on-topic question (sharing a content word with the complaint, the
    scripted clarifying question, the product or the issue, or asking for details: "detail", "describe",
    "exactly", "explain", "happen", "long") gets the user's answer to the clarifying question, once. The user
    is satisfied only when the agent's replies, together, name every solution keyword of the problem
    (``problem["keywords"]``, e.g. "restart" and "router", matched stemmed: "restarting" counts).
    Satisfaction is the share of the keywords named so far; all of them: goal met ("That worked, thank you so
    much!"). A reply that names a new keyword but not all gets "I tried that, but it's still not quite
    fixed..."; a reply that neither names a new keyword nor asks a question the user can answer is unhelpful:
    ignored (the user restates the problem, coldly, and loses patience).

    The reference reply is the scripted clarifying turn for the complaint, the scripted solution afterwards.

    Args:
        split: ``"train"`` or ``"test"``.
        patience: unhelpful replies in a row before the user leaves.

    Example:
        >>> user = SupportUser()
        >>> opening = user.start(np.random.default_rng(1))
        >>> user.problem["keywords"], opening.text
        ('startup,disable', 'My laptop has become very slow lately.')
        >>> user.respond("Is the laptop slow all the time?", np.random.default_rng(0)).text
        "It's slow all the time, to be honest."
        >>> user.respond("Please disable the startup apps.", np.random.default_rng(0)).goal_met
        True
    """

    name = "support"

    def __init__(self, split: str = "train", patience: int = 4) -> None:
        super().__init__(patience)
        if split not in ("train", "test"):
            raise ValueError(f"unknown split {split!r}; choose 'train' or 'test'")
        self.split = split
        self.problem: dict[str, str] = {}
        self._keywords: tuple[str, ...] = ()
        self._covered: set[str] = set()
        self._script: tuple[str, ...] = ()
        self._clarified = False

    def start(self, rng: np.random.Generator) -> UserTurn:
        self._begin()
        conversation = conversation_for(int(rng.integers(MAX_INDEX)), self.split, "support")
        self.problem = dict(conversation.problem)
        self._keywords = tuple(k.strip() for k in self.problem["keywords"].split(",") if k.strip())
        self._covered, self._clarified, self._script = set(), False, conversation.turns
        facts = {"product": self.problem["product"], "issue": self.problem["issue"]}
        return UserTurn(self._script[0], reference=self._script[1], facts=facts)

    @property
    def satisfaction(self) -> float:
        """The share of the solution keywords the replies have named."""
        return len(self._covered) / len(self._keywords) if self._keywords else 0.0

    def respond(self, reply: str, rng: np.random.Generator, final: bool = False) -> UserTurn:
        assert self._script, "call start() first"
        ended = self._react(reply, rng)
        if ended is not None:
            return ended
        said = content_words(reply)
        new = {k for k in self._keywords if k not in self._covered and mentions(said, k)}
        self._covered |= new
        solution = self._script[3]
        if len(self._covered) == len(self._keywords):
            self._record(1.0, False)
            return UserTurn(pick(_SOLVED, rng), True, self.satisfaction, goal_met=True, reason="goal_met")
        topic = content_words(" ".join((*self._script[:2], self.problem["product"], self.problem["issue"])))
        asks = "?" in reply and not self.is_rude(reply) and bool(said & (topic | _DETAIL_CUES))
        if new:
            self._record(1.0, False)
            return UserTurn(pick(_PROGRESS, rng), True, self.satisfaction, reference=solution)
        if asks and not self._clarified:
            self._clarified = True
            self._record(1.0, False)
            return UserTurn(self._script[2], True, self.satisfaction, reference=solution)
        self._record(0.0, True)
        if self._ignored >= self.patience:
            return self._leave("disengaged", rng)
        reaction = EMPTY_REPLY_REACTION if not reply.strip() else pick(_COLD, rng)
        restated = f"{reaction} My problem is that {self.problem['issue']}. What should I do?"
        return UserTurn(restated, False, self.satisfaction, reference=solution)
