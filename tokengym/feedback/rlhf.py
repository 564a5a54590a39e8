"""RLHF in rounds: sample pairs from the policy, judge them, retrain the reward model, run PPO against it, measure.

Each round ``k`` of :func:`run_rlhf` (configured by :class:`RLHFConfig`):

1. **sample**: two replies to each of ``pairs_per_round`` train-split prompts from the *current* policy
   (:func:`~tokengym.feedback.labeller.sample_pairs`; the prompt seeds differ from round to round);
2. **judge**: the simulated labeller with the hidden gold reward (:class:`~tokengym.feedback.SimulatedLabeller`),
   or, with ``human=True``, people: the pairs go to the run's :class:`~tokengym.feedback.FeedbackStore` and the
   loop waits, polling, until every pair of the round has a judgement from the labelling page or the terminal
   (``tokengym feedback serve --db RUN/feedback.db``), or gives up after ``human_timeout_s``
   (:class:`~tokengym.feedback.human_judging.FeedbackTimeoutError`; the judgements stay in the store, and
   ``--resume`` picks them up);
3. **reward model**: trained again from the base model on *every* judgement so far
   (:func:`~tokengym.feedback.reward_model.train_reward_model`), saved as ``round-k/rm``;
4. **PPO** against ``learned(path=round-k/rm)`` with a per-token KL penalty to the *starting* model;
5. **measure** on held-out prompts (the test split, fixed seeds; :mod:`tokengym.feedback.held_out`): the gold
   reward, the learned reward and the KL per token to the starting model, each with its standard error.

**One PPO model, one fixed reference.** The Stable-Baselines3 model is built once, with
:func:`~tokengym.agents.running.algorithms.build_model`, and trained on across rounds: each round builds new
vectorised environments whose reward is that round's reward model and swaps them in with ``model.set_env``, then
calls ``learn(..., reset_num_timesteps=False)``, so the weights, the optimizer's moments, the value head and the
step count carry over. The KL penalty (:class:`~tokengym.agents.lm.kl.KLPenaltyCallback`) is given the starting
model, loaded once, as its reference: the policy is pulled back towards where it started, never towards the
previous round's policy (which would let it drift a little further each round). The same model is the reference
of the measured KL, and its coefficient (adaptive with ``target_kl``) carries over from round to round.

**Resuming.** A finished round leaves its reward model, a checkpoint of the policy (weights, optimizer state, step
and KL coefficient, written atomically by :mod:`tokengym.agents.running.checkpoint`) and a record
(:mod:`tokengym.feedback.rlhf_records`). With ``resume``, the same settings in the same folder skip the finished
rounds: the policy is rebuilt from the last checkpoint and the next round starts. Every round is seeded from the
run's seed and its number, so a resumed run draws what an uninterrupted one would. A folder that holds a run
with other settings is refused, listing them; only ``rounds`` may grow.

**Logs.** Each measurement goes to ``log.jsonl`` and TensorBoard (``rlhf/gold``, ``rlhf/learned``, ``rlhf/kl``,
``rlhf/rm_accuracy``): the zero-shot model, every ``curve_every`` PPO rollouts on the first ``curve_episodes``
held-out prompts (the first at the start of the round: the policy so far under the new reward model), and each
round's end on all ``eval_episodes`` prompts. ``overoptimisation.png`` plots the learned and the gold reward
against the KL: the over-optimisation curve.

Example:
    >>> from tokengym.feedback.rlhf import RLHFConfig, run_rlhf
    >>> cfg = RLHFConfig(rounds=2, pairs_per_round=64, ppo_steps=4096, out_dir="runs/rlhf")
    >>> result = run_rlhf(cfg)                                         # doctest: +SKIP
    >>> result.final["gold"], result.gold_change()                     # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from tokengym.feedback.human_judging import FeedbackTimeoutError
from tokengym.feedback.rlhf_config import RLHFConfig
from tokengym.feedback.rlhf_records import MetricsLog, RLHFSettingsError, RunFolder, plot_overoptimisation, write_json

__all__ = ["FeedbackTimeoutError", "RLHFConfig", "RLHFResult", "RLHFSettingsError", "run_rlhf"]


@dataclass
class RLHFResult:
    """What a run did and wrote.

    Attributes:
        out_dir: the run folder.
        zero_shot: the starting model on the held-out prompts (means, errors, and per prompt ``gold_values``).
        rounds: the record of every finished round (``eval`` as ``zero_shot``; ``rm``, ``ppo``, ``preferences``).
        log: every measurement of ``log.jsonl``.
        checkpoint: the last round's policy (a checkpoint ``tokengym eval --model`` and ``load_policy`` take).
        log_file: ``log.jsonl``.
        plot_file: the over-optimisation curve (PNG).
        tensorboard_dir: TensorBoard logs (``None``: tensorboard is not installed).
        minutes: wall-clock minutes of this call.
        rounds_skipped: finished rounds a resumed run skipped.

    Example:
        >>> change, error = run_rlhf(RLHFConfig(out_dir="runs/rlhf")).gold_change()   # doctest: +SKIP
    """

    out_dir: Path
    zero_shot: dict[str, Any]
    rounds: list[dict[str, Any]]
    log: list[dict[str, Any]]
    checkpoint: Path | None
    log_file: Path
    plot_file: Path
    tensorboard_dir: Path | None
    minutes: float
    rounds_skipped: int = 0

    @property
    def final(self) -> dict[str, Any]:
        """The last round's held-out measurement (the zero-shot one before any round)."""
        return self.rounds[-1]["eval"] if self.rounds else self.zero_shot

    def gold_change(self) -> tuple[float, float]:
        """The last round's gold reward minus the zero-shot one, over the same held-out prompts, and its error."""
        from tokengym.feedback.held_out import paired_difference

        return paired_difference(self.zero_shot["gold_values"], self.final["gold_values"])


class _HeldOutCurve(BaseCallback):
    """Calls ``measure(lm, step)`` every ``every`` rollouts, as a rollout starts (the round's first included)."""

    def __init__(self, every: int, measure: Callable[[Any, int], None]) -> None:
        super().__init__()
        self.every, self.measure = every, measure
        self._rollouts = 0

    def _on_rollout_start(self) -> None:
        if self.every and self._rollouts % self.every == 0:
            self.measure(self.model.policy.lm, int(self.model.num_timesteps))
        self._rollouts += 1

    def _on_step(self) -> bool:
        return True


def _evaluation(report: Any) -> dict[str, Any]:
    """A held-out measurement as a record keeps it: means, errors, the gold reward per prompt, a few samples."""
    return {**report.summary(), "gold_values": report.gold, "samples": report.samples()}


def _summary(evaluation: dict[str, Any]) -> dict[str, Any]:
    """A measurement without its per-prompt values and samples (what a log line holds)."""
    return {k: v for k, v in evaluation.items() if k not in ("gold_values", "samples")}


def _check_task(cfg: RLHFConfig) -> int:
    """Refuse, before anything is written, a task, model or folder the loop cannot use; returns the reply budget.

    Raises:
        ValueError: naming what cannot be used and what to use instead.
    """
    from tokengym.agents.lm.loading import resolve_model_path
    from tokengym.agents.running.algorithms import check_env_for_algorithm, env_kwargs_for_model, make_env
    from tokengym.agents.running.guards import check_output_folder, check_rollout_memory
    from tokengym.agents.running.splits import split_argument
    from tokengym.agents.running.train import check_model_fits, resolve_checkpoint_or_none
    from tokengym.envs.core import TokenEnv
    from tokengym.feedback.held_out import score_with_columns
    from tokengym.feedback.labeller import prompt_columns
    from tokengym.rewards import make_reward

    for name in (cfg.model_name, cfg.rm_base or cfg.model_name):
        if resolve_checkpoint_or_none(name) is not None:
            raise ValueError(f"{name!r} is a training checkpoint; start from a model folder (or 'tiny')")
        resolve_model_path(name)
    check_output_folder(cfg.out_dir)
    if split_argument(cfg.env_id) != "split":
        raise ValueError(
            f"{cfg.env_id} has no train and test split of prompts, which the loop needs (pairs and PPO on train, "
            "the evaluation on test); use Dialogue-v0 or Summarization-v0"
        )
    probe = make_env(cfg.env_id, env_kwargs_for_model(cfg.model_name, dict(cfg.env_kwargs)))
    try:
        u = probe.unwrapped
        if not isinstance(u, TokenEnv) or getattr(u, "multi_turn", False):
            raise ValueError(
                f"{cfg.env_id} is not a single-reply token-level task; use Dialogue-v0 or Summarization-v0"
            )
        check_env_for_algorithm(cfg.ppo_config(None), probe)
        check_model_fits(cfg.model_name, probe)
        check_rollout_memory(probe.observation_space, cfg.n_steps, cfg.n_envs)
        probe.reset(seed=0)
        try:  # a gold reward that needs what a prompt cannot give (a user's reaction to the reply) is said now
            score_with_columns(
                make_reward(cfg.gold), [u.current_sample.prompt], ["Thank you."], [prompt_columns(probe)]
            )
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"gold reward {cfg.gold!r} cannot score {cfg.env_id}'s replies: {err}") from None
        return int(u.max_new_tokens)
    finally:
        probe.close()


class _Loop:
    """What a run holds between rounds: the fixed reference, the held-out prompts, the PPO model and its environments.

    Each step of a round is a method, in the order :meth:`play_round` calls them.
    """

    def __init__(self, cfg: RLHFConfig, run: RunFolder, budget: int, log: Callable[..., None]) -> None:
        from tokengym.agents.lm.loading import load_lm
        from tokengym.agents.running.train import divergence_hint
        from tokengym.feedback.held_out import held_out_prompts
        from tokengym.rewards import make_reward

        self.cfg, self.run, self.budget, self.log = cfg, run, budget, log
        self.reference, self.codec = load_lm(cfg.model_name)  # the starting model: the reference, never trained
        self.reference.requires_grad_(False)
        self.gold = make_reward(cfg.gold)
        self.prompts = held_out_prompts(cfg.env_id, cfg.eval_episodes, cfg.env_kwargs, tokenizer=self.codec)
        self.metrics = MetricsLog(run, log)
        self.hint = divergence_hint(cfg.ppo_config(None))
        self.model: Any = None
        self.venv: Any = None
        self.kl_callback: Any = None

    def close(self) -> None:
        if self.venv is not None:
            self.venv.close()
        self.metrics.close()

    # -------------------------------------------------------------------------------------------- measuring

    def measure(self, lm: Any, rm: Any, episodes: int, with_kl: bool = True) -> Any:
        """``lm`` on the first ``episodes`` held-out prompts: gold, learned (``rm``; ``None``: none) and KL
        (a :class:`~tokengym.feedback.held_out.HeldOutReport`)."""
        from tokengym.feedback.held_out import evaluate_held_out

        report = evaluate_held_out(
            lm,
            self.codec,
            self.prompts[:episodes],
            self.gold,
            max_new_tokens=self.budget,
            temperature=self.cfg.temperature,
            seed=self.cfg.seed,
            reference=self.reference if with_kl else None,
            reward_model=rm,
        )
        if not with_kl:
            report.kl = [0.0] * len(report.gold)
        return report

    def zero_shot(self) -> dict[str, Any]:
        """The starting model on the held-out prompts, measured once per run (its KL to itself is 0)."""
        import json

        if self.run.zero_shot_file.exists():
            return json.loads(self.run.zero_shot_file.read_text(encoding="utf-8"))
        zero_shot = _evaluation(self.measure(self.reference, None, self.cfg.eval_episodes, with_kl=False))
        write_json(self.run.zero_shot_file, zero_shot)
        self.metrics.write({"kind": "zero_shot", "round": 0, "step": 0, **_summary(zero_shot)})
        self.log(
            f"Zero-shot {self.cfg.model_name!r} on {len(self.prompts)} held-out prompts: gold "
            f"{zero_shot['gold']:+.3f} ± {zero_shot['gold_se']:.3f}"
        )
        return zero_shot

    # ------------------------------------------------------------------------------------- the PPO model

    def attach(self, k: int, seed: int) -> Any:
        """New environments paying round ``k``'s reward model, put in the model (built on first use); returns the
        PPO :class:`~tokengym.agents.running.config.TrainConfig` with that reward."""
        from tokengym.agents.running.algorithms import build_model, make_vec_envs

        rm = (self.run.round_dir(k) / "rm").resolve()
        ppo = self.cfg.ppo_config(f"learned(path={str(rm)!r})")
        venv = make_vec_envs(ppo, seed)
        if self.model is None:
            tb = str(self.run.tensorboard_dir) if self.metrics.tb is not None else None
            self.model = build_model(replace(ppo, seed=seed), venv, tb)
        else:
            self.model.set_env(venv)  # the weights, optimizer, value head and step count stay
            self.model.set_random_seed(seed)
        if self.venv is not None:
            self.venv.close()
        self.venv = venv
        return ppo

    def new_kl_callback(self, kl_coef: float) -> None:
        from tokengym.agents.lm.kl import KLPenaltyCallback

        if self.cfg.kl_coef > 0:  # the reference is the starting model, whatever round this is
            self.kl_callback = KLPenaltyCallback(kl_coef, self.cfg.target_kl, reference=self.reference)

    def resume(self, finished: int) -> None:
        """The policy, optimizer, step count and KL coefficient as round ``finished`` left them."""
        from tokengym.agents.running.checkpoint import check_compatible, load_checkpoint
        from tokengym.agents.running.train import restore

        ckpt = load_checkpoint(self.run.round_dir(finished) / "policy")
        check_compatible(ckpt, algorithm="ppo", env_id=self.cfg.env_id, model_name=self.cfg.model_name)
        self.attach(finished, self.cfg.round_seed(finished))
        restore(self.model, ckpt)
        self.new_kl_callback(float((ckpt.meta.get("kl") or {}).get("kl_coef", self.cfg.kl_coef)))

    # --------------------------------------------------------------------------------------------- a round

    def judge(self, k: int, folder: Path) -> tuple[int, list[Any]]:
        """Pairs from the current policy on round ``k``'s train prompts, and their judgements."""
        from tokengym.feedback.candidates import write_candidates
        from tokengym.feedback.human_judging import wait_for_judgements
        from tokengym.feedback.labeller import SimulatedLabeller, sample_pairs
        from tokengym.feedback.preferences import write_preferences

        cfg = self.cfg
        pairs = sample_pairs(
            cfg.env_id,
            cfg.pairs_per_round,
            model=self.reference if self.model is None else self.model.policy.lm,
            tokenizer=self.codec,
            seed=cfg.prompt_seed(k),
            env_kwargs=cfg.env_kwargs,
            temperature=cfg.pair_temperature,
            batch_size=32,
        )
        if not pairs:
            raise ValueError(f"round {k}: every prompt's two replies were the same; raise --pair-temperature")
        write_candidates(folder / "pairs.jsonl", pairs)
        if cfg.human:
            preferences = wait_for_judgements(
                self.run.store_file,
                pairs,
                metadata={"round": k},
                timeout_s=cfg.human_timeout_s,
                poll_s=cfg.human_poll_s,
                what=f"Round {k}",
                log=self.log,
            )
        else:
            labeller = SimulatedLabeller(
                cfg.gold,
                temperature=cfg.labeller_temperature,
                noise=cfg.labeller_noise,
                tie_threshold=cfg.tie_threshold,
                seed=cfg.round_seed(k),
            )
            preferences = labeller.label_pairs(pairs)
        write_preferences(folder / "preferences.jsonl", preferences)
        return len(pairs), preferences

    def reward_model(self, k: int, folder: Path) -> tuple[dict[str, Any], int]:
        """A reward model trained from the base model on every judgement of rounds 1 to ``k``; its report and how
        many judgements it saw."""
        from tokengym.feedback.preferences import read_preferences
        from tokengym.feedback.reward_model import RewardModelConfig, train_reward_model

        cfg = self.cfg
        judged = [p for j in range(1, k + 1) for p in read_preferences(self.run.round_dir(j) / "preferences.jsonl")]
        self.log(f"Round {k}: a reward model on all {len(judged)} judgements so far")
        config = RewardModelConfig(
            epochs=cfg.rm_epochs,
            batch_size=cfg.rm_batch_size,
            lr=cfg.rm_lr,
            train_layers=cfg.rm_train_layers,
            eval_fraction=cfg.rm_eval_fraction,
            seed=cfg.round_seed(k),
        )
        rm = train_reward_model(judged, base=cfg.rm_base or cfg.model_name, config=config, out=folder / "rm")
        return rm.report, len(judged)

    def ppo(self, k: int, folder: Path, rm: Any) -> dict[str, Any]:
        """PPO against round ``k``'s reward model, measured along the way; the policy saved as a checkpoint."""
        from stable_baselines3.common.callbacks import CallbackList

        from tokengym.agents.running.checkpoint import save_checkpoint
        from tokengym.agents.running.guards import FiniteTrainingCallback, check_finite_state
        from tokengym.agents.running.train import checkpoint_meta

        cfg = self.cfg
        ppo = self.attach(k, cfg.round_seed(k))

        def point(lm: Any, step: int) -> None:
            coef = self.kl_callback.kl_coef if self.kl_callback is not None else 0.0
            entry = self.measure(lm, rm, cfg.curve_episodes).summary()
            self.metrics.write({"kind": "point", "round": k, "step": step, "kl_coef": coef, **entry})

        callbacks: list[BaseCallback] = [FiniteTrainingCallback(self.hint)]
        if self.kl_callback is not None:
            callbacks.append(self.kl_callback)
        callbacks.append(_HeldOutCurve(cfg.curve_every, point))
        start = time.perf_counter()
        model = self.model
        model.learn(cfg.ppo_steps, callback=CallbackList(callbacks), reset_num_timesteps=False, tb_log_name="ppo")
        minutes = (time.perf_counter() - start) / 60
        optimizer = model.policy.optimizer
        check_finite_state(model.policy, optimizer, int(model.num_timesteps), self.hint)  # never save a broken one
        meta = checkpoint_meta(ppo, model, self.kl_callback, final=k == cfg.rounds)
        save_checkpoint(folder / "policy", model.policy.state_dict(), optimizer.state_dict(), meta)
        coef = self.kl_callback.kl_coef if self.kl_callback is not None else 0.0
        return {"num_timesteps": int(model.num_timesteps), "kl_coef": coef, "minutes": minutes}

    def play_round(self, k: int) -> dict[str, Any]:
        """Round ``k`` from start to finish (see the module docstring); returns its record."""
        from tokengym.rewards.learned import cached_reward_model

        start = time.perf_counter()
        folder = self.run.begin_round(k)
        n_pairs, preferences = self.judge(k, folder)
        rm_report, n_judged = self.reward_model(k, folder)
        rm = cached_reward_model(str(folder / "rm"))
        ppo = self.ppo(k, folder, rm)
        report = self.measure(self.model.policy.lm, rm, self.cfg.eval_episodes)
        evaluation = _evaluation(report)
        record = {
            "round": k,
            "pairs": n_pairs,
            "preferences": len(preferences),
            "ties": sum(p.tie for p in preferences),
            "judgements_so_far": n_judged,
            "rm": _rm_summary(rm_report, folder / "rm"),
            "ppo": ppo,
            "eval": evaluation,
            "minutes": (time.perf_counter() - start) / 60,
        }
        accuracy = record["rm"]["held_out_accuracy"]
        if self.cfg.curve_every:  # the curve's last point: the round's end, on the curve's prompts
            head = report.head(self.cfg.curve_episodes).summary()
            self.metrics.write(
                {"kind": "point", "round": k, "step": ppo["num_timesteps"], "kl_coef": ppo["kl_coef"], **head}
            )
        self.metrics.write(
            {
                "kind": "round",
                "round": k,
                "step": ppo["num_timesteps"],
                "kl_coef": ppo["kl_coef"],
                "rm_accuracy": accuracy,
                **_summary(evaluation),
            }
        )
        self.run.finish_round(k, record)  # from here on the round counts as finished
        return record


def run_rlhf(cfg: RLHFConfig, log: Callable[..., None] = print) -> RLHFResult:
    """Run (or resume) the RLHF loop of ``cfg``; returns what every round measured and where it was written.

    Example:
        >>> result = run_rlhf(RLHFConfig(rounds=1, ppo_steps=4096, out_dir="runs/rlhf"))       # doctest: +SKIP
        >>> result.rounds[0]["rm"]["held_out_accuracy"], result.gold_change()                  # doctest: +SKIP
        >>> run_rlhf(RLHFConfig(rounds=2, ppo_steps=4096, out_dir="runs/rlhf", resume=True))   # doctest: +SKIP

    Raises:
        ValueError: settings the task or the model cannot take, a folder that cannot be written, or ``resume``
            without a run; :class:`RLHFSettingsError` a run folder that holds a run with other settings.
        FileExistsError: the folder holds a run and ``resume`` is off, or holds something else.
        FeedbackTimeoutError: with ``human``, a round's pairs were not judged in time.
        TrainingDivergedError: PPO or the reward model met a value that is not finite.
    """
    started = time.perf_counter()
    run = RunFolder(cfg.out_dir)
    # Everything is checked before the first byte is written: settings, folder, models, task, gold reward.
    finished = run.check(cfg.settings(), cfg.resume)
    budget = _check_task(cfg)
    run.start(cfg.settings())
    title = f"RLHF on {cfg.env_id} from '{cfg.model_name}', kl_coef {cfg.kl_coef:g}; gold: {cfg.gold}"
    loop = _Loop(cfg, run, budget, log)
    try:
        zero_shot = loop.zero_shot()
        if finished >= cfg.rounds:
            log(f"All {cfg.rounds} round(s) of {run.root} are finished; raise --rounds to go on")
        elif finished:
            log(f"Resuming {run.root}: {finished} round(s) finished")
            loop.resume(finished)
        else:
            loop.new_kl_callback(cfg.kl_coef)
        for k in range(finished + 1, cfg.rounds + 1):
            record = loop.play_round(k)
            plot_overoptimisation(run.log(), run.plot_file, title)
            log(_round_line(record, zero_shot))
        tensorboard = run.tensorboard_dir if loop.metrics.tb is not None else None
    finally:
        loop.close()
    done = run.finished_rounds()
    plot_overoptimisation(run.log(), run.plot_file, title)
    return RLHFResult(
        out_dir=run.root,
        zero_shot=zero_shot,
        rounds=[run.record(k) for k in range(1, done + 1)],
        log=run.log(),
        checkpoint=run.round_dir(done) / "policy" if done else None,
        log_file=run.log_file,
        plot_file=run.plot_file,
        tensorboard_dir=tensorboard,
        minutes=(time.perf_counter() - started) / 60,
        rounds_skipped=finished,
    )


def _rm_summary(report: dict[str, Any], path: Path) -> dict[str, Any]:
    keys = ("pairs", "train_pairs", "ties", "held_out_pairs", "held_out_accuracy", "held_out_accuracy_interval")
    summary = {key: report.get(key) for key in keys}
    summary.update(gold_agreement=report.get("held_out_gold_agreement"), minutes=report.get("minutes"))
    return {**summary, "path": str(path)}


def _round_line(record: dict[str, Any], zero_shot: dict[str, Any]) -> str:
    from tokengym.feedback.held_out import paired_difference

    ev, rm = record["eval"], record["rm"]
    change, error = paired_difference(zero_shot["gold_values"], ev["gold_values"])
    accuracy = rm["held_out_accuracy"]
    shown = "n/a" if accuracy is None or math.isnan(accuracy) else f"{accuracy:.3f}"
    return (
        f"Round {record['round']}: reward model held-out accuracy {shown} ({rm['held_out_pairs']} pairs); "
        f"held out: gold {ev['gold']:+.3f} ± {ev['gold_se']:.3f} (change {change:+.3f} ± {error:.3f}), learned "
        f"{ev['learned']:+.3f} ± {ev['learned_se']:.3f}, KL {ev['kl']:.4f} ± {ev['kl_se']:.4f} nats/token; "
        f"{record['ppo']['num_timesteps']} PPO steps, {record['minutes']:.1f} min"
    )
