"""DPO: fine-tune a language model directly on preference pairs, the offline baseline beside RLHF.

Direct Preference Optimization (Rafailov et al., 2023) needs no reward model and no sampling while it trains. For
each judged pair it compares the policy's log-probability of the chosen and the rejected completion given the
prompt with those of a frozen reference (the starting model), and minimises::

    -log sigmoid(beta * ((log pi(chosen) - log ref(chosen)) - (log pi(rejected) - log ref(rejected))))

where ``log pi(y)`` sums the log-probabilities of the completion's tokens (its end-of-sequence token included).
``beta * (log pi(y) - log ref(y))`` is the completion's *implicit reward*; a pair is ranked right when the chosen
completion's is the larger (the *margin* is positive). Ties say nothing about which is better, so they are
skipped. The reference's log-probabilities are computed once, before training, with the starting weights.

**Tokens.** A completion is scored as the environment plays it: the prompt laid out by the environment (its token
ids, truncation and turn markers: a dialogue prompt has an end-of-sequence token after each assistant turn) where
the preference names the environment and seed it was sampled from and that environment gives the same prompt
text there (:func:`~tokengym.feedback.labeller.sample_pairs` records both); otherwise the prompt's text is
encoded. The completion is ``" " + completion.strip()`` and the end-of-sequence token, as the reward models of
:mod:`tokengym.feedback.reward_model` score it; a pair longer than ``max_length`` keeps the completion's
beginning and the prompt's newest tokens.

**Why not TRL's** ``DPOTrainer``: it is not a dependency of tokengym (TRL is in the ``bench`` extra only), and it
brings ``accelerate`` and ``datasets`` for what is a short loop here; beyond that it fits this use less
well, for the reasons the reward model's module gives for TRL's ``RewardTrainer``
(:mod:`tokengym.feedback.reward_model`): a model named by path loads in its stored dtype (float16 for "tiny",
whose gradients turn to NaN on a CPU within a few steps unless a dtype is passed), its own tokenisation of prompt
and completion would have to be made to match the environment's token layout above (it encodes the prompt text,
which drops the turn markers the environment puts in), and it has no notion of a tie. The loop below keeps the
objective, the frozen reference and the implicit reward as the paper defines them.

**Reported** (``result.report``): the held-out preference accuracy (pairs of a fifth of the prompts held out, split
by prompt as the reward model splits them: :func:`~tokengym.feedback.reward_model.split_by_prompt`; an equal
margin counts one half) with a Wilson interval, the mean held-out margin, the agreement with the gold order where
the preferences carry gold rewards, and, when ``eval_episodes > 0``, the gold reward of the trained model's
samples on held-out prompts beside the starting model's (the same prompts: a paired difference) and its KL to
the starting model (:mod:`tokengym.feedback.held_out`).

The model is saved as a folder of safetensors weights, configuration and tokenizer files, which ``load_lm``,
``tokengym train --model`` and ``tokengym eval --model`` take, with ``dpo.json`` holding the report.

Example:
    >>> from tokengym.feedback import Preference
    >>> from tokengym.feedback.dpo import DPOConfig, train_dpo
    >>> prefs = [Preference(f"User: {i}?\\nAssistant:", " Yes, please.", " No.") for i in range(40)]
    >>> result = train_dpo(prefs, DPOConfig(epochs=1, eval_episodes=0), out="models/dpo")  # doctest: +SKIP
    >>> result.report["held_out_accuracy"]                                                 # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from tokengym.feedback.labeller import DEFAULT_GOLD
from tokengym.feedback.preferences import Preference

__all__ = ["REPORT_FILE", "DPOConfig", "DPOResult", "dpo_margins", "encode_preferences", "train_dpo"]

REPORT_FILE = "dpo.json"
"""The report written beside the model's weights."""

Encoded = tuple[list[int], list[int], list[int]]
"""A pair as token ids: ``(prompt, chosen + EOS, rejected + EOS)``."""


@dataclass
class DPOConfig:
    """Configuration of DPO training and of its held-out evaluation.

    Example:
        >>> DPOConfig(beta=0.05, epochs=1).eval_temperature
        0.7
    """

    model_name: str = "tiny"
    """Starting model, also the frozen reference: "tiny", a model folder or a hub id."""
    beta: float = 0.1
    """Strength of the pull to the reference: the implicit reward is ``beta * (log pi - log ref)``."""
    epochs: int = 2
    """Passes over the training pairs."""
    batch_size: int = 16
    """Pairs per optimisation step."""
    lr: float = 5e-5
    """AdamW learning rate, decayed linearly to 0 over the run."""
    weight_decay: float = 0.0
    """AdamW weight decay."""
    max_length: int = 256
    """Tokens per scored sequence (prompt, completion, end-of-sequence); the prompt's oldest tokens go first."""
    eval_fraction: float = 0.2
    """Share of the prompts whose pairs are held out for the accuracy (0: none held out)."""
    env_id: str = "Dialogue-v0"
    """The task: it lays out the prompts of the preferences sampled from it, and gives the held-out prompts."""
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"max_prompt_len": 64, "max_new_tokens": 32})
    """Arguments of ``gym.make`` (those the preferences were sampled with; not the tokenizer, reward or split)."""
    gold: str = DEFAULT_GOLD
    """The gold reward the held-out samples are scored with."""
    eval_episodes: int = 256
    """Held-out prompts (test split, seeds 0..N-1) whose samples are scored with the gold reward (0: none)."""
    eval_temperature: float = 0.7
    """Sampling temperature of the held-out samples (that of RLHF's policy, for a comparison on equal terms)."""
    seed: int = 0
    """Seeds the held-out split of the pairs, their order and the sampling."""

    def __post_init__(self) -> None:
        from tokengym.agents.running.config import MAX_SEED, check_env_id, check_fields
        from tokengym.rewards import make_reward

        check_fields(
            self,
            ints={
                "epochs": (1, None),
                "batch_size": (1, None),
                "max_length": (8, None),
                "eval_episodes": (0, None),
                "seed": (0, MAX_SEED),
            },
            floats={
                "beta": (0.0, None, True),
                "lr": (0.0, None, True),
                "weight_decay": (0.0, None, False),
                "eval_fraction": (0.0, 0.9, False),
                "eval_temperature": (0.0, None, True),
            },
        )
        self.env_id = check_env_id(self.env_id)
        make_reward(self.gold)  # a typo in the gold spec is said now
        taken = sorted(set(self.env_kwargs) & {"tokenizer", "reward", "split"})
        if taken:
            raise ValueError(f"env_kwargs must not set {taken}: the model's tokenizer is used, and the split is chosen")


@dataclass
class DPOResult:
    """The trained model, its tokenizer, the report, and the folder it was saved to (``None``: not saved)."""

    model: Any
    codec: Any
    report: dict[str, Any]
    path: Path | None = None


# -------------------------------------------------------------------------------------------------- data


def encode_preferences(
    preferences: Sequence[Preference], codec: Any, config: DPOConfig
) -> tuple[list[Encoded], dict[str, int]]:
    """The pairs as token ids (see the module docstring), and how many prompts the environment laid out (``env``)
    or were encoded from their text (``text``)."""
    import gymnasium as gym

    import tokengym  # noqa: F401  (registers the environments)

    env = None
    counts = {"env": 0, "text": 0}
    out = []
    try:
        for pref in preferences:
            prompt = None
            seed = pref.metadata.get("seed")
            if pref.metadata.get("env") == config.env_id and isinstance(seed, int) and seed >= 0:
                if env is None:
                    env = gym.make(config.env_id, tokenizer=codec, **config.env_kwargs)
                obs, _ = env.reset(seed=seed)
                u = env.unwrapped
                if u.current_sample.prompt == pref.prompt:
                    prompt = obs["input_ids"][: u.prompt_length].tolist()
            counts["env" if prompt is not None else "text"] += 1
            if prompt is None:
                prompt = codec.encode(pref.prompt) or [codec.eos_id]  # an empty prompt: the end of a document
            out.append((prompt, _reply(codec, pref.chosen, config), _reply(codec, pref.rejected, config)))
    finally:
        if env is not None:
            env.close()
    return [_fit(p, c, r, config.max_length) for p, c, r in out], counts


def _reply(codec: Any, text: str, config: DPOConfig) -> list[int]:
    return codec.encode(" " + text.strip())[: config.max_length - 2] + [codec.eos_id]


def _fit(prompt: list[int], chosen: list[int], rejected: list[int], max_length: int) -> Encoded:
    """The prompt's newest tokens that fit beside the longer completion (at least one)."""
    room = max(1, max_length - max(len(chosen), len(rejected)))
    return prompt[-room:], chosen, rejected


def _sequence_log_probs(model: Any, rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> torch.Tensor:
    """The summed log-probability of each completion given its prompt, shape ``(len(rows),)``."""
    width = max(len(p) + len(c) for p, c in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    scored = torch.zeros((len(rows), width), dtype=torch.bool)  # positions whose next token is the completion's
    for row, (prompt, completion) in enumerate(rows):
        seq = prompt + completion
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        scored[row, len(prompt) - 1 : len(seq) - 1] = True
    device = next(model.parameters()).device
    positions = torch.arange(width).expand_as(ids)
    logits = model(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device)).logits
    log_probs = torch.log_softmax(logits[:, :-1].float(), -1)
    chosen = log_probs.gather(-1, ids[:, 1:].to(device).unsqueeze(-1)).squeeze(-1)
    return (chosen * scored[:, :-1].to(device)).sum(-1)


def _pair_log_probs(model: Any, pairs: Sequence[Encoded], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(log pi(chosen), log pi(rejected))`` of a batch, in one forward pass."""
    rows = [(p, c) for p, c, _ in pairs] + [(p, r) for p, _, r in pairs]
    scores = _sequence_log_probs(model, rows, pad_id)
    return scores[: len(pairs)], scores[len(pairs) :]


def _reference_log_probs(model: Any, pairs: Sequence[Encoded], pad_id: int, batch_size: int) -> torch.Tensor:
    """``(n, 2)``: the log-probabilities of every pair's chosen and rejected completion, without gradients."""
    out = []
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            chosen, rejected = _pair_log_probs(model, pairs[start : start + batch_size], pad_id)
            out.append(torch.stack([chosen, rejected], -1).cpu())
    return torch.cat(out) if out else torch.zeros((0, 2))


def dpo_margins(
    model: Any, pairs: Sequence[Encoded], reference: torch.Tensor, beta: float, pad_id: int, batch_size: int = 32
) -> list[float]:
    """Each pair's implicit reward margin ``beta * ((pi_c - ref_c) - (pi_r - ref_r))`` (positive: ranked right)."""
    out: list[float] = []
    with torch.no_grad():
        for start in range(0, len(pairs), batch_size):
            chosen, rejected = _pair_log_probs(model, pairs[start : start + batch_size], pad_id)
            ref = reference[start : start + batch_size].to(chosen.device)
            out.extend((beta * ((chosen - ref[:, 0]) - (rejected - ref[:, 1]))).tolist())
    return out


# ---------------------------------------------------------------------------------------------- training


def _accuracy(margins: Sequence[float]) -> float | None:
    if not margins:
        return None
    return sum(1.0 if m > 0 else 0.5 if m == 0 else 0.0 for m in margins) / len(margins)


def _gold_agreement(preferences: Sequence[Preference], margins: Sequence[float]) -> float | None:
    """Agreement of the margins with the gold order, where the preferences carry ``gold_chosen``/``gold_rejected``."""
    agree = []
    for pref, margin in zip(preferences, margins, strict=True):
        chosen, rejected = pref.metadata.get("gold_chosen"), pref.metadata.get("gold_rejected")
        if isinstance(chosen, (int, float)) and isinstance(rejected, (int, float)) and chosen != rejected:
            gap = float(chosen) - float(rejected)
            agree.append(1.0 if margin * gap > 0 else 0.5 if margin == 0 else 0.0)
    return float(np.mean(agree)) if agree else None


def train_dpo(
    preferences: Sequence[Preference],
    config: DPOConfig | None = None,
    out: str | os.PathLike[str] | None = None,
    log: Callable[..., None] = print,
) -> DPOResult:
    """Train ``config.model_name`` with DPO on ``preferences``; save it to ``out`` (a folder) when given.

    Example:
        >>> from tokengym.feedback import read_preferences
        >>> result = train_dpo(read_preferences("prefs.jsonl"), DPOConfig(), out="models/dpo")  # doctest: +SKIP
        >>> result.report["held_out_accuracy"], result.report["eval"]["gold_change"]              # doctest: +SKIP

    Args:
        preferences: the pairs (:func:`~tokengym.feedback.read_preferences` reads a file of them); ties are skipped.
        config: the settings (:class:`DPOConfig`).
        out: the model folder to write (atomically; an existing folder is replaced whole).
        log: where progress messages go.

    Returns:
        The trained model, its tokenizer and the report (see the module docstring).

    Raises:
        ValueError: no pair to train on (all ties, or all held out), or a ``max_length`` over the model's context.
        TrainingDivergedError: a loss, gradient or weight that is not finite; nothing is saved then.
    """
    from tokengym.agents.lm.loading import load_lm
    from tokengym.agents.running.guards import check_finite_state
    from tokengym.feedback.reward_model import split_by_prompt, wilson_interval

    cfg = config or DPOConfig()
    preferences = list(preferences)
    judged = [p for p in preferences if not p.tie]
    train, held_out = split_by_prompt(judged, cfg.eval_fraction, cfg.seed)
    if not train:
        raise ValueError(
            f"no preference pairs to train on ({len(preferences)} given, {len(preferences) - len(judged)} ties "
            f"skipped, {len(held_out)} held out)"
        )
    torch.manual_seed(cfg.seed)
    model, codec = load_lm(cfg.model_name)
    context = getattr(model.config, "max_position_embeddings", None)
    if context is not None and cfg.max_length > context:
        raise ValueError(f"max_length={cfg.max_length} is over the model's context of {context} tokens")
    start = time.perf_counter()
    train_pairs, layout = encode_preferences(train, codec, cfg)
    held_pairs, held_layout = encode_preferences(held_out, codec, cfg)
    reference = copy.deepcopy(model).requires_grad_(False).eval()
    ref_train = _reference_log_probs(reference, train_pairs, codec.pad_id, cfg.batch_size)
    ref_held = _reference_log_probs(reference, held_pairs, codec.pad_id, cfg.batch_size)

    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(train_pairs) / cfg.batch_size)
    schedule = torch.optim.lr_scheduler.LambdaLR(optim, lambda step: 1.0 - step / steps)
    rng = np.random.default_rng(cfg.seed)
    hint = f"lower the learning rate (now {cfg.lr:g})"
    losses: list[float] = []
    log(f"DPO on {len(train_pairs)} pairs ({len(preferences) - len(judged)} ties skipped, {len(held_pairs)} held out)")
    model.train()
    for _ in range(cfg.epochs):
        order = rng.permutation(len(train_pairs))
        for first in range(0, len(order), cfg.batch_size):
            rows = order[first : first + cfg.batch_size]
            chosen, rejected = _pair_log_probs(model, [train_pairs[i] for i in rows], codec.pad_id)
            ref = ref_train[torch.as_tensor(rows)].to(chosen.device)
            margin = cfg.beta * ((chosen - ref[:, 0]) - (rejected - ref[:, 1]))
            loss = -F.logsigmoid(margin).mean()
            if not torch.isfinite(loss):
                check_finite_state(model, None, len(losses), hint, losses={"loss": loss.item()})
            optim.zero_grad(set_to_none=True)
            loss.backward()
            if not torch.isfinite(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)):
                check_finite_state(model, None, len(losses), hint, gradients=True)
            optim.step()
            schedule.step()
            losses.append(loss.item())
    model.eval()
    minutes = (time.perf_counter() - start) / 60
    held_margins = dpo_margins(model, held_pairs, ref_held, cfg.beta, codec.pad_id, cfg.batch_size)
    sample = min(len(train_pairs), 500)
    train_margins = dpo_margins(model, train_pairs[:sample], ref_train[:sample], cfg.beta, codec.pad_id)
    check_finite_state(model, optim, len(losses), hint, losses={"margins after training": float(sum(held_margins))})
    accuracy = _accuracy(held_margins)
    report: dict[str, Any] = {
        "pairs": len(preferences),
        "ties_skipped": len(preferences) - len(judged),
        "train_pairs": len(train_pairs),
        "held_out_pairs": len(held_pairs),
        "held_out_accuracy": accuracy,
        "held_out_accuracy_interval": list(wilson_interval((accuracy or 0.0) * len(held_pairs), len(held_pairs))),
        "held_out_mean_margin": float(np.mean(held_margins)) if held_margins else None,
        "held_out_gold_agreement": _gold_agreement(held_out, held_margins),
        "train_accuracy": _accuracy(train_margins),
        "prompts_laid_out_by_env": layout["env"] + held_layout["env"],
        "prompts_encoded_from_text": layout["text"] + held_layout["text"],
        "steps": len(losses),
        "first_loss": losses[0],
        "last_loss": float(np.mean(losses[-10:])),
        "minutes": minutes,
        "config": asdict(cfg),
    }
    if cfg.eval_episodes:
        report["eval"] = _evaluate(model, reference, codec, cfg)
    result = DPOResult(model, codec, report)
    if out is not None:
        result.path = _save(result, cfg, Path(out))
    return result


def _evaluate(model: Any, reference: Any, codec: Any, cfg: DPOConfig) -> dict[str, Any]:
    """The gold reward of the trained and the starting model's samples on the held-out prompts, and the KL."""
    import gymnasium as gym

    from tokengym.feedback.held_out import evaluate_held_out, held_out_prompts, paired_difference
    from tokengym.rewards import make_reward

    env = gym.make(cfg.env_id, tokenizer=codec, **cfg.env_kwargs)
    budget = int(env.unwrapped.max_new_tokens)
    env.close()
    prompts = held_out_prompts(cfg.env_id, cfg.eval_episodes, cfg.env_kwargs, tokenizer=codec)
    gold = make_reward(cfg.gold)
    common = {"max_new_tokens": budget, "temperature": cfg.eval_temperature, "seed": cfg.seed}
    trained = evaluate_held_out(model, codec, prompts, gold, reference=reference, **common)
    start = evaluate_held_out(reference, codec, prompts, gold, **common)
    change, error = paired_difference(start.gold, trained.gold)
    return {
        "dpo": {**trained.summary(), "gold_values": trained.gold, "samples": trained.samples()},
        "zero_shot": {**start.summary(), "gold_values": start.gold},
        "gold_change": change,
        "gold_change_se": error,
    }


def _save(result: DPOResult, cfg: DPOConfig, out: Path) -> Path:
    """Write the model folder atomically: weights, configuration, tokenizer files and the report."""
    import shutil

    from tokengym.agents.running.atomic import fsync_tree, move_into_place, staging_folder
    from tokengym.agents.supervised.sft import save_tokenizer_files

    staging = staging_folder(out)
    try:
        result.model.save_pretrained(str(staging), safe_serialization=True)
        save_tokenizer_files(cfg.model_name, result.codec, staging)
        text = json.dumps(result.report, indent=2, ensure_ascii=False, allow_nan=False)
        (staging / REPORT_FILE).write_text(text + "\n", encoding="utf-8")
        fsync_tree(staging)
        move_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
