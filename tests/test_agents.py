"""Language-model policies with SB3: learnability, determinism, save/load, bad input."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, PPO
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm.loading import load_lm, resolve_model_path
from tokengym.agents.lm.policy import LMActorCriticPolicy
from tokengym.agents.lm.sampling import top_k_top_p_filter
from tokengym.agents.lm.spaces import check_token_spaces
from tokengym.agents.running.evaluate import evaluate_policy_text


def subset_return(policy, episodes=20):
    return evaluate_policy_text(policy, "TokenSubset-v0", seeds=range(1000, 1000 + episodes)).mean


class UniformPolicy:
    def __init__(self, n, seed=0):
        self.rng, self.n = np.random.default_rng(seed), n

    def predict(self, obs, deterministic=False):
        return self.rng.integers(self.n), None


@pytest.mark.slow
@pytest.mark.parametrize("algo", [PPO, A2C], ids=["ppo", "a2c"])
def test_lm_policy_learns_the_toy_token_task(algo, micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=4, seed=0)
    kwargs = {"n_steps": 32, "batch_size": 64, "n_epochs": 4} if algo is PPO else {"n_steps": 8}
    model = algo(
        LMActorCriticPolicy, venv, learning_rate=3e-3, seed=0, policy_kwargs={"model_name": micro_lm}, **kwargs
    )
    random_return = subset_return(UniformPolicy(venv.action_space.n))
    before = subset_return(model.policy)
    model.learn(6_000)
    after = subset_return(model.policy)
    assert 0.35 < random_return < 0.65 and 0.3 < before < 0.7
    assert after > random_return + 0.25, (random_return, before, after)


def test_same_seed_same_actions_and_save_load_roundtrip(micro_lm, tmp_path):
    def train(seed):
        env = gym.make("TokenSubset-v0")
        model = PPO(
            LMActorCriticPolicy,
            env,
            n_steps=16,
            batch_size=16,
            n_epochs=1,
            seed=seed,
            policy_kwargs={"model_name": micro_lm},
        )
        model.learn(32)
        return model

    a, b = train(3), train(3)
    obs, _ = gym.make("TokenSubset-v0").reset(seed=5)
    torch.manual_seed(0)
    acts_a = [a.predict(obs, deterministic=False)[0] for _ in range(5)]
    torch.manual_seed(0)
    acts_b = [b.predict(obs, deterministic=False)[0] for _ in range(5)]
    assert acts_a == acts_b
    a.save(tmp_path / "model.zip")
    loaded = PPO.load(tmp_path / "model.zip")
    for seed in range(5):
        obs, _ = gym.make("TokenSubset-v0").reset(seed=seed)
        assert a.predict(obs, deterministic=True)[0] == loaded.predict(obs, deterministic=True)[0]
    for p, q in zip(a.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_policy_matches_a_plain_forward_of_the_lm_under_padding(micro_lm):
    env = gym.make("TokenSubset-v0")
    model = PPO(LMActorCriticPolicy, env, n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm})
    policy = model.policy
    obs_a, _ = env.reset(seed=0)
    env.step(5)
    obs_b, *_ = env.step(7)
    batch = {k: torch.as_tensor(np.stack([obs_a[k], obs_b[k]])).float() for k in obs_a}  # as SB3 feeds them
    dist = policy.get_distribution(batch).distribution
    for row, obs in enumerate((obs_a, obs_b)):
        n = int(obs["attention_mask"].sum())
        ids = torch.as_tensor(obs["input_ids"][:n]).long()[None]
        logits = policy.lm(input_ids=ids).logits[0, -1]
        assert torch.allclose(dist.logits[row], torch.log_softmax(logits, -1), atol=1e-5)
    assert not any(m.training and isinstance(m, torch.nn.Dropout) and m.p > 0 for m in policy.modules())


def test_sampling_controls():
    logits = torch.tensor([[3.0, 2.0, 1.0, 0.0]])
    assert torch.isinf(top_k_top_p_filter(logits, top_k=2)).tolist() == [[False, False, True, True]]
    kept = ~torch.isinf(top_k_top_p_filter(logits, top_p=0.7))
    assert kept.tolist() == [[True, True, False, False]]  # p(0)=0.64 < 0.7, so the second token is needed
    assert (~torch.isinf(top_k_top_p_filter(logits, top_p=0.01))).sum() == 1


def test_bad_models_and_spaces_get_specific_errors(micro_lm, tmp_path, hub_offline):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model_path("./no/such/folder")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no model"):
        resolve_model_path(str(tmp_path / "empty"))
    with pytest.raises(OSError, match="load_lm\\('folder'\\)"):
        load_lm("no-such-org/no-such-model-anywhere")
    with pytest.raises(ValueError, match="Dict\\(input_ids, attention_mask\\)"):
        check_token_spaces(gym.spaces.Box(0, 1, (3,)), gym.spaces.Discrete(4096), 4096)
    env = gym.make("TokenSubset-v0")
    with pytest.raises(ValueError, match="the model has 50 tokens"):
        check_token_spaces(env.observation_space, env.action_space, 50)
    with pytest.raises(ValueError, match="exceed the model's 10 positions"):
        check_token_spaces(env.observation_space, env.action_space, 4096, max_positions=10)
    with pytest.raises(ValueError, match="acts with tokens"):
        check_token_spaces(env.observation_space, gym.spaces.Box(0, 1, (2,)), 4096)
    with pytest.raises(ValueError, match="ortho_init=True would re-initialise"):
        PPO(LMActorCriticPolicy, env, policy_kwargs={"model_name": micro_lm, "ortho_init": True})


def test_policy_refuses_an_env_outside_the_token_contract(micro_lm):
    with pytest.raises(ValueError, match="token contract"):
        PPO(LMActorCriticPolicy, "CartPole-v1", policy_kwargs={"model_name": micro_lm})


def test_supervised_warm_start_lowers_the_loss_and_saves_a_loadable_folder(micro_lm, tmp_path):
    from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune

    report = supervised_finetune(
        SFTConfig(env_id="Summarization-v0", model_name=micro_lm, steps=30, batch_size=8, lr=3e-3),
        out=tmp_path / "sft",
    )
    assert report["last_loss"] < report["first_loss"] - 1.0, report
    model, tokenizer = load_lm(tmp_path / "sft")
    env = gym.make("Summarization-v0", tokenizer=str(tmp_path / "sft"))
    assert env.action_space.n == tokenizer.vocab_size == 4096
    PPO(LMActorCriticPolicy, env, n_steps=8, batch_size=8, policy_kwargs={"model_name": str(tmp_path / "sft")})
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        SFTConfig(steps=0)


def test_lm_policies_run_adam_fused_unless_told_otherwise(micro_lm):
    env = gym.make("Summarization-v0")
    fused = PPO(LMActorCriticPolicy, env, n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm})
    assert fused.policy.optimizer.defaults["fused"] is True
    looped = PPO(
        LMActorCriticPolicy,
        env,
        n_steps=8,
        batch_size=8,
        policy_kwargs={"model_name": micro_lm, "optimizer_kwargs": {"foreach": False}},
    )
    assert not looped.policy.optimizer.defaults["fused"] and looped.policy.optimizer.defaults["foreach"] is False
    fused.learn(8)  # a fused step runs
    from tokengym.agents.lm.dqn import LMDQNPolicy, TextDQN

    dqn = TextDQN(LMDQNPolicy, env, buffer_size=64, learning_starts=4, policy_kwargs={"model_name": micro_lm})
    assert dqn.policy.optimizer.defaults["fused"] is True


def test_games_without_walkthroughs_have_no_demonstrations_to_learn():
    from tokengym.agents.supervised.sft import SFTConfig, demonstration_pairs, supervised_finetune

    with pytest.raises(ValueError, match="TextNav-v0's games record no walkthrough"):
        demonstration_pairs(gym.make("TextNav-v0"), 4, seed=0)
    with pytest.raises(ValueError, match="record no walkthrough"):
        supervised_finetune(SFTConfig(env_id="TextNav-v0", steps=1, batch_size=2))
    pairs = demonstration_pairs(gym.make("Summarization-v0"), 3, seed=0)  # others learn their references
    assert len(pairs) == 3


def test_embedded_model_loads_offline_without_touching_the_network():
    import subprocess
    import sys

    code = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from tokengym.agents import load_lm\n"
        "model, tok = load_lm('tiny')\n"
        "print(sum(p.numel() for p in model.parameters()), tok.vocab_size, model.config.n_layer)\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr
    params, vocab, layers = map(int, out.stdout.split())
    assert vocab == 4096 and layers == 4 and 3_000_000 < params < 12_000_000


def test_prefix_deduplication_matches_one_forward_per_row(micro_lm):
    from tokengym.agents.lm.prefixes import prefix_representatives

    ids = torch.tensor([[5, 6, 7, 0], [5, 6, 0, 0], [5, 9, 0, 0], [5, 6, 7, 8], [5, 6, 7, 8], [4, 0, 0, 0]])
    lengths = torch.tensor([3, 2, 2, 4, 4, 1])
    rep, keep = prefix_representatives(ids, lengths)
    assert keep[rep].tolist() == [3, 3, 2, 3, 3, 5]
    env = gym.make("TokenSubset-v0")
    policy = PPO(LMActorCriticPolicy, env, n_steps=8, batch_size=8, policy_kwargs={"model_name": micro_lm}).policy
    rows = []
    for seed in range(3):  # three episodes, every prefix of each
        obs, _ = env.reset(seed=seed)
        rows.append(obs)
        for token in (11, 12, 13, 14):
            obs, *_ = env.step(token)
            rows.append(obs)
    batch = {k: torch.as_tensor(np.stack([r[k] for r in rows])).float() for k in rows[0]}
    logits, hidden = policy._last_hidden(batch)
    for i, r in enumerate(rows):
        single = {k: torch.as_tensor(v[None]).float() for k, v in r.items()}
        one_logits, one_hidden = policy._last_hidden(single)
        assert torch.allclose(logits[i], one_logits[0], atol=1e-4)
        assert torch.allclose(hidden[i], one_hidden[0], atol=1e-4)
