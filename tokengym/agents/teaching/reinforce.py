"""REINFORCE (Williams, 1992) for a language-model policy on a token task, in one file that reads top to bottom.

The policy is the language model itself: in state ``s_t`` (the prompt and the tokens written so far) it writes
token ``a_t`` with probability ``pi(a_t | s_t) = softmax(logits_t)[a_t]``. An episode is one completion. The
file samples a batch of episodes with the model's KV cache, then takes one gradient step on the whole batch
with a single forward pass per episode (the token layout ``[prompt | completion]`` lets one causal pass score
every action of an episode).

The equations, as named in the code below:

- (1) return-to-go: ``G_t = sum_{k >= t} gamma^(k-t) r'_k``, with ``r'_k = r_k - beta * (log pi(a_k|s_k) -
  log pi_ref(a_k|s_k))`` when a KL penalty to the starting model is asked for (``kl_coef = beta > 0``);
- (2) the policy-gradient theorem, as a loss: ``L_pg = -(1/N) sum_{i,t} A_{i,t} log pi(a_{i,t} | s_{i,t})``
  over the N tokens of the batch, where the advantage ``A = G - b`` subtracts a baseline ``b`` that does not
  depend on the action, so the gradient stays unbiased and its variance falls:

  - ``none``: ``b = 0`` (plain REINFORCE);
  - ``mean``: ``b_t`` = a running mean of the returns-to-go seen at position ``t`` in earlier batches;
  - ``value``: ``b_t = V(s_t)``, a linear value head on the model's last hidden state (its input detached, so
    the head learns beside the policy, not through it), fitted by (3) ``L_v = mean (V(s_t) - G_t)^2``;
  - ``rloo``: each prompt is played ``group_size`` times; an episode's baseline is the mean return of its
    siblings (REINFORCE leave-one-out, Kool et al. 2019; Ahmadian et al. 2024): ``A_i = G_i - mean_{j != i} G_j``;
  - ``grpo``: the same groups, with the group-normalised advantage of GRPO (Shao et al. 2024):
    ``A_i = (G_i - mean_j G_j) / (std_j G_j + 1e-6)`` (without PPO's clipped ratio: REINFORCE takes one step per
    batch, so the ratio is 1);

- (4) one Adam step on ``L_pg`` (gradient norm clipped at ``max_grad_norm``) per batch of at least ``n_steps``
  tokens (whole episodes).

It handles tasks where an episode is a single completion (``Dialogue-v0``, ``Summarization-v0``,
``TokenSubset-v0``); multi-turn tasks, whose observations gain text between the agent's turns, are for the
SB3 algorithms (``--algo ppo``).

Example:
    >>> cfg = ReinforceConfig(env_id="TokenSubset-v0", total_timesteps=64, n_steps=32, baseline="mean")
    >>> result = train_reinforce(cfg)
    >>> result.num_timesteps >= 64, len(result.history)
    (True, 2)
"""

from __future__ import annotations

import copy
import inspect
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from tokengym.agents.lm.loading import load_lm
from tokengym.envs.validation import check_int, check_number

BASELINES = ("none", "mean", "value", "rloo", "grpo")
"""The baselines of :class:`ReinforceConfig` (equation (2) of the module docstring)."""
GROUP_BASELINES = ("rloo", "grpo")
"""Baselines that play each prompt ``group_size`` times."""
TRAIN_SEED_START = 1_000_000
"""Training prompts come from reset seeds at and above this one; evaluation plays seeds ``0..N-1``, which
training never draws, so its prompts are held out (on tasks whose prompts a seed fixes)."""


@dataclass
class ReinforceConfig:
    """Settings of :func:`train_reinforce`; every field is checked when the configuration is made."""

    env_id: str = "TokenSubset-v0"
    """A token-level task whose episode is one completion (``Dialogue-v0``, ``Summarization-v0``, ...)."""
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    """Arguments of ``gym.make`` (``reward``, ``max_new_tokens``, ...)."""
    model_name: str = "tiny"
    """Starting model: "tiny" (embedded), a Hugging Face id or a local folder; its tokenizer is the env's."""
    total_timesteps: int = 2048
    """Tokens to write in training (whole batches: the last batch may take it past this)."""
    n_steps: int = 128
    """Tokens per gradient step: whole episodes (whole groups) are collected until there are at least this many."""
    learning_rate: float = 1e-4
    """Adam step size of the language model (4)."""
    gamma: float = 1.0
    """Discount per token in the return-to-go (1)."""
    baseline: str = "mean"
    """The baseline ``b`` of the advantage (2): one of :data:`BASELINES`."""
    group_size: int = 4
    """Baselines ``rloo`` and ``grpo``: times each prompt is played in a row (at least 2); ignored otherwise."""
    mean_decay: float = 0.9
    """Baseline ``mean``: the running mean keeps this share of its value at each batch (the rest is the batch's)."""
    value_learning_rate: float = 1e-3
    """Baseline ``value``: Adam step size of the value head (3)."""
    kl_coef: float = 0.0
    """``beta`` of the per-token KL penalty to the starting model (1); 0 switches it off (no reference model)."""
    max_grad_norm: float = 1.0
    """Gradient-norm clipping of each step (4)."""
    seed: int = 0
    """Seeds the prompts drawn, the tokens sampled and the value head: same seed, same run."""

    def __post_init__(self) -> None:
        if not isinstance(self.env_id, str) or not self.env_id:
            raise ValueError(f"env_id must name a token-level task such as 'TokenSubset-v0', not {self.env_id!r}")
        if not isinstance(self.env_kwargs, Mapping):
            raise ValueError(f"env_kwargs must be a mapping of gym.make arguments, not {self.env_kwargs!r}")
        self.env_kwargs = dict(self.env_kwargs)
        self.total_timesteps = check_int("total_timesteps", self.total_timesteps, low=1)
        self.n_steps = check_int("n_steps", self.n_steps, low=1)
        self.group_size = check_int("group_size", self.group_size, low=1)
        self.seed = check_int("seed", self.seed, low=0, high=2**32 - 1)
        for name in ("learning_rate", "value_learning_rate", "max_grad_norm"):
            if not check_number(name, getattr(self, name), low=0.0) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
            setattr(self, name, float(getattr(self, name)))
        self.kl_coef = check_number("kl_coef", self.kl_coef, low=0.0)
        self.gamma = check_number("gamma", self.gamma, low=0.0, high=1.0)
        self.mean_decay = check_number("mean_decay", self.mean_decay, low=0.0, high=1.0)
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, not {self.baseline!r}")
        if self.baseline in GROUP_BASELINES and self.group_size < 2:
            raise ValueError(f"baseline {self.baseline!r} compares siblings: group_size must be at least 2")


@dataclass
class Episode:
    """One completion: the prompt's token ids, the tokens written (actions) and the reward of each step."""

    prompt: list[int]
    actions: list[int]
    rewards: list[float]
    seed: int

    @property
    def total(self) -> float:
        return float(sum(self.rewards))


@dataclass
class ReinforceResult:
    """What :func:`train_reinforce` did: the trained model and tokenizer, the value head (baseline ``value``),
    per-update statistics, every training episode's return and end step, and the time taken."""

    model: Any
    tokenizer: Any
    value_head: torch.nn.Module | None
    history: list[dict[str, float]]
    episode_returns: list[float]
    episode_ends: list[int]
    num_timesteps: int
    seconds: float
    config: ReinforceConfig


# --------------------------------------------------------------------------------------------- sampling


@torch.no_grad()
def play_episode(
    model: Any, env: gym.Env, seed: int, generator: torch.Generator | None = None, greedy: bool = False
) -> Episode:
    """Play one episode of ``env`` (reset with ``seed``), sampling each token from the model with its KV cache.

    Raises:
        ValueError: a task whose observation gains tokens the agent did not write (a multi-turn task).
    """
    # transformers 5.24 renamed the forward's ``past_key_values`` to ``cache``, and the output's field with it.
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    obs, _ = env.reset(seed=int(seed))
    prompt = [int(t) for t in obs["input_ids"][obs["attention_mask"].astype(bool)]]
    out = model(input_ids=torch.tensor([prompt]), use_cache=True)
    actions: list[int] = []
    rewards: list[float] = []
    while True:
        logits = out.logits[0, -1].float()
        if greedy:
            action = int(logits.argmax())
        else:
            action = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
        obs, reward, terminated, truncated, _ = env.step(action)
        actions.append(action)
        rewards.append(float(reward))
        if terminated or truncated:
            return Episode(prompt, actions, rewards, int(seed))
        if int(obs["attention_mask"].sum()) != len(prompt) + len(actions):
            raise ValueError(
                f"{env.spec.id if env.spec else env}: the observation gained tokens the agent did not write (a "
                "multi-turn task); this REINFORCE handles single-completion tasks, use --algo ppo for this one"
            )
        out = model(input_ids=torch.tensor([[action]]), use_cache=True, **{cache_arg: getattr(out, cache_arg)})


def evaluate_returns(
    model: Any, env: gym.Env, seeds: Iterable[int], sample_seed: int = 0, greedy: bool = False
) -> list[float]:
    """The return of one episode per seed, sampled (seeded by ``sample_seed``) or greedy."""
    generator = torch.Generator().manual_seed(int(sample_seed))
    return [play_episode(model, env, s, generator, greedy).total for s in seeds]


# --------------------------------------------------------------------------------------------- the loss


def score_batch(model: Any, episodes: list[Episode], pad_id: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One forward pass over the batch: ``log pi(a_t|s_t)`` of every action, its state's last hidden vector,
    and a mask of real actions, each ``(B, T_max)`` (the hidden vectors ``(B, T_max, d)``)."""
    width = max(len(e.prompt) + len(e.actions) for e in episodes)
    steps = max(len(e.actions) for e in episodes)
    ids = torch.full((len(episodes), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(episodes), width), dtype=torch.long)
    # Position p of the sequence predicts token p + 1: action t of an episode with a prompt of P tokens sits at
    # position P + t and is predicted by the logits (and read from the hidden state) at P + t - 1.
    where = torch.zeros((len(episodes), steps), dtype=torch.long)
    actions = torch.zeros((len(episodes), steps), dtype=torch.long)
    valid = torch.zeros((len(episodes), steps), dtype=torch.bool)
    for row, e in enumerate(episodes):
        seq = e.prompt + e.actions
        ids[row, : len(seq)] = torch.tensor(seq)
        attention[row, : len(seq)] = 1
        n = len(e.actions)
        where[row, :n] = torch.arange(len(e.prompt) - 1, len(e.prompt) - 1 + n)
        actions[row, :n] = torch.tensor(e.actions)
        valid[row, :n] = True
    out = model(input_ids=ids, attention_mask=attention, output_hidden_states=True)
    logits = out.logits.float().gather(1, where.unsqueeze(-1).expand(-1, -1, out.logits.shape[-1]))
    log_probs = torch.log_softmax(logits, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    hidden = out.hidden_states[-1].gather(1, where.unsqueeze(-1).expand(-1, -1, out.hidden_states[-1].shape[-1]))
    return log_probs, hidden, valid


def returns_to_go(rewards: torch.Tensor, valid: torch.Tensor, gamma: float) -> torch.Tensor:
    """(1) ``G_t = r_t + gamma * G_{t+1}`` along each row, zero past the episode's end."""
    out = torch.zeros_like(rewards)
    running = torch.zeros(rewards.shape[0])
    for t in reversed(range(rewards.shape[1])):
        running = (rewards[:, t] + gamma * running) * valid[:, t]
        out[:, t] = running
    return out


def group_advantages(totals: torch.Tensor, group_size: int, kind: str) -> torch.Tensor:
    """(2) RLOO's or GRPO's advantage of each episode, from the returns of its group (consecutive rows).

    Example:
        >>> group_advantages(torch.tensor([1.0, 0.0, 0.0, 1.0]), 2, "rloo").tolist()
        [1.0, -1.0, -1.0, 1.0]
    """
    groups = totals.view(-1, group_size)
    if kind == "rloo":
        others = (groups.sum(1, keepdim=True) - groups) / (group_size - 1)
        return (groups - others).reshape(-1)
    centred = groups - groups.mean(1, keepdim=True)
    return (centred / (groups.std(1, keepdim=True) + 1e-6)).reshape(-1)


# ------------------------------------------------------------------------------------------------ training


def train_reinforce(
    cfg: ReinforceConfig, on_update: Callable[[dict[str, float]], None] | None = None
) -> ReinforceResult:
    """Train the language model with REINFORCE on ``cfg.env_id``; returns the model and the statistics.

    Args:
        cfg: the configuration.
        on_update: called after every gradient step with that step's statistics (``charts/episodic_return``,
            ``losses/policy_loss``, ...), for progress output.

    Raises:
        ValueError: a task that is not a single-completion token task, or a vocabulary that is not the model's.
    """
    # Seeding: the prompts (numpy), the sampled tokens (a torch generator) and the value head (torch's default).
    torch.manual_seed(cfg.seed)
    prompts = np.random.default_rng(cfg.seed)
    generator = torch.Generator().manual_seed(cfg.seed)

    # The model, its frozen reference (only with a KL penalty) and the environment, which uses its tokenizer.
    model, tokenizer = load_lm(cfg.model_name)
    reference = copy.deepcopy(model).eval().requires_grad_(False) if cfg.kl_coef > 0 else None
    env = gym.make(cfg.env_id, **{"tokenizer": tokenizer, **cfg.env_kwargs})
    keys = set(getattr(env.observation_space, "spaces", {}))
    if keys != {"input_ids", "attention_mask"}:
        raise ValueError(
            f"{cfg.env_id} is not a token-level task: its observation holds {', '.join(sorted(keys)) or 'no mapping'}, "
            "not input_ids and attention_mask alone (a command-level game is for --algo tabular_q)"
        )
    if int(env.action_space.n) > model.get_output_embeddings().weight.shape[0]:
        raise ValueError(f"{cfg.env_id} has {env.action_space.n} actions, more than the model's vocabulary")
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.learning_rate)
    value_head, value_optimizer = None, None
    if cfg.baseline == "value":
        value_head = torch.nn.Linear(model.config.hidden_size, 1)
        value_optimizer = torch.optim.Adam(value_head.parameters(), lr=cfg.value_learning_rate)
    running_mean = torch.zeros(0)  # baseline "mean": b_t per position t
    grouped = cfg.baseline in GROUP_BASELINES
    history: list[dict[str, float]] = []
    episode_returns: list[float] = []
    episode_ends: list[int] = []
    steps, start = 0, time.perf_counter()

    while steps < cfg.total_timesteps:
        # ---- a batch of whole episodes (whole groups), with at least n_steps tokens
        model.eval()
        batch: list[Episode] = []
        while sum(len(e.actions) for e in batch) < cfg.n_steps:
            seed = int(prompts.integers(TRAIN_SEED_START, 2**31 - 1))
            for _ in range(cfg.group_size if grouped else 1):
                episode = play_episode(model, env, seed, generator)
                batch.append(episode)
                steps += len(episode.actions)
                episode_returns.append(episode.total)
                episode_ends.append(steps)

        # ---- one forward pass scores every action of the batch
        model.train()
        log_probs, hidden, valid = score_batch(model, batch, tokenizer.pad_id)
        rewards = torch.zeros_like(log_probs)
        for row, e in enumerate(batch):
            rewards[row, : len(e.rewards)] = torch.tensor(e.rewards)
        kl = torch.zeros_like(log_probs)
        if reference is not None:
            with torch.no_grad():
                ref_log_probs, _, _ = score_batch(reference, batch, tokenizer.pad_id)
            kl = (log_probs.detach() - ref_log_probs) * valid  # the sampled-token estimate of KL(pi || pi_ref)
        # (1) the return-to-go of the (KL-shaped) rewards.
        returns = returns_to_go(rewards - cfg.kl_coef * kl, valid, cfg.gamma)

        # (2) the advantage: the return minus a baseline that does not depend on the action taken.
        value_loss = torch.zeros(())
        if cfg.baseline == "none":
            advantages = returns
        elif cfg.baseline == "mean":
            width = returns.shape[1]
            if running_mean.numel() < width:
                running_mean = torch.cat([running_mean, torch.zeros(width - running_mean.numel())])
            advantages = (returns - running_mean[:width]) * valid
            # After use: b_t mixes in this batch's mean return-to-go at each position some episode reached.
            batch_mean = (returns * valid).sum(0) / valid.sum(0).clamp(min=1)
            mixed = cfg.mean_decay * running_mean[:width] + (1 - cfg.mean_decay) * batch_mean
            running_mean[:width] = torch.where(valid.any(0), mixed, running_mean[:width])
        elif cfg.baseline == "value":
            values = value_head(hidden.detach()).squeeze(-1)
            advantages = (returns - values.detach()) * valid
            # (3) the value head's regression on the returns-to-go.
            value_loss = ((values - returns) ** 2 * valid).sum() / valid.sum()
            value_optimizer.zero_grad(set_to_none=True)
            value_loss.backward()
            value_optimizer.step()
        else:
            advantages = group_advantages(returns[:, 0], cfg.group_size, cfg.baseline)[:, None] * valid

        # (2) the policy-gradient loss, and (4) one clipped Adam step.
        policy_loss = -(advantages.detach() * log_probs * valid).sum() / valid.sum()
        optimizer.zero_grad(set_to_none=True)
        policy_loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        if not torch.isfinite(grad_norm):
            raise FloatingPointError(
                f"the gradient is not finite at step {steps}: lower the learning rate (now {cfg.learning_rate:g})"
            )
        optimizer.step()

        stats = {
            "global_step": float(steps),
            "charts/episodic_return": float(np.mean([e.total for e in batch])),
            "losses/policy_loss": float(policy_loss.item()),
            "losses/value_loss": float(value_loss.item()),
            "losses/kl": float(kl.sum().item() / len(batch)),
            "charts/grad_norm": float(grad_norm.item()),
        }
        history.append(stats)
        if on_update is not None:
            on_update(stats)

    model.eval()
    env.close()
    return ReinforceResult(
        model,
        tokenizer,
        value_head,
        history,
        episode_returns,
        episode_ends,
        steps,
        time.perf_counter() - start,
        cfg,
    )
