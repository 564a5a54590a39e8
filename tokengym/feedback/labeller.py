"""A simulated labeller and the candidate pairs it judges: preferences from a hidden "gold" reward.

Every RLHF result should be checkable against the reward it is meant to recover. This module makes preference
data whose truth is known: :func:`sample_pairs` draws two completions per prompt of any token-level environment
from a language model, and a :class:`SimulatedLabeller` judges each pair with a hidden gold reward (any reward
spec, built with :func:`~tokengym.rewards.make_reward`) through a Bradley-Terry model::

    P(A preferred over B) = sigmoid((r_A - r_B) / temperature)

then optionally flips the label (``noise``), calls near-equal pairs ties (``tie_threshold``) and spreads the
judgements over several raters who weigh the gold reward's components differently (``disagreement``).

The pairs are :class:`~tokengym.feedback.candidates.Candidate` objects, the candidate JSONL the labelling page
reads (:func:`~tokengym.feedback.candidates.write_candidates` writes them): people and the simulated labeller judge
the same files. ``metadata["columns"]`` keeps the reward columns of the prompt (the reference reply, the
history...), so that a gold reward that needs them can still judge the pairs after a round trip.

The default gold reward, :data:`DEFAULT_GOLD` (``politeness + verbosity(max_words=10)``: polite and brief), is one
that the embedded model does not already follow on ``Dialogue-v0``: its replies run to 15-25 words and score 0.33
on politeness (in [-1, 1]) and -0.38 on the word budget (in [-1, 0]), while two replies to the same prompt differ
by 0.21 on average (200 prompts, temperature 1, top-p 0.95).

Example:
    >>> from tokengym.feedback.labeller import SimulatedLabeller
    >>> labeller = SimulatedLabeller("politeness", temperature=1e-3, seed=0)
    >>> [pref] = labeller.label("User: Hi!\\nAssistant:", "Go away.", "Hello! Happy to help.")
    >>> pref.chosen, pref.rater
    ('Hello! Happy to help.', 'simulated')
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokengym.feedback.candidates import Candidate
from tokengym.feedback.preferences import Preference
from tokengym.rewards import CompositeReward, make_reward

__all__ = [
    "DEFAULT_GOLD",
    "Rater",
    "SimulatedLabeller",
    "bradley_terry",
    "label_pairs",
    "prompt_columns",
    "sample_pairs",
]

#: The default hidden reward: polite and brief replies, which the embedded model does not write on its own.
DEFAULT_GOLD = "politeness + verbosity(max_words=10)"


# --------------------------------------------------------------------------------------------- labeller


@dataclass(frozen=True)
class Rater:
    """One simulated rater: an id, a Bradley-Terry temperature, and a weight factor per gold component."""

    id: str
    temperature: float
    factors: Mapping[str, float]


class SimulatedLabeller:
    """Judge pairs of completions with a hidden gold reward through a Bradley-Terry model.

    For each judgement a rater scores both completions with the gold reward (their own component weights; the
    reward's columns from the pair's ``metadata["columns"]``), then:

    1. **tie** when ``|r_A - r_B| < tie_threshold`` (gold-reward units; ``0`` never calls a tie): the
       preference has ``tie=True``, ``chosen`` is A, and neither noise nor temperature applies;
    2. otherwise A is chosen with probability ``sigmoid((r_A - r_B) / T)`` (``T`` the rater's temperature;
       ``T = 0`` always picks the higher reward, a coin flip on equal ones);
    3. with probability ``noise`` the choice is flipped (``metadata["flipped"]``, present when ``noise > 0``).

    **Raters.** With ``raters > 1``, each rater ``k`` gets a temperature ``T * exp(disagreement * z)`` and a
    factor ``exp(disagreement * z_c)`` on each gold component's weight (``z`` standard normal, drawn from the
    seed), so that raters disagree on how much, say, politeness counts against brevity. Each pair is judged by
    ``judgements_per_pair`` distinct raters drawn at random; each judgement is one :class:`Preference` whose
    ``rater`` is the rater's id (``"simulated-0"``...; ``name`` alone with one rater).

    ``metadata`` of each preference: ``gold`` (the spec), ``gold_chosen`` and ``gold_rejected`` (the gold
    reward of each side, with the spec's own weights), ``p_chosen`` (the probability the rater's model gave the
    chosen side, before noise), ``labeller_seed``, and the pair's own metadata (``env``, ``seed``, ``columns``...).

    Args:
        gold: the hidden reward: any spec :func:`~tokengym.rewards.make_reward` takes. Its columns (the
            reference reply, the user's facts...) come from each pair's ``metadata["columns"]``.
        temperature: Bradley-Terry temperature, in gold-reward units; 0 for a rater who never errs. With the
            default 0.05, a gap of 0.05 is judged right 73% of the time, 0.1: 88%, 0.2: 98% (the default gold's
            replies differ by 0.2 on average).
        noise: probability of flipping each non-tie label, in [0, 1].
        tie_threshold: reward gap below which a pair is a tie, >= 0.
        raters: number of simulated raters, >= 1.
        disagreement: spread of the raters' temperatures and component weights (log scale), >= 0.
        judgements_per_pair: raters judging each pair, from 1 to ``raters``.
        seed: seeds the raters and every choice; ``None`` draws one (kept in ``self.seed``). A new labeller
            with the same seed labels the same pairs the same way.
        name: the rater id prefix.

    Example:
        >>> labeller = SimulatedLabeller("verbosity(max_words=3)", temperature=0.0, seed=1)
        >>> [pref] = labeller.label("Q:", "one two three four five six", "one two")
        >>> pref.chosen, pref.metadata["gold_chosen"], pref.metadata["gold_rejected"]
        ('one two', 0.0, -1.0)
    """

    def __init__(
        self,
        gold: Any = DEFAULT_GOLD,
        temperature: float = 0.05,
        noise: float = 0.0,
        tie_threshold: float = 0.0,
        raters: int = 1,
        disagreement: float = 0.0,
        judgements_per_pair: int = 1,
        seed: int | None = None,
        name: str = "simulated",
    ) -> None:
        temperature = _number("temperature", temperature, low=0.0)
        noise = _number("noise", noise, low=0.0, high=1.0)
        tie_threshold = _number("tie_threshold", tie_threshold, low=0.0)
        disagreement = _number("disagreement", disagreement, low=0.0)
        raters = _count("raters", raters, low=1)
        judgements_per_pair = _count("judgements_per_pair", judgements_per_pair, low=1)
        if judgements_per_pair > raters:
            raise ValueError(
                f"judgements_per_pair={judgements_per_pair} needs at least as many raters (raters={raters})"
            )
        if seed is not None:
            seed = _count("seed", seed, low=0)
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, not {name!r}")
        self.gold: CompositeReward = make_reward(gold)
        self.gold_spec = gold if isinstance(gold, str) else repr(self.gold)
        self.temperature, self.noise, self.tie_threshold = temperature, noise, tie_threshold
        self.disagreement, self.judgements_per_pair = disagreement, judgements_per_pair
        self.seed = int(np.random.SeedSequence().entropy) if seed is None else seed
        profiles, choices = np.random.SeedSequence(self.seed).spawn(2)
        self._rng = np.random.default_rng(choices)
        self.raters = self._make_raters(raters, np.random.default_rng(profiles), name)

    def _make_raters(self, n: int, rng: np.random.Generator, name: str) -> list[Rater]:
        out = []
        for k in range(n):
            z_t, z_c = rng.standard_normal(), rng.standard_normal(len(self.gold.weights))
            spread = self.disagreement if n > 1 else 0.0
            out.append(
                Rater(
                    id=name if n == 1 else f"{name}-{k}",
                    temperature=self.temperature * math.exp(spread * z_t),
                    factors={c: math.exp(spread * z) for c, z in zip(self.gold.weights, z_c, strict=True)},
                )
            )
        return out

    # ------------------------------------------------------------------------------------------- scoring

    def gold_rewards(
        self, prompts: Sequence[str], completions: Sequence[str], columns: Sequence[Mapping[str, Any]]
    ) -> tuple[list[float], dict[str, list[float]]]:
        """The gold reward of each completion, and each component's raw value, in one batched call per set of
        column names (``columns[i]`` holds the columns of ``prompts[i]``, one value each)."""
        n = len(completions)
        totals: list[float] = [0.0] * n
        parts: dict[str, list[float]] = {name: [0.0] * n for name in self.gold.weights}
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, cols in enumerate(columns):
            groups.setdefault(tuple(sorted(cols)), []).append(i)
        for keys, rows in groups.items():
            kwargs = {key: [columns[i][key] for i in rows] for key in keys}
            values, raw = self.gold.score([prompts[i] for i in rows], [completions[i] for i in rows], **kwargs)
            for j, i in enumerate(rows):
                totals[i] = values[j]
                for name in parts:
                    parts[name][i] = raw[name][j]
        return totals, parts

    def _rater_reward(self, rater: Rater, parts: Mapping[str, list[float]], i: int) -> float:
        weights = {c: w * rater.factors[c] for c, w in self.gold.weights.items()}
        scale = sum(abs(w) for w in weights.values()) if self.gold.normalize else 1.0
        return sum(weights[c] * parts[c][i] for c in weights) / (scale or 1.0)

    # ------------------------------------------------------------------------------------------- judging

    def label(
        self,
        prompt: str,
        a: str,
        b: str,
        columns: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> list[Preference]:
        """Judge one pair: ``judgements_per_pair`` preferences (see the class docstring)."""
        meta = {**(metadata or {}), **({"columns": dict(columns)} if columns else {})}
        return self.label_pairs([Candidate(prompt, a, b, meta)])

    def label_pairs(self, pairs: Sequence[Candidate]) -> list[Preference]:
        """Judge every pair (gold rewards computed in one batch); preferences in the order of the pairs."""
        pairs = list(pairs)
        prompts = [p.prompt for p in pairs for _ in (0, 1)]
        completions = [c for p in pairs for c in (p.a, p.b)]
        columns = [_columns(p) for p in pairs for _ in (0, 1)]
        totals, parts = self.gold_rewards(prompts, completions, columns)
        out = []
        for i, pair in enumerate(pairs):
            picked = (
                self._rng.choice(len(self.raters), size=self.judgements_per_pair, replace=False).tolist()
                if len(self.raters) > 1
                else [0]
            )
            for k in picked:
                out.append(self._judge(pair, self.raters[k], parts, 2 * i, (totals[2 * i], totals[2 * i + 1])))
        return out

    def _judge(
        self, pair: Candidate, rater: Rater, parts: Mapping[str, list[float]], row: int, gold: tuple[float, float]
    ) -> Preference:
        # Two uniform draws for every judgement, whatever the settings: the stream stays aligned across pairs.
        u_choice, u_noise = self._rng.random(), self._rng.random()
        gap = self._rater_reward(rater, parts, row) - self._rater_reward(rater, parts, row + 1)
        metadata: dict[str, Any] = {**pair.metadata, "gold": self.gold_spec, "labeller_seed": self.seed}
        if abs(gap) < self.tie_threshold:
            metadata.update(gold_chosen=gold[0], gold_rejected=gold[1], p_chosen=0.5)
            return Preference(pair.prompt, pair.a, pair.b, tie=True, rater=rater.id, metadata=metadata)
        p_a = bradley_terry(gap, rater.temperature)
        a_wins = u_choice < p_a
        flipped = u_noise < self.noise
        a_wins ^= flipped
        if self.noise > 0:
            metadata["flipped"] = bool(flipped)
        first, second = (0, 1) if a_wins else (1, 0)
        texts = (pair.a, pair.b)
        probs = (p_a, 1.0 - p_a)
        metadata.update(gold_chosen=gold[first], gold_rejected=gold[second], p_chosen=probs[first])
        return Preference(pair.prompt, texts[first], texts[second], rater=rater.id, metadata=metadata)

    def __repr__(self) -> str:
        return (
            f"SimulatedLabeller(gold={self.gold_spec!r}, temperature={self.temperature:g}, noise={self.noise:g}, "
            f"tie_threshold={self.tie_threshold:g}, raters={len(self.raters)}, disagreement={self.disagreement:g}, "
            f"seed={self.seed})"
        )


def bradley_terry(gap: float, temperature: float) -> float:
    """``sigmoid(gap / temperature)``, computed without overflow; a step function at ``temperature == 0``."""
    if temperature == 0:
        return 1.0 if gap > 0 else 0.0 if gap < 0 else 0.5
    x = gap / temperature
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def label_pairs(candidates: Iterable[Candidate], labeller: SimulatedLabeller) -> list[Preference]:
    """Judge candidate pairs with a labeller: ``labeller.label_pairs(list(candidates))``.

    Example:
        >>> from tokengym.feedback.candidates import Candidate
        >>> pairs = [Candidate("Q:", "Thanks, please do.", "No.")]
        >>> label_pairs(pairs, SimulatedLabeller("politeness", temperature=0.0, seed=0))[0].chosen
        'Thanks, please do.'
    """
    return labeller.label_pairs(list(candidates))


def _columns(pair: Candidate) -> Mapping[str, Any]:
    columns = pair.metadata.get("columns", {})
    if not isinstance(columns, Mapping):
        raise ValueError(f"metadata['columns'] of a pair must be an object of reward columns, not {columns!r}")
    return columns


def _number(name: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, not {value!r}")
    value = float(value)
    if not math.isfinite(value) or value < low or (high is not None and value > high):
        where = f"in [{low:g}, {high:g}]" if high is not None else f"finite and >= {low:g}"
        raise ValueError(f"{name} must be {where}, not {value!r}")
    return value


def _count(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, not {value!r}")
    return int(value)


# --------------------------------------------------------------------------------------------- sampling


def prompt_columns(env: Any) -> dict[str, Any]:
    """The reward columns of the current prompt of a token-level env, one value each, as JSON values.

    ``env.unwrapped.current_sample.columns`` (the reference reply, the history, a source...), and in a
    multi-turn dialogue the facts the user has stated so far (``user_facts``, the env's public property): the
    columns the env itself passes its reward that do not depend on the reply. Columns that hold the user's
    reaction to the reply (``user_reply``, ``user_satisfaction``...) are not known before it, so gold rewards
    that read them (``engagement``, ``user_satisfaction``, ``task_success``) cannot judge sampled pairs.
    """
    u = env.unwrapped
    sample = u.current_sample
    if sample is None:
        raise RuntimeError("the environment has no current prompt; call reset() first")
    columns = dict(sample.columns)
    if getattr(u, "multi_turn", False) and hasattr(u, "user_facts"):
        columns["user_facts"] = u.user_facts
    return json.loads(json.dumps(columns, allow_nan=False))  # tuples as lists: what a candidate file gives back


def sample_pairs(
    env_id: str,
    n_prompts: int,
    model: Any = "tiny",
    tokenizer: Any = None,
    seed: int = 0,
    env_kwargs: Mapping[str, Any] | None = None,
    temperature: float = 1.0,
    top_p: float = 0.95,
    batch_size: int = 16,
    max_tries: int = 3,
) -> list[Candidate]:
    """Two completions per prompt of a token-level environment, sampled from a language model.

    Prompt ``i`` is the env's first prompt after ``reset(seed=seed + i)``, laid out (token ids, truncation) as
    the env lays it out; the completions are sampled with the model's ``generate`` (KV cache, ``temperature``,
    nucleus ``top_p``, no top-k) up to the env's ``max_new_tokens`` and cut at the end-of-sequence token, then
    decoded and stripped as the env decodes a reply for its reward. Prompts are sampled ``batch_size`` at a
    time (left-padded), each batch under its own seed, so the same arguments give the same pairs. A pair whose
    two completions are the same text is drawn again, up to ``max_tries`` draws in all, and left out if it
    stays the same: the result can hold fewer than ``n_prompts`` pairs.

    Args:
        env_id: a registered token-level environment (``Dialogue-v0``, ``Summarization-v0``, the token-level
            games...).
        n_prompts: how many prompts (seeds) to draw.
        model: ``"tiny"``, a model folder or hub id (loaded with ``load_lm``), a ``transformers`` causal LM,
            or a policy holding one as ``.lm`` (tokengym's LM policies do).
        tokenizer: the model's tokenizer, needed with a model object (anything ``load_tokenizer`` takes).
        seed: the first env seed; also seeds the sampling.
        env_kwargs: more arguments of ``gym.make`` (not ``tokenizer``: the model's is used).
        temperature: sampling temperature, > 0.
        top_p: nucleus probability mass, in (0, 1].
        batch_size: prompts sampled together.
        max_tries: draws per prompt at most, while its two completions are the same.

    Returns:
        :class:`~tokengym.feedback.candidates.Candidate` pairs whose metadata holds ``env``, ``seed``, ``model``,
        ``temperature``, ``top_p`` and ``columns``, the prompt's reward columns (:func:`prompt_columns`).

    Example:
        >>> pairs = sample_pairs("Dialogue-v0", n_prompts=2, seed=0)  # doctest: +SKIP
        >>> pairs[0].prompt.endswith("Assistant:"), sorted(pairs[0].metadata["columns"])  # doctest: +SKIP
        (True, ['history', 'references'])
    """
    import gymnasium as gym
    import torch

    import tokengym  # noqa: F401  (registers the environments)
    from tokengym.envs.core import TokenEnv

    n_prompts, seed = _count("n_prompts", n_prompts, low=1), _count("seed", seed, low=0)
    batch_size, max_tries = _count("batch_size", batch_size, low=1), _count("max_tries", max_tries, low=1)
    temperature = _number("temperature", temperature, low=0.0)
    top_p = _number("top_p", top_p, low=0.0, high=1.0)
    if temperature == 0 or top_p == 0:
        raise ValueError("temperature and top_p must be positive: two greedy completions of a prompt are the same")
    env_kwargs = dict(env_kwargs or {})
    if "tokenizer" in env_kwargs:
        raise ValueError("env_kwargs must not set the tokenizer: the environment uses the model's")
    lm, codec, model_name = _load_sampler(model, tokenizer)
    env = gym.make(env_id, tokenizer=codec, **env_kwargs)
    if not isinstance(env.unwrapped, TokenEnv):
        raise ValueError(
            f"{env_id} is not a token-level environment (it picks whole commands); sample pairs from one whose "
            "agent writes tokens, such as Dialogue-v0 or a game's token-level variant"
        )
    prompts = []
    for i in range(n_prompts):
        obs, _ = env.reset(seed=seed + i)
        u = env.unwrapped
        prompts.append((u.current_sample.prompt, obs["input_ids"][: u.prompt_length].tolist(), prompt_columns(env)))
    budget = env.unwrapped.max_new_tokens
    env.close()

    meta = {"env": env_id, "model": model_name, "temperature": temperature, "top_p": top_p}
    completions: dict[int, tuple[str, str]] = {}
    pending = list(range(n_prompts))
    for attempt in range(max_tries):
        for start in range(0, len(pending), batch_size):
            rows = pending[start : start + batch_size]
            batch_seed = (seed * 1_000_003 + attempt * 7_919 + rows[0]) % 2**63
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(batch_seed)
                texts = _generate(lm, codec, [prompts[i][1] for i in rows], budget, temperature, top_p)
            for j, i in enumerate(rows):
                completions[i] = (texts[2 * j], texts[2 * j + 1])
        pending = [i for i in pending if completions[i][0] == completions[i][1]]
        if not pending:
            break
    return [
        Candidate(prompts[i][0], *completions[i], {**meta, "seed": seed + i, "columns": prompts[i][2]})
        for i in range(n_prompts)
        if i not in pending
    ]


def _load_sampler(model: Any, tokenizer: Any) -> tuple[Any, Any, str]:
    """``(causal LM, TokenCodec, name)`` for what :func:`sample_pairs` takes as ``model``."""
    from tokengym.tokenizer import load_tokenizer

    if isinstance(model, (str, os.PathLike)):
        from tokengym.agents.lm.loading import load_lm

        lm, codec = load_lm(model)
        if tokenizer is not None:
            codec = load_tokenizer(tokenizer)
        return lm, codec, os.fspath(model)
    lm = model if hasattr(model, "generate") else getattr(model, "lm", None)
    if lm is None or not hasattr(lm, "generate"):
        raise TypeError(
            f"model must be a model name or folder, a transformers causal LM or a policy with an .lm, "
            f"not {type(model).__name__}"
        )
    if tokenizer is None:
        raise ValueError("pass tokenizer= with a model object (its tokenizer, or a name load_tokenizer takes)")
    name = getattr(getattr(lm, "config", None), "_name_or_path", "") or type(lm).__name__
    return lm, load_tokenizer(tokenizer), str(name)


def _generate(
    lm: Any, codec: Any, prompts: list[list[int]], budget: int, temperature: float, top_p: float
) -> list[str]:
    """Two sampled completions per prompt (in order: prompt 0's two, then prompt 1's...), decoded and stripped."""
    import torch

    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), codec.pad_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for row, prompt in enumerate(prompts):  # left padding: every prompt ends where generation starts
        ids[row, width - len(prompt) :] = torch.tensor(prompt)
        mask[row, width - len(prompt) :] = 1
    was_training = lm.training
    lm.eval()
    try:
        out = lm.generate(
            input_ids=ids.to(lm.device),
            attention_mask=mask.to(lm.device),
            do_sample=True,
            temperature=temperature,
            top_p=top_p,
            top_k=0,
            max_new_tokens=budget,
            num_return_sequences=2,
            pad_token_id=codec.pad_id,
            eos_token_id=codec.eos_id,
            use_cache=True,
        )
    finally:
        lm.train(was_training)
    texts = []
    for row in out[:, width:].tolist():
        if codec.eos_id in row:
            row = row[: row.index(codec.eos_id)]
        texts.append(codec.decode(row).strip())
    return texts
