"""DQN with a causal language model as its Q-network, exploration that suits text, and a sized replay buffer.

SB3's DQN needs three changes for token actions, each through a hook:

- **Q-values read from the LM** (:class:`LMDQNPolicy`, a ``DQNPolicy`` whose ``q_net`` and ``q_net_target``
  are :class:`LMQNetwork`). For an observation ``s`` and a token ``a``,

      Q(s, a) = v(s) + alpha * log pi_LM(a | s) + b_a

  where ``v`` is a linear head on the LM's last hidden state (zero at start), ``log pi_LM`` the LM's own
  next-token log-probabilities at the last real token, ``alpha > 0`` a learned scale and ``b`` a learned
  per-token bias (zero at start). Every part trains under the TD loss, the LM included. At initialisation
  ``alpha`` equals the exploration temperature, so exploration starts as the LM's own sampling; a TD error on
  ``(s, a)`` moves ``log pi_LM(a | s)`` against the other tokens, so what one token teaches reaches the whole
  vocabulary through the LM rather than one row of a table of 4,096 actions.
- **Exploration by sampling, not uniform tokens.** SB3's epsilon-greedy writes a uniformly random token with
  probability epsilon: in a vocabulary of thousands it is noise that no text task rewards. Here an exploratory
  token is sampled from ``softmax(Q / temperature)`` (optionally over the ``top_k`` best), in the policy's
  ``_predict``, by the policies' one sampler (:func:`~tokengym.agents.lm.sampling.sample_tokens`);
  :class:`TextDQN` keeps SB3's epsilon schedule as the share of exploratory tokens, draws the coin per
  environment, and also replaces the uniform warm-up before ``learning_starts`` by this sampling.
- **A replay buffer sized by memory** (:mod:`tokengym.agents.replay`): token observations
  are ``L`` ints stored twice per transition (next observation too), so a default
  ``buffer_size`` of one million fills many gigabytes; the buffer refuses a size beyond a budget (or the
  available RAM) with the sizes named, before allocating anything.

DQN takes no action masks (its TD target would need the next state's mask): train masked text games with
MaskablePPO (:mod:`tokengym.agents.lm.maskable`); :class:`TextDQN` says so when masks are asked for.

Example:
    >>> import gymnasium as gym, tokengym
    >>> from tokengym.agents import LMDQNPolicy, TextDQN
    >>> model = TextDQN(LMDQNPolicy, "TokenSubset-v0", buffer_size=20_000, learning_starts=200,
    ...                 replay_buffer_kwargs={"memory_budget_gb": 1.0},
    ...                 policy_kwargs={"model_name": "tiny", "temperature": 0.1})   # doctest: +SKIP
    >>> model.learn(5_000)                                                         # doctest: +SKIP
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor
from stable_baselines3.common.type_aliases import MaybeCallback, RolloutReturn, Schedule, TrainFreq
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn

from tokengym.agents.lm.loading import load_lm, output_size
from tokengym.agents.lm.optim import make_optimizer
from tokengym.agents.lm.sampling import sample_tokens
from tokengym.agents.lm.spaces import check_token_spaces
from tokengym.agents.lm.states import LastTokenStates
from tokengym.agents.replay import MemoryCheckedReplayBuffer

SelfTextDQN = TypeVar("SelfTextDQN", bound="TextDQN")

MASKS_UNSUPPORTED = (
    "DQN cannot take action masks: its TD target maximises over the next state's actions, and SB3's DQN keeps no "
    "masks to restrict that maximum. Train a masked environment with sb3-contrib's MaskablePPO "
    "(tokengym.agents.MaskableLMActorCriticPolicy), or with DQN without masks (use_masking=False): token-level "
    "games accept any token and answer an inadmissible command with feedback."
)


# ----------------------------------------------------------------------------------------------- Q-network


class LMQHead(nn.Module):
    """``Q(s, a) = v(s) + alpha * log pi_LM(a | s) + b_a`` for token-contract observations (see the module).

    The LM is read through :class:`~tokengym.agents.lm.states.LastTokenStates` (``states``): from the KV cache
    when acting, in full in TD updates.
    """

    def __init__(self, lm: nn.Module, scale_init: float, use_kv_cache: bool) -> None:
        super().__init__()
        self.lm = lm
        hidden = int(lm.config.hidden_size)
        vocab = int(lm.get_output_embeddings().weight.shape[0])
        self.value = nn.Linear(hidden, 1)
        nn.init.zeros_(self.value.weight)
        nn.init.zeros_(self.value.bias)
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale_init)))
        self.token_bias = nn.Parameter(torch.zeros(vocab))
        self.states = LastTokenStates(lm, use_kv_cache)

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        logits, hidden = self.states(obs, self.training)
        log_probs = torch.log_softmax(logits, -1)
        return self.value(hidden) + self.log_scale.exp() * log_probs + self.token_bias


class LMQNetwork(QNetwork):
    """SB3's ``QNetwork`` whose ``q_net`` is an :class:`LMQHead` on a causal LM (no features extractor).

    Args:
        observation_space: the token contract's ``Dict`` space.
        action_space: ``Discrete(vocab_size)`` of the model's tokenizer.
        features_extractor: kept for SB3's interface; observations go to the LM as token ids.
        features_dim: kept for SB3's interface.
        model_name: ``"tiny"``, a local folder or a Hugging Face id.
        q_scale_init: ``alpha`` at initialisation.
        use_kv_cache: act with the KV cache (no gradients, evaluation mode).
    """

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        model_name: str = "tiny",
        q_scale_init: float = 1.0,
        use_kv_cache: bool = True,
    ) -> None:
        lm, tokenizer = load_lm(model_name)
        check_token_spaces(
            observation_space,
            action_space,
            tokenizer.vocab_size,
            getattr(lm.config, "max_position_embeddings", None),
            model_outputs=output_size(lm),
            model_name=f"model {model_name!r}",
        )
        # net_arch=[] and features_dim=1: the parent's MLP is a placeholder, replaced by the LM head below.
        super().__init__(observation_space, action_space, features_extractor, 1, net_arch=[], normalize_images=False)
        self.model_name, self.q_scale_init, self.use_kv_cache = model_name, q_scale_init, use_kv_cache
        self.q_net = LMQHead(lm, q_scale_init, use_kv_cache)  # type: ignore[assignment]

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:  # type: ignore[override]
        return self.q_net(obs)

    def set_training_mode(self, mode: bool) -> None:
        if mode:
            self.q_net.states.reset()  # never act from keys of weights that an update replaced
        super().set_training_mode(mode)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in ("net_arch", "activation_fn", "normalize_images"):
            data.pop(key, None)
        data.update(model_name=self.model_name, q_scale_init=self.q_scale_init, use_kv_cache=self.use_kv_cache)
        return data


class LMDQNPolicy(DQNPolicy):
    """SB3 ``DQNPolicy`` whose Q-network and target are read from a causal LM, with sampling exploration.

    Args:
        observation_space: the token contract's ``Dict`` space.
        action_space: ``Discrete(vocab_size)`` of the model's tokenizer.
        lr_schedule: learning-rate schedule (DQN passes it).
        model_name: ``"tiny"``, a local folder or a Hugging Face id (see :func:`~tokengym.agents.load_lm`).
        temperature: Boltzmann temperature of exploratory tokens, ``softmax(Q / temperature)``. Q-values live on
            the scale of the returns, so a task whose tokens differ by 0.1 in return wants a temperature near
            0.05-0.1.
        top_k: sample exploratory tokens among the k best Q-values only (0: all).
        q_scale_init: ``alpha`` at initialisation; ``None`` (default): ``temperature``, so that the first
            exploratory tokens are samples of the LM's own distribution.
        use_kv_cache: act with the KV cache (rollouts and ``predict``); TD updates run in full.
        optimizer_class: the optimizer (SB3 convention).
        optimizer_kwargs: its keyword arguments. Adam and AdamW run fused (one kernel over all parameters)
            unless these choose ``fused`` or ``foreach``.

    ``predict(obs, deterministic=True)`` is greedy in Q. ``deterministic=False`` explores: each row samples
    from ``softmax(Q / temperature)`` with probability ``exploration_rate`` (an attribute, 1.0: pure sampling;
    :class:`TextDQN` applies its epsilon schedule's value for each of its calls) and is greedy otherwise.
    Dropout is off (``load_lm``).

    Example:
        >>> from stable_baselines3 import DQN
        >>> model = DQN(LMDQNPolicy, "TokenSubset-v0", buffer_size=10_000)   # doctest: +SKIP
    """

    q_net: LMQNetwork
    q_net_target: LMQNetwork

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        model_name: str = "tiny",
        temperature: float = 0.1,
        top_k: int = 0,
        q_scale_init: float | None = None,
        use_kv_cache: bool = True,
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, not {temperature!r}")
        if top_k < 0:
            raise ValueError(f"top_k must be >= 0 (0: all tokens), not {top_k!r}")
        if q_scale_init is not None and not q_scale_init > 0:
            raise ValueError(f"q_scale_init must be positive (or None for the temperature), not {q_scale_init!r}")
        self.model_name = str(model_name)
        self.temperature, self.top_k = float(temperature), int(top_k)
        self.q_scale_init = None if q_scale_init is None else float(q_scale_init)
        self.use_kv_cache = bool(use_kv_cache)
        self.exploration_rate = 1.0
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            net_arch=[],
            features_extractor_class=FlattenExtractor,
            normalize_images=False,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
        )

    def _build(self, lr_schedule: Schedule) -> None:
        super()._build(lr_schedule)
        # The target network only scores replay batches, rows it has never seen: the KV cache would encode each
        # afresh and keep it, for nothing (it made 256 token steps of DQN take three minutes). It runs in full.
        self.q_net_target.q_net.states.use_kv_cache = False
        # SB3's optimizer over the Q-network, made again (it has no state yet) so that Adam runs fused.
        self.optimizer = make_optimizer(
            self.optimizer_class, self.q_net.parameters(), lr_schedule(1), self.optimizer_kwargs
        )

    def make_q_net(self) -> LMQNetwork:
        return LMQNetwork(
            self.observation_space,
            self.action_space,  # type: ignore[arg-type]
            FlattenExtractor(self.observation_space),
            1,
            model_name=self.model_name,
            q_scale_init=self.temperature if self.q_scale_init is None else self.q_scale_init,
            use_kv_cache=self.use_kv_cache,
        ).to(self.device)

    def _predict(self, obs: dict[str, torch.Tensor], deterministic: bool = True) -> torch.Tensor:  # type: ignore[override]
        q_values = self.q_net(obs)
        greedy = q_values.argmax(-1)
        if deterministic or self.exploration_rate <= 0:
            return greedy
        sampled = sample_tokens(q_values / self.temperature, top_k=self.top_k)
        explore = torch.rand(len(greedy), device=greedy.device) < self.exploration_rate
        return torch.where(explore, sampled, greedy)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        for key in ("net_arch", "activation_fn", "features_extractor_class", "features_extractor_kwargs"):
            data.pop(key, None)
        data.pop("normalize_images", None)
        data.update(
            model_name=self.model_name,
            temperature=self.temperature,
            top_k=self.top_k,
            q_scale_init=self.q_scale_init,
            use_kv_cache=self.use_kv_cache,
        )
        return data


# --------------------------------------------------------------------------------------------- algorithm


class TextDQN(DQN):
    """SB3's DQN with exploration by sampling and a memory-checked replay buffer (same arguments as ``DQN``).

    - ``predict(obs, deterministic=False)`` (rollouts): each environment's token is exploratory with
      probability ``exploration_rate`` (SB3's linear schedule from ``exploration_initial_eps`` to
      ``exploration_final_eps``) and greedy otherwise; exploratory tokens are sampled from the policy's
      ``softmax(Q / temperature)`` instead of uniformly. Before ``learning_starts``, SB3's uniform warm-up is
      replaced by that sampling too (at the start: the LM's own distribution, see :class:`LMDQNPolicy`).
    - With ``Dict`` observations and no ``replay_buffer_class``, the buffer is
      :class:`~tokengym.agents.replay.MemoryCheckedReplayBuffer`: its size is checked against
      ``replay_buffer_kwargs["memory_budget_gb"]`` (default: the available RAM).
    - Action masks are refused with an explanation (``learn(..., use_masking=True)`` or
      ``predict(..., action_masks=...)``): DQN's target cannot honour them; use MaskablePPO.

    With a policy other than :class:`LMDQNPolicy` (one without sampling exploration), rollouts fall back to
    SB3's epsilon-greedy.
    """

    #: during ``collect_rollouts``, the step count below which ``predict`` explores at rate 1 (SB3's warm-up).
    _warm_up_until: int = 0

    def _setup_model(self) -> None:
        if self.replay_buffer_class is None and isinstance(self.observation_space, spaces.Dict):
            self.replay_buffer_class = MemoryCheckedReplayBuffer
        super()._setup_model()

    def _samples_text(self) -> bool:
        return isinstance(self.policy, LMDQNPolicy)

    def predict(  # type: ignore[override]
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        if action_masks is not None:
            raise ValueError(MASKS_UNSUPPORTED)
        if not self._samples_text():
            return super().predict(observation, state, episode_start, deterministic)
        warming_up = self.num_timesteps < self._warm_up_until
        rate = 1.0 if warming_up else self.exploration_rate
        return self._policy_predict(observation, state, episode_start, deterministic, rate)

    def _policy_predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None,
        episode_start: np.ndarray | None,
        deterministic: bool,
        exploration_rate: float,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """The policy's ``predict`` at ``exploration_rate``; the policy's own setting is left as it was."""
        policy = self.policy
        assert isinstance(policy, LMDQNPolicy)
        kept, policy.exploration_rate = policy.exploration_rate, exploration_rate
        try:
            return policy.predict(observation, state, episode_start, deterministic)
        finally:
            policy.exploration_rate = kept

    def collect_rollouts(
        self,
        env: VecEnv,
        callback: BaseCallback,
        train_freq: TrainFreq,
        replay_buffer: ReplayBuffer,
        action_noise: ActionNoise | None = None,
        learning_starts: int = 0,
        log_interval: int | None = None,
    ) -> RolloutReturn:
        """SB3's ``collect_rollouts``; with :class:`LMDQNPolicy`, the warm-up before ``learning_starts`` samples
        from the policy instead of drawing uniform tokens.

        SB3 draws warm-up actions inside its private ``_sample_action``. Rather than override that, this public
        method keeps the warm-up's end and hands SB3 ``learning_starts=0``: every step then goes through
        :meth:`predict`, which explores at rate 1 until the warm-up's end. In SB3 2.x (checked against 2.9)
        ``collect_rollouts`` uses ``learning_starts`` for nothing but the choice of warm-up actions; whether to
        train is decided in ``learn`` from ``self.learning_starts``, untouched.
        """
        if self._samples_text():
            self._warm_up_until, learning_starts = learning_starts, 0
        try:
            return super().collect_rollouts(
                env, callback, train_freq, replay_buffer, action_noise, learning_starts, log_interval
            )
        finally:
            self._warm_up_until = 0

    def learn(  # type: ignore[override]
        self: SelfTextDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "DQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
        use_masking: bool = False,
    ) -> SelfTextDQN:
        """SB3's ``learn``; ``use_masking=True`` (MaskablePPO's argument) is refused with an explanation."""
        if use_masking:
            raise ValueError(MASKS_UNSUPPORTED)
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)


__all__ = [
    "MASKS_UNSUPPORTED",
    "LMDQNPolicy",
    "LMQHead",
    "LMQNetwork",
    "TextDQN",
]
