"""Knowing when not to answer: ContextQA-v0 from a supervised warm start, then PPO, over seeds.

For each seed:

1. warm start: ``supervised_finetune`` of the embedded "tiny" model on the task's reference answers (the answer,
   or "I don't know." for a question the context cannot answer), drawn from the ``train`` split with
   ``--sft-share`` of the questions unanswerable (the task's own 0.4 by default). Imitation alone does not teach
   the model when to abstain: after 300 steps it answers 67% of the answerable held-out questions right but
   still invents an answer to about half of the unanswerable ones (seed 0, 96 questions), so PPO has something
   to change. A warm start on answers only (``--sft-share 0``) has never seen an abstention, which leaves PPO
   no abstention to reinforce;
2. PPO from the warm start on the task's own reward (``correct_reward * answer_correct + abstention_reward *
   abstention - fabrication_cost * fabrication``, 1, 1 and 1 unless told otherwise), with group baselines and a
   KL penalty to the warm start.

Both models answer the same held-out questions (``test`` split: contexts the warm start and PPO never saw; reset
seeds ``0..N-1``; sampled at ``--temperature`` with a fixed sampling seed). The figures, per seed and then over
seeds: the **fabrication rate on unanswerable questions** (any answer other than an abstention) and the
**accuracy on answerable questions**, with the abstention rates, the calibration figure of
:func:`tokengym.rewards.qa.abstention_summary` and the mean reward. Each seed prints PPO's change paired by
question with its standard error (the evaluation's noise); the last lines give the mean change over seeds with
its paired standard error (the standard deviation of the per-seed changes over the square root of their number:
the training's noise) and whether the issue's target holds: PPO at least halves the warm start's fabrication
rate on unanswerable questions while accuracy on answerable ones drops by at most 5 points.

Measured at a small budget (seed 0, the warm start's 300 steps, 8,192 PPO token steps, 7.4 minutes of PPO on a
shared core; 200 held-out questions, 79 of them unanswerable): fabrication on unanswerable questions 0.481 after
the warm start and 0.241 after PPO (paired change -0.241, standard error 0.052), accuracy on answerable ones 0.645
and 0.579 (-0.066, standard error 0.028): with equal weights an abstention (0) beats an answer the policy gets
right less than half the time (+1 or -1), so PPO also abstains more on answerable questions (0.140 -> 0.355).
``--fabrication-cost 0.5`` makes answering worth it from one chance in three.

    python benchmarks/contextqa.py [--seeds 0 1 2] [--sft-steps 300] [--ppo-steps 32768] [--eval-episodes 300]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.running.evaluate import evaluate_policy_text
from tokengym.agents.running.train import TrainConfig, load_policy, train
from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune
from tokengym.feedback.held_out import paired_difference
from tokengym.rewards.qa import abstention_summary, judge

ENV = "ContextQA-v0"
FIGURES = (
    "fabrication_unanswerable",
    "accuracy_answerable",
    "abstention_unanswerable",
    "abstention_answerable",
    "calibration",
    "reward",
)


def questions(env_kwargs: dict, episodes: int) -> tuple[list[str], list[str]]:
    """The kind (``answerable``, ``absent``, ``false_premise``) and the gold answer (``""``: none) of each held-out
    question, by reset seed."""
    env = gym.make(ENV, **{**env_kwargs, "split": "test"})
    kinds, answers = [], []
    for seed in range(episodes):
        env.reset(seed=seed)
        task = env.unwrapped.current_sample
        kinds.append(task.metadata["kind"])
        answers.append(task.columns["answers"])
    return kinds, answers


def score(model: str, env_kwargs: dict, answers: list[str], temperature: float, phrases: str) -> dict[str, np.ndarray]:
    """Per held-out question: the reward, its outcome and 0/1 indicators of each outcome."""
    loaded = load_policy(model, ENV, {**env_kwargs, "split": "test"})
    loaded.policy.temperature = temperature  # every model samples at the same temperature
    report = evaluate_policy_text(
        loaded.policy, ENV, range(len(answers)), sample_seed=1234, env_kwargs=loaded.env_kwargs
    )
    outcomes = [judge(s["completion"], answer, phrases) for s, answer in zip(report.samples, answers, strict=True)]
    per_question = {"reward": np.asarray(report.returns), "outcomes": np.asarray(outcomes)}
    for outcome in ("correct", "abstained", "fabricated", "empty"):
        per_question[outcome] = np.asarray([o == outcome for o in outcomes], dtype=float)
    return per_question


def figures(run: dict[str, np.ndarray], kinds: list[str]) -> dict[str, float]:
    """The task's figures for one model on the held-out questions, and its mean reward."""
    summary = abstention_summary(list(run["outcomes"]), kinds)
    out = {name: summary[name]["mean"] for name in FIGURES if name in summary}
    out["reward"] = float(run["reward"].mean())
    return out


def paired_by_question(after: np.ndarray, before: np.ndarray) -> str:
    """Mean change over the same questions and its standard error."""
    change, error = paired_difference(before, after)
    return f"{change:+.3f} (standard error {error:.3f}, {len(after)} questions)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--share", type=float, default=0.4, help="unanswerable share of the task (PPO, evaluation)")
    parser.add_argument("--sft-share", type=float, default=0.4, help="unanswerable share of the warm start's data")
    parser.add_argument("--sft-steps", type=int, default=300)
    parser.add_argument("--sft-lr", type=float, default=3e-4)
    parser.add_argument("--ppo-steps", type=int, default=32768)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--n-envs", type=int, default=8)
    parser.add_argument("--n-steps", type=int, default=256, help="token steps per env per update")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=4)
    parser.add_argument("--kl-coef", type=float, default=0.02)
    parser.add_argument("--temperature", type=float, default=0.7, help="sampling temperature (PPO and evaluation)")
    parser.add_argument("--fabrication-cost", type=float, default=1.0)
    parser.add_argument("--abstention-reward", type=float, default=1.0)
    parser.add_argument("--correct-reward", type=float, default=1.0)
    parser.add_argument("--phrases", default="default", help="abstention phrasing set")
    parser.add_argument("--eval-episodes", type=int, default=300)
    parser.add_argument("--work-dir", default=None, help="keep models here; warm starts found there are reused")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    env_kwargs = {
        "unanswerable_share": args.share,
        "abstention_phrases": args.phrases,
        "correct_reward": args.correct_reward,
        "abstention_reward": args.abstention_reward,
        "fabrication_cost": args.fabrication_cost,
    }
    sft_kwargs = {"unanswerable_share": args.sft_share, "abstention_phrases": args.phrases}
    test_kwargs = {**env_kwargs, "split": "test"}
    kinds, answers = questions(env_kwargs, args.eval_episodes)

    runs: dict[str, list[dict[str, float]]] = {"warm start": [], "warm start + PPO": []}
    minutes: dict[str, list[float]] = {"sft": [], "ppo": []}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = args.work_dir or scratch
        for seed in args.seeds:
            sft_dir = Path(tmp) / f"sft-{seed}-{args.sft_steps}-{args.sft_lr:g}-{args.sft_share:g}"
            if not (sft_dir / "config.json").is_file():
                report = supervised_finetune(
                    SFTConfig(
                        env_id=ENV,
                        env_kwargs=sft_kwargs,
                        steps=args.sft_steps,
                        lr=args.sft_lr,
                        seed=seed,
                        progress_bar=False,
                    ),
                    out=sft_dir,
                )
                minutes["sft"].append(report["minutes"])
            before = score(str(sft_dir), test_kwargs, answers, args.temperature, args.phrases)
            start = time.perf_counter()
            result = train(
                TrainConfig(
                    env_id=ENV,
                    model_name=str(sft_dir),
                    total_timesteps=args.ppo_steps,
                    seed=seed,
                    n_envs=args.n_envs,
                    vec_env="dummy",
                    n_steps=args.n_steps,
                    batch_size=args.batch_size,
                    n_epochs=args.epochs,
                    learning_rate=args.lr,
                    group_size=args.group_size,
                    normalize_advantage=False,
                    kl_coef=args.kl_coef,
                    temperature=args.temperature,
                    env_kwargs=env_kwargs,
                    out_dir=tempfile.mkdtemp(dir=tmp, prefix=f"ppo-{seed}-"),
                    progress_bar=False,
                    tensorboard=False,
                    eval_episodes=0,  # scored below, on more questions
                ),
                log=lambda *a: None,
            )
            minutes["ppo"].append((time.perf_counter() - start) / 60)
            after = score(str(result.checkpoint), test_kwargs, answers, args.temperature, args.phrases)
            runs["warm start"].append(figures(before, kinds))
            runs["warm start + PPO"].append(figures(after, kinds))
            print(f"seed {seed} (PPO {minutes['ppo'][-1]:.1f} min):", flush=True)
            for name, rows in runs.items():
                print(f"  {name:<17} " + "  ".join(f"{k} {v:.3f}" for k, v in rows[-1].items()), flush=True)
            unanswerable = np.asarray([k != "answerable" for k in kinds])
            answered = {key: run["correct"] + run["fabricated"] for key, run in (("before", before), ("after", after))}
            print(
                "  PPO's change paired by question: fabrication on unanswerable "
                f"{paired_by_question(answered['after'][unanswerable], answered['before'][unanswerable])}; "
                "accuracy on answerable "
                f"{paired_by_question(after['correct'][~unanswerable], before['correct'][~unanswerable])}",
                flush=True,
            )

    print(
        f"\n{ENV}: {args.eval_episodes} held-out questions ({sum(k != 'answerable' for k in kinds)} unanswerable), "
        f"seeds {args.seeds}; warm start {args.sft_steps} steps on {args.sft_share:g} unanswerable, PPO "
        f"{args.ppo_steps} token steps (group size {args.group_size}, lr {args.lr:g}, KL {args.kl_coef:g}, "
        f"temperature {args.temperature:g}, weights {args.correct_reward:g}/{args.abstention_reward:g}/"
        f"{args.fabrication_cost:g}, phrases {args.phrases})"
    )
    print(f"| model | {' | '.join(FIGURES)} |")
    print(f"|---|{'---|' * len(FIGURES)}")
    for name, rows in runs.items():
        cells = [f"{np.mean([r[f] for r in rows]):.3f} ± {np.std([r[f] for r in rows]):.3f}" for f in FIGURES]
        print(f"| {name} | {' | '.join(cells)} |")
    print("PPO's change over seeds, paired (mean and standard error of the per-seed changes):")
    changes = {}
    for name in FIGURES:
        diff = np.asarray(
            [a[name] - b[name] for a, b in zip(runs["warm start + PPO"], runs["warm start"], strict=True)]
        )
        spread = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
        changes[name] = diff
        print(f"  {name}: {diff.mean():+.3f} ± {spread:.3f}")
    fab_before = np.mean([r["fabrication_unanswerable"] for r in runs["warm start"]])
    fab_after = np.mean([r["fabrication_unanswerable"] for r in runs["warm start + PPO"]])
    drop = -changes["accuracy_answerable"].mean()
    halved = fab_after <= fab_before / 2
    print(
        f"target: fabrication on unanswerable {fab_before:.3f} -> {fab_after:.3f} "
        f"({'at least halved' if halved else 'not halved'}); accuracy on answerable {drop * 100:+.1f} points lost "
        f"({'within' if drop <= 0.05 else 'beyond'} 5); {'met' if halved and drop <= 0.05 else 'not met'}"
    )
    sft_minutes = f"warm start {np.mean(minutes['sft']):.1f}, " if minutes["sft"] else ""
    print(f"minutes per seed: {sft_minutes}PPO {np.mean(minutes['ppo']):.1f}")


if __name__ == "__main__":
    main()
