"""``tokengym rlhf`` and ``tokengym dpo``: learning from feedback, from the command line.

tokengym rlhf ENV [--rounds N] [--pairs-per-round N] [--ppo-steps N] [--kl-coef X] [--human] [--resume] [--out DIR] ...
                    rounds of pairs sampled from the policy, judged (by the simulated labeller, or by people with
                    --human), a reward model on every judgement so far, and PPO against it with a KL penalty to the
                    starting model; the gold and learned reward and the KL on held-out prompts after every round
tokengym dpo --prefs FILE --out DIR [--beta X] [--epochs N] [--lr X] ...
                    DPO on preference pairs: a model folder, its held-out preference accuracy and the gold reward
                    of its samples on held-out prompts

The flags beside ENV, ``--prefs`` and ``--out`` are generated from :class:`~tokengym.feedback.rlhf_config.RLHFConfig`
and :class:`~tokengym.feedback.dpo.DPOConfig` (:mod:`tokengym.cli.flags`): their fields and docstrings.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tokengym.cli.flags import add_config_flags, config_arguments

__all__ = ["add_rlhf", "cmd_dpo", "cmd_rlhf"]


def add_rlhf(sub: Any) -> None:
    """Declare ``tokengym rlhf`` and ``tokengym dpo`` on the top-level subparsers ``sub``."""
    from tokengym.feedback.dpo import DPOConfig
    from tokengym.feedback.rlhf_config import RLHFConfig

    rlhf = sub.add_parser(
        "rlhf",
        help="RLHF in rounds: pairs from the policy, judgements, a reward model, PPO with a KL penalty",
        description="RLHF in rounds on a single-reply task. Each round samples pairs from the current policy, has "
        "them judged (a simulated labeller with the hidden --gold reward, or people with --human), trains a reward "
        "model on every judgement so far and runs PPO against it with a KL penalty to the starting model; it "
        "reports the gold and learned reward and the KL on held-out prompts. Every flag is a field of "
        "tokengym.feedback.rlhf_config.RLHFConfig; flags left out take its defaults.",
    )
    rlhf.add_argument("env", help="environment id with a train and a test split, e.g. Dialogue-v0")
    add_config_flags(
        rlhf,
        RLHFConfig,
        aliases={"model_name": ("--model",), "out_dir": ("--out",), "learning_rate": ("--lr",)},
        skip=("env_id",),
        shown_defaults={"out_dir": "runs/rlhf-<env>"},
    )
    rlhf.set_defaults(func=cmd_rlhf)

    dpo = sub.add_parser(
        "dpo",
        help="DPO on preference pairs; writes a model folder and scores it on held-out prompts",
        description="Direct Preference Optimization on a preference JSONL file: fine-tunes the model against a "
        "frozen copy of itself, reports the held-out preference accuracy and the gold reward of its samples on "
        "held-out prompts, and writes a model folder that train and eval take as --model. The flags beside --prefs "
        "and --out are the fields of tokengym.feedback.dpo.DPOConfig; flags left out take its defaults.",
    )
    dpo.add_argument("--prefs", required=True, metavar="FILE", help="preference JSONL (prompt, chosen, rejected...)")
    dpo.add_argument("--out", required=True, metavar="DIR", help="new model folder (must not exist or be empty)")
    add_config_flags(dpo, DPOConfig, aliases={"model_name": ("--model",), "env_id": ("--env",)})
    dpo.set_defaults(func=cmd_dpo)
    for command in (rlhf, dpo):
        command.set_defaults(command_parser=command)


def cmd_rlhf(args: argparse.Namespace) -> int:
    from tokengym.feedback.held_out import paired_difference
    from tokengym.feedback.rlhf import run_rlhf
    from tokengym.feedback.rlhf_config import RLHFConfig

    settings = config_arguments(args, RLHFConfig)
    settings.setdefault("out_dir", f"runs/rlhf-{args.env.removeprefix('tokengym:').lower()}")
    cfg = RLHFConfig(env_id=args.env, **settings)
    result = run_rlhf(cfg)
    zero = result.zero_shot
    print(f"Zero-shot gold reward on {zero['episodes']} held-out prompts: {zero['gold']:+.3f} ± {zero['gold_se']:.3f}")
    for record in result.rounds:
        ev = record["eval"]
        change, error = paired_difference(zero["gold_values"], ev["gold_values"])
        accuracy = record["rm"]["held_out_accuracy"]
        shown = "n/a" if accuracy is None else f"{accuracy:.3f}"
        print(
            f"  round {record['round']}: reward model accuracy {shown}; gold {ev['gold']:+.3f} ± {ev['gold_se']:.3f} "
            f"(change {change:+.3f} ± {error:.3f}), learned {ev['learned']:+.3f}, KL {ev['kl']:.4f} nats/token"
        )
    print(f"Run folder:       {result.out_dir} ({result.minutes:.1f} min this time)")
    print(f"Measurements:     {result.log_file}")
    print(f"Over-optimisation: {result.plot_file}")
    if result.tensorboard_dir is not None:
        print(f"TensorBoard:      tensorboard --logdir {result.tensorboard_dir}")
    if result.checkpoint is not None:
        print(f"Policy:           {result.checkpoint}")
        print(f"Evaluate:         tokengym eval {cfg.env_id} --model {result.checkpoint} --reward {cfg.gold!r}")
    return 0


def cmd_dpo(args: argparse.Namespace) -> int:
    from tokengym.agents.lm.loading import resolve_model_path
    from tokengym.agents.running.guards import check_output_folder
    from tokengym.feedback.dpo import DPOConfig, train_dpo
    from tokengym.feedback.preferences import read_preferences

    # Settings, the folder, the model and the file are checked before anything is trained or written.
    cfg = DPOConfig(**config_arguments(args, DPOConfig))
    if not args.out.strip():
        raise ValueError("--out must name a folder, not an empty string")
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{str(out)!r} already exists and is not empty; choose another --out")
    check_output_folder(out)
    resolve_model_path(cfg.model_name)
    preferences = read_preferences(args.prefs)
    result = train_dpo(preferences, cfg, out=out)
    report = result.report
    accuracy = report["held_out_accuracy"]
    low, high = report["held_out_accuracy_interval"]
    shown = "n/a (no pair held out)" if accuracy is None else f"{accuracy:.3f} [{low:.3f}, {high:.3f}]"
    print(
        f"{report['train_pairs']} training pairs ({report['ties_skipped']} ties skipped), "
        f"{report['held_out_pairs']} held out: preference accuracy {shown}; loss {report['first_loss']:.3f} -> "
        f"{report['last_loss']:.3f} in {report['minutes']:.1f} min"
    )
    if "eval" in report:
        ev = report["eval"]
        trained, start = ev["dpo"], ev["zero_shot"]
        print(
            f"Gold reward on {trained['episodes']} held-out prompts ({cfg.gold}): {trained['gold']:+.3f} ± "
            f"{trained['gold_se']:.3f}, starting model {start['gold']:+.3f} ± {start['gold_se']:.3f} (change "
            f"{ev['gold_change']:+.3f} ± {ev['gold_change_se']:.3f}); KL {trained['kl']:.4f} nats/token"
        )
    print(f"Model folder: {out}")
    print(f"Use it:       tokengym eval {cfg.env_id} --model {out}    tokengym train {cfg.env_id} --model {out}")
    return 0
