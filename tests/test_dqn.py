"""DQN with a language-model Q-network: learnability, the Q head, text exploration, replay memory, masks."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm.dqn import LMDQNPolicy, LMQNetwork, TextDQN
from tokengym.agents.lm.loading import load_lm
from tokengym.agents.lm.prefixes import last_token_states
from tokengym.agents.replay import LMReplayBuffer, check_replay_memory
from tokengym.agents.running.evaluate import evaluate_policy_text

VOCAB = 4096


def _dqn(micro_lm, n_envs=1, seed=0, policy_kwargs=None, **kwargs):
    venv = make_vec_env("TokenSubset-v0", n_envs=n_envs, seed=seed)
    args = {"buffer_size": 2_000, "learning_starts": 16, "batch_size": 16, "seed": seed, **kwargs}
    return TextDQN(LMDQNPolicy, venv, policy_kwargs={"model_name": micro_lm, **(policy_kwargs or {})}, **args)


def _obs_batch(seeds):
    rows = [gym.make("TokenSubset-v0").reset(seed=s)[0] for s in seeds]
    return {k: torch.as_tensor(np.stack([r[k] for r in rows])) for k in rows[0]}


@pytest.mark.slow
def test_text_dqn_learns_the_toy_token_task(micro_lm):
    model = _dqn(
        micro_lm,
        n_envs=4,
        buffer_size=10_000,
        learning_starts=100,
        batch_size=32,
        learning_rate=1e-3,
        target_update_interval=200,
        exploration_fraction=0.5,
        exploration_final_eps=0.1,
        replay_buffer_kwargs={"memory_budget_gb": 0.5},
    )
    seeds = range(1000, 1020)
    rng = np.random.default_rng(0)

    class Uniform:
        def predict(self, obs, deterministic=False):
            return rng.integers(VOCAB), None

    random_return = evaluate_policy_text(Uniform(), "TokenSubset-v0", seeds=seeds).mean
    model.learn(1_600)
    greedy = evaluate_policy_text(model.policy, "TokenSubset-v0", seeds=seeds, deterministic=True).mean
    assert 0.35 < random_return < 0.65
    assert greedy > random_return + 0.25, (random_return, greedy)


def test_q_values_are_a_value_plus_scaled_lm_log_probs_plus_a_token_bias(micro_lm):
    model = _dqn(micro_lm, policy_kwargs={"temperature": 0.2})
    q_net = model.policy.q_net
    assert isinstance(q_net, LMQNetwork) and isinstance(model.policy.q_net_target, LMQNetwork)
    head = q_net.q_net
    obs = _obs_batch(range(4))
    with torch.no_grad():
        head.value.bias.fill_(0.3)
        head.token_bias[7] = 2.0
        q = q_net(obs)
        logits, hidden = last_token_states(head.lm, obs)
        expected = 0.3 + 0.2 * torch.log_softmax(logits, -1) + head.token_bias
    torch.testing.assert_close(q, expected, atol=1e-5, rtol=1e-5)
    q_net.set_training_mode(False)
    with torch.no_grad():  # the cached acting path reads the same values
        torch.testing.assert_close(q_net(obs), q, atol=1e-5, rtol=1e-5)


def test_exploration_starts_as_the_lms_own_sampling(micro_lm):
    model = _dqn(micro_lm, policy_kwargs={"temperature": 0.05})
    obs = _obs_batch([3])
    with torch.no_grad():
        q = model.policy.q_net(obs)
        logits, _ = last_token_states(load_lm(micro_lm)[0], obs)
    # softmax(Q / temperature) with alpha = temperature and zero value and bias: the LM's distribution.
    torch.testing.assert_close(torch.softmax(q / 0.05, -1), torch.softmax(logits, -1), atol=1e-6, rtol=1e-4)


def test_exploratory_tokens_follow_softmax_q_not_a_uniform_draw(micro_lm):
    model = _dqn(micro_lm, learning_starts=1_000, policy_kwargs={"temperature": 0.1})
    with torch.no_grad():
        model.policy.q_net.q_net.token_bias[[5, 7]] = 2.0  # e^20 over every other token at temperature 0.1
    obs, _ = gym.make("TokenSubset-v0").reset(seed=0)
    model.exploration_rate = 1.0
    torch.manual_seed(0)
    sampled = {int(model.predict(obs)[0]) for _ in range(30)}
    assert sampled == {5, 7}  # a uniform draw would almost never hit 5 or 7
    model.exploration_rate = 0.0
    greedy = int(model.predict(obs, deterministic=True)[0])
    assert greedy in (5, 7) and {int(model.predict(obs)[0]) for _ in range(5)} == {greedy}
    assert model.policy.exploration_rate == 1.0  # the algorithm's epsilon applies to its own calls only
    model.policy.top_k = 1
    model.exploration_rate = 1.0
    assert {int(model.predict(obs)[0]) for _ in range(5)} == {greedy}
    model.policy.top_k = 0
    model.learn(40)  # the warm-up before learning_starts samples from the policy too, not uniformly
    assert set(model.replay_buffer.actions[: model.replay_buffer.pos].reshape(-1).tolist()) <= {5, 7}


def test_same_seed_same_actions_and_save_load_roundtrip(micro_lm, tmp_path):
    def train(seed):
        model = _dqn(micro_lm, seed=seed)
        model.learn(48)
        return model

    a, b = train(3), train(3)
    obs, _ = gym.make("TokenSubset-v0").reset(seed=5)
    a.exploration_rate = b.exploration_rate = 0.5
    torch.manual_seed(0)
    acts_a = [int(a.predict(obs)[0]) for _ in range(8)]
    torch.manual_seed(0)
    acts_b = [int(b.predict(obs)[0]) for _ in range(8)]
    assert acts_a == acts_b
    a.save(tmp_path / "dqn.zip")
    loaded = TextDQN.load(tmp_path / "dqn.zip")
    assert isinstance(loaded.policy, LMDQNPolicy) and loaded.policy.temperature == a.policy.temperature
    for seed in range(5):
        obs, _ = gym.make("TokenSubset-v0").reset(seed=seed)
        assert a.predict(obs, deterministic=True)[0] == loaded.predict(obs, deterministic=True)[0]
    for p, q in zip(a.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_replay_memory_is_counted_exactly_and_refused_beyond_the_budget(micro_lm):
    env = gym.make("TokenSubset-v0")
    space, actions = env.observation_space, env.action_space
    buf = DictReplayBuffer(100, space, actions, n_envs=4)
    allocated = sum(a.nbytes for a in (*buf.observations.values(), *buf.next_observations.values()))
    allocated += buf.actions.nbytes + buf.rewards.nbytes + buf.dones.nbytes + buf.timeouts.nbytes
    assert check_replay_memory(space, actions, 100, n_envs=4) == allocated == 100 * (2 * 16 * 5 + 8 + 12)
    with pytest.raises(ValueError) as err:
        check_replay_memory(space, actions, 1_000_000, memory_budget_gb=0.1)
    message = str(err.value)
    assert "1,000,000 transitions takes 0.18 GB, more than the memory budget of 0.1 GB" in message
    assert "180 bytes (attention_mask 16 x int8 + input_ids 16 x int32 per observation, twice" in message
    assert "buffer_size <= 555,555 or a larger memory_budget_gb" in message
    with pytest.raises(ValueError, match="more than the memory available now"):
        check_replay_memory(space, actions, 10**14)
    with pytest.raises(ValueError, match="optimize_memory_usage is not available for Dict"):
        check_replay_memory(space, actions, 10, optimize_memory_usage=True)
    with pytest.raises(ValueError, match=r"memory budget of 0\.001 GB"):
        _dqn(micro_lm, buffer_size=10**7, replay_buffer_kwargs={"memory_budget_gb": 0.001})
    model = _dqn(micro_lm, buffer_size=1_000, replay_buffer_kwargs={"memory_budget_gb": 0.001})
    assert isinstance(model.replay_buffer, LMReplayBuffer) and model.replay_buffer.memory_bytes == 180_000


def test_dqn_refuses_action_masks_with_a_pointer_to_maskable_ppo(micro_lm):
    env = gym.make("TextNav-v0", max_prompt_len=32)
    model = TextDQN(LMDQNPolicy, env, buffer_size=100, policy_kwargs={"model_name": micro_lm})
    with pytest.raises(ValueError, match=r"DQN cannot take action masks.*MaskablePPO"):
        model.learn(10, use_masking=True)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="DQN cannot take action masks"):
        model.predict(obs, action_masks=env.unwrapped.action_masks())
    assert model.action_space.contains(int(model.predict(obs)[0]))  # without masks it plays


def test_lm_dqn_policy_checks_its_arguments_and_the_token_contract(micro_lm):
    with pytest.raises(ValueError, match="temperature must be positive"):
        _dqn(micro_lm, policy_kwargs={"temperature": 0})
    with pytest.raises(ValueError, match="token contract"):
        DQN(LMDQNPolicy, "CartPole-v1", policy_kwargs={"model_name": micro_lm})
