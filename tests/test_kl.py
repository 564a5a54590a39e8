"""KL control: the penalty against a frozen reference and its adaptive coefficient."""

import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm.buffers import EpisodeDictRolloutBuffer
from tokengym.agents.lm.kl import KLController, KLPenaltyCallback
from tokengym.agents.lm.policy import LMActorCriticPolicy


def test_controller_adapts_toward_the_target_and_stays_fixed_without_one():
    up = KLController(0.1, target=0.05, horizon=1000)
    assert up.update(0.5, 1000) == pytest.approx(0.12)  # error clipped at +20%
    down = KLController(0.1, target=0.05, horizon=1000)
    assert down.update(0.045, 500) == pytest.approx(0.1 * (1 - 0.1 * 0.5))
    fixed = KLController(0.1)
    assert fixed.update(10.0, 10_000) == 0.1
    with pytest.raises(ValueError, match="kl_coef must be >= 0"):
        KLController(-1)
    with pytest.raises(ValueError, match="target_kl must be positive"):
        KLController(0.1, target=0)


def _rollout(micro_lm, callback, drift):
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0)
    model = PPO(
        LMActorCriticPolicy,
        venv,
        n_steps=16,
        batch_size=16,
        seed=0,
        rollout_buffer_class=EpisodeDictRolloutBuffer,  # the penalty is a step shaper of tokengym's buffers
        policy_kwargs={"model_name": micro_lm},
    )
    _, cb = model._setup_learn(32, callback)
    cb.init_callback(model)  # the reference is copied from the starting weights here
    if drift:
        with torch.no_grad():
            model.policy.lm.get_output_embeddings().weight.add_(torch.randn_like(model.policy.lm.lm_head.weight))
    model.collect_rollouts(model.env, cb, model.rollout_buffer, n_rollout_steps=16)
    return model


def test_penalty_lowers_the_reward_of_a_drifting_policy_by_coef_times_kl(micro_lm):
    plain = _rollout(micro_lm, None, drift=True).rollout_buffer
    kl = KLPenaltyCallback(kl_coef=0.5)
    penalised = _rollout(micro_lm, kl, drift=True).rollout_buffer
    np.testing.assert_array_equal(plain.actions, penalised.actions)  # same seed, same samples
    gap = plain.rewards - penalised.rewards
    assert gap.mean() > 0.05, "a drifted policy is far from its reference: the penalty must bite"
    assert kl.logger.name_to_value["rewards/kl"] == pytest.approx(gap.mean() / 0.5, rel=1e-4)
    assert kl.logger.name_to_value["train/kl_coef"] == 0.5


def test_no_drift_no_penalty(micro_lm):
    plain = _rollout(micro_lm, None, drift=False).rollout_buffer
    penalised = _rollout(micro_lm, KLPenaltyCallback(kl_coef=0.5), drift=False).rollout_buffer
    np.testing.assert_allclose(plain.rewards, penalised.rewards, atol=1e-5)


def test_penalty_needs_a_language_model_policy():
    venv = make_vec_env("CartPole-v1", n_envs=1)
    model = PPO("MlpPolicy", venv, n_steps=8, batch_size=8)
    with pytest.raises(ValueError, match="needs a language-model policy"):
        model.learn(8, callback=KLPenaltyCallback())
