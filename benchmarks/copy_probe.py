"""Copy probe: how often a model reproduces a name, place or number from its prompt where the text calls for it.

Faithful summaries and replies that keep the user's name need a model that copies from its context. This probe
measures that directly, on held-out (test-split) text whose entities the model has never seen:

- persona: test-split persona conversations (``tokengym.data.dialogues``) with the user's name, their pet's
  name and their city replaced by freshly invented ones; every assistant turn is cut just before each mention,
  and the model, given the conversation so far, must write the mention next;
- summary: test-split articles (``tokengym.data.articles``) with the key facts' person (first name and
  surname), town and number replaced, consistently in the article and its reference summary; the summary is
  cut just before each mention (``<article>\\nTL;DR: <summary so far>``), and the model must write it next.

Invented names are pronounceable strings built from syllables (seeded; :mod:`tokengym.data.fresh_entities`, as
the pretraining text's own invented names are), none of which occurs as a word in the embedded model's
pretraining text; invented numbers keep the original's shape (digits, separators). A probe
passes when the greedy continuation begins with the mention. The figures are copy rates per family and kind
of entity, with 95% Wilson intervals; ``--seen`` is the control that keeps the text's own names and numbers.

    python benchmarks/copy_probe.py [--model tiny] [--conversations 60] [--articles 60] [--seed 0] [--seen]
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import torch

from tokengym.agents.lm.loading import load_lm
from tokengym.data.articles import article_for
from tokengym.data.dialogue_layout import format_dialogue
from tokengym.data.dialogues import conversation_for
from tokengym.data.fresh_entities import NameInventor
from tokengym.data.pretraining_text import training_documents
from tokengym.envs.summarization import format_article


@dataclass(frozen=True)
class Probe:
    """A prompt and the mention that the text continues with (leading space included)."""

    family: str
    kind: str
    prompt: str
    target: str


class Inventor:
    """Invented names and numbers that never occur as a word of ``known`` (lower-cased), never the same twice.

    With ``fresh=False`` it invents nothing: every entity keeps its own value (names and numbers the model's
    pretraining text is full of), the control against which the fresh rates read.
    """

    def __init__(self, known: set[str], rng: np.random.Generator, fresh: bool = True) -> None:
        self.inventor, self.fresh = NameInventor(rng, avoid=known), fresh

    def name(self, syllables: int = 2, like: str = "") -> str:
        return self.inventor.name(syllables) if self.fresh else like

    def number(self, like: str) -> str:
        return self.inventor.number(like) if self.fresh else like


def known_words() -> set[str]:
    """Every word (lower-cased) of the pretraining text."""
    words: set[str] = set()
    for document in training_documents():
        words.update(w.lower() for w in re.findall(r"[A-Za-z]+", document))
    return words


def _swap(text: str, mapping: dict[str, str]) -> str:
    for old, new in mapping.items():
        text = re.sub(rf"(?<![\w,.]){re.escape(old)}(?![\w]|[,.]\d)", new, text)
    return text


def _cuts(family: str, kinds: dict[str, str], before: str, text: str) -> list[Probe]:
    """A probe for each mention in ``text`` of a value of ``kinds`` (value -> kind of entity)."""
    probes = []
    for value, kind in kinds.items():
        for match in re.finditer(rf"(?<![\w,.]){re.escape(value)}(?![\w]|[,.]\d)", text):
            prefix = text[: match.start()]
            if prefix.endswith(" "):
                probes.append(Probe(family, kind, before + prefix[:-1], " " + value))
            elif not prefix:
                probes.append(Probe(family, kind, before.rstrip(" "), " " + value))
    return probes


def persona_probes(n: int, inventor: Inventor) -> list[Probe]:
    probes = []
    for index in range(n):
        conversation = conversation_for(index, "test", kind="persona")
        persona = conversation.persona
        mapping = {persona["name"]: inventor.name(like=persona["name"])}
        if "pet_name" in persona:
            mapping[persona["pet_name"]] = inventor.name(like=persona["pet_name"])
        if "city" in persona:
            mapping[persona["city"]] = inventor.name(3, like=persona["city"])
        kinds = {mapping[persona["name"]]: "user name"}
        kinds |= {mapping[persona[k]]: k.replace("_", " ") for k in ("pet_name", "city") if k in persona}
        turns = [_swap(t, mapping) for t in conversation.turns]
        for i in range(1, len(turns), 2):
            probes += _cuts("persona", kinds, format_dialogue(turns[:i]) + " ", turns[i])
    return probes


def summary_probes(n: int, inventor: Inventor) -> list[Probe]:
    probes = []
    for index in range(n):
        article = article_for(index, "test", difficulty=1 + index % 3)
        first, *rest = article.facts["who"].split(" ")
        mapping = {first: inventor.name(like=first)}
        if rest:
            mapping[" ".join(rest)] = inventor.name(like=" ".join(rest))
        mapping[article.facts["where"]] = inventor.name(3, like=article.facts["where"])
        mapping[article.facts["number"]] = inventor.number(article.facts["number"])
        kinds = {mapping[first]: "person", mapping[article.facts["where"]]: "town"}
        kinds[mapping[article.facts["number"]]] = "number"
        if rest:
            kinds[mapping[" ".join(rest)]] = "person"
        text, summary = _swap(article.article, mapping), _swap(article.summary, mapping)
        if any(new not in text for new in mapping.values()):
            continue  # a fact the article words differently from the summary: no clean copy to ask for
        probes += _cuts("summary", kinds, format_article(text) + " ", summary)
    return probes


@torch.no_grad()
def copies(model: torch.nn.Module, codec, probe: Probe) -> tuple[bool, str]:
    ids = torch.tensor([codec.encode(probe.prompt)])
    width = len(codec.encode(probe.target)) + 2
    out = model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=width,
        do_sample=False,
        pad_token_id=codec.pad_id,
        eos_token_id=codec.eos_id,
    )
    text = codec.decode(out[0, ids.shape[1] :].tolist())
    return text.startswith(probe.target), text


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny", help="model name or folder (default tiny)")
    parser.add_argument("--conversations", type=int, default=60, help="test-split persona conversations")
    parser.add_argument("--articles", type=int, default=60, help="test-split articles")
    parser.add_argument("--seed", type=int, default=0, help="seeds the invented names and numbers")
    parser.add_argument("--show", type=int, default=3, help="failed probes to print per family")
    parser.add_argument("--seen", action="store_true", help="control: keep the text's own names and numbers")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    inventor = Inventor(known_words(), np.random.default_rng(args.seed), fresh=not args.seen)
    probes = persona_probes(args.conversations, inventor) + summary_probes(args.articles, inventor)
    model, codec = load_lm(args.model)
    model.eval()
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    failures: dict[str, list[tuple[Probe, str]]] = defaultdict(list)
    for probe in probes:
        ok, text = copies(model, codec, probe)
        for key in ((probe.family, probe.kind), (probe.family, "all")):
            tally[key][0] += ok
            tally[key][1] += 1
        if not ok:
            failures[probe.family].append((probe, text))
    entities = "the text's own (seen) entities" if args.seen else "invented entities"
    print(f"copy probe: model {args.model!r}, {len(probes)} probes, {entities}, seed {args.seed}")
    print(f"{'family':<10}{'entity':<12}{'copied':>8}{'of':>6}{'rate':>8}   95% interval")
    for (family, kind), (ok, n) in sorted(tally.items(), key=lambda kv: (kv[0][0], kv[0][1] != "all", kv[0][1])):
        low, high = wilson(ok, n)
        print(f"{family:<10}{kind:<12}{ok:>8}{n:>6}{ok / n:>8.1%}   [{low:.1%}, {high:.1%}]")
    for family, failed in failures.items():
        for probe, text in failed[: args.show]:
            print(f"\n  {family}: ...{probe.prompt[-90:]!r}\n    wanted {probe.target!r}, wrote {text!r}")
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
