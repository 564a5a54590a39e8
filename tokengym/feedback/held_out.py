"""Held-out evaluation for learning from feedback: the gold reward, the learned reward and the KL to a reference.

RLHF and DPO are judged on prompts neither has trained on, by the hidden gold reward they are meant to recover,
and by how far the policy has moved from where it started:

- **prompts**: the environment's test split, ``reset(seed=s)`` for ``s`` in ``first_seed, first_seed + 1, ...``
  (:func:`held_out_prompts`), laid out (token ids, truncation) exactly as the environment lays them out, with the
  prompt's reward columns (the reference reply, the source...);
- **replies**: sampled with the model's ``generate`` (key/value cache) at the policy's temperature with no top-k
  and no top-p, which is the distribution a tokengym language-model policy samples from in rollouts, up to the
  environment's ``max_new_tokens`` and cut at the end-of-sequence token, then decoded and stripped as the
  environment decodes a reply for its reward (:func:`sample_replies`); each batch is seeded, so the same model,
  prompts and seed give the same replies;
- **gold**: the gold reward spec scored on each reply with its prompt's columns;
- **learned**: a reward model's score, standardised as ``learned(path=...)`` standardises it;
- **KL**: per reply, the exact ``KL(pi(.|s) || pi_ref(.|s))`` of the two tempered next-token distributions,
  summed over the vocabulary at each state the reply visits (its end-of-sequence step included) and averaged over
  its tokens: nats per token on the policy's own samples (:func:`kl_per_token`). The KL penalty in training pays
  the one-sample estimate ``log pi(a|s) - log pi_ref(a|s)``, whose mean is the same; the exact sum has less noise.

Each is reported as a mean over the prompts with its standard error; :func:`paired_difference` compares two
models on the same prompts.

Example:
    >>> from tokengym.agents.lm.loading import load_lm
    >>> from tokengym.rewards import make_reward
    >>> lm, codec = load_lm("tiny")                                                           # doctest: +SKIP
    >>> prompts = held_out_prompts("Dialogue-v0", 16, tokenizer=codec)                        # doctest: +SKIP
    >>> report = evaluate_held_out(lm, codec, prompts, make_reward("politeness"), max_new_tokens=32,
    ...                            temperature=0.7, reference=lm)                             # doctest: +SKIP
    >>> report.summary()["kl"]                                                                # doctest: +SKIP
    0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "HeldOutPrompt",
    "HeldOutReport",
    "evaluate_held_out",
    "held_out_prompts",
    "kl_per_token",
    "mean_and_error",
    "paired_difference",
    "reply_text",
    "sample_replies",
    "score_with_columns",
]


@dataclass(frozen=True)
class HeldOutPrompt:
    """One held-out prompt: its text, its token ids as the environment lays them out, and its reward columns.

    Example:
        >>> HeldOutPrompt("User: Hi!\\nAssistant:", [11, 12, 13]).columns
        {}
    """

    text: str
    ids: list[int]
    columns: dict[str, Any] = field(default_factory=dict)


def held_out_prompts(
    env_id: str,
    n: int,
    env_kwargs: Mapping[str, Any] | None = None,
    tokenizer: Any = None,
    split: str | None = "test",
    first_seed: int = 0,
) -> list[HeldOutPrompt]:
    """The first prompt of ``env.reset(seed=s)`` for ``n`` seeds from ``first_seed``, on ``split``.

    Example:
        >>> prompts = held_out_prompts("Dialogue-v0", 2)
        >>> len(prompts), prompts[0].text.endswith("Assistant:"), "references" in prompts[0].columns
        (2, True, True)

    Args:
        env_id: a registered token-level environment.
        n: how many prompts.
        env_kwargs: more arguments of ``gym.make`` (not ``tokenizer``; ``split`` is set by ``split``).
        tokenizer: the model's tokenizer (anything ``load_tokenizer`` takes; ``None``: the embedded one).
        split: the split to read (``None``: the environment's default; for an environment without splits).
        first_seed: the first reset seed.

    Raises:
        ValueError: ``env_id`` is not a token-level environment.
    """
    import gymnasium as gym

    import tokengym  # noqa: F401  (registers the environments)
    from tokengym.envs.core import TokenEnv
    from tokengym.feedback.labeller import prompt_columns
    from tokengym.tokenizer import load_tokenizer

    kwargs = {**(env_kwargs or {}), "tokenizer": load_tokenizer(tokenizer)}
    if split is not None:
        kwargs["split"] = split
    env = gym.make(env_id, **kwargs)
    try:
        if not isinstance(env.unwrapped, TokenEnv):
            raise ValueError(f"{env_id} is not a token-level environment: its replies cannot be sampled token by token")
        prompts = []
        for seed in range(first_seed, first_seed + n):
            obs, _ = env.reset(seed=seed)
            u = env.unwrapped
            ids = obs["input_ids"][: u.prompt_length].tolist()
            prompts.append(HeldOutPrompt(u.current_sample.prompt, ids, prompt_columns(env)))
    finally:
        env.close()
    return prompts


def sample_replies(
    lm: Any,
    codec: Any,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    temperature: float = 1.0,
    seed: int = 0,
    batch_size: int = 32,
) -> list[list[int]]:
    """One sampled reply per prompt: its token ids, ending with the end-of-sequence token when the model wrote one.

    Prompts are left-padded into batches of ``batch_size``; batch ``b`` is sampled under the torch seed
    ``seed + b`` (the caller's random state is left as it was). No top-k, no top-p: the policy's own distribution.

    Example:
        >>> from tokengym.agents.lm.loading import load_lm
        >>> lm, codec = load_lm("tiny")
        >>> [reply] = sample_replies(lm, codec, [codec.encode("User: Hi!\\nAssistant:")], max_new_tokens=16)
        >>> len(reply) <= 16
        True
    """
    import torch

    out: list[list[int]] = []
    was_training = lm.training
    lm.eval()
    try:
        for b, start in enumerate(range(0, len(prompts), batch_size)):
            rows = [list(p) for p in prompts[start : start + batch_size]]
            width = max(len(p) for p in rows)
            ids = torch.full((len(rows), width), codec.pad_id, dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, prompt in enumerate(rows):  # left padding: every prompt ends where the reply starts
                ids[row, width - len(prompt) :] = torch.tensor(prompt)
                mask[row, width - len(prompt) :] = 1
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                torch.manual_seed(seed + b)
                generated = lm.generate(
                    input_ids=ids.to(lm.device),
                    attention_mask=mask.to(lm.device),
                    do_sample=True,
                    temperature=temperature,
                    top_k=0,
                    top_p=1.0,
                    max_new_tokens=max_new_tokens,
                    pad_token_id=codec.pad_id,
                    eos_token_id=codec.eos_id,
                    use_cache=True,
                )
            for row in generated[:, width:].tolist():
                if codec.eos_id in row:
                    row = row[: row.index(codec.eos_id) + 1]
                out.append(row)
    finally:
        lm.train(was_training)
    return out


def reply_text(codec: Any, ids: Sequence[int]) -> str:
    """A reply's text as the environment scores it: decoded up to the end-of-sequence token, stripped.

    Example:
        >>> from tokengym.tokenizer import load_tokenizer
        >>> codec = load_tokenizer()
        >>> reply_text(codec, codec.encode(" Hello there.") + [codec.eos_id] + codec.encode(" more"))
        'Hello there.'
    """
    ids = list(ids)
    if codec.eos_id in ids:
        ids = ids[: ids.index(codec.eos_id)]
    return codec.decode(ids).strip()


def kl_per_token(
    lm: Any,
    reference: Any,
    prompts: Sequence[Sequence[int]],
    replies: Sequence[Sequence[int]],
    temperature: float = 1.0,
    batch_size: int = 32,
) -> list[float]:
    """Per reply: the exact KL of the tempered next-token distributions of ``lm`` from ``reference``, summed over
    the vocabulary at each state of the reply and averaged over its tokens (nats per token; 0 for an empty reply).

    Example:
        >>> from tokengym.agents.lm.loading import load_lm
        >>> lm, codec = load_lm("tiny")
        >>> prompt = codec.encode("User: Hi!\\nAssistant:")
        >>> kl_per_token(lm, lm, [prompt], sample_replies(lm, codec, [prompt], max_new_tokens=8))
        [0.0]
    """
    import torch

    if len(prompts) != len(replies):
        raise ValueError(f"got {len(prompts)} prompts but {len(replies)} replies")
    out: list[float] = []
    models = [(lm, lm.training), (reference, reference.training)]
    for model, _ in models:
        model.eval()
    try:
        for start in range(0, len(prompts), batch_size):
            batch = zip(prompts[start : start + batch_size], replies[start : start + batch_size], strict=True)
            rows = [(list(p), list(r)) for p, r in batch]
            width = max(len(p) + len(r) for p, r in rows)
            ids = torch.zeros((len(rows), width), dtype=torch.long)
            mask = torch.zeros_like(ids)
            for row, (prompt, reply) in enumerate(rows):
                ids[row, : len(prompt) + len(reply)] = torch.tensor(prompt + reply)
                mask[row, : len(prompt) + len(reply)] = 1
            positions = torch.arange(width).expand_as(ids)
            with torch.no_grad():
                logp = _tempered_log_probs(lm, ids, mask, positions, temperature)
                logq = _tempered_log_probs(reference, ids, mask, positions, temperature)
                per_state = (logp.exp() * (logp - logq)).sum(-1)  # (B, width): KL at every position
            for row, (prompt, reply) in enumerate(rows):
                if not reply:
                    out.append(0.0)
                    continue
                states = per_state[row, len(prompt) - 1 : len(prompt) + len(reply) - 1]  # the states that chose it
                out.append(max(0.0, float(states.mean())))
    finally:
        for model, mode in models:
            model.train(mode)
    return out


def _tempered_log_probs(model: Any, ids: Any, mask: Any, positions: Any, temperature: float) -> Any:
    import torch

    device = next(model.parameters()).device
    logits = model(
        input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device)
    ).logits.float()
    return torch.log_softmax(logits / temperature, -1).cpu()


def score_with_columns(
    reward: Any, prompts: Sequence[str], completions: Sequence[str], columns: Sequence[Mapping[str, Any]]
) -> list[float]:
    """``reward``'s total for each completion, with ``columns[i]`` (one value each) as the reward's columns of
    completion ``i``; one batched call per set of column names.

    Example:
        >>> from tokengym.rewards import make_reward
        >>> score_with_columns(make_reward("rouge_l"), ["Q", "Q"], ["a cat", "a dog"], [{"references": "a cat"}] * 2)
        [1.0, 0.5]
    """
    totals = [0.0] * len(completions)
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, cols in enumerate(columns):
        groups.setdefault(tuple(sorted(cols)), []).append(i)
    for keys, rows in groups.items():
        kwargs = {key: [columns[i][key] for i in rows] for key in keys}
        values, _ = reward.score([prompts[i] for i in rows], [completions[i] for i in rows], **kwargs)
        for j, i in enumerate(rows):
            totals[i] = float(values[j])
    return totals


def mean_and_error(values: Sequence[float]) -> tuple[float, float]:
    """The mean and its standard error (sample standard deviation over the square root of n; 0 for one value).

    Example:
        >>> mean_and_error([1.0, 2.0, 3.0])
        (2.0, 0.5773502691896258)
    """
    x = np.asarray(values, dtype=float)
    if not len(x):
        return math.nan, math.nan
    error = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0
    return float(x.mean()), error


def paired_difference(first: Sequence[float], second: Sequence[float]) -> tuple[float, float]:
    """The mean of ``second - first`` over the same prompts, and its standard error.

    Example:
        >>> paired_difference([0.0, 1.0], [1.0, 1.0])
        (0.5, 0.5)
    """
    if len(first) != len(second):
        raise ValueError(f"a paired difference needs the same prompts on both sides ({len(first)} vs {len(second)})")
    return mean_and_error(np.asarray(second, dtype=float) - np.asarray(first, dtype=float))


@dataclass
class HeldOutReport:
    """Per held-out prompt: the gold reward, the learned reward (``None``: no reward model), the KL per token to
    the reference (``None``: no reference), and the reply.

    Example:
        >>> report = HeldOutReport([0.5, 1.0], None, [0.0, 0.1], ["Hi.", "Hello!"], ["Q1", "Q2"])
        >>> report.summary()["gold"], report.head(1).summary()["kl"]
        (0.75, 0.0)
    """

    gold: list[float]
    learned: list[float] | None
    kl: list[float] | None
    replies: list[str]
    prompts: list[str]

    def summary(self) -> dict[str, Any]:
        """Means and standard errors (``gold``, ``gold_se``, ``learned``, ``learned_se``, ``kl``, ``kl_se``) and the
        number of prompts (``episodes``); a missing measure is ``None``."""
        out: dict[str, Any] = {"episodes": len(self.gold)}
        for name, values in (("gold", self.gold), ("learned", self.learned), ("kl", self.kl)):
            mean, error = mean_and_error(values) if values is not None else (None, None)
            out[name], out[f"{name}_se"] = mean, error
        return out

    def head(self, n: int) -> HeldOutReport:
        """The same measurements on the first ``n`` prompts only."""
        cut = lambda values: None if values is None else values[:n]  # noqa: E731
        return HeldOutReport(self.gold[:n], cut(self.learned), cut(self.kl), self.replies[:n], self.prompts[:n])

    def samples(self, k: int = 5) -> list[dict[str, Any]]:
        """The first ``k`` prompts with their reply and its gold reward."""
        return [
            {"prompt": self.prompts[i], "reply": self.replies[i], "gold": self.gold[i]}
            for i in range(min(k, len(self.gold)))
        ]


def evaluate_held_out(
    lm: Any,
    codec: Any,
    prompts: Sequence[HeldOutPrompt],
    gold: Any,
    *,
    max_new_tokens: int,
    temperature: float = 1.0,
    seed: int = 0,
    reference: Any = None,
    reward_model: Any = None,
    batch_size: int = 32,
) -> HeldOutReport:
    """Sample one reply per prompt from ``lm`` and measure it (see the module docstring).

    Args:
        lm: a causal LM (a policy's ``.lm``, or ``load_lm``'s model).
        codec: its tokenizer (:class:`~tokengym.tokenizer.TokenCodec`).
        prompts: from :func:`held_out_prompts`.
        gold: the gold reward (a :class:`~tokengym.rewards.CompositeReward`, from ``make_reward``).
        max_new_tokens: the reply budget (the environment's).
        temperature: the sampling temperature (the policy's), also that of both distributions of the KL.
        seed: seeds the sampling.
        reference: the reference LM of the KL (``None``: no KL).
        reward_model: a :class:`~tokengym.feedback.reward_model.RewardModel` (``None``: no learned reward).
        batch_size: prompts per batch.

    Example:
        >>> from tokengym.agents.lm.loading import load_lm
        >>> from tokengym.rewards import make_reward
        >>> lm, codec = load_lm("tiny")
        >>> report = evaluate_held_out(lm, codec, held_out_prompts("Dialogue-v0", 2), make_reward("politeness"),
        ...                            max_new_tokens=8, reference=lm)
        >>> report.summary()["kl"], report.summary()["episodes"]
        (0.0, 2)
    """
    ids = [p.ids for p in prompts]
    replies = sample_replies(lm, codec, ids, max_new_tokens, temperature, seed, batch_size)
    texts = [reply_text(codec, r) for r in replies]
    prompt_texts = [p.text for p in prompts]
    gold_values = score_with_columns(gold, prompt_texts, texts, [p.columns for p in prompts])
    learned = None
    if reward_model is not None:
        learned = [float(v) for v in reward_model.score(prompt_texts, texts, batch_size=batch_size, normalize=True)]
    kl = None if reference is None else kl_per_token(lm, reference, ids, replies, temperature, batch_size)
    return HeldOutReport(gold_values, learned, kl, texts, prompt_texts)
