"""Baseline agents for command-level text games: layout errors, masking, determinism, save/load, learning."""

import gymnasium as gym
import numpy as np
import pytest
import torch

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.running.presets import make_agent
from tokengym.agents.textgame import (
    TEST_SEEDS,
    TRAIN_SEEDS,
    BOWCommandEncoder,
    BOWDQNPolicy,
    CommandActorCriticPolicy,
    CommandDQN,
    CommandDQNPolicy,
    LSTMCommandEncoder,
    RandomCommandAgent,
    SeedPool,
    check_command_spaces,
    command_slot_mask,
    evaluate_win_rate,
    held_out_seeds,
    make_train_env,
    unseen_games_kwargs,
)

# TextNav level 1 is the smallest game (4 rooms, no doors). Its registered 50 turns let a random walk win
# every game, so the learning checks give it 5 turns: random play wins ~45%, a policy that walks toward the
# goal it reads in the exits and never straight back wins them all.
SMALL = {"level": 1, "max_turns": 5}
RICH = {"level": 3, "max_turns": 15}  # up to 24 offered commands, keys and doors: the masks vary most


def _rollout_obs(env_kwargs, steps, seed=0):
    """Observations (and the env's masks) from seeded random play, terminal observations included."""
    env = gym.make("TextNavCmd-v0", **env_kwargs)
    agent, rows, masks = RandomCommandAgent(seed), [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        rows.append(obs)
        masks.append(env.unwrapped.action_masks())
        obs, _, terminated, truncated, _ = env.step(int(agent.predict(obs)[0]))
        if terminated or truncated:
            rows.append(obs)
            masks.append(env.unwrapped.action_masks())
            obs, _ = env.reset()
    batch = {key: np.stack([row[key] for row in rows]) for key in rows[0]}
    return batch, np.stack(masks)


@pytest.fixture(scope="module")
def rich_batch():
    return _rollout_obs(RICH, 120)


def _dqn(policy=CommandDQNPolicy, seed=0, **kwargs):
    args = {"buffer_size": 2_000, "learning_starts": 50, "batch_size": 16, "seed": seed, "device": "cpu", **kwargs}
    return CommandDQN(policy, make_train_env("TextNavCmd-v0", RICH, seed=seed, n_envs=2), **args)


def _q_values(model, batch):
    obs, _ = model.policy.obs_to_tensor(batch)
    with torch.no_grad():
        return model.policy.q_net(obs), model.policy.q_net_target(obs)


# ------------------------------------------------------------------------------------------------ layout


def test_a_token_level_env_gets_an_error_naming_the_missing_keys():
    env = gym.make("TextNav-v0")
    with pytest.raises(ValueError, match=r"no command_ids, command_mask.*TextNavCmd-v0"):
        check_command_spaces(env.observation_space, env.action_space)
    with pytest.raises(ValueError, match="no command_ids, command_mask"):
        make_agent("lstm_dqn", env)
    with pytest.raises(ValueError, match="no command_ids, command_mask"):
        make_agent("ppo", env)
    with pytest.raises(ValueError, match="no command_mask"):  # token-level games are scored, but not by this agent
        evaluate_win_rate(RandomCommandAgent(0), env, [0])
    with pytest.raises(ValueError, match="no command_mask"):
        RandomCommandAgent(0).predict(env.reset(seed=0)[0])
    cmd = gym.make("TextNavCmd-v0")
    with pytest.raises(ValueError, match=r"Discrete\(24\)"):
        check_command_spaces(cmd.observation_space, gym.spaces.Discrete(5))
    with pytest.raises(ValueError, match="Dict observation"):
        check_command_spaces(gym.spaces.Box(0, 1, (3,)))
    with pytest.raises(ValueError, match="kind must be one of"):
        make_agent("a2c", cmd)


def test_the_slot_mask_read_from_observations_is_the_envs_action_mask(rich_batch):
    batch, env_masks = rich_batch
    assert (command_slot_mask(batch) == env_masks).all()
    assert env_masks.sum(-1).max() >= 4 and (env_masks.sum(-1) == 1).any()
    assert (batch["command_mask"].sum((1, 2)) == 0).any(), "terminal observations (nothing offered) are covered"


# ------------------------------------------------------------------------------------------------ masking


@pytest.mark.parametrize("policy", [CommandDQNPolicy, BOWDQNPolicy])
def test_q_values_are_minus_inf_exactly_on_unused_slots(policy, rich_batch):
    batch, env_masks = rich_batch
    model = _dqn(policy)
    encoder = LSTMCommandEncoder if policy is CommandDQNPolicy else BOWCommandEncoder
    assert type(model.policy.q_net.features_extractor) is encoder
    for q in _q_values(model, batch):
        assert q.shape == (len(env_masks), 24)
        assert (torch.isinf(q).numpy() == ~env_masks).all() and (q[torch.isinf(q)] < 0).all()
    greedy, _ = model.predict(batch, deterministic=True)
    assert env_masks[np.arange(len(greedy)), greedy].all()


def test_exploration_and_greedy_actions_are_offered_slots_over_many_steps():
    model = _dqn(learning_starts=150, exploration_fraction=1.0, exploration_final_eps=0.5)
    model.learn(600)  # warm-up draws, then epsilon-greedy: every stored action must be an offered slot
    buffer = model.replay_buffer
    n = buffer.pos
    stored = {key: value[:n].reshape(n * buffer.n_envs, *value.shape[2:]) for key, value in buffer.observations.items()}
    actions = buffer.actions[:n].reshape(-1)
    assert command_slot_mask(stored)[np.arange(len(actions)), actions].all()
    assert len(set(actions.tolist())) > 3  # it did explore

    env = gym.make("TextNavCmd-v0", **RICH)
    obs, _ = env.reset(seed=1)
    for rate in (1.0, 0.5, 0.0):
        model.exploration_rate = rate
        for _ in range(150):
            mask = env.unwrapped.action_masks()
            action, _ = model.predict(obs, deterministic=False)
            assert np.ndim(action) == 0 and mask[int(action)]
            obs, _, terminated, truncated, _ = env.step(int(action))
            if terminated or truncated:
                obs, _ = env.reset()


def test_the_td_target_ignores_unused_slots_and_stays_finite_after_the_last_step(rich_batch):
    batch, env_masks = rich_batch
    model = _dqn()
    model.learn(200)
    _, target = _q_values(model, batch)
    best = target.max(1).values
    valid = torch.as_tensor(env_masks)
    assert torch.isfinite(best).all(), "terminal rows (nothing offered) keep slot 0 finite, so no NaN in targets"
    assert torch.equal(best, target.masked_fill(~valid, -1e30).max(1).values)
    model.train(gradient_steps=20, batch_size=16)
    assert np.isfinite(model.logger.name_to_value["train/loss"])


def test_ppo_logits_put_no_probability_on_unused_slots_and_actions_are_valid(rich_batch):
    batch, env_masks = rich_batch
    model = make_agent("ppo", make_train_env("TextNavCmd-v0", RICH, seed=0, n_envs=2), seed=0)
    assert isinstance(model.policy, CommandActorCriticPolicy)
    model.learn(256)
    obs, _ = model.policy.obs_to_tensor(batch)
    with torch.no_grad():
        dist = model.policy.get_distribution(obs)  # no action_masks: the policy masks by itself
    probs = dist.distribution.probs.numpy()
    assert probs.shape == (len(env_masks), 24) and (probs[~env_masks] == 0).all()
    assert np.allclose(probs.sum(-1), 1) and torch.isfinite(dist.entropy()).all()
    for masks in (None, env_masks):
        actions, _ = model.predict(batch, deterministic=False, action_masks=masks)
        assert env_masks[np.arange(len(actions)), actions].all()


def test_order_aware_commands_and_separate_actor_critic_encoders(rich_batch):
    batch, env_masks = rich_batch
    encoder = {"command_encoder": "lstm", "hidden_dim": 32}
    dqn = _dqn(policy_kwargs={"features_extractor_kwargs": encoder})
    q, _ = _q_values(dqn, batch)
    assert (torch.isinf(q).numpy() == ~env_masks).all()
    hyper = {"policy_kwargs": {"features_extractor_kwargs": encoder, "share_features_extractor": False}}
    ppo = make_agent("ppo", make_train_env("TextNavCmd-v0", RICH, seed=0, n_envs=2), seed=0, hyperparameters=hyper)
    ppo.learn(128)
    assert ppo.policy.pi_features_extractor is not ppo.policy.vf_features_extractor
    actions, _ = ppo.predict(batch, deterministic=True)
    assert env_masks[np.arange(len(actions)), actions].all()
    with pytest.raises(ValueError, match="command_encoder must be 'mean' or 'lstm'"):
        _dqn(policy_kwargs={"features_extractor_kwargs": {"command_encoder": "gru"}})


# ------------------------------------------------------------------------------------ save, load, seeds


@pytest.mark.parametrize("kind", ["lstm_dqn", "bow_dqn", "ppo"])
def test_save_load_gives_the_same_actions(kind, rich_batch, tmp_path):
    batch, _ = rich_batch
    model = make_agent(kind, make_train_env("TextNavCmd-v0", RICH, seed=0, n_envs=2), seed=0)
    model.learn(128)
    model.save(tmp_path / kind)
    loaded = type(model).load(tmp_path / kind, device="cpu")
    assert type(loaded.policy) is type(model.policy)
    before, _ = model.predict(batch, deterministic=True)
    after, _ = loaded.predict(batch, deterministic=True)
    assert (before == after).all()
    weights, reloaded = model.policy.state_dict(), loaded.policy.state_dict()
    assert weights.keys() == reloaded.keys() and all(torch.equal(weights[k], reloaded[k]) for k in weights)


@pytest.mark.parametrize("kind", ["lstm_dqn", "ppo"])
def test_same_seed_same_actions(kind, rich_batch):
    batch, _ = rich_batch
    runs = []
    for _ in range(2):
        model = make_agent(kind, make_train_env("TextNavCmd-v0", RICH, seed=3, n_envs=2), seed=3)
        model.learn(128)
        runs.append((model.predict(batch, deterministic=True)[0], model.predict(batch, deterministic=False)[0]))
    assert all((a == b).all() for a, b in zip(runs[0], runs[1], strict=True))
    agent_a, agent_b = RandomCommandAgent(5), RandomCommandAgent(5)
    assert (agent_a.predict(batch)[0] == agent_b.predict(batch)[0]).all()


def test_seed_pool_trains_on_train_seeds_and_repeats_under_a_seed():
    env = SeedPool(gym.make("TextNavCmd-v0", **SMALL), TRAIN_SEEDS)

    def games():
        return [env.reset(seed=7)[1]["text"]] + [env.reset()[1]["text"] for _ in range(3)]

    texts = games()
    assert texts == games() and len(set(texts)) > 1
    assert held_out_seeds(3) == range(TEST_SEEDS.start, TEST_SEEDS.start + 3)
    assert not set(held_out_seeds(10)) & set(TRAIN_SEEDS)
    reports = [evaluate_win_rate(RandomCommandAgent(0), "TextNavCmd-v0", held_out_seeds(20), env_kwargs=SMALL)]
    reports.append(evaluate_win_rate(RandomCommandAgent(0), "TextNavCmd-v0", held_out_seeds(20), env_kwargs=SMALL))
    assert reports[0].as_dict()["episodes"] == 20 and reports[0] == reports[1]


def test_the_language_model_agent_plays_token_level_games_in_groups_and_is_scored_in_commands(micro_lm):
    venv = make_train_env("TextNav-v0", SMALL, seed=0, n_envs=2, group_size=2)
    model = make_agent(
        "lm_maskable_ppo",
        venv,
        seed=0,
        hyperparameters={"n_steps": 48, "batch_size": 48, "policy_kwargs": {"model_name": micro_lm}},
    )
    model.learn(96)  # two rollouts: games served twice each, judged against each other
    assert 0.0 < model.rollout_buffer.grouped_fraction <= 1.0
    report = evaluate_win_rate(model, "TextNav-v0", held_out_seeds(5), env_kwargs=SMALL)
    assert all(1 <= turns <= SMALL["max_turns"] for turns in report.turns)  # commands, not tokens
    with pytest.raises(ValueError, match="token-level game"):
        make_agent("lm_maskable_ppo", "TextNavCmd-v0")
    with pytest.raises(ValueError, match="group_size is for token-level games"):
        make_train_env("TextNavCmd-v0", SMALL, group_size=2)
    with pytest.raises(ValueError, match="kind must be one of"):
        make_agent("lm_dqn", venv)


def test_unseen_games_of_textworld_come_from_its_test_split():
    assert unseen_games_kwargs("TextNavCmd-v0", SMALL) == SMALL
    kwargs = unseen_games_kwargs("TWCoinCollectorCmd-v0", {"level": 5, "game_kwargs": {"history": 1}})
    assert kwargs == {"level": 5, "game_kwargs": {"history": 1, "split": "test"}}
    kwargs = unseen_games_kwargs("TWCoinCollectorCmd-v0", {"game_kwargs": {"pool_size": 1000}}, games=200)
    assert kwargs == {"game_kwargs": {"pool_size": 200, "split": "test"}}


# ------------------------------------------------------------------------------------------------ learning


@pytest.fixture(scope="module")
def random_win_rate():
    return evaluate_win_rate(RandomCommandAgent(0), "TextNavCmd-v0", held_out_seeds(200), env_kwargs=SMALL).win_rate


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "budget"), [("lstm_dqn", 3_000), ("ppo", 6_000)])
def test_agents_beat_random_play_on_unseen_small_textnav_games(kind, budget, random_win_rate):
    model = make_agent(kind, make_train_env("TextNavCmd-v0", SMALL, seed=0), seed=0)
    model.learn(budget)
    report = evaluate_win_rate(model, "TextNavCmd-v0", held_out_seeds(200), env_kwargs=SMALL)
    assert 0.3 < random_win_rate < 0.6
    assert report.win_rate >= random_win_rate + 0.25, (kind, report.as_dict(), random_win_rate)
