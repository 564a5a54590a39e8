"""RLHF against a hidden gold reward on Dialogue-v0, beside DPO and the zero-shot model, and over-optimisation.

For each seed (0, 1, 2 by default), from the embedded model ("tiny"), with the default gold reward
(``politeness + verbosity(max_words=10)``: polite and brief, which "tiny" does not write on its own) judged by
the simulated labeller (Bradley-Terry temperature 0.05, ties below a gold gap of 0.05):

1. **RLHF** (:func:`tokengym.feedback.rlhf.run_rlhf`, the defaults of
   :class:`~tokengym.feedback.rlhf_config.RLHFConfig`): 3 rounds of 256 train prompts (two replies each from the
   current policy), a reward model retrained on every judgement so far, 16,384 PPO token steps a round against it
   with a per-token KL penalty of 0.1 to the starting model. Printed: the reward model's held-out pair accuracy
   each round, and the gold reward on 256 held-out prompts (test split, seeds 0-255), zero-shot and after the
   last round, with the paired difference and its standard error.
2. **DPO** (:func:`tokengym.feedback.dpo.train_dpo`) on as many judgements as RLHF gathered, all of the starting
   model's replies to the same train prompts (the offline setting), labelled by the same labeller; its gold reward
   on the same held-out prompts, paired with the zero-shot model and with RLHF.
3. **Over-optimisation**: the same RLHF loop with a weak KL penalty (``--weak-kl``, default 0). Printed per round,
   for both: the KL to the starting model, and the learned and the gold reward at the round's start and end (the
   same reward model, on the first 64 held-out prompts). Without the penalty, PPO is expected to raise the learned
   reward while the gold reward stalls or falls (the reward model's blind spots); with it, not.

Every run is a folder under ``--out`` (``seed-S/rlhf``, ``seed-S/rlhf-weak-kl``, ``seed-S/dpo``), and every loop
resumes: a rerun after an interruption goes on where it stopped, and a finished one prints again in seconds. Each
run's ``overoptimisation.png`` and ``log.jsonl`` hold the curves.

Run (the full measurement; from the timings of ``benchmarks/reward_model.py`` and the demo, each RLHF loop should
take 10 to 15 minutes and DPO about 5 on 2 CPU cores with one torch thread, so about an hour and a half for three
seeds; the smoke run below took 1 minute)::

    python benchmarks/rlhf.py
    python benchmarks/rlhf.py --seeds 0 1 2 --out runs/bench-rlhf     # the same, spelled out
    python benchmarks/rlhf.py --seeds 0 --rounds 2 --pairs-per-round 16 --ppo-steps 512 --n-steps 64 \\
        --eval-episodes 32 --curve-episodes 16 --out runs/bench-rlhf-smoke  # a smoke run: does it all work

Figures: not measured yet.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tokengym.feedback.dpo import REPORT_FILE, DPOConfig, train_dpo
from tokengym.feedback.held_out import paired_difference
from tokengym.feedback.labeller import SimulatedLabeller, sample_pairs
from tokengym.feedback.preferences import read_preferences, write_preferences
from tokengym.feedback.rlhf import RLHFConfig, RLHFResult, run_rlhf


def rlhf_config(args: argparse.Namespace, seed: int, kl_coef: float, folder: Path) -> RLHFConfig:
    return RLHFConfig(
        model_name=args.model,
        rounds=args.rounds,
        pairs_per_round=args.pairs_per_round,
        ppo_steps=args.ppo_steps,
        n_steps=args.n_steps,
        eval_episodes=args.eval_episodes,
        curve_episodes=args.curve_episodes,
        kl_coef=kl_coef,
        seed=seed,
        out_dir=str(folder),
        resume=(folder / "rlhf.json").exists(),
    )


def run_loop(cfg: RLHFConfig) -> RLHFResult:
    return run_rlhf(cfg, log=lambda message: print(f"    {message}", flush=True))


def run_dpo(args: argparse.Namespace, cfg: RLHFConfig, folder: Path) -> dict[str, Any]:
    """DPO on the starting model's replies to RLHF's train prompts, as many as RLHF judged (cached in ``folder``)."""
    model_dir = folder / "model"
    if (model_dir / REPORT_FILE).is_file():
        return json.loads((model_dir / REPORT_FILE).read_text())
    prefs_file = folder / "preferences.jsonl"
    if prefs_file.is_file():
        prefs = read_preferences(prefs_file)
    else:
        pairs = sample_pairs(
            cfg.env_id,
            cfg.rounds * cfg.pairs_per_round,
            model=cfg.model_name,
            seed=cfg.prompt_seed(1),  # RLHF's rounds read the prompts from here on
            env_kwargs=cfg.env_kwargs,
            temperature=cfg.pair_temperature,
            batch_size=32,
        )
        labeller = SimulatedLabeller(
            cfg.gold,
            temperature=cfg.labeller_temperature,
            noise=cfg.labeller_noise,
            tie_threshold=cfg.tie_threshold,
            seed=cfg.round_seed(1),
        )
        prefs = labeller.label_pairs(pairs)
        write_preferences(prefs_file, prefs)
    config = DPOConfig(
        model_name=cfg.model_name,
        beta=args.dpo_beta,
        epochs=args.dpo_epochs,
        lr=args.dpo_lr,
        env_id=cfg.env_id,
        env_kwargs=cfg.env_kwargs,
        gold=cfg.gold,
        eval_episodes=cfg.eval_episodes,
        eval_temperature=cfg.temperature,
        seed=cfg.seed,
    )
    return train_dpo(prefs, config, out=model_dir, log=lambda message: print(f"    {message}", flush=True)).report


def round_changes(result: RLHFResult) -> list[dict[str, float]]:
    """Per round, on the curve's prompts and under that round's reward model: KL, learned and gold, start and end."""
    rows = []
    for record in result.rounds:
        k = record["round"]
        points = sorted((e for e in result.log if e["kind"] == "point" and e["round"] == k), key=lambda e: e["step"])
        if len(points) < 2:
            continue
        first, last = points[0], points[-1]
        rows.append(
            {
                "round": k,
                "kl": last["kl"],
                "learned_start": first["learned"],
                "learned_end": last["learned"],
                "gold_start": first["gold"],
                "gold_end": last["gold"],
            }
        )
    return rows


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def describe(name: str, result: RLHFResult) -> dict[str, float]:
    """Print a loop's rounds; returns its headline figures."""
    zero = result.zero_shot
    change, error = result.gold_change()
    final = result.final
    print(f"  {name}: {result.minutes:.1f} min this time ({result.rounds_skipped} round(s) read back)")
    for record in result.rounds:
        rm, ev = record["rm"], record["eval"]
        print(
            f"    round {record['round']}: {record['preferences']} judgements ({record['ties']} ties); reward model on "
            f"{record['judgements_so_far']}: held-out accuracy {_number(rm['held_out_accuracy'])} over "
            f"{rm['held_out_pairs']} pairs, gold agreement {_number(rm['gold_agreement'])}; held out: KL "
            f"{ev['kl']:.4f}, learned {ev['learned']:+.3f}, gold {ev['gold']:+.3f}"
        )
    for row in round_changes(result):
        learned = row["learned_end"] - row["learned_start"]
        gold = row["gold_end"] - row["gold_start"]
        print(
            f"    round {row['round']}, PPO on its reward model: KL -> {row['kl']:.4f}; learned "
            f"{row['learned_start']:+.3f} -> {row['learned_end']:+.3f} ({learned:+.3f}); gold {row['gold_start']:+.3f} "
            f"-> {row['gold_end']:+.3f} ({gold:+.3f})"
        )
    print(
        f"    held out: zero-shot gold {zero['gold']:+.3f} ± {zero['gold_se']:.3f} -> {final['gold']:+.3f} ± "
        f"{final['gold_se']:.3f}; paired change {change:+.3f} ± {error:.3f}; KL {final['kl']:.4f} ± "
        f"{final['kl_se']:.4f} nats/token"
    )
    rows = round_changes(result)
    return {
        "gold_change": change,
        "gold_change_se": error,
        "kl": final["kl"],
        "rm_accuracy": result.rounds[-1]["rm"]["held_out_accuracy"] if result.rounds else None,
        "learned_gain": float(sum(r["learned_end"] - r["learned_start"] for r in rows)),
        "gold_gain": float(sum(r["gold_end"] - r["gold_start"] for r in rows)),
    }


def main() -> None:
    defaults = RLHFConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--model", default=defaults.model_name)
    parser.add_argument("--rounds", type=int, default=defaults.rounds)
    parser.add_argument("--pairs-per-round", type=int, default=defaults.pairs_per_round)
    parser.add_argument("--ppo-steps", type=int, default=defaults.ppo_steps, help="PPO token steps per round")
    parser.add_argument("--n-steps", type=int, default=defaults.n_steps, help="PPO rollout length per environment")
    parser.add_argument("--eval-episodes", type=int, default=defaults.eval_episodes, help="held-out prompts")
    parser.add_argument("--curve-episodes", type=int, default=defaults.curve_episodes)
    parser.add_argument("--kl-coef", type=float, default=defaults.kl_coef, help="the KL penalty of the main runs")
    parser.add_argument("--weak-kl", type=float, default=0.0, help="the KL penalty of the over-optimisation runs")
    parser.add_argument("--dpo-beta", type=float, default=DPOConfig.beta)
    parser.add_argument("--dpo-epochs", type=int, default=DPOConfig.epochs)
    parser.add_argument("--dpo-lr", type=float, default=DPOConfig.lr)
    parser.add_argument("--skip-weak", action="store_true", help="no over-optimisation runs")
    parser.add_argument("--skip-dpo", action="store_true", help="no DPO")
    parser.add_argument("--out", default="runs/bench-rlhf", help="folder of every run (rerun: runs resume)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(
        f"RLHF on Dialogue-v0 from {args.model!r}, gold {defaults.gold!r}: {args.rounds} rounds of "
        f"{args.pairs_per_round} prompts, {args.ppo_steps} PPO steps a round, kl_coef {args.kl_coef:g} "
        f"(over-optimisation runs: {args.weak_kl:g}); {args.eval_episodes} held-out prompts",
        flush=True,
    )
    summary: dict[str, list[float]] = {}
    for seed in args.seeds:
        start = time.perf_counter()
        folder = Path(args.out) / f"seed-{seed}"
        print(f"seed {seed}:", flush=True)
        main_cfg = rlhf_config(args, seed, args.kl_coef, folder / "rlhf")
        main_run = run_loop(main_cfg)
        figures = {f"rlhf_{k}": v for k, v in describe(f"RLHF, kl_coef {args.kl_coef:g}", main_run).items()}
        if not args.skip_dpo:
            report = run_dpo(args, main_cfg, folder / "dpo")
            ev = report["eval"]
            dpo_vs_rlhf = paired_difference(main_run.final["gold_values"], ev["dpo"]["gold_values"])
            same = ev["zero_shot"]["gold_values"] == main_run.zero_shot["gold_values"]
            trained = ev["dpo"]
            print(
                f"  DPO on {report['pairs']} judgements ({report['ties_skipped']} ties skipped): held-out preference "
                f"accuracy {_number(report['held_out_accuracy'])}; gold {trained['gold']:+.3f} ± "
                f"{trained['gold_se']:.3f}, paired change {ev['gold_change']:+.3f} ± {ev['gold_change_se']:.3f} "
                f"(zero-shot samples {'identical to' if same else 'different from'} RLHF's); DPO minus RLHF "
                f"{dpo_vs_rlhf[0]:+.3f} ± {dpo_vs_rlhf[1]:.3f}; KL {trained['kl']:.4f} nats/token"
            )
            figures.update(dpo_gold_change=ev["gold_change"], dpo_accuracy=report["held_out_accuracy"])
        if not args.skip_weak:
            weak_run = run_loop(rlhf_config(args, seed, args.weak_kl, folder / "rlhf-weak-kl"))
            weak = describe(f"RLHF, kl_coef {args.weak_kl:g} (over-optimisation)", weak_run)
            figures.update({f"weak_{k}": v for k, v in weak.items()})
        print(f"  seed {seed}: {(time.perf_counter() - start) / 60:.1f} min", flush=True)
        for key, value in figures.items():
            summary.setdefault(key, []).append(float(value) if value is not None else float("nan"))
    print(f"mean over seeds {args.seeds} (sd across seeds):")
    for key, values in summary.items():
        each = ", ".join(f"{v:+.4f}" for v in values)
        print(f"  {key}: {np.mean(values):+.4f} (sd {np.std(values):.4f}); per seed {each}")


if __name__ == "__main__":
    main()
