"""Personas for simulated users: a validated profile, loading from JSON or YAML files, and the turns a profile says.

A persona file holds a list of personas (or ``{"personas": [...]}``), each a mapping::

    [
      {"name": "Maya", "interests": ["gardening", "tea"], "tone": "casual", "city": "Leeds",
       "pet": "dog", "pet_name": "Biscuit", "requests": ["Any ideas for this weekend?"]},
      {"name": "Jonas", "interests": ["running"], "tone": "formal", "job": "nurse"}
    ]

Fields: ``name`` (required), ``interests`` (required, a non-empty list of strings), ``tone`` (``"casual"``, the
default, or ``"formal"``), ``city``, ``job``, ``pet`` and ``pet_name`` (optional strings; ``pet_name`` needs
``pet``), ``requests`` (optional: what the user asks for, in order; without them two are drawn from
:data:`DEFAULT_REQUESTS`). Anything else is an error, as is a wrong type: :class:`PersonaFileError` names the file,
the persona and the field.

Example:
    >>> p = PersonaProfile.from_mapping({"name": "Maya", "interests": ["gardening"], "city": "Leeds"})
    >>> p.facts()
    {'name': 'Maya', 'interests': ['gardening'], 'city': 'Leeds'}
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import yaml

from tokengym.data.loaders import check_file, read_utf8
from tokengym.data.textcheck import unicode_problem
from tokengym.rewards.conversation import TONES

__all__ = [
    "DEFAULT_REQUESTS",
    "FIELDS",
    "PersonaFileError",
    "PersonaProfile",
    "load_personas",
    "persona_turns",
]

FIELDS = ("name", "interests", "tone", "city", "job", "pet", "pet_name", "requests")
_OPTIONAL_TEXT = ("city", "job", "pet", "pet_name")

#: What a persona from a file asks for when its file gives no ``requests`` (``{interest}``: its first interest).
DEFAULT_REQUESTS = {
    "casual": (
        "Can you suggest something fun for this weekend?",
        "Any tips for getting better at {interest}?",
        "What would be a good birthday present for me?",
        "How could I meet other people who like {interest}?",
    ),
    "formal": (
        "Could you recommend something to do this weekend?",
        "What would you advise to improve my skill at {interest}?",
        "What would you suggest as a birthday present for me?",
        "How might I meet others who enjoy {interest}?",
    ),
}
_INTROS = {
    "casual": ("Hey! I'm {name}, and I'm really into {interest}.", "Hi, I'm {name}. I love {interest}."),
    "formal": (
        "Good afternoon. My name is {name}, and I have a keen interest in {interest}.",
        "Hello. My name is {name}, and I am very fond of {interest}.",
    ),
}
_FACT_LINES = {
    "city": "I live in {city}.",
    "job": "I work as {a_job}.",
    "pet": {"casual": "I have a {pet} called {pet_name}.", "formal": "I have a {pet} named {pet_name}."},
}


class PersonaFileError(ValueError):
    """A persona file, or a persona mapping, that does not validate; the message names the field."""


@dataclass(frozen=True)
class PersonaProfile:
    """Who a persona user is.

    Attributes:
        name: the user's first name.
        interests: what they like, most important first (at least one).
        tone: the register they write in and like to be written to: ``"casual"`` or ``"formal"``.
        city, job, pet, pet_name: optional facts they may state.
        requests: what they ask for, in order (empty: drawn from :data:`DEFAULT_REQUESTS`).
    """

    name: str
    interests: tuple[str, ...]
    tone: str = "casual"
    city: str | None = None
    job: str | None = None
    pet: str | None = None
    pet_name: str | None = None
    requests: tuple[str, ...] = ()

    def facts(self) -> dict[str, Any]:
        """The persona's facts as a user states them: ``name``, ``interests`` (a list) and the optional ones set."""
        facts: dict[str, Any] = {"name": self.name, "interests": list(self.interests)}
        facts.update({k: getattr(self, k) for k in _OPTIONAL_TEXT if getattr(self, k) is not None})
        return facts

    @classmethod
    def from_mapping(cls, data: Any, where: str = "persona") -> PersonaProfile:
        """Validate a mapping (see the module docstring) into a profile.

        Raises:
            PersonaFileError: naming ``where`` and the field that is missing, unknown or of the wrong type.
        """
        if not isinstance(data, Mapping):
            raise PersonaFileError(f"{where}: a persona must be a mapping of fields, not {type(data).__name__}")
        unknown = [k for k in data if k not in FIELDS]
        if unknown:
            raise PersonaFileError(f"{where}: unknown field(s) {unknown}; a persona has {', '.join(FIELDS)}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise PersonaFileError(f"{where}: 'name' is required and must be a non-empty string, not {name!r}")
        _check_unicode(name, "name", where)
        where = f"{where} ({name.strip()!r})"
        interests = data.get("interests")
        if interests is None:
            raise PersonaFileError(f"{where}: 'interests' is required (a list of strings, e.g. ['gardening'])")
        interests = _strings(interests, "interests", where)
        if not interests:
            raise PersonaFileError(f"{where}: 'interests' must list at least one interest")
        tone = data.get("tone", "casual")
        if tone not in TONES:
            raise PersonaFileError(f"{where}: 'tone' must be one of {TONES}, not {tone!r}")
        optional = {}
        for key in _OPTIONAL_TEXT:
            value = data.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise PersonaFileError(f"{where}: {key!r} must be a non-empty string, not {value!r}")
            if value is not None:
                _check_unicode(value, key, where)
            optional[key] = value.strip() if isinstance(value, str) else None
        if optional["pet_name"] is not None and optional["pet"] is None:
            raise PersonaFileError(f"{where}: 'pet_name' needs 'pet' (the kind of animal, e.g. 'dog')")
        requests = _strings(data.get("requests", []), "requests", where)
        return cls(name.strip(), tuple(interests), tone, requests=tuple(requests), **optional)


def _strings(value: Any, key: str, where: str) -> list[str]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise PersonaFileError(f"{where}: {key!r} must be a list of strings, not {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise PersonaFileError(f"{where}: {key!r} must hold non-empty strings; found {item!r}")
        _check_unicode(item, key, where)
    return [item.strip() for item in value]


def _check_unicode(text: str, key: str, where: str) -> None:
    # a lone surrogate (from a JSON escape such as "\\ud800") would fail only later, in the tokenizer
    problem = unicode_problem(text)
    if problem is not None:
        raise PersonaFileError(f"{where}: {key!r} is not valid Unicode text: {problem}")


def load_personas(path: str | os.PathLike[str]) -> list[PersonaProfile]:
    """Read and validate the personas of a JSON (``.json``) or YAML (``.yaml``/``.yml``) file.

    Raises:
        FileNotFoundError: no such file.
        PersonaFileError: a path that is not a regular file (a directory, a named pipe), a file that is not
            UTF-8, does not parse, holds no persona, or a persona that does not validate.
    """
    path = check_file(path, "persona file", "a .json, .yaml or .yml file", PersonaFileError, FileNotFoundError)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".yaml", ".yml"):
        raise PersonaFileError(f"{path}: persona files are .json, .yaml or .yml, not {suffix or 'no suffix'!r}")
    text = read_utf8(path, PersonaFileError)
    kind = "JSON" if suffix == ".json" else "YAML"
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise PersonaFileError(f"{path}: does not parse as {kind}: {err}") from err
    except RecursionError:
        raise PersonaFileError(f"{path}: {kind} nested too deeply to read (hundreds of levels)") from None
    except ValueError as err:  # an integer longer than Python converts
        raise PersonaFileError(f"{path}: does not parse as {kind}: {err}") from None
    if isinstance(data, Mapping) and "personas" in data:
        data = data["personas"]
    if not isinstance(data, list) or not data:
        raise PersonaFileError(f"{path}: expected a non-empty list of personas (or {{'personas': [...]}})")
    return [PersonaProfile.from_mapping(item, f"{path}: persona {i}") for i, item in enumerate(data, start=1)]


def _with_article(noun: str) -> str:
    return f"{'an' if noun[:1].lower() in 'aeiou' else 'a'} {noun}"


def persona_turns(profile: PersonaProfile, rng: np.random.Generator) -> list[str]:
    """The turns a persona from a file says when it meets no reply script: an introduction in its tone (name,
    first interest, then its other facts), then its requests (its own, or two of :data:`DEFAULT_REQUESTS`).

    Example:
        >>> turns = persona_turns(PersonaProfile("Maya", ("gardening",), city="Leeds"), np.random.default_rng(0))
        >>> turns[0]
        "Hi, I'm Maya. I love gardening. I live in Leeds."
        >>> len(turns)
        3
    """
    values = {"name": profile.name, "interest": profile.interests[0], **profile.facts()}
    intros = _INTROS[profile.tone]
    parts = [intros[int(rng.integers(len(intros)))].format_map(values)]
    if profile.city:
        parts.append(_FACT_LINES["city"].format_map(values))
    if profile.job:
        parts.append(_FACT_LINES["job"].format(a_job=_with_article(profile.job)))
    if profile.pet:
        line = _FACT_LINES["pet"][profile.tone] if profile.pet_name else "I have {a_pet}."
        parts.append(line.format(pet=profile.pet, pet_name=profile.pet_name, a_pet=_with_article(profile.pet)))
    if profile.requests:
        requests = list(profile.requests)
    else:
        pool = DEFAULT_REQUESTS[profile.tone]
        picked = rng.choice(len(pool), size=2, replace=False)
        requests = [pool[int(i)].format_map(values) for i in picked]
    return [" ".join(parts), *requests]
