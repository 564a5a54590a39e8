"""Supervised warm start (the SFT baseline): fine-tune a causal LM on a task's demonstrations.

The demonstrations are the task's reference completions (dialogue, summarization) or, for a text game played
token by token, the commands of its walkthroughs (TextWorld records a winning command sequence for each game it
generates): each turn of a game played along its walkthrough gives the turn's prompt and the command written.
The loss is the cross-entropy of the demonstration (and its end-of-sequence token) given the prompt, exactly as
the environment lays the prompt out; prompt tokens are not trained on. Use the result as a baseline, or as the
starting model for RL (``LMActorCriticPolicy(model_name=folder)``).

Example:
    >>> from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune
    >>> report = supervised_finetune(SFTConfig(env_id="Summarization-v0", steps=50), out="sft-summ")  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from tokengym.agents.lm.loading import load_lm, resolve_model_path
from tokengym.agents.running.guards import check_finite_state


@dataclass
class SFTConfig:
    """Configuration of a supervised warm start."""

    env_id: str = "Dialogue-v0"
    """Environment whose prompts and demonstrations (reference completions, a text game's walkthroughs) are the
    training pairs."""
    model_name: str = "tiny"
    """Starting model: "tiny", a local folder or a hub id."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``gym.make`` (the training split is the environment's default)."""
    steps: int = 200
    """Optimisation steps."""
    batch_size: int = 16
    """Pairs per step."""
    lr: float = 3e-4
    """Adam learning rate."""
    seed: int = 0
    """Seeds the episodes drawn (prompts) and the model's update order."""
    progress_bar: bool = True
    """A progress bar of the optimisation steps with the running loss, like ``tokengym train``'s."""

    def __post_init__(self) -> None:
        from tokengym.agents.running.config import MAX_SEED, check_env_id, check_fields

        check_fields(
            self,
            ints={"steps": (1, None), "batch_size": (1, None), "seed": (0, MAX_SEED)},
            floats={"lr": (0.0, None, True)},
        )
        self.env_id = check_env_id(self.env_id)


def reference_pairs(env: gym.Env, n: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """``n`` (prompt ids, reference ids + EOS) pairs drawn from ``env`` with consecutive seeds."""
    u = env.unwrapped
    pairs = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        reference = u.current_sample.columns.get("references")
        if reference is None:
            raise ValueError(f"{env.spec.id if env.spec else type(u).__name__} has no reference completions to learn")
        prompt = obs["input_ids"][: u.prompt_length].tolist()
        target = u.codec.encode(" " + reference)[: u.max_new_tokens - 1] + [u.codec.eos_id]
        pairs.append((prompt, target))
    return pairs


def walkthrough_pairs(env: gym.Env, n: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """``n`` (prompt ids, command ids + EOS) pairs from a token-level text game's walkthroughs, shuffled.

    Games are drawn with consecutive seeds from ``seed`` and each is played along its walkthrough, command by
    command through the env's own tokens, until it ends or the walkthrough does; every turn gives a pair. Pairs
    are shuffled (seeded by ``seed``) so that a batch mixes games.

    Raises:
        ValueError: when the env is not a token-level text game, its games record no walkthrough, or a
            walkthrough command is not admissible where the walkthrough plays it.
    """
    from tokengym.envs.games.token_env import TextGameTokenEnv

    u = env.unwrapped
    name = env.spec.id if env.spec else type(u).__name__
    if not isinstance(u, TextGameTokenEnv):
        raise ValueError(f"{name} is not a text game played token by token; walkthroughs come from those")
    pairs: list[tuple[list[int], list[int]]] = []
    game_seed = seed
    while len(pairs) < n:
        obs, _ = env.reset(seed=game_seed)
        walkthrough = getattr(u.game, "walkthrough", None)
        if not walkthrough:
            raise ValueError(
                f"{name}'s games record no walkthrough to learn from (TextWorld's games do); "
                "train it with RL, or warm-start on another task"
            )
        for command in walkthrough:
            if command not in u.tokens.command_ids:
                raise ValueError(
                    f"the walkthrough of {name}'s game (seed {game_seed}) plays {command!r}, which is not among "
                    "the game's commands"
                )
            target = [*u.tokens.command_ids[command], u.codec.eos_id]
            prompt = obs["input_ids"][: u.prompt_length].tolist()
            terminated = truncated = False
            for token in target:
                if not u.action_masks()[token]:
                    raise ValueError(
                        f"the walkthrough of {name}'s game (seed {game_seed}) plays {command!r}, which is not "
                        f"admissible there (admissible: {u.admissible_commands})"
                    )
                obs, _, terminated, truncated, _ = env.step(token)
                if terminated or truncated:
                    break
            pairs.append((prompt, target))
            if terminated or truncated:
                break
        game_seed += 1
    order = np.random.default_rng(seed).permutation(len(pairs))[:n]
    return [pairs[i] for i in order]


def demonstration_pairs(env: gym.Env, n: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """The env's demonstrations: walkthrough turns for a token-level text game, reference completions otherwise."""
    from tokengym.envs.games.token_env import TextGameTokenEnv

    if isinstance(env.unwrapped, TextGameTokenEnv):
        return walkthrough_pairs(env, n, seed)
    return reference_pairs(env, n, seed)


def sft_loss(model: Any, batch: list[tuple[list[int], list[int]]], pad_id: int) -> torch.Tensor:
    """Mean cross-entropy of the targets given their prompts (prompt tokens masked out of the loss)."""
    width = max(len(p) + len(t) for p, t in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (prompt, target) in enumerate(batch):
        seq = prompt + target
        ids[row, : len(seq)] = torch.tensor(seq)
        labels[row, len(prompt) : len(seq)] = torch.tensor(target)
        mask[row, : len(seq)] = 1
    return model(input_ids=ids, attention_mask=mask, labels=labels).loss


def supervised_finetune(cfg: SFTConfig, out: str | Path | None = None) -> dict[str, Any]:
    """Fine-tune ``cfg.model_name`` on reference completions; save to ``out`` (a folder) when given.

    Returns:
        A report: steps, first and last loss, minutes, and the output folder.

    Raises:
        TrainingDivergedError: a loss, gradient or weight that is not finite (a learning rate far too high);
            nothing is saved then.
    """
    torch.manual_seed(cfg.seed)
    model, tokenizer = load_lm(cfg.model_name)
    env = gym.make(cfg.env_id, tokenizer=tokenizer, **cfg.env_kwargs)
    pairs = demonstration_pairs(env, cfg.steps * cfg.batch_size, seed=cfg.seed * 1_000_003)
    optim = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    hint = f"lower the learning rate (now {cfg.lr:g}, --lr)"
    model.train()
    losses, start = [], time.perf_counter()
    bar = _progress_bar(cfg.steps) if cfg.progress_bar else None
    for step in range(cfg.steps):
        batch = pairs[step * cfg.batch_size : (step + 1) * cfg.batch_size]
        loss = sft_loss(model, batch, tokenizer.pad_id)
        # A non-finite loss or gradient would turn every weight into NaN at this step: stop before it does.
        if not torch.isfinite(loss):
            check_finite_state(model, None, step, hint, losses={"loss": loss.item()})
        optim.zero_grad(set_to_none=True)
        loss.backward()
        if not torch.isfinite(torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)):
            check_finite_state(model, None, step, hint, gradients=True)
        optim.step()
        losses.append(loss.item())
        if bar is not None:
            bar.set_postfix_str(f"loss {sum(losses[-10:]) / len(losses[-10:]):.3f}", refresh=False)
            bar.update(1)
    if bar is not None:
        bar.close()
    model.eval()
    # Weights can stay finite yet be too large to compute with (a single step at a huge learning rate): the model
    # must still score a batch before it is saved.
    with torch.no_grad():
        final_loss = sft_loss(model, pairs[: cfg.batch_size], tokenizer.pad_id).item()
    check_finite_state(model, optim, cfg.steps, hint, losses={"loss after training": final_loss})
    report = {
        "steps": cfg.steps,
        "first_loss": losses[0],
        "last_loss": sum(losses[-10:]) / len(losses[-10:]),
        "minutes": (time.perf_counter() - start) / 60,
        "out": None,
    }
    if out is not None:
        out = Path(out)
        model.save_pretrained(str(out), safe_serialization=True)
        save_tokenizer_files(cfg.model_name, tokenizer, out)
        report["out"] = str(out)
    return report


def _progress_bar(steps: int) -> Any:
    """The progress bar ``tokengym train`` shows (SB3's: tqdm drawn with rich), over ``steps`` steps."""
    import warnings

    from tqdm import TqdmExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TqdmExperimentalWarning)  # tqdm.rich is marked experimental, as SB3 notes
        from tqdm.rich import tqdm

        return tqdm(total=steps, unit="step")


def save_tokenizer_files(model_name: str, tokenizer: Any, out: Path) -> None:
    """Put the tokenizer beside the weights, so that ``load_lm(out)`` finds both."""
    backend = tokenizer.backend
    if hasattr(backend, "save_pretrained"):
        backend.save_pretrained(str(out))
        return
    source = Path(resolve_model_path(model_name))
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        if (source / name).is_file():
            (out / name).write_bytes((source / name).read_bytes())
