"""A causal language model as an SB3 actor-critic policy (PPO, A2C; TRPO takes it too).

The action distribution is the model's next-token distribution at the last real token of the observation;
the value is a linear head on the same hidden state. Observations follow the token contract of
``tokengym.envs``: ``input_ids`` and ``attention_mask``, right-padded and contiguous from position 0.

The machinery (model loading, the value head, prefix de-duplicated training passes, the KV-cached acting path,
the optimizer groups) lives in :class:`LMPolicyMixin`, shared with the maskable policy of
:mod:`tokengym.agents.maskable`.

TRPO (sb3-contrib) takes this policy unchanged, at a price: every conjugate-gradient step is a Hessian-vector
product through the LM (``get_distribution`` then runs attention with PyTorch's twice-differentiable math
kernel), and sb3-contrib builds the KL gradient one parameter tensor at a time. Measured on "tiny" (a rollout of
4 x 64 tokens, one thread, ``benchmarks/update_cost.py``): one TRPO update costs 88x a PPO update of 4 epochs
with TRPO's defaults (``cg_max_steps=15``, ``n_critic_updates=10``), 29x with ``cg_max_steps=3`` and
``n_critic_updates=2``.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from stable_baselines3 import PPO
    >>> from tokengym.agents import LMActorCriticPolicy
    >>> env = gym.make("Dialogue-v0")
    >>> model = PPO(LMActorCriticPolicy, env, n_steps=64, batch_size=32, policy_kwargs={"model_name": "tiny"})
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import torch
from gymnasium import spaces
from stable_baselines3.common.distributions import CategoricalDistribution
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule
from torch import nn
from torch.autograd.function import once_differentiable
from torch.nn.attention import SDPBackend, sdpa_kernel

from tokengym.agents.incremental import IncrementalDecoder
from tokengym.agents.lm import load_lm


def check_token_spaces(
    observation_space: spaces.Space, action_space: spaces.Space, vocab_size: int, max_positions: int | None = None
) -> int:
    """Check that the spaces follow the token contract and fit a model of ``vocab_size`` tokens and
    ``max_positions`` positions.

    Returns:
        The sequence length L.

    Raises:
        ValueError: naming what does not match.
    """
    if not isinstance(observation_space, spaces.Dict) or set(observation_space.spaces) != {
        "input_ids",
        "attention_mask",
    }:
        raise ValueError(
            f"a language-model policy needs Dict(input_ids, attention_mask) observations (the tokengym token "
            f"contract), got {observation_space}"
        )
    ids, mask = observation_space["input_ids"], observation_space["attention_mask"]
    if not isinstance(ids, spaces.Box) or len(ids.shape) != 1 or ids.shape != mask.shape:
        raise ValueError(f"input_ids and attention_mask must be Box spaces of one shape (L,), got {ids} and {mask}")
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(f"a language-model policy acts with tokens: Discrete(vocab_size), not {action_space}")
    if int(action_space.n) != vocab_size:
        raise ValueError(
            f"the environment's action space is Discrete({action_space.n}) but the model has {vocab_size} tokens; "
            "make the environment with the model's tokenizer: gym.make(env_id, tokenizer=model_folder)"
        )
    if max_positions is not None and ids.shape[0] > max_positions:
        raise ValueError(
            f"observations of {ids.shape[0]} tokens exceed the model's {max_positions} positions; "
            "lower the environment's max_prompt_len or max_new_tokens"
        )
    return int(ids.shape[0])


def prefix_representatives(ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row, a row of which it is a prefix (itself at least): the longest such row.

    Rows are matched by a hash of every prefix (``O(B W + B^2)``), and each chosen representative is then checked
    token for token; should a hash collision ever pick a wrong one, the exact ``O(B^2 W)`` comparison decides.

    Args:
        ids: ``(B, W)`` token ids, right-padded.
        lengths: ``(B,)`` real lengths.

    Returns:
        ``(rep, keep)``: ``keep`` are the indices of the distinct representative rows, and ``rep[i]`` is the
        position in ``keep`` of row ``i``'s representative.
    """
    width = ids.shape[1]
    inside = torch.arange(width, device=ids.device)[None, :] < lengths[:, None]  # (B, W): each row's real tokens
    # prefix_hash[j, n]: a hash of row j's first n tokens; row i is (by hash) a prefix of row j when row j's hash
    # at row i's length is row i's whole hash.
    prefix_hash = _prefix_hashes(ids)
    at_length = prefix_hash[:, lengths]  # (B_j, B_i)
    is_prefix = (at_length == prefix_hash.gather(1, lengths[:, None]).T).T & (lengths[:, None] <= lengths[None, :])
    best = _longest(is_prefix, lengths)
    if not bool(((ids == ids[best]) | ~inside).all()):
        same = ids[:, None, :] == ids[None, :, :]  # (B, B, W)
        is_prefix = (same | ~inside[:, None, :]).all(-1) & (lengths[:, None] <= lengths[None, :])
        best = _longest(is_prefix, lengths)
    keep, rep = torch.unique(best, return_inverse=True)
    return rep, keep


_HASH_MODULI = (2_147_483_629, 2_147_483_587)  # primes below 2**31: every product and sum stays inside int64


@functools.lru_cache(maxsize=16)
def _hash_weights(width: int) -> tuple[torch.Tensor, ...]:
    """Fixed random position weights, one row per modulus (drawn once per width; the global generator is left
    alone)."""
    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randint(1, modulus, (width,), generator=generator) for modulus in _HASH_MODULI)


def _prefix_hashes(ids: torch.Tensor) -> torch.Tensor:
    """``(B, W + 1)`` int64: column ``n`` hashes each row's first ``n`` tokens (two position-weighted sums)."""
    ids = ids.long()
    combined = torch.zeros(ids.shape[0], ids.shape[1] + 1, dtype=torch.long, device=ids.device)
    for modulus, weights in zip(_HASH_MODULI, _hash_weights(ids.shape[1]), strict=True):
        weights = weights.to(ids.device)
        terms = (ids.remainder(modulus) * weights).remainder(modulus)
        sums = torch.zeros_like(combined)
        sums[:, 1:] = terms.cumsum(-1).remainder(modulus)
        combined = combined * modulus + sums  # (h1 * m2 + h2) < 2**62
    return combined


def _longest(is_prefix: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """For each row, the longest row it is a prefix of; ties (identical rows) go to the lowest index, so
    duplicates share one row."""
    count = len(lengths)
    rows = torch.arange(count, device=lengths.device)
    score = torch.where(is_prefix, lengths[None, :] * (count + 1) - rows[None, :], torch.full_like(rows, -1)[None, :])
    return score.argmax(-1)


def last_token_states(lm: nn.Module, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and hidden state of a causal LM at the last real token of every observation.

    Observations of one episode are prefixes of each other, and under causal attention the hidden state at
    position ``n - 1`` of a longer sequence is the last hidden state of its ``n``-token prefix. So each batch
    runs one forward pass per distinct longest sequence and reads every prefix's state from it.

    Args:
        lm: a Hugging Face causal LM (GPT-2 style: ``.transformer``, or any with ``.base_model``).
        obs: the token contract's ``input_ids`` and ``attention_mask``, ``(B, L)``, right-padded.

    Returns:
        ``(logits (B, V), hidden (B, H))`` in float32.
    """
    ids = obs["input_ids"].long()  # SB3 casts Box observations to float32
    lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
    width = int(lengths.max())
    ids = ids[:, :width]
    rep, keep = prefix_representatives(ids, lengths)
    rep_ids = ids[keep]
    rep_mask = (torch.arange(width, device=ids.device)[None, :] < lengths[keep][:, None]).long()
    position_ids = torch.arange(width, device=ids.device).expand_as(rep_ids)
    body = lm.transformer if hasattr(lm, "transformer") else lm.base_model
    hidden = body(input_ids=rep_ids, attention_mask=rep_mask, position_ids=position_ids).last_hidden_state
    last = hidden[rep, lengths - 1]
    logits = lm.get_output_embeddings()(last)
    return logits.float(), last.float()


def scale_group_learning_rates(optimizer: torch.optim.Optimizer) -> None:
    """Make each parameter group with an ``lr_scale`` step at that multiple of its learning rate.

    SB3 sets every group's ``lr`` to the schedule's value before each update, so the scale is applied around
    each ``step()`` only (hooks; the stored ``lr`` stays the schedule's).
    """

    def scale(opt: torch.optim.Optimizer, args: Any, kwargs: Any, inverse: bool = False) -> None:
        for group in opt.param_groups:
            factor = group.get("lr_scale", 1.0)
            group["lr"] = group["lr"] / factor if inverse else group["lr"] * factor

    optimizer.register_step_pre_hook(scale)
    optimizer.register_step_post_hook(lambda opt, args, kwargs: scale(opt, args, kwargs, inverse=True))


def top_k_top_p_filter(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Logits with tokens outside the top-k and the top-p nucleus set to -inf (the best token always stays)."""
    if top_k and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True, dim=-1)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(-1)
        drop_sorted = cumulative - torch.softmax(sorted_logits, dim=-1) >= top_p
        drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def sample_categorical(probs: torch.Tensor) -> torch.Tensor:
    """One index per row of ``probs`` (``(..., V)``, rows summing to 1), drawn by inverting the cumulative sum.

    The same distribution as ``torch.distributions.Categorical(probs).sample()``, drawn from one uniform number
    per row instead of ``V`` exponential ones (``torch.multinomial``'s way): with a language model's vocabulary
    this is the cheaper part of a rollout step. The cumulative sum runs in float64, so tokens down to ~1e-16 of
    the mass keep their chance; tokens of probability 0 are never drawn.
    """
    cumulative = probs.double().cumsum(-1)
    # A target in (0, total]: the first index whose cumulative sum reaches it has a positive probability.
    uniform = 1.0 - torch.rand(cumulative.shape[:-1] + (1,), dtype=cumulative.dtype, device=cumulative.device)
    index = torch.searchsorted(cumulative, uniform * cumulative[..., -1:])
    return index.squeeze(-1).clamp_(max=probs.shape[-1] - 1)


def make_optimizer(
    optimizer_class: type[torch.optim.Optimizer], groups: Any, lr: float, kwargs: dict[str, Any]
) -> torch.optim.Optimizer:
    """``optimizer_class(groups, lr=lr, **kwargs)`` for the LM policies (``groups``: parameters or parameter
    groups); Adam and AdamW run fused (one kernel over all parameters) unless ``kwargs`` choose ``fused`` or
    ``foreach``, or the parameters' device has no fused kernel.

    A language model has dozens of parameter tensors, and Adam's default loop over them costs several times its
    arithmetic on a small model (per step on "tiny": 4.3 ms looped, 0.7 ms fused; the same update to rounding).
    """
    groups = list(groups)  # a generator would be spent by a first attempt
    if optimizer_class in (torch.optim.Adam, torch.optim.AdamW) and not {"fused", "foreach"} & set(kwargs):
        try:
            return optimizer_class(groups, lr=lr, fused=True, **kwargs)
        except RuntimeError:  # no fused kernel for this device (or this PyTorch)
            pass
    return optimizer_class(groups, lr=lr, **kwargs)


class _ChosenLogProbAndEntropy(torch.autograd.Function):
    """``(log_softmax(logits)[action], entropy)`` per row of ``logits (N, V)``, with a hand-written gradient.

    Autograd would run about ten elementwise passes over the ``(N, V)`` logits backwards (log-softmax, gather,
    the entropy's product and exponential, and their sum); the gradient written out takes two, and one when the
    entropy's gradient is zero (an entropy coefficient of 0, the default). With ``p`` the probabilities and ``H``
    the entropy: d log p_a / d logit_j = [j = a] - p_j and dH / d logit_j = -p_j (log p_j + H). Logits of -inf
    (masked tokens) have p = 0, no share of the entropy and no gradient.
    """

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_probs = torch.log_softmax(logits, -1)
        chosen = log_probs.gather(-1, actions[:, None]).squeeze(-1)
        log_probs = log_probs.clamp_(min=torch.finfo(log_probs.dtype).min)  # -inf -> finite: 0 * it stays 0
        probs = log_probs.exp()
        entropy = -(probs * log_probs).sum(-1)
        ctx.save_for_backward(probs, log_probs, entropy, actions)
        return chosen, entropy

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_chosen: torch.Tensor, grad_entropy: torch.Tensor) -> tuple[torch.Tensor, None]:
        probs, log_probs, entropy, actions = ctx.saved_tensors
        if grad_entropy is None or not bool(grad_entropy.any()):
            grad = probs * -grad_chosen[:, None]
        else:
            weight = (log_probs + entropy[:, None]).mul_(grad_entropy[:, None]).add_(grad_chosen[:, None])
            # A masked token's clamped log-probability times a large gradient overflows to -inf, and 0 * inf
            # is NaN: its gradient is 0.
            grad = torch.where(probs > 0, weight.mul_(probs), 0.0).neg_()
        grad.scatter_add_(-1, actions[:, None], grad_chosen[:, None])
        return grad, None


class LMPolicyMixin:
    """The language-model machinery of this package's actor-critic policies, on top of an SB3 policy class.

    Put it first in the bases (``class P(LMPolicyMixin, ActorCriticPolicy)``): it supplies ``_build`` (the LM,
    the value head, the optimizer), ``_get_constructor_parameters``, ``predict_values``, the full training pass
    (``_last_hidden``) and the cached acting pass (``_acting_states``). The subclass calls
    :meth:`_init_lm_options` before the SB3 constructor and writes the distribution methods of its SB3 base.
    """

    lm: nn.Module
    value_net: nn.Module
    action_dist: Any
    action_space: spaces.Space
    observation_space: spaces.Space
    optimizer_class: type[torch.optim.Optimizer]
    optimizer_kwargs: dict[str, Any]
    optimizer: torch.optim.Optimizer
    training: bool
    _decoder: IncrementalDecoder

    #: the distribution class made in ``_build`` (SB3's own, or sb3-contrib's maskable one).
    distribution_class: ClassVar[type] = CategoricalDistribution

    def _init_lm_options(
        self,
        model_name: str,
        temperature: float,
        top_k: int,
        top_p: float,
        value_head_init_std: float,
        value_grad_to_lm: bool,
        value_lr_scale: float,
        use_kv_cache: bool,
        ortho_init: bool,
        use_sde: bool = False,
    ) -> None:
        """Check and keep the options (before the SB3 constructor, which calls ``_build``)."""
        if ortho_init:
            raise ValueError("ortho_init=True would re-initialise the pretrained weights; leave it False")
        if use_sde:
            raise ValueError("gSDE is for continuous actions; token actions are Discrete")
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature!r}")
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], not {top_p!r}")
        self.model_name = str(model_name)
        self.temperature, self.top_k, self.top_p = float(temperature), int(top_k), float(top_p)
        self.value_head_init_std = float(value_head_init_std)
        self.value_grad_to_lm = bool(value_grad_to_lm)
        if not value_lr_scale > 0:
            raise ValueError(f"value_lr_scale must be positive, not {value_lr_scale!r}")
        self.value_lr_scale = float(value_lr_scale)
        self.use_kv_cache = bool(use_kv_cache)

    def _build(self, lr_schedule: Schedule) -> None:
        self.lm, tokenizer = load_lm(self.model_name)
        check_token_spaces(
            self.observation_space,
            self.action_space,
            tokenizer.vocab_size,
            getattr(self.lm.config, "max_position_embeddings", None),
        )
        hidden = self.lm.config.hidden_size
        self.value_net = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        nn.init.normal_(self.value_net[2].weight, std=self.value_head_init_std)
        nn.init.zeros_(self.value_net[2].bias)
        self.action_dist = self.distribution_class(int(self.action_space.n))  # type: ignore[attr-defined]
        self.lm.train(False)
        self._decoder = IncrementalDecoder(self.lm)
        value_params = {id(q) for q in self.value_net.parameters()}
        groups = [
            {"params": [q for q in self.parameters() if id(q) not in value_params]},  # type: ignore[attr-defined]
            {"params": list(self.value_net.parameters()), "lr_scale": self.value_lr_scale},
        ]
        self.optimizer = make_optimizer(self.optimizer_class, groups, lr_schedule(1), self.optimizer_kwargs)
        scale_group_learning_rates(self.optimizer)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()  # type: ignore[misc]
        for key in (
            "net_arch",
            "activation_fn",
            "ortho_init",
            "use_sde",
            "log_std_init",
            "full_std",
            "use_expln",
            "squash_output",
            "features_extractor_class",
            "features_extractor_kwargs",
            "share_features_extractor",
            "normalize_images",
        ):
            data.pop(key, None)
        data.update(
            model_name=self.model_name,
            temperature=self.temperature,
            top_k=self.top_k,
            top_p=self.top_p,
            value_head_init_std=self.value_head_init_std,
            value_grad_to_lm=self.value_grad_to_lm,
            value_lr_scale=self.value_lr_scale,
            use_kv_cache=self.use_kv_cache,
        )
        return data

    def set_training_mode(self, mode: bool) -> None:
        if mode:
            # Every algorithm enters training mode before it updates. Some updates (TRPO's line search) assign
            # new tensors to ``param.data``, which leaves the version counters the decoder watches untouched,
            # so the cache is dropped here as well: no rollout ever steps from keys of older weights.
            self._decoder.reset()
        super().set_training_mode(mode)  # type: ignore[misc]

    # --------------------------------------------------------------------------------------------- forward

    def _last_hidden(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """The action distribution's logits (the LM's, over ``temperature``) and the last hidden states."""
        logits, hidden = last_token_states(self.lm, obs)
        return self._tempered(logits), hidden

    def _tempered(self, logits: torch.Tensor) -> torch.Tensor:
        return logits if self.temperature == 1.0 else logits / self.temperature

    def _distribution_states(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """``_last_hidden`` for ``get_distribution``: twice differentiable when gradients are on.

        Fused attention kernels have no second derivative, and TRPO's Fisher-vector products differentiate the
        distribution twice; PyTorch's math kernel is made of ordinary differentiable operations. (PPO and A2C
        train through ``evaluate_actions`` and keep the fused kernels.)
        """
        if not torch.is_grad_enabled():
            return self._last_hidden(obs)
        with sdpa_kernel(SDPBackend.MATH):
            return self._last_hidden(obs)

    def _acting_states(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits and hidden states for choosing actions: cached when no gradient is needed."""
        if self.use_kv_cache and not torch.is_grad_enabled() and not self.training:
            lengths = obs["attention_mask"].long().sum(-1).clamp(min=1)
            logits, hidden = self._decoder(obs["input_ids"].long(), lengths)
            return self._tempered(logits), hidden
        return self._last_hidden(obs)

    def predict_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._value(self._last_hidden(obs)[1])

    def _value(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.value_net(hidden if self.value_grad_to_lm else hidden.detach())

    def _sample_for_predict(self, logits: torch.Tensor, deterministic: bool) -> torch.Tensor:
        """``predict``'s rule: greedy, or sampling the (tempered) distribution under ``top_k`` and ``top_p``."""
        if deterministic:
            return logits.argmax(-1)
        logits = top_k_top_p_filter(logits, self.top_k, self.top_p)
        return torch.distributions.Categorical(logits=logits).sample()


class LMActorCriticPolicy(LMPolicyMixin, ActorCriticPolicy):
    """Actor-critic policy whose actor is a causal LM and whose critic is a value head on its last hidden state.

    Args:
        observation_space: the token contract's ``Dict`` space.
        action_space: ``Discrete(vocab_size)`` of the model's tokenizer.
        lr_schedule: learning-rate schedule (SB3 passes it).
        model_name: ``"tiny"``, a local folder or a Hugging Face id (see :func:`~tokengym.agents.load_lm`).
        temperature: the policy is ``softmax(logits / temperature)``, in rollouts, training and ``predict``
            alike, so stored log-probabilities stay exact. Below 1 it samples fewer of the tail tokens whose
            noisy gradients erode a pretrained LM in short runs (the demo uses 0.7).
        top_k: keep only the k most likely tokens in ``predict`` (0: all).
        top_p: nucleus sampling threshold in ``predict`` (1.0: off).
        value_head_init_std: standard deviation of the value head's last layer at initialisation.
        value_grad_to_lm: let the value loss train the language model too. Off by default: early value errors
            are large, and their gradients through a shared body wreck a small pretrained LM; the critic is then
            an MLP on the LM's (detached) last hidden state.
        use_kv_cache: during rollouts and ``predict`` (no gradients, evaluation mode), feed each environment's
            new token against its cached keys and values instead of re-encoding the whole observation
            (:class:`~tokengym.agents.incremental.IncrementalDecoder`); same results to rounding, several times
            faster. Training passes (``evaluate_actions``) always run in full.
        value_lr_scale: the value head learns at this multiple of the learning rate. A fine-tuning learning
            rate suits the pretrained LM but leaves a freshly initialised critic near zero for most of a short
            run; a scale of 10-20 lets it catch up. Keep 1 with large learning rates (a critic at 10 x 3e-3
            diverges).
        optimizer_class: the optimizer (SB3 convention).
        optimizer_kwargs: its keyword arguments. Adam and AdamW run fused (one kernel over all parameters)
            unless these choose ``fused`` or ``foreach``.
        ortho_init: refused when True (SB3 passes it to every actor-critic policy): it would overwrite the
            pretrained weights.
        use_sde: refused when True: gSDE is for continuous actions.

    Dropout is off, pretrained weights are never re-initialised (no orthogonal init), and positions follow
    the contiguous right-padded layout.
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        lr_schedule: Schedule,
        model_name: str = "tiny",
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        value_head_init_std: float = 0.01,
        value_grad_to_lm: bool = False,
        value_lr_scale: float = 1.0,
        use_kv_cache: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        ortho_init: bool = False,
        use_sde: bool = False,
    ) -> None:
        self._init_lm_options(
            model_name,
            temperature,
            top_k,
            top_p,
            value_head_init_std,
            value_grad_to_lm,
            value_lr_scale,
            use_kv_cache,
            ortho_init,
            use_sde,
        )
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[],
            ortho_init=False,
            share_features_extractor=True,
            normalize_images=False,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = False):
        # The action distribution's own numbers, without building it: one log-softmax gives the sampling
        # probabilities and the stored log-probability (a rollout step's distribution is never asked for more).
        logits, last = self._acting_states(obs)
        log_probs = torch.log_softmax(logits, -1)
        actions = log_probs.argmax(-1) if deterministic else sample_categorical(log_probs.exp())
        return actions, self._value(last), log_probs.gather(-1, actions[:, None]).squeeze(-1)

    def evaluate_actions(self, obs: dict[str, torch.Tensor], actions: torch.Tensor):
        # The categorical distribution's log-probability and entropy, from one log-softmax (the distribution
        # object would normalise the logits, then take their softmax again for the entropy).
        logits, last = self._last_hidden(obs)
        chosen, entropy = _ChosenLogProbAndEntropy.apply(logits, actions.long().reshape(-1))
        return self._value(last), chosen, entropy

    def get_distribution(self, obs: dict[str, torch.Tensor]):
        logits, _ = self._distribution_states(obs)
        return self.action_dist.proba_distribution(action_logits=logits)

    def _predict(self, observation: dict[str, torch.Tensor], deterministic: bool = False) -> torch.Tensor:
        logits, _ = self._acting_states(observation)
        return self._sample_for_predict(logits, deterministic)
