"""PPO from the embedded model on each dialogue variant, for a fixed wall-clock budget: zero-shot vs trained.

For each variant (``Dialogue-v0``: one reply; ``DialogueChat-v0``, ``DialoguePersona-v0`` and
``DialogueSupport-v0``: four-turn conversations with simulated users) and each seed:

1. zero-shot: the embedded "tiny" model as it ships;
2. trained: PPO from "tiny" on the variant's default reward (train split), with group baselines (each opening
   served ``--group-size`` times in a row) and a KL penalty to the starting model, stopped when the budget of
   ``--minutes`` of wall-clock time runs out (the rollout in progress then is dropped).

Both are scored on the same held-out episodes: the ``test`` split with reset seeds ``100000..100000+N-1`` (the
user simulators and their openings are drawn from those seeds; the training envs are seeded from 0), sampled at
the policy's temperature with a fixed sampling seed per training seed. The table gives the mean episode return
over seeds and, after ±, the spread (standard deviation) of the per-seed means; each run also prints how each
reward component's mean moved, zero-shot -> trained, largest change first, and the standard error of its gain
(paired by conversation: the standard deviation of trained minus zero-shot return over the held-out episodes,
over the square root of their number). That error is the evaluation's own noise: on 48 conversations, four
zero-shot evaluations of ``DialogueChat-v0`` that differ only in their sampling seed gave means from 2.22 to
2.42 (standard deviation 0.08), hence the default of 144.

Each update learns from ``--n-envs`` x ``--n-steps`` token steps (2,048 by default, about 28 four-turn
conversations, 7 groups). With 128 steps per env a rollout held about 7 conversations, fewer than two groups,
and longer training drifted down: on ``DialogueSupport-v0``, five minutes gave -0.228 and -0.241 (seeds 1
and 2), with the return on the training split itself falling after about 40k steps; 512 steps per env gave
+0.120 and +0.095. Advantages are left unnormalised by default (``--normalize-advantage`` turns SB3's
per-minibatch normalisation on): normalising shifts the exact zeros of a group that all scored alike.

    python benchmarks/dialogue_variants.py [--minutes 5] [--seeds 0 1 2] [--envs DialogueSupport-v0 ...]

Run it on an otherwise idle machine: the budget is wall-clock time, so other load shortens the training.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.running.evaluate import EvalReport, evaluate_policy_text
from tokengym.agents.running.train import TrainConfig, load_policy, train
from tokengym.data.dialogues import NAMES

NAME_SET = frozenset(NAMES)
VARIANTS = ("Dialogue-v0", "DialogueChat-v0", "DialoguePersona-v0", "DialogueSupport-v0")
EVAL_SEED_OFFSET = 100_000


class TimeBudget(BaseCallback):
    """Stop learning once ``seconds`` of wall-clock time have passed since training started."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)
        self.deadline = 0.0

    def _on_training_start(self) -> None:
        self.deadline = time.perf_counter() + self.seconds

    def _on_step(self) -> bool:
        return time.perf_counter() < self.deadline


def held_out_report(model: str, env_id: str, episodes: int, sample_seed: int, temperature: float) -> EvalReport:
    loaded = load_policy(model, env_id, {"split": "test"})
    loaded.policy.temperature = temperature  # zero-shot and trained sample alike
    seeds = range(EVAL_SEED_OFFSET, EVAL_SEED_OFFSET + episodes)
    return evaluate_policy_text(loaded.policy, env_id, seeds, sample_seed=sample_seed, env_kwargs=loaded.env_kwargs)


def transcript(sample: dict) -> str:
    """A held-out conversation as the evaluation played it, turn by turn, with each turn's reward."""
    opening = sample["prompt"].removesuffix("Assistant:").strip().splitlines()
    lines = [f"    {line}" for line in opening]
    for turn in sample["turns"]:
        lines.append(f"    Assistant: {turn['completion']}   [reward {turn['reward']:+.2f}]")
        lines.append(f"    User: {turn['user_reply']}" if turn.get("user_reply") else "    (the user leaves)")
    lines.append(f"    ({sample.get('end_reason', 'ended')})")
    return "\n".join(lines)


_WORD = re.compile(r"[A-Z][a-z]+")


def name_use(report: EvalReport) -> tuple[int, int]:
    """``(turns that call the user by their own name, turns that use a person's first name at all)``.

    A turn uses a name when it holds the user's first name or any other first name of the generated personas
    (the names the simulated user corrects, "It's Kenji, actually."); it is correct when the only such name is
    the user's. The user's name is the persona name their opening turn states.
    """
    correct = named = 0
    for sample in report.samples:
        opening = set(_WORD.findall(sample["prompt"].split("\n")[0]))
        own = opening & NAME_SET
        for turn in sample.get("turns") or [{"completion": sample["completion"]}]:
            used = set(_WORD.findall(turn["completion"])) & (NAME_SET | own)
            if used:
                named += 1
                correct += bool(used) and used <= own
    return correct, named


def component_changes(before: EvalReport, after: EvalReport) -> str:
    """``name before -> after`` for each reward component (mean per episode), largest change first."""
    names = sorted(set(before.components) | set(after.components))
    deltas = {n: after.components.get(n, 0.0) - before.components.get(n, 0.0) for n in names}
    parts = [
        f"{n} {before.components.get(n, 0.0):.3f} -> {after.components.get(n, 0.0):.3f}"
        for n in sorted(names, key=lambda n: -abs(deltas[n]))
    ]
    return "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--envs", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--minutes", type=float, default=5.0, help="wall-clock training budget per variant and seed")
    parser.add_argument("--eval-episodes", type=int, default=144)
    parser.add_argument("--n-envs", type=int, default=4)
    parser.add_argument("--n-steps", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-5)
    parser.add_argument("--kl-coef", type=float, default=0.05)
    parser.add_argument("--normalize-advantage", action=argparse.BooleanOptionalAction, default=False)
    parser.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (PPO and evaluation)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--show", type=int, default=1, help="held-out conversations to print, before and after")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows: dict[str, dict[str, list[float]]] = {}
    name_rows: dict[str, list[tuple[int, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for env_id in args.envs:
            runs = rows[env_id] = {"zero-shot": [], "trained": [], "steps": [], "minutes": [], "error": []}
            names: dict[str, list[tuple[int, int]]] = {"zero-shot": [], "trained": []}
            for seed in args.seeds:
                zero_shot = held_out_report("tiny", env_id, args.eval_episodes, seed, args.temperature)
                runs["zero-shot"].append(zero_shot.mean)
                start = time.perf_counter()
                result = train(
                    TrainConfig(
                        env_id=env_id,
                        model_name="tiny",
                        total_timesteps=10**9,  # the time budget stops it
                        seed=seed,
                        n_envs=args.n_envs,
                        n_steps=args.n_steps,
                        batch_size=args.batch_size,
                        n_epochs=2,
                        learning_rate=args.lr,
                        group_size=args.group_size,
                        normalize_advantage=args.normalize_advantage,
                        kl_coef=args.kl_coef,
                        temperature=args.temperature,
                        out_dir=str(Path(tmp) / f"{env_id}-{seed}"),
                        progress_bar=False,
                        tensorboard=False,
                        eval_episodes=0,  # scored below, on more episodes
                    ),
                    callbacks=[TimeBudget(args.minutes * 60)],
                    log=lambda *a: None,
                )
                runs["minutes"].append((time.perf_counter() - start) / 60)
                runs["steps"].append(result.num_timesteps)
                trained = held_out_report(str(result.checkpoint), env_id, args.eval_episodes, seed, args.temperature)
                runs["trained"].append(trained.mean)
                paired = np.asarray(trained.returns) - np.asarray(zero_shot.returns)
                runs["error"].append(float(paired.std(ddof=1) / np.sqrt(len(paired))))
                print(
                    f"{env_id} seed {seed}: zero-shot {runs['zero-shot'][-1]:.3f}, trained {runs['trained'][-1]:.3f}, "
                    f"gain {paired.mean():+.3f} (standard error {runs['error'][-1]:.3f}; "
                    f"{result.num_timesteps} token steps, {runs['minutes'][-1]:.1f} min)",
                    flush=True,
                )
                print(f"  components: {component_changes(zero_shot, trained)}", flush=True)
                if env_id == "DialoguePersona-v0":
                    for name, report in (("zero-shot", zero_shot), ("trained", trained)):
                        names[name].append(name_use(report))
                        right, used = names[name][-1]
                        print(f"  {name}: the user's own name in {right} of {used} turns that use a name", flush=True)
                for episode in range(args.show):
                    for name, report in (("zero-shot", zero_shot), ("trained", trained)):
                        print(f"  held-out conversation {episode}, {name}:", flush=True)
                        print(transcript(report.samples[episode]), flush=True)

        if env_id == "DialoguePersona-v0":
            name_rows = names
    print(
        f"\nPPO from 'tiny', {args.minutes:g} min wall clock per run (group size {args.group_size}, lr {args.lr:g}, "
        f"KL {args.kl_coef:g}, temperature {args.temperature:g}"
        f"{'' if args.normalize_advantage else ', advantages unnormalised'}); held-out: test split, "
        f"{args.eval_episodes} episodes; seeds {args.seeds}"
    )
    print("| env | zero-shot return | trained return | trained - zero-shot | a run's standard error | token steps |")
    print("|---|---|---|---|---|---|")
    for env_id, runs in rows.items():
        zero, trained = np.array(runs["zero-shot"]), np.array(runs["trained"])
        gain = trained - zero
        print(
            f"| {env_id} | {zero.mean():.3f} ± {zero.std():.3f} | {trained.mean():.3f} ± {trained.std():.3f} "
            f"| {gain.mean():+.3f} ± {gain.std():.3f} | {np.mean(runs['error']):.3f} | {np.mean(runs['steps']):.0f} |"
        )
    for name, tallies in name_rows.items():
        rates = ", ".join(f"{right}/{used} ({right / max(used, 1):.0%})" for right, used in tallies)
        print(f"DialoguePersona-v0, {name}: turns that use a name and use the user's own, per seed: {rates}")


if __name__ == "__main__":
    main()
