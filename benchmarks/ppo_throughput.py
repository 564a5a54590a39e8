"""End-to-end PPO throughput with a language-model policy: stock SB3 usage vs tokengym's fast path.

Both runs use one model (GPT-2, 4 layers, d=128, the embedded tokenizer's 4,096 tokens, random weights: EOS is
rare, so episodes use the whole budget), one environment (Dialogue-v0 with 32 prompt + 64 new tokens), 8
environments (DummyVecEnv) and the same PPO settings. In one process, in turn:

- stock: the LM policy as SB3 would run it: a full forward pass per transition in the update (no prefix
  de-duplication), a full re-encoding of the observation per rollout step (no KV cache), transitions shuffled
  one by one into minibatches;
- ours: ``LMActorCriticPolicy`` with the KV-cached rollout and prefix de-duplication, and the episode-ordered
  rollout buffer;
- ideal: the same work with no RL machinery at all: sampling the rollout's tokens with HF ``generate`` (KV
  cache) and one forward/backward pass over the rollout's sequences per epoch.

Prints token steps per second of each, ours/stock (target >= 10x) and ideal/ours time (target: ours within
1/0.7 of ideal).

    python benchmarks/ppo_throughput.py [--rollouts 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.buffers import EpisodeDictRolloutBuffer
from tokengym.agents.policy import LMActorCriticPolicy

PROMPT, NEW, N_ENVS, N_STEPS, BATCH, EPOCHS = 32, 64, 8, 128, 256, 2


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

    from tokengym.agents.sft import save_tokenizer_files
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


def ppo_steps_per_second(policy_class, buffer_class, model_folder: str, rollouts: int, cache: bool) -> float:
    venv = make_vec_env(
        "Dialogue-v0", n_envs=N_ENVS, seed=0, env_kwargs={"max_prompt_len": PROMPT, "max_new_tokens": NEW}
    )
    model = PPO(
        policy_class,
        venv,
        n_steps=N_STEPS,
        batch_size=BATCH,
        n_epochs=EPOCHS,
        learning_rate=1e-5,
        seed=0,
        rollout_buffer_class=buffer_class,
        policy_kwargs={"model_name": model_folder, "use_kv_cache": cache},
    )
    model.learn(N_ENVS * N_STEPS)  # warm-up rollout and update
    steps = rollouts * N_ENVS * N_STEPS
    start = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return steps / (time.perf_counter() - start)


def ideal_steps_per_second(model_folder: str, rollouts: int) -> float:
    """HF generate for the tokens of a rollout, then EPOCHS forward/backward passes over its sequences."""
    from tokengym.agents.lm import load_lm

    lm, codec = load_lm(model_folder)
    optimizer = torch.optim.Adam(lm.parameters(), lr=1e-5)
    prompts = torch.randint(2, codec.vocab_size, (N_ENVS, PROMPT))
    episodes = N_STEPS // NEW  # per environment and rollout
    start = time.perf_counter()
    for _ in range(rollouts):
        sequences = []
        for _ in range(episodes):
            with torch.no_grad():
                out = lm.generate(
                    prompts,
                    attention_mask=torch.ones_like(prompts),
                    do_sample=True,
                    top_k=0,
                    max_new_tokens=NEW,
                    min_new_tokens=NEW,
                    pad_token_id=codec.pad_id,
                )
            sequences.append(out)
        batch = torch.cat(sequences)
        for _ in range(EPOCHS):
            for chunk in batch.split(max(1, BATCH // NEW)):
                logits = lm(chunk).logits[:, PROMPT - 1 : -1]
                loss = torch.log_softmax(logits.float(), -1).gather(-1, chunk[:, PROMPT:, None]).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    return rollouts * N_ENVS * N_STEPS / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rollouts", type=int, default=2, help="timed rollouts (each 8 x 128 token steps)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = make_model_folder()
    print(
        f"PPO, GPT-2 4 layers d=128, Dialogue-v0 {PROMPT}+{NEW} tokens, {N_ENVS} envs, n_steps {N_STEPS}, "
        f"batch {BATCH}, {EPOCHS} epochs, torch threads {torch.get_num_threads()}"
    )
    ours = ppo_steps_per_second(LMActorCriticPolicy, EpisodeDictRolloutBuffer, folder, args.rollouts, cache=True)
    print(f"  ours   {ours:8.1f} token steps/s")
    ideal = ideal_steps_per_second(folder, args.rollouts)
    print(f"  ideal  {ideal:8.1f} token steps/s (HF generate + one forward/backward per epoch)")
    stock = ppo_steps_per_second(StockLMPolicy, None, folder, max(1, args.rollouts // 2), cache=False)
    print(f"  stock  {stock:8.1f} token steps/s")
    print(f"ours / stock: {ours / stock:.1f}x (target >= 10x)")
    print(f"ours / ideal: {ours / ideal:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
