"""MaskablePPO and TRPO with language-model policies: learnability, masks honoured, NLPO nucleus, packed masks."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sb3_contrib import TRPO, MaskablePPO
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm.buffers import EpisodeDictRolloutBuffer, EpisodeMaskableDictRolloutBuffer
from tokengym.agents.lm.maskable import MaskableLMActorCriticPolicy
from tokengym.agents.lm.nlpo import NLPOMaskCallback, nucleus_masks
from tokengym.agents.lm.policy import LMActorCriticPolicy
from tokengym.agents.lm.prefixes import last_token_states
from tokengym.agents.running.evaluate import evaluate_policy_text

VOCAB = 4096


def subset_return(policy, episodes=20):
    return evaluate_policy_text(policy, "TokenSubset-v0", seeds=range(1000, 1000 + episodes)).mean


def uniform_return(episodes=20, seed=0):
    rng = np.random.default_rng(seed)
    return evaluate_policy_text(_Uniform(rng), "TokenSubset-v0", seeds=range(1000, 1000 + episodes)).mean


class _Uniform:
    def __init__(self, rng):
        self.rng = rng

    def predict(self, obs, deterministic=False):
        return self.rng.integers(VOCAB), None


class RandomMasks(gym.Wrapper):
    """TokenSubset with a mask of 1 to 6 random tokens at every step (drawn from the env's own generator)."""

    def action_masks(self):
        rng = self.unwrapped.np_random
        mask = np.zeros(VOCAB, dtype=bool)
        mask[rng.integers(0, VOCAB, size=int(rng.integers(1, 7)))] = True
        return mask


def _maskable(micro_lm, n_envs=2, n_steps=16, masked=True, seed=0, **kwargs):
    venv = make_vec_env("TokenSubset-v0", n_envs=n_envs, seed=seed, wrapper_class=RandomMasks if masked else None)
    return MaskablePPO(
        MaskableLMActorCriticPolicy,
        venv,
        n_steps=n_steps,
        batch_size=n_steps * n_envs,
        n_epochs=1,
        seed=seed,
        rollout_buffer_class=EpisodeMaskableDictRolloutBuffer,
        **{"policy_kwargs": {"model_name": micro_lm}, **kwargs},
    )


def _collect(model, callback=None, use_masking=True, reset=True):
    """One rollout into the model's buffer, as ``learn`` collects it (``reset=False``: resume the episodes)."""
    _, cb = model._setup_learn(model.n_steps * model.n_envs, callback, reset_num_timesteps=reset)
    cb.on_training_start(locals(), globals())
    masking = {"use_masking": use_masking} if isinstance(model, MaskablePPO) else {}
    model.collect_rollouts(model.env, cb, model.rollout_buffer, model.n_steps, **masking)
    return model.rollout_buffer, cb


def _flat_obs(buf):
    return {k: torch.as_tensor(v.reshape(-1, v.shape[-1])) for k, v in buf.observations.items()}


# ----------------------------------------------------------------------------------------------- learning


@pytest.mark.slow
@pytest.mark.parametrize("nlpo", [False, True], ids=["plain", "nlpo"])
def test_maskable_lm_policy_learns_the_toy_token_task(nlpo, micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=4, seed=0)
    model = MaskablePPO(
        MaskableLMActorCriticPolicy,
        venv,
        n_steps=32,
        batch_size=64,
        n_epochs=4,
        learning_rate=3e-3,
        seed=0,
        rollout_buffer_class=EpisodeMaskableDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    random_return = uniform_return()
    callback = NLPOMaskCallback(top_p=0.9, update_every=2) if nlpo else None
    model.learn(6_000, callback=callback, use_masking=False)  # TokenSubset has no masks of its own
    after = subset_return(model.policy)
    assert 0.35 < random_return < 0.65
    assert after > random_return + 0.25, (random_return, after)
    if nlpo:
        assert model.policy.acting_mask_fn is None  # the nucleus restricts training rollouts only
        assert model.logger.name_to_value["rollout/nlpo_allowed_tokens"] < VOCAB


@pytest.mark.slow
def test_trpo_trains_the_lm_policy_on_the_toy_token_task(micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=4, seed=0)
    model = TRPO(
        LMActorCriticPolicy,
        venv,
        n_steps=32,
        batch_size=128,
        learning_rate=3e-3,
        target_kl=0.3,
        cg_max_steps=3,
        n_critic_updates=2,
        seed=0,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    random_return = uniform_return()
    model.learn(2_560)
    after = subset_return(model.policy)
    assert after > random_return + 0.15, (random_return, after)
    assert model.logger.name_to_value["train/is_line_search_success"] > 0


def test_trpo_rollouts_never_reuse_keys_of_replaced_weights(micro_lm):
    """TRPO assigns new tensors to ``param.data``: the next rollout's log-probabilities are still exact."""
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0)
    model = TRPO(
        LMActorCriticPolicy,
        venv,
        n_steps=12,  # not a multiple of the episode length: the next rollout resumes mid-episode
        batch_size=24,
        target_kl=0.5,
        cg_max_steps=2,
        n_critic_updates=1,
        seed=0,
        policy_kwargs={"model_name": micro_lm},
    )
    model.learn(24)
    assert model.logger.name_to_value["train/is_line_search_success"] == 1  # the weights did change
    buf, _ = _collect(model, reset=False)
    model.policy.set_training_mode(True)
    with torch.no_grad():
        _, log_probs, _ = model.policy.evaluate_actions(_flat_obs(buf), torch.as_tensor(buf.actions.reshape(-1)))
    np.testing.assert_allclose(log_probs.numpy(), buf.log_probs.reshape(-1), atol=1e-5)


# ------------------------------------------------------------------------------------------------- masks


def test_rollouts_sample_only_allowed_tokens_and_store_the_env_masks(micro_lm):
    model = _maskable(micro_lm, n_envs=3, n_steps=24)
    buf, _ = _collect(model)
    masks = buf.unpacked_action_masks().reshape(-1, VOCAB)
    actions = buf.actions.reshape(-1).astype(int)
    assert masks[np.arange(len(actions)), actions].all()
    assert (masks.sum(-1) <= 6).all() and (masks.sum(-1) >= 1).all()  # the env's masks, not all-ones


@pytest.fixture(scope="module")
def masked_policy(micro_lm):
    return _maskable(micro_lm, n_envs=1, n_steps=8).policy


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    allowed=st.sets(st.integers(0, VOCAB - 1), min_size=1, max_size=5),
    deterministic=st.booleans(),
    temperature=st.sampled_from([0.3, 1.0, 5.0]),
    top_k=st.sampled_from([0, 1, 3, 50]),
    top_p=st.sampled_from([1.0, 0.5]),
    seed=st.integers(0, 1000),
)
def test_predict_never_returns_a_masked_token(masked_policy, allowed, deterministic, temperature, top_k, top_p, seed):
    policy = masked_policy
    policy.temperature, policy.top_k, policy.top_p = temperature, top_k, top_p
    obs, _ = gym.make("TokenSubset-v0").reset(seed=seed)
    mask = np.zeros(VOCAB, dtype=bool)
    mask[sorted(allowed)] = True
    torch.manual_seed(seed)
    for _ in range(3):
        action, _ = policy.predict(obs, deterministic=deterministic, action_masks=mask)
        assert int(action) in allowed
    batch = {k: np.stack([v, v]) for k, v in obs.items()}
    actions, _ = policy.predict(batch, deterministic=deterministic, action_masks=np.stack([mask, mask]))
    assert set(actions.tolist()) <= allowed


def test_an_empty_mask_is_refused(masked_policy):
    obs, _ = gym.make("TokenSubset-v0").reset(seed=0)
    with pytest.raises(ValueError, match="allows no token"):
        masked_policy.predict(obs, action_masks=np.zeros(VOCAB, dtype=bool))


@pytest.mark.parametrize(
    ("env_masks", "nlpo"), [(True, False), (True, True), (False, True)], ids=["env", "env+nlpo", "nlpo"]
)
def test_stored_log_probs_equal_the_training_pass_under_masks(env_masks, nlpo, micro_lm):
    model = _maskable(micro_lm, n_envs=2, n_steps=20, masked=env_masks)
    buf, _ = _collect(model, NLPOMaskCallback(top_p=0.5) if nlpo else None, use_masking=env_masks)
    assert buf.unpacked_action_masks().sum(-1).max() < VOCAB  # the masks bite
    obs, actions = _flat_obs(buf), torch.as_tensor(buf.actions.reshape(-1))
    masks = torch.as_tensor(buf.unpacked_action_masks().reshape(-1, VOCAB))
    model.policy.set_training_mode(True)
    with torch.no_grad():
        values, log_probs, _ = model.policy.evaluate_actions(obs, actions, action_masks=masks)
    np.testing.assert_allclose(log_probs.numpy(), buf.log_probs.reshape(-1), atol=1e-5)
    np.testing.assert_allclose(values.numpy().reshape(-1), buf.values.reshape(-1), atol=1e-5)
    # And through the buffer's own minibatches (episode order, unpacked per minibatch), as MaskablePPO trains.
    for batch in buf.get(16):
        with torch.no_grad():
            _, lp, _ = model.policy.evaluate_actions(
                batch.observations, batch.actions.long().flatten(), action_masks=batch.action_masks
            )
        np.testing.assert_allclose(lp.numpy(), batch.old_log_prob.numpy(), atol=1e-5)


# -------------------------------------------------------------------------------------------------- NLPO


def test_nlpo_masks_allow_only_the_frozen_copys_nucleus_and_follow_the_policy(micro_lm):
    model = _maskable(micro_lm, n_envs=2, n_steps=16, masked=False, learning_rate=3e-2)
    callback = NLPOMaskCallback(top_p=0.6, update_every=2)
    model.learn(32, callback=callback, use_masking=False)  # one rollout and one update: the policy moved
    start = {k: v.clone() for k, v in callback.frozen.state_dict().items()}
    assert any(not torch.equal(start[k], v) for k, v in model.policy.lm.state_dict().items())

    def check_rollout():
        buf, cb = _collect(model, callback, use_masking=False)
        masks = buf.unpacked_action_masks().reshape(-1, VOCAB)
        obs = _flat_obs(buf)
        with torch.no_grad():
            logits, _ = last_token_states(callback.frozen, obs)
        expected = nucleus_masks(logits, 0.6).numpy()
        np.testing.assert_array_equal(masks, expected)
        actions = buf.actions.reshape(-1).astype(int)
        assert masks[np.arange(len(actions)), actions].all()
        assert masks.sum(-1).min() >= 1 and masks.sum(-1).max() < VOCAB  # the nucleus bites
        return cb

    check_rollout()  # second rollout: the copy is still the starting model
    assert all(torch.equal(start[k], v) for k, v in callback.frozen.state_dict().items())
    policy_now = {k: v.clone() for k, v in model.policy.lm.state_dict().items()}
    check_rollout()  # third rollout: refreshed at its start (every 2 rollouts)
    assert all(torch.equal(policy_now[k], v) for k, v in callback.frozen.state_dict().items())


def test_nlpo_nucleus_lies_inside_the_env_mask_and_is_never_empty(micro_lm):
    model = _maskable(micro_lm, n_envs=2, n_steps=16)
    callback = NLPOMaskCallback(top_p=0.3)
    buf, _ = _collect(model, callback)
    masks = buf.unpacked_action_masks().reshape(-1, VOCAB)
    assert (masks.sum(-1) >= 1).all() and (masks.sum(-1) <= 6).all()
    logits = torch.randn(3, VOCAB)
    allowed = torch.zeros(3, VOCAB, dtype=torch.bool)
    allowed[:, [7, 9, 11]] = True
    keep = nucleus_masks(logits, 0.01, allowed)
    assert (keep & ~allowed).sum() == 0 and keep.sum(-1).tolist() == [1, 1, 1]
    assert keep[torch.arange(3), logits.masked_fill(~allowed, -1e9).argmax(-1)].all()


def test_nlpo_needs_the_maskable_lm_policy(micro_lm):
    model = PPO(LMActorCriticPolicy, "TokenSubset-v0", n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm})
    with pytest.raises(ValueError, match="MaskableLMActorCriticPolicy"):
        model.learn(8, callback=NLPOMaskCallback())
    with pytest.raises(ValueError, match="top_p must be in"):
        NLPOMaskCallback(top_p=0)
    with pytest.raises(ValueError, match="update_every"):
        NLPOMaskCallback(update_every=0)


# ------------------------------------------------------------------------------------ determinism, saving


def test_same_seed_same_actions_and_save_load_roundtrip(micro_lm, tmp_path):
    def train(seed):
        model = _maskable(micro_lm, n_envs=1, n_steps=16, seed=seed)
        model.learn(32)
        return model

    a, b = train(3), train(3)
    env = RandomMasks(gym.make("TokenSubset-v0"))
    obs, _ = env.reset(seed=5)
    mask = env.action_masks() | (np.arange(VOCAB) % 3 == 0)
    torch.manual_seed(0)
    acts_a = [int(a.predict(obs, action_masks=mask)[0]) for _ in range(5)]
    torch.manual_seed(0)
    acts_b = [int(b.predict(obs, action_masks=mask)[0]) for _ in range(5)]
    assert acts_a == acts_b and all(mask[acts_a])
    a.save(tmp_path / "model.zip")
    loaded = MaskablePPO.load(tmp_path / "model.zip")
    assert isinstance(loaded.policy, MaskableLMActorCriticPolicy)
    for seed in range(5):
        obs, _ = env.reset(seed=seed)
        mask = env.action_masks()
        assert (
            a.predict(obs, deterministic=True, action_masks=mask)[0]
            == loaded.predict(obs, deterministic=True, action_masks=mask)[0]
        )
        assert a.predict(obs, deterministic=True)[0] == loaded.predict(obs, deterministic=True)[0]
    for p, q in zip(a.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_maskable_policy_refuses_ortho_init(micro_lm):
    with pytest.raises(ValueError, match="ortho_init=True would re-initialise"):
        _maskable(micro_lm, policy_kwargs={"model_name": micro_lm, "ortho_init": True})


# ---------------------------------------------------------------------------------------- packed masks


def test_packed_masks_round_trip_per_minibatch_and_take_32x_less_memory():
    env = gym.make("TokenSubset-v0")
    args = (64, env.observation_space, env.action_space)
    packed = EpisodeMaskableDictRolloutBuffer(*args, n_envs=4)
    plain = MaskableDictRolloutBuffer(*args, n_envs=4)
    assert plain.action_masks.nbytes == 32 * packed.action_masks.nbytes == 64 * 4 * VOCAB * 4
    rng = np.random.default_rng(0)
    stored = rng.random((64, 4, VOCAB)) < 0.3
    obs = {k: np.zeros((4, *s.shape), s.dtype) for k, s in env.observation_space.items()}
    starts = np.zeros(4)
    for step in range(64):
        obs["input_ids"][:, 0], obs["input_ids"][:, 1] = step, np.arange(4)  # where each row came from
        mask = stored[step] if step % 2 else stored[step].astype(np.float32)  # bools or floats
        packed.add(obs, np.zeros((4, 1)), np.zeros(4), starts, torch.zeros(4), torch.zeros(4), action_masks=mask)
        starts = (rng.random(4) < 0.2).astype(float)
    packed.compute_returns_and_advantage(torch.zeros(4), np.zeros(4))
    np.testing.assert_array_equal(packed.unpacked_action_masks(), stored)
    seen = 0
    for batch in packed.get(48):
        step, env_index = batch.observations["input_ids"][:, :2].long().numpy().T
        assert batch.action_masks.dtype == torch.float32
        np.testing.assert_array_equal(batch.action_masks.numpy() != 0, stored[step, env_index])
        seen += len(step)
    assert seen == 256
