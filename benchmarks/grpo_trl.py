"""TRL's ``GRPOTrainer`` on the workload of ``ppo_throughput.py``: the reference point for "ours >= 2x TRL".

Used by ``ppo_throughput.py`` (it needs the ``bench`` extra: ``pip install -e .[bench]``, which adds ``trl``).
Measured: completion tokens per second of ``trainer.train()`` on CPU, over whole generation cycles after a
warm-up cycle.

Matched with tokengym's PPO run (``ppo_throughput.py``, one epoch):

- the model: the same GPT-2 folder (4 layers, d=128, the embedded 4,096-token tokenizer, random weights), in
  float32 (``bf16=False``; TRL's own default is bf16 autocast);
- the prompts: Dialogue-v0's own prompts (32 tokens at most, left-truncated by the environment), given to TRL
  as text that its tokenizer maps back to exactly the environment's token ids;
- the completions: at most 64 tokens (``max_completion_length=64``), sampled at temperature 1 with no top-k or
  top-p, ending at the end-of-sequence token as Dialogue-v0's episodes do;
- the reward: Dialogue-v0's default reward (``tokengym.rewards.make_reward`` of ``DialogueEnv.default_reward``)
  on the stripped completion text with the environment's references and history;
- the batch: 8 completions sampled at a time (PPO: 8 environments step together) and 4 per optimizer step (PPO:
  minibatches of 256 transitions, 4 episodes of 64 tokens): ``generation_batch_size=8``,
  ``per_device_train_batch_size=4``, so 2 optimizer steps per generation (PPO: 4 per rollout of 16 episodes);
  ``num_generations`` is TRL's default, 8 (one prompt per generation);
- one optimisation pass per batch: ``num_iterations=1`` (PPO: ``n_epochs=1``); the learning rate, 1e-5;
- no vLLM, no logging, no checkpoints, no KL term (``beta=0.0``, TRL's default, as the PPO run has none).

What differs, by design of each method or by TRL's defaults:

- GRPO has no critic; PPO also trains a value head (an MLP on the last hidden state) and computes GAE;
- GRPO's advantages come from the group's rewards (mean and standard deviation over 8 completions); PPO's from
  the critic; both score each completion once with the same reward;
- TRL re-scores the generated batch with a no-gradient forward pass to get the old log-probabilities (it does so
  whenever a generation spans several optimizer steps); tokengym's policy stores them while sampling;
- TRL's defaults kept: gradient checkpointing on, AdamW, a linear learning-rate decay, the "dapo" loss, dropout
  as the model's config has it (0.1; tokengym's ``load_lm`` switches dropout off);
- TRL generates with ``model.generate`` (KV cache); tokengym samples through SB3's step loop with its own KV
  cache and steps the environments.
- the activation: tokengym's ``load_lm`` runs GPT-2's ``gelu_new`` as PyTorch's fused tanh GELU (the same
  function to rounding; the config is unchanged); TRL loads the folder as transformers does, with ``gelu_new``
  written out in elementwise operations.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any


class DialogueReward:
    """Dialogue-v0's default reward as a TRL reward function; counts the completion tokens it is shown."""

    __name__ = "dialogue_v0"

    def __init__(self) -> None:
        from tokengym.envs.dialogue import DialogueEnv
        from tokengym.rewards import make_reward

        self.reward = make_reward(DialogueEnv.default_reward)
        self.tokens: list[int] = []  # completion tokens of each call (one call per generation)

    def __call__(
        self,
        prompts: list[str],
        completions: list[str],
        completion_ids: list[list[int]],
        env_prompt: list[str],
        references: list[str],
        history: list[list[str]],
        **kwargs: Any,
    ) -> list[float]:
        self.tokens.append(sum(len(ids) for ids in completion_ids))
        totals, _ = self.reward.score(
            env_prompt, [c.strip() for c in completions], references=references, history=[tuple(h) for h in history]
        )
        return [float(t) for t in totals]


class TRLGRPO:
    """A GRPOTrainer per call of ``run(cycles)``: a warm-up generation cycle, then ``cycles`` timed ones.

    Args:
        model_folder: the model (and tokenizer) folder.
        samples: ``(prompt_ids, env_prompt, references, history)`` per dataset row, from Dialogue-v0.
        max_completion_length: completion budget in tokens.
        generation_batch: completions sampled at a time (one generation cycle).
        per_step: completions per optimizer step.
    """

    def __init__(
        self,
        model_folder: str,
        samples: list[tuple[list[int], str, str, list[str]]],
        max_completion_length: int,
        generation_batch: int = 8,
        per_step: int = 4,
    ) -> None:
        from datasets import Dataset
        from transformers import AutoTokenizer

        self.model_folder = model_folder
        self.max_completion_length = max_completion_length
        self.generation_batch, self.per_step = generation_batch, per_step
        self.steps_per_generation = generation_batch // per_step
        self.tokenizer = AutoTokenizer.from_pretrained(model_folder)
        rows = []
        for prompt_ids, env_prompt, references, history in samples:
            text = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
            if self.tokenizer(text)["input_ids"] != list(prompt_ids):
                raise RuntimeError(f"the tokenizer does not map {text!r} back to the environment's prompt ids")
            rows.append({"prompt": text, "env_prompt": env_prompt, "references": references, "history": history})
        self.dataset = Dataset.from_list(rows)
        self.reward = DialogueReward()
        self.trainer: Any = None

    def _trainer(self, max_steps: int) -> Any:
        from trl import GRPOConfig, GRPOTrainer

        config = GRPOConfig(
            output_dir=tempfile.mkdtemp(prefix="grpo_trl_"),
            per_device_train_batch_size=self.per_step,
            generation_batch_size=self.generation_batch,
            max_completion_length=self.max_completion_length,
            num_iterations=1,
            learning_rate=1e-5,
            bf16=False,
            use_vllm=False,
            use_cpu=True,
            max_steps=max_steps,
            report_to="none",
            logging_strategy="no",
            save_strategy="no",
            disable_tqdm=True,
            seed=0,
        )
        return GRPOTrainer(
            model=self.model_folder,
            reward_funcs=[self.reward],
            args=config,
            train_dataset=self.dataset,
            processing_class=self.tokenizer,
        )

    def run(self, cycles: int) -> tuple[int, float]:
        """Train ``1 + cycles`` generation cycles; returns the completion tokens and seconds of the last ``cycles``."""
        from transformers import PrinterCallback, TrainerCallback

        stamps: list[float] = []

        class Clock(TrainerCallback):
            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                stamps.append(time.perf_counter())

        steps = self.steps_per_generation
        trainer = self._trainer(steps * (1 + cycles))
        trainer.add_callback(Clock())
        trainer.remove_callback(PrinterCallback)  # it prints the final metrics even with logging off
        first = len(self.reward.tokens)
        trainer.train()
        tokens = self.reward.tokens[first + 1 :]  # the warm-up cycle's generation is not timed
        assert len(tokens) == cycles and len(stamps) == steps * (1 + cycles)
        return sum(tokens), stamps[-1] - stamps[steps - 1]
