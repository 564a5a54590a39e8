"""End-to-end PPO throughput with a language-model policy: stock SB3 usage vs tokengym's fast path, the ideal
and TRL's GRPOTrainer; and the peak memory of each.

Every run uses one model (GPT-2, 4 layers, d=128, the embedded tokenizer's 4,096 tokens, random weights: EOS is
rare, so episodes use the whole budget), one environment (Dialogue-v0 with prompts of at most 32 tokens and 64
new tokens; ``max_episode_steps`` is raised to 64 to match, since the registered 48 would cut every episode
unscored), 8 environments (DummyVecEnv) and the same PPO settings (n_steps 128, minibatches of 256, 2 epochs):

- stock: the LM policy as SB3 would run it: a full forward pass per transition in the update (no prefix
  de-duplication), a full re-encoding of the observation per rollout step (no KV cache), transitions shuffled
  one by one into minibatches;
- ours: ``LMActorCriticPolicy`` with the KV-cached rollout and prefix de-duplication, and the episode-ordered
  rollout buffer;
- ideal: the same work with no RL machinery at all: sampling the rollout's tokens with HF ``generate`` (KV
  cache, 8 of the environment's prompts at a time, left-padded) and one forward/backward pass over the rollout's
  sequences per epoch, in minibatches of 4 sequences (256 tokens);
- ours, 1 epoch, against TRL's ``GRPOTrainer`` with one optimisation pass per batch, 8 completions generated at
  a time (the 8 environments), 4 per optimizer step, the environment's prompts and reward: see ``grpo_trl.py``
  for what is matched and what differs. Needs the ``bench`` extra (``trl``); skipped with a note without it.

Timing: all variants live in one process and are timed in rounds, each round running every variant once (one
unit: ``--rollouts`` rollouts of 8 x 128 token steps and their updates, after a warm-up unit; stock runs in the
first round only, it is slow). Rates are token steps (PPO) or completion tokens (TRL) per second; each figure is
the median over rounds with the range, and each ratio is taken within a round (neighbours in time on a shared
machine) and reported the same way.

Memory: each variant runs again in a fresh subprocess (set-up, warm-up unit, one timed unit), which reports its
peak resident set size: the kernel's high-water mark of the process's memory (``VmHWM`` in ``/proc/self/status``),
which counts torch's CPU tensors, unlike ``tracemalloc``; and the part of it above the high-water mark reached
before the variant started (after importing the libraries and task modules and loading the model once, dropped
again): the memory the run itself needed (model, optimizer, environments, buffers, activations, caches).
(``getrusage``'s ``ru_maxrss`` would do elsewhere, but on Linux a child inherits the parent's through
``fork``/``exec``, so a subprocess of this large process would report the parent's peak.)

    python benchmarks/ppo_throughput.py [--rollouts 2] [--rounds 3] [--threads 1] [--no-memory] [--no-trl]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.lm.buffers import EpisodeDictRolloutBuffer
from tokengym.agents.lm.policy import LMActorCriticPolicy

PROMPT, NEW, N_ENVS, N_STEPS, BATCH, EPOCHS = 32, 64, 8, 128, 256, 2
VARIANTS = ("ours", "ideal", "stock", "ours_1_epoch", "trl")


class StockLMPolicy(LMActorCriticPolicy):
    """One full forward pass per observation, as SB3 runs any policy: no sharing between transitions."""

    def _last_hidden(self, obs):
        logits, hidden = [], []
        for i in range(obs["input_ids"].shape[0]):
            row = {k: v[i : i + 1] for k, v in obs.items()}
            lg, h = super()._last_hidden(row)
            logits.append(lg)
            hidden.append(h)
        return torch.cat(logits), torch.cat(hidden)


def make_model_folder() -> str:
    from transformers import GPT2Config, GPT2LMHeadModel

    from tokengym.agents.supervised.sft import save_tokenizer_files
    from tokengym.tokenizer import load_tokenizer

    torch.manual_seed(0)
    codec = load_tokenizer()
    config = GPT2Config(
        vocab_size=codec.vocab_size,
        n_positions=PROMPT + NEW,
        n_embd=128,
        n_layer=4,
        n_head=4,
        eos_token_id=codec.eos_id,
        bos_token_id=codec.eos_id,
        pad_token_id=codec.pad_id,
    )
    folder = tempfile.mkdtemp(prefix="ppo_throughput_")
    GPT2LMHeadModel(config).save_pretrained(folder)
    save_tokenizer_files("tiny", codec, Path(folder))
    return folder


def make_dialogue_env() -> gym.Env:
    return gym.make("Dialogue-v0", max_prompt_len=PROMPT, max_new_tokens=NEW, max_episode_steps=NEW)


def dialogue_samples(count: int, seed: int = 0) -> list[tuple[list[int], str, str, list[str]]]:
    """``count`` Dialogue-v0 task instances: ``(prompt_ids, prompt, reference, history)``."""
    env = make_dialogue_env()
    samples = []
    for i in range(count):
        env.reset(seed=seed + i)
        sample = env.unwrapped.current_sample
        samples.append(
            (list(sample.prompt_ids), sample.prompt, sample.columns["references"], list(sample.columns["history"]))
        )
    return samples


class PPORun:
    """PPO on Dialogue-v0; a unit is ``rollouts`` rollouts with their updates."""

    def __init__(self, policy_class: type, buffer_class: type | None, folder: str, cache: bool, epochs: int) -> None:
        venv = make_vec_env(make_dialogue_env, n_envs=N_ENVS, seed=0)
        self.model = PPO(
            policy_class,
            venv,
            n_steps=N_STEPS,
            batch_size=BATCH,
            n_epochs=epochs,
            learning_rate=1e-5,
            seed=0,
            rollout_buffer_class=buffer_class,
            policy_kwargs={"model_name": folder, "use_kv_cache": cache},
        )

    def warm_up(self) -> None:
        self.model.learn(N_ENVS * N_STEPS)

    def run(self, rollouts: int) -> tuple[int, float]:
        steps = rollouts * N_ENVS * N_STEPS
        start = time.perf_counter()
        self.model.learn(steps, reset_num_timesteps=False)
        return steps, time.perf_counter() - start


class IdealRun:
    """HF ``generate`` for the tokens of a rollout, then EPOCHS forward/backward passes over its sequences."""

    def __init__(self, folder: str) -> None:
        from tokengym.agents.lm.loading import load_lm

        self.lm, self.codec = load_lm(folder)
        self.optimizer = torch.optim.Adam(self.lm.parameters(), lr=1e-5)
        self.prompts = [ids for ids, *_ in dialogue_samples(64)]
        self.next_prompt = 0

    def _prompt_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        rows = [self.prompts[(self.next_prompt + i) % len(self.prompts)] for i in range(N_ENVS)]
        self.next_prompt += N_ENVS
        width = max(len(r) for r in rows)
        ids = torch.full((N_ENVS, width), self.codec.pad_id)
        mask = torch.zeros((N_ENVS, width), dtype=torch.long)
        for i, r in enumerate(rows):  # left padding, as generate wants
            ids[i, width - len(r) :] = torch.tensor(r)
            mask[i, width - len(r) :] = 1
        return ids, mask

    def warm_up(self) -> None:
        self.run(1)

    def run(self, rollouts: int) -> tuple[int, float]:
        episodes = N_STEPS // NEW  # per environment and rollout
        start = time.perf_counter()
        for _ in range(rollouts):
            sequences, masks = [], []
            for _ in range(episodes):
                prompts, mask = self._prompt_batch()
                with torch.no_grad():
                    out = self.lm.generate(
                        prompts,
                        attention_mask=mask,
                        do_sample=True,
                        top_k=0,
                        max_new_tokens=NEW,
                        min_new_tokens=NEW,
                        pad_token_id=self.codec.pad_id,
                    )
                sequences.append(out)
                masks.append(torch.cat([mask, torch.ones(N_ENVS, NEW, dtype=torch.long)], 1))
            width = max(s.shape[1] for s in sequences)
            batch = torch.cat([torch.nn.functional.pad(s, (width - s.shape[1], 0)) for s in sequences])
            batch_mask = torch.cat([torch.nn.functional.pad(m, (width - m.shape[1], 0)) for m in masks])
            for _ in range(EPOCHS):
                for chunk, chunk_mask in zip(batch.split(BATCH // NEW), batch_mask.split(BATCH // NEW), strict=True):
                    positions = (chunk_mask.cumsum(-1) - 1).clamp(min=0)
                    logits = self.lm(chunk, attention_mask=chunk_mask, position_ids=positions).logits[:, -NEW - 1 : -1]
                    loss = torch.log_softmax(logits.float(), -1).gather(-1, chunk[:, -NEW:, None]).mean()
                    self.optimizer.zero_grad()
                    loss.backward()
                    self.optimizer.step()
        return rollouts * N_ENVS * N_STEPS, time.perf_counter() - start


class TRLRun:
    """TRL's GRPOTrainer (``grpo_trl.py``); a unit is ``2 * rollouts`` generation cycles of 8 completions."""

    def __init__(self, folder: str) -> None:
        from grpo_trl import TRLGRPO

        self.trl = TRLGRPO(folder, dialogue_samples(256), NEW, generation_batch=N_ENVS)

    def warm_up(self) -> None:
        self.trl.run(1)

    def run(self, rollouts: int) -> tuple[int, float]:
        return self.trl.run(rollouts * N_ENVS * N_STEPS // (N_ENVS * NEW))


def make_run(name: str, folder: str) -> Any:
    if name == "ours":
        return PPORun(LMActorCriticPolicy, EpisodeDictRolloutBuffer, folder, cache=True, epochs=EPOCHS)
    if name == "ours_1_epoch":
        return PPORun(LMActorCriticPolicy, EpisodeDictRolloutBuffer, folder, cache=True, epochs=1)
    if name == "stock":
        return PPORun(StockLMPolicy, None, folder, cache=False, epochs=EPOCHS)
    if name == "ideal":
        return IdealRun(folder)
    if name == "trl":
        return TRLRun(folder)
    raise ValueError(f"unknown variant {name!r}; choose one of {VARIANTS}")


def trl_available() -> bool:
    try:
        import trl  # noqa: F401
    except ImportError:
        return False
    return True


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, in MiB: ``VmHWM`` where ``/proc`` has it (it starts afresh
    at ``exec``), else ``ru_maxrss`` (KiB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def measure_memory(name: str, folder: str, rollouts: int) -> dict[str, float]:
    """In this (fresh) process: set up ``name``, warm it up, run one unit; the peak RSS and its rise."""
    # The baseline holds what every run of the variant pays once per process, the same for all: library and task
    # modules, and the model-loading machinery (loading the model once and dropping it imports its lazy parts).
    import tokengym.envs.dialogue
    import tokengym.rewards  # noqa: F401
    from tokengym.agents.lm.loading import load_lm

    load_lm(folder)
    if name == "trl":
        import datasets  # noqa: F401
        from trl import GRPOConfig, GRPOTrainer  # noqa: F401
    before = peak_rss_mib()
    run = make_run(name, folder)
    if name != "stock":
        run.warm_up()
    run.run(rollouts)
    peak = peak_rss_mib()
    return {"peak_mib": peak, "delta_mib": peak - before}


def memory_in_subprocess(name: str, folder: str, rollouts: int, threads: int) -> dict[str, float] | None:
    command = [sys.executable, __file__, "--memory-of", name, "--model-folder", folder]
    command += ["--rollouts", str(rollouts), "--threads", str(threads)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    print(f"  ({name}: the memory run failed: {done.stderr.strip().splitlines()[-1:]})")
    return None


def spread(values: list[float], fmt: str) -> str:
    """Median, and the range when there is more than one value."""
    median = format(statistics.median(values), fmt)
    if len(values) == 1:
        return median
    return f"{median} [{format(min(values), fmt)}-{format(max(values), fmt)}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, default=2, help="rollouts per timed unit (each 8 x 128 token steps)")
    parser.add_argument("--rounds", type=int, default=3, help="timing rounds (every variant once per round)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory subprocesses")
    parser.add_argument("--no-trl", action="store_true", help="skip the TRL comparison")
    parser.add_argument("--memory-of", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--model-folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.memory_of:
        print(json.dumps(measure_memory(args.memory_of, args.model_folder, max(1, args.rollouts // 2))))
        return

    folder = make_model_folder()
    with_trl = not args.no_trl and trl_available()
    names = ["ours", "ideal", "ours_1_epoch", *(["trl"] if with_trl else []), "stock"]
    print(
        f"PPO, GPT-2 4 layers d=128, Dialogue-v0 {PROMPT}+{NEW} tokens, {N_ENVS} envs, n_steps {N_STEPS}, "
        f"batch {BATCH}, {EPOCHS} epochs, torch threads {torch.get_num_threads()}, "
        f"{args.rounds} rounds of {args.rollouts} rollouts"
    )
    runs = {name: make_run(name, folder) for name in names}
    for name, run in runs.items():
        if name != "stock":  # stock's first unit is its own warm-up: a KV-less rollout costs the same every time
            run.warm_up()
    rates: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(args.rounds):
        order = [n for n in names if n != "stock" or round_ == 0]
        order = order[round_ % len(order) :] + order[: round_ % len(order)]  # rotate: no variant always goes first
        for name in order:
            rollouts = max(1, args.rollouts // 2) if name == "stock" else args.rollouts
            count, seconds = runs[name].run(rollouts)
            rates[name].append(count / seconds)
    ratio = {
        "ours/ideal": [o / i for o, i in zip(rates["ours"], rates["ideal"], strict=True)],
        "ours/stock": [o / rates["stock"][0] for o in rates["ours"]],
    }
    print(f"  ours   {spread(rates['ours'], '8.1f')} token steps/s")
    print(f"  ideal  {spread(rates['ideal'], '8.1f')} token steps/s (HF generate + one forward/backward per epoch)")
    print(f"  stock  {spread(rates['stock'], '8.1f')} token steps/s")
    print(f"ours / stock: {spread(ratio['ours/stock'], '.1f')}x (target >= 10x)")
    print(f"ours / ideal: {spread(ratio['ours/ideal'], '.2f')} (target >= 0.7)")
    print("One optimisation pass per batch (8 completions of <= 64 tokens generated at a time, 4 per optimizer step):")
    print(f"  ours, 1 epoch    {spread(rates['ours_1_epoch'], '8.1f')} completion tokens/s")
    if with_trl:
        ratio["ours/trl"] = [o / t for o, t in zip(rates["ours_1_epoch"], rates["trl"], strict=True)]
        print(f"  TRL GRPOTrainer  {spread(rates['trl'], '8.1f')} completion tokens/s")
        print(f"ours / TRL: {spread(ratio['ours/trl'], '.2f')}x (target >= 2x)")
    else:
        print("  TRL GRPOTrainer  skipped (install the bench extra: pip install -e .[bench])")
    if args.no_memory:
        return
    print("Peak memory (peak RSS of a fresh process per variant; + what the run added to the imports' level):")
    for name in names:
        memory = memory_in_subprocess(name, folder, args.rollouts, args.threads)
        if memory is not None:
            print(f"  {name:<13} {memory['peak_mib']:7.0f} MiB  (+{memory['delta_mib']:.0f} MiB)")


if __name__ == "__main__":
    main()
