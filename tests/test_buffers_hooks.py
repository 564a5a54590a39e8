"""Step shapers: the buffers' hook through which the KL penalty and NLPO's masks enter a rollout."""

import copy
import tracemalloc

import gymnasium as gym
import numpy as np
import pytest
import torch
from sb3_contrib import MaskablePPO
from stable_baselines3 import PPO
from stable_baselines3.common.buffers import DictRolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm.buffers import (
    EpisodeDictRolloutBuffer,
    EpisodeMaskableDictRolloutBuffer,
    PackedMaskableDictRolloutBuffer,
    RolloutStep,
)
from tokengym.agents.lm.kl import KLPenaltyCallback
from tokengym.agents.lm.maskable import MaskableLMActorCriticPolicy
from tokengym.agents.lm.nlpo import NLPOMaskCallback, nucleus_masks
from tokengym.agents.lm.policy import LMActorCriticPolicy
from tokengym.agents.lm.prefixes import last_token_states

VOCAB = 4096
COEF = 0.5


def _obs_batch(space, n_envs, fill=0):
    return {k: np.full((n_envs, *s.shape), fill, s.dtype) for k, s in space.items()}


# ------------------------------------------------------------------------------------------ the hook itself


def test_shapers_run_in_order_on_copies_and_stay_across_resets():
    env = gym.make("TokenSubset-v0")
    buffer = EpisodeDictRolloutBuffer(4, env.observation_space, env.action_space, n_envs=2)
    seen = []

    def double(step: RolloutStep) -> None:
        seen.append(("double", step.reward.copy(), step.action_masks))
        step.reward *= 2  # in place: the buffer's copy, not the caller's array

    def minus_one(step: RolloutStep) -> None:
        seen.append(("minus_one", step.reward.copy(), None))
        step.reward = step.reward - 1

    buffer.add_step_shaper(double)
    buffer.add_step_shaper(minus_one)
    buffer.add_step_shaper(double)  # a second registration is ignored
    assert buffer.step_shapers == (double, minus_one)
    rewards = np.array([1.0, 3.0], dtype=np.float32)
    obs = _obs_batch(env.observation_space, 2)
    buffer.add(obs, np.zeros((2, 1)), rewards, np.ones(2), torch.zeros(2, 1), torch.zeros(2))
    np.testing.assert_array_equal(rewards, [1.0, 3.0])  # the algorithm's array is left alone
    np.testing.assert_array_equal(buffer.rewards[0], [1.0, 5.0])
    assert [name for name, _, _ in seen] == ["double", "minus_one"]
    np.testing.assert_array_equal(seen[1][1], [2.0, 6.0])
    buffer.reset()  # every rollout starts with one: the shapers stay
    assert buffer.step_shapers == (double, minus_one)
    buffer.remove_step_shaper(double)
    buffer.remove_step_shaper(double)  # removing twice does nothing
    buffer.add(obs, np.zeros((2, 1)), rewards, np.ones(2), torch.zeros(2, 1), torch.zeros(2))
    np.testing.assert_array_equal(buffer.rewards[0], [0.0, 2.0])
    with pytest.raises(TypeError, match="a step shaper is a callable"):
        buffer.add_step_shaper("not callable")


def test_masks_set_by_a_shaper_are_the_ones_stored():
    env = gym.make("TokenSubset-v0")
    allowed = np.zeros((2, VOCAB), dtype=bool)
    allowed[0, [3, 5]] = True
    allowed[1, 7] = True

    def restrict(step: RolloutStep) -> None:
        step.action_masks = allowed if step.action_masks is None else step.action_masks & allowed

    packed = PackedMaskableDictRolloutBuffer(2, env.observation_space, env.action_space, n_envs=2)
    packed.add_step_shaper(restrict)
    obs = _obs_batch(env.observation_space, 2)
    step = (obs, np.zeros((2, 1)), np.zeros(2), np.ones(2), torch.zeros(2, 1), torch.zeros(2))
    packed.add(*step)  # no env masks (MaskablePPO's use_masking=False)
    env_masks = np.ones((2, VOCAB), dtype=bool)
    env_masks[0, 5] = False
    packed.add(*step, action_masks=env_masks)
    np.testing.assert_array_equal(packed.unpacked_action_masks(0), allowed)
    np.testing.assert_array_equal(packed.unpacked_action_masks(1), allowed & env_masks)
    assert env_masks.sum() == 2 * VOCAB - 1  # the algorithm's array is left alone

    plain = EpisodeDictRolloutBuffer(2, env.observation_space, env.action_space, n_envs=2)
    plain.add_step_shaper(restrict)
    with pytest.raises(ValueError, match="stores no action masks"):
        plain.add(*step)


# ------------------------------------------------------------------------------------------- packed reset


class _ResetRecorder(DictRolloutBuffer):
    """A class that the packed buffer's reset chain must reach (it sits between sb3-contrib's buffer and SB3's)."""

    def reset(self) -> None:
        self.resets = getattr(self, "resets", 0) + 1
        super().reset()


class _RecordedPackedBuffer(PackedMaskableDictRolloutBuffer, _ResetRecorder):
    pass


def test_packed_reset_runs_the_rest_of_the_chain_without_the_float32_masks():
    env = gym.make("TokenSubset-v0")
    buffer = _RecordedPackedBuffer(64, env.observation_space, env.action_space, n_envs=4)
    assert buffer.resets == 1  # BaseBuffer's constructor resets once
    obs = _obs_batch(env.observation_space, 4, fill=1)
    masks = np.zeros((4, VOCAB), dtype=bool)
    masks[:, 0] = True
    buffer.add(obs, np.ones((4, 1)), np.ones(4), np.ones(4), torch.ones(4, 1), torch.ones(4), action_masks=masks)
    float_masks = 64 * 4 * VOCAB * 4  # what sb3-contrib's reset would allocate
    tracemalloc.start()
    try:
        buffer.reset()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < float_masks / 4, peak
    assert buffer.resets == 2
    assert (buffer.pos, buffer.full, buffer.generator_ready) == (0, False, False)
    assert buffer.action_masks.dtype == np.uint8 and buffer.action_masks.nbytes * 32 == float_masks
    assert buffer.unpacked_action_masks().all()  # every action allowed until a mask arrives
    assert not buffer.rewards.any() and not buffer.observations["input_ids"].any()


# --------------------------------------------------------------------------------------------- KL penalty


class _PenaltyInLocals(BaseCallback):
    """The penalty as it was applied before step shapers: ``on_step`` edits ``collect_rollouts``' rewards in place,
    before the algorithm bootstraps time-limit truncations into them."""

    def _init_callback(self) -> None:
        self.reference = copy.deepcopy(self.model.policy.lm)

    def _on_step(self) -> bool:
        obs, log_probs, rewards = self.locals["obs_tensor"], self.locals["log_probs"], self.locals["rewards"]
        actions = torch.as_tensor(self.locals["actions"].reshape(-1, 1)).long()
        with torch.no_grad():
            logits, _ = last_token_states(self.reference, obs)
        ref = torch.log_softmax(logits, -1).gather(-1, actions).squeeze(-1)
        rewards -= (COEF * (log_probs.reshape(-1) - ref).numpy()).astype(rewards.dtype)
        return True


def _truncating_rollout(micro_lm, callback):
    """One rollout of TokenSubset cut by a 3-step time limit (bootstrapped with a value near 1), drifted policy."""
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0, env_kwargs={"max_episode_steps": 3})
    model = PPO(
        LMActorCriticPolicy,
        venv,
        n_steps=12,
        batch_size=24,
        seed=0,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    reference = copy.deepcopy(model.policy.lm)
    _, cb = model._setup_learn(24, callback)
    cb.on_training_start(locals(), globals())
    with torch.no_grad():
        weight = model.policy.lm.get_output_embeddings().weight
        weight.add_(torch.randn(weight.shape, generator=torch.Generator().manual_seed(1)))
        model.policy.value_net[2].bias.fill_(1.0)
    model.collect_rollouts(model.env, cb, model.rollout_buffer, n_rollout_steps=12)
    return model.rollout_buffer, reference


def test_stored_rewards_are_the_env_rewards_less_an_independently_computed_penalty(micro_lm):
    plain, reference = _truncating_rollout(micro_lm, None)
    kl = KLPenaltyCallback(kl_coef=COEF)
    shaped, _ = _truncating_rollout(micro_lm, kl)
    in_locals, _ = _truncating_rollout(micro_lm, _PenaltyInLocals())
    np.testing.assert_array_equal(plain.actions, shaped.actions)  # same seed, same samples
    np.testing.assert_array_equal(plain.actions, in_locals.actions)
    # TokenSubset pays multiples of 1/8: anything else is a time-limit step with gamma * V(terminal) added.
    bootstrapped = np.abs(plain.rewards * 8 - np.round(plain.rewards * 8)) > 1e-3
    assert bootstrapped.sum() >= 4, "the rollout must cross time-limit truncations"
    obs = {k: torch.as_tensor(v.reshape(-1, v.shape[-1])) for k, v in plain.observations.items()}
    with torch.no_grad():
        logits, _ = last_token_states(reference, obs)
    ref = torch.log_softmax(logits, -1).gather(-1, torch.as_tensor(plain.actions.reshape(-1, 1)).long()).squeeze(-1)
    penalty = COEF * (shaped.log_probs.reshape(-1) - ref.numpy()).reshape(shaped.rewards.shape)
    assert np.abs(penalty).mean() > 0.05, "the drifted policy is far from its reference: the penalty must bite"
    np.testing.assert_allclose(shaped.rewards, plain.rewards - penalty, atol=1e-5)
    # The penalty added after the bootstrap stores what the one edited in before it stored: sums commute.
    np.testing.assert_allclose(shaped.rewards, in_locals.rewards, atol=1e-5)
    np.testing.assert_allclose(shaped.rewards[bootstrapped], in_locals.rewards[bootstrapped], atol=1e-5)
    assert kl.logger.name_to_value["rewards/kl"] == pytest.approx(penalty.mean() / COEF, rel=1e-4)
    assert kl.logger.name_to_value["rewards/kl_penalty"] == pytest.approx(-penalty.mean(), rel=1e-4)


# ---------------------------------------------------------------------------------------------- NLPO masks


class _EveryThirdBanned(gym.Wrapper):
    """TokenSubset with a fixed mask: token ids divisible by 3 are never allowed."""

    def action_masks(self):
        return np.arange(VOCAB) % 3 != 0


@pytest.mark.parametrize("env_masks", [True, False], ids=["env-masks", "no-env-masks"])
def test_stored_and_trained_masks_are_the_frozen_copys_nucleus(env_masks, micro_lm):
    wrapper = _EveryThirdBanned if env_masks else None
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0, wrapper_class=wrapper)
    model = MaskablePPO(
        MaskableLMActorCriticPolicy,
        venv,
        n_steps=16,
        batch_size=32,
        seed=0,
        rollout_buffer_class=EpisodeMaskableDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    callback = NLPOMaskCallback(top_p=0.5)
    _, cb = model._setup_learn(32, callback)
    cb.on_training_start(locals(), globals())
    model.collect_rollouts(model.env, cb, model.rollout_buffer, model.n_steps, use_masking=env_masks)
    buf = model.rollout_buffer
    allowed = torch.as_tensor(np.arange(VOCAB) % 3 != 0) if env_masks else None

    def nucleus(observations):
        with torch.no_grad():
            logits, _ = last_token_states(callback.frozen, observations)
        rows = None if allowed is None else allowed.expand(len(logits), -1)
        return nucleus_masks(logits, 0.5, rows).numpy()

    obs = {k: torch.as_tensor(v.reshape(-1, v.shape[-1])) for k, v in buf.observations.items()}
    stored = buf.unpacked_action_masks().reshape(-1, VOCAB)
    np.testing.assert_array_equal(stored, nucleus(obs))
    assert stored.sum(-1).max() < (VOCAB * 2) // 3  # the nucleus bites, inside the env's mask
    for batch in buf.get(8):  # what MaskablePPO's update trains with
        np.testing.assert_array_equal(batch.action_masks.numpy() != 0, nucleus(batch.observations))


# ------------------------------------------------------------------------------------ lifetime and errors


class _ShaperProbe(BaseCallback):
    """Records the buffer's shapers at every step, and what was logged when a rollout ends."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple] = []
        self.logged: dict[str, float] = {}

    def _on_step(self) -> bool:
        self.seen.append(self.model.rollout_buffer.step_shapers)
        return True

    def _on_rollout_end(self) -> None:
        self.logged = dict(self.logger.name_to_value)


def test_callbacks_hook_in_for_learn_and_leave_nothing_installed(micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0)
    model = MaskablePPO(
        MaskableLMActorCriticPolicy,
        venv,
        n_steps=8,
        batch_size=16,
        n_epochs=1,
        seed=0,
        rollout_buffer_class=EpisodeMaskableDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    kl, nlpo, probe = KLPenaltyCallback(kl_coef=0.1, target_kl=0.05), NLPOMaskCallback(top_p=0.9), _ShaperProbe()
    for _ in range(2):  # a second learn with the same callbacks hooks them in once again, not twice
        model.learn(16, callback=[kl, nlpo, probe], use_masking=False, reset_num_timesteps=False)
        assert probe.seen and all(seen == (kl.penalise, nlpo.store_masks) for seen in probe.seen)
        assert model.rollout_buffer.step_shapers == ()
        assert model.policy.acting_mask_fn is None
        probe.seen.clear()
    assert {"rewards/kl", "rewards/kl_penalty", "train/kl_coef", "rollout/nlpo_allowed_tokens"} <= set(probe.logged)
    assert kl.state()["kl_coef"] == probe.logged["train/kl_coef"] != 0.1  # the controller adapted

    class Stop(BaseCallback):
        def _on_step(self) -> bool:
            return False  # a callback that stops the rollout: learn still ends training

    model.learn(16, callback=[kl, nlpo, Stop()], use_masking=False)
    assert model.rollout_buffer.step_shapers == () and model.policy.acting_mask_fn is None
    KLPenaltyCallback().detach()  # nothing to remove before training: no error
    NLPOMaskCallback().detach()


def test_a_buffer_without_step_shapers_is_refused_with_the_buffers_to_use(micro_lm):
    ppo = PPO(LMActorCriticPolicy, "TokenSubset-v0", n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm})
    with pytest.raises(ValueError, match=r"DictRolloutBuffer has none.*rollout_buffer_class=EpisodeDictRolloutBuffer"):
        ppo.learn(8, callback=KLPenaltyCallback())
    maskable = MaskablePPO(
        MaskableLMActorCriticPolicy, "TokenSubset-v0", n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm}
    )
    callback = NLPOMaskCallback()
    with pytest.raises(ValueError, match=r"MaskableDictRolloutBuffer has none.*EpisodeMaskableDictRolloutBuffer"):
        maskable.learn(8, callback=callback, use_masking=False)
    assert maskable.policy.acting_mask_fn is None and callback.frozen is None  # refused before anything changed
    no_masks = MaskablePPO(
        MaskableLMActorCriticPolicy,
        "TokenSubset-v0",
        n_steps=8,
        batch_size=8,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    with pytest.raises(ValueError, match="rollout_buffer_class=EpisodeMaskableDictRolloutBuffer"):
        no_masks.learn(8, callback=NLPOMaskCallback(), use_masking=False)
