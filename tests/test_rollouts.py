"""Fast rollouts: the incremental (KV-cached) decoder, exact stored log-probabilities, episode-ordered buffers."""

import itertools

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.env_util import make_vec_env

from tokengym.agents.lm import logprob as logprob_module
from tokengym.agents.lm import prefixes as prefixes_module
from tokengym.agents.lm.buffers import EpisodeDictRolloutBuffer, episode_order, group_advantages, turn_starts
from tokengym.agents.lm.kv_cache import IncrementalDecoder
from tokengym.agents.lm.loading import FusedTanhGELU, fuse_tanh_gelus, load_lm
from tokengym.agents.lm.policy import LMActorCriticPolicy
from tokengym.agents.lm.prefixes import last_token_states, prefix_representatives
from tokengym.agents.lm.sampling import sample_categorical
from tokengym.envs import RepeatTask, TextActionWrapper


def _states(lm, ids, lengths):
    mask = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).to(torch.int8)
    return last_token_states(lm, {"input_ids": ids, "attention_mask": mask})


def test_incremental_decoder_matches_full_forward_through_steps_resets_and_compaction(micro_lm):
    lm, _ = load_lm(micro_lm)
    rng = np.random.default_rng(0)
    batch, width = 5, 24
    decoder = IncrementalDecoder(lm)
    ids = torch.full((batch, width), 1)
    lengths = torch.as_tensor(rng.integers(1, 6, size=batch))
    for i in range(batch):
        ids[i, : lengths[i]] = torch.as_tensor(rng.integers(2, 4000, size=int(lengths[i])))
    for _ in range(80):  # enough steps that stale columns pile up and get compacted
        logits, hidden = decoder(ids, lengths)
        ref_logits, ref_hidden = _states(lm, ids, lengths)
        assert torch.allclose(torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1), atol=1e-5)
        assert torch.allclose(hidden, ref_hidden, atol=1e-5)
        for i in range(batch):
            if lengths[i] == width or rng.random() < 0.15:  # a new episode (or a turn inserted by the env)
                n = int(rng.integers(1, 8))
                ids[i] = 1
                ids[i, :n] = torch.as_tensor(rng.integers(2, 4000, size=n))
                lengths[i] = n
            else:
                ids[i, lengths[i]] = int(rng.integers(2, 4000))
                lengths[i] += 1
    assert decoder.stats["cached_rows"] > decoder.stats["fresh_rows"] > batch
    assert decoder.valid.shape[1] <= 2 * width + 1


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("activation", ["fused", "gelu_new", "relu"])
def test_incremental_decoder_model_forward_and_gpt2_step_agree(attention, activation, micro_lm):
    """The written-out GPT-2 step and the model's own forward (with the prepared 4D mask in the attention's
    format) give the full forward's results, through new episodes of some rows only; with the GELU ``load_lm``
    fuses, GPT-2's written-out one, and another activation (run as the model's own module)."""
    from transformers.activations import NewGELUActivation

    lm, _ = load_lm(micro_lm)
    lm.config._attn_implementation = attention
    for block in lm.transformer.h:
        block.mlp.act = {"fused": block.mlp.act, "gelu_new": NewGELUActivation(), "relu": torch.nn.ReLU()}[activation]
    decoders = {"gpt2": IncrementalDecoder(lm), "model": IncrementalDecoder(lm, gpt2_step=False)}
    assert decoders["gpt2"].gpt2_step and not decoders["model"].gpt2_step
    rng = np.random.default_rng(1)
    ids = torch.as_tensor(rng.integers(2, 4000, size=(4, 24)))
    lengths = torch.tensor([3, 5, 2, 7])
    for step in range(12):
        ref_logits, ref_hidden = _states(lm, ids, lengths)
        for decoder in decoders.values():
            logits, hidden = decoder(ids, lengths)
            assert torch.allclose(torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1), atol=1e-5)
            assert torch.allclose(hidden, ref_hidden, atol=1e-5)
        lengths = lengths + 1
        if step % 4 == 3:  # row 1 starts a new episode while the others keep stepping
            ids[1] = torch.as_tensor(rng.integers(2, 4000, size=24))
            lengths[1] = 2
    for decoder in decoders.values():
        assert decoder.stats["cached_rows"] > decoder.stats["fresh_rows"]


def test_a_hooked_block_takes_the_models_forward_after_a_reset(micro_lm):
    lm, _ = load_lm(micro_lm)
    decoder = IncrementalDecoder(lm)
    ids = torch.as_tensor(np.random.default_rng(2).integers(2, 4000, size=(2, 12)))
    decoder(ids, torch.tensor([3, 4]))
    decoder(ids, torch.tensor([4, 5]))
    assert decoder._gpt2_layers()
    calls = []
    lm.transformer.h[0].mlp.c_fc.register_forward_hook(lambda module, args, out: calls.append(1) or out * 1.5)
    decoder.reset()
    logits, _ = decoder(ids, torch.tensor([5, 6]))  # encoded afresh through the model
    logits, _ = decoder(ids, torch.tensor([6, 7]))  # stepped: the hook has to run
    assert not decoder._gpt2_layers() and len(calls) == 2
    ref_logits, _ = _states(lm, ids, torch.tensor([6, 7]))
    assert torch.allclose(torch.log_softmax(logits, -1), torch.log_softmax(ref_logits, -1), atol=1e-5)


def test_load_lm_fuses_gpt2_gelus_into_the_same_function(micro_lm):
    from transformers import AutoModelForCausalLM
    from transformers.activations import NewGELUActivation

    fused, _ = load_lm(micro_lm)
    written_out = AutoModelForCausalLM.from_pretrained(micro_lm).eval()
    assert not any(isinstance(m, NewGELUActivation) for m in fused.modules())
    assert sum(isinstance(m, FusedTanhGELU) for m in fused.modules()) == fused.config.n_layer
    ids = torch.as_tensor(np.random.default_rng(0).integers(2, 4000, size=(3, 20)))
    with torch.no_grad():
        assert torch.allclose(fused(ids).logits, written_out(ids).logits, atol=1e-5)
    assert fuse_tanh_gelus(written_out) == written_out.config.n_layer
    assert fuse_tanh_gelus(written_out) == 0  # nothing left to fuse
    assert written_out.config.activation_function == "gelu_new"  # the saved config is left alone


@pytest.mark.parametrize("entropy_weight", [0.0, 0.3, 5.0])
def test_chosen_log_prob_and_entropy_match_autograd_with_masked_tokens(entropy_weight):
    """The hand-written gradient of the training pass's log-probability and entropy equals autograd's through
    the plain formulas on the unmasked tokens; tokens masked to -inf in the logits themselves get a gradient of
    0, never NaN, even under a large entropy weight (where autograd's would be NaN; 0 is PPO's default)."""
    generator = torch.Generator().manual_seed(0)
    values = torch.randn(6, 11, dtype=torch.double, generator=generator).masked_fill(torch.arange(11) > 8, -torch.inf)
    actions = torch.randint(0, 9, (6,), generator=generator)
    weights = torch.randn(6, dtype=torch.double, generator=generator)
    logits = values.clone().requires_grad_()
    ref_logits = values[:, :9].clone().requires_grad_()  # the masked tokens left out: the same distribution

    chosen, entropy = logprob_module._ChosenLogProbAndEntropy.apply(logits, actions)
    log_probs = torch.log_softmax(ref_logits, -1)
    ref_chosen = log_probs.gather(-1, actions[:, None]).squeeze(-1)
    ref_entropy = -(log_probs.clamp(min=torch.finfo(log_probs.dtype).min) * log_probs.exp()).sum(-1)
    assert torch.allclose(chosen, ref_chosen) and torch.allclose(entropy, ref_entropy)
    ((chosen * weights).sum() + entropy_weight * entropy.sum()).backward()
    ((ref_chosen * weights).sum() + entropy_weight * ref_entropy.sum()).backward()
    assert bool(torch.isfinite(logits.grad).all()) and bool((logits.grad[:, 9:] == 0).all())
    assert torch.allclose(logits.grad[:, :9], ref_logits.grad, atol=1e-12)


def test_sample_categorical_draws_the_distribution_and_never_a_zero_probability_token():
    torch.manual_seed(0)
    probs = torch.softmax(torch.randn(3, 40), -1)
    probs[:, ::5] = 0  # the first and the last token among them
    probs[:, -1] = 0
    probs = probs / probs.sum(-1, keepdim=True)
    draws = sample_categorical(probs[:, None, :].expand(3, 50_000, 40))
    frequencies = torch.stack([torch.bincount(d, minlength=40) for d in draws]).double() / 50_000
    assert frequencies[:, ::5].sum() == 0 and frequencies[:, -1].sum() == 0
    assert torch.allclose(frequencies, probs.double(), atol=0.01)
    torch.manual_seed(1)
    first = sample_categorical(probs)
    torch.manual_seed(1)
    assert torch.equal(first, sample_categorical(probs))  # the global generator decides, as for multinomial


def test_prefix_representatives_hash_match_equals_the_exact_comparison(monkeypatch):
    def exact(ids, lengths):
        inside = torch.arange(ids.shape[1])[None, :] < lengths[:, None]
        same = (ids[:, None, :] == ids[None, :, :]) | ~inside[:, None, :]
        is_prefix = same.all(-1) & (lengths[:, None] <= lengths[None, :])
        score = torch.where(is_prefix, lengths[None, :] * (len(ids) + 1) - torch.arange(len(ids))[None, :], -1)
        return score.argmax(-1)

    generator = torch.Generator().manual_seed(0)
    for _ in range(50):  # few distinct tokens: many prefixes, duplicates and near misses
        base = torch.randint(0, 3, (4, 12), generator=generator)
        ids = base[torch.randint(0, 4, (30,), generator=generator)]
        ids[torch.rand(30, generator=generator) < 0.3, 5] = 2
        lengths = torch.randint(1, 13, (30,), generator=generator)
        rep, keep = prefix_representatives(ids, lengths)
        assert torch.equal(keep[rep], exact(ids, lengths))
    # Were every hash to collide, the token-by-token check would catch it and the exact comparison decide.
    monkeypatch.setattr(prefixes_module, "_prefix_hashes", lambda ids: torch.zeros(len(ids), ids.shape[1] + 1).long())
    rep, keep = prefix_representatives(ids, lengths)
    assert torch.equal(keep[rep], exact(ids, lengths))


def test_incremental_decoder_starts_over_when_the_weights_change(micro_lm):
    lm, _ = load_lm(micro_lm)
    decoder = IncrementalDecoder(lm)
    ids, lengths = torch.tensor([[5, 6, 7, 1]]), torch.tensor([3])
    decoder(ids, lengths)
    with torch.no_grad():
        lm.get_output_embeddings().weight.mul_(1.5)
    ids2, lengths2 = torch.tensor([[5, 6, 7, 8]]), torch.tensor([4])
    logits, _ = decoder(ids2, lengths2)
    assert torch.allclose(logits, _states(lm, ids2, lengths2)[0], atol=1e-5)
    assert decoder.stats["cached_rows"] == 0  # the old cache was not used


@pytest.mark.parametrize(
    ("env_id", "temperature"), [("Dialogue-v0", 1.0), ("TokenSubset-v0", 1.0), ("Dialogue-v0", 0.7)]
)
def test_stored_log_probs_equal_the_training_pass(env_id, temperature, micro_lm):
    """What the cached rollout stores is what PPO's update recomputes, to 1e-5 (at any temperature)."""
    kwargs = {"max_prompt_len": 32, "max_new_tokens": 12} if env_id == "Dialogue-v0" else {}
    venv = make_vec_env(env_id, n_envs=4, seed=0, env_kwargs=kwargs)
    model = PPO(
        LMActorCriticPolicy,
        venv,
        n_steps=40,
        batch_size=40,
        seed=0,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm, "temperature": temperature},
    )
    _, callback = model._setup_learn(160, None)
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=40)
    assert model.policy._decoder.stats["cached_rows"] > 0
    buf = model.rollout_buffer
    obs = {k: torch.as_tensor(v.reshape(-1, v.shape[-1])) for k, v in buf.observations.items()}
    model.policy.set_training_mode(True)
    with torch.no_grad():
        values, log_probs, _ = model.policy.evaluate_actions(obs, torch.as_tensor(buf.actions.reshape(-1)))
    np.testing.assert_allclose(log_probs.numpy(), buf.log_probs.reshape(-1), atol=1e-5)
    np.testing.assert_allclose(values.numpy().reshape(-1), buf.values.reshape(-1), atol=1e-5)


def test_cache_off_gives_the_same_rollout(micro_lm):
    def rollout(use_kv_cache):
        venv = make_vec_env("Dialogue-v0", n_envs=2, seed=1, env_kwargs={"max_prompt_len": 32, "max_new_tokens": 8})
        model = PPO(
            LMActorCriticPolicy,
            venv,
            n_steps=24,
            batch_size=24,
            seed=1,
            policy_kwargs={"model_name": micro_lm, "use_kv_cache": use_kv_cache},
        )
        _, callback = model._setup_learn(48, None)
        callback.init_callback(model)
        model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=24)
        return model.rollout_buffer

    cached, plain = rollout(True), rollout(False)
    np.testing.assert_array_equal(cached.actions, plain.actions)
    np.testing.assert_allclose(cached.log_probs, plain.log_probs, atol=1e-5)


def test_episode_order_shuffles_whole_episodes_and_keeps_their_order():
    np.random.seed(0)
    starts = np.zeros((10, 3))
    starts[[0, 4, 7], 0] = 1
    starts[[3], 1] = 1
    starts[[0, 1, 2, 9], 2] = 1
    order = episode_order(starts)
    assert sorted(order.tolist()) == list(range(30))
    flat_starts = set(np.flatnonzero(starts.T.reshape(-1)).tolist()) | {0, 10, 20}
    # Inside the permutation, consecutive indices differ by one except where a new segment begins.
    for a, b in itertools.pairwise(order):
        assert b == a + 1 or b in flat_starts
    segments = sum(1 for i in order if i in flat_starts)
    assert segments == len(flat_starts)


def test_episode_buffer_minibatches_cover_every_transition_once(micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0)
    model = PPO(
        LMActorCriticPolicy,
        venv,
        n_steps=20,
        batch_size=8,
        seed=0,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        policy_kwargs={"model_name": micro_lm},
    )
    _, callback = model._setup_learn(40, None)
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=20)
    seen = []
    for batch in model.rollout_buffer.get(8):
        seen += list(zip(batch.old_log_prob.tolist(), batch.actions.reshape(-1).tolist(), strict=True))
    buf = model.rollout_buffer
    expected = list(zip(buf.log_probs.reshape(-1).tolist(), buf.actions.reshape(-1).tolist(), strict=True))
    assert sorted(seen) == sorted(expected)
    model.learn(40)  # and PPO trains with it


def test_temperature_shapes_the_policy_itself(micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=1, seed=0)
    obs = {k: torch.as_tensor(v) for k, v in venv.reset().items()}
    entropies = []
    for temperature in (1.0, 0.5):
        kwargs = {"model_name": micro_lm, "temperature": temperature}
        policy = PPO(LMActorCriticPolicy, venv, policy_kwargs=kwargs).policy
        with torch.no_grad():
            entropies.append(float(policy.get_distribution(obs).entropy()))
    assert entropies[1] < entropies[0]


def test_group_advantages_by_hand():
    # Env 0: episodes at steps 0-1 (prompt A, return 1.0) and 2-3 (prompt A, return 0.0), then one that runs past
    # the buffer (step 4 on). Env 1: an episode cut at the start (no start flag), then prompt A (return 0.5, ends
    # with the buffer) .
    rewards = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.5]], dtype=np.float32)
    starts = np.array([[1, 0], [0, 0], [1, 0], [0, 0], [1, 1]], dtype=np.float32)
    names = {(0, 0): b"A", (2, 0): b"A", (4, 0): b"B", (4, 1): b"A"}
    adv, grouped = group_advantages(rewards, starts, np.array([False, True]), lambda t, e: names[(t, e)], 1.0)
    # Group A: returns 1.0, 0.0, 0.5; each is judged against the mean of the two others.
    assert adv[0:2, 0] == pytest.approx([1.0 - 0.25, 1.0 - 0.25])
    assert adv[2:4, 0] == pytest.approx([-0.75, -0.75])
    assert adv[4, 1] == pytest.approx(0.5 - 0.5)
    assert not grouped[4, 0]  # prompt B runs past the buffer
    assert not grouped[0:4, 1].any()  # the cut episode
    # Discounting: the return-to-go of a step, less the others' whole returns.
    adv, _ = group_advantages(rewards, starts, np.array([False, True]), lambda t, e: names[(t, e)], 0.5)
    assert adv[0, 0] == pytest.approx(0.5 - (0.0 + 0.5) / 2)


def test_group_advantages_judge_each_turn_against_the_same_turn_of_the_others():
    # One prompt, three conversations rewarded at each turn's end. Env 0: turns of 2 + 2 steps (rewards 1, 1);
    # env 1: 1 + 2 steps (rewards 0, 2); env 2: one turn of 2 steps (reward 0.5), then the user left.
    rewards = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.5], [0.0, 0.0, 0.0], [1.0, 2.0, 0.0]], dtype=np.float32)
    starts = np.zeros((4, 3), dtype=np.float32)
    starts[0] = 1
    starts[2, 2] = 1  # env 2's next episode (another prompt) runs past the buffer
    turns = np.zeros((4, 3), dtype=bool)
    turns[[0, 2], 0] = turns[[0, 1], 1] = turns[[0, 2], 2] = True
    names = {(0, 0): b"A", (0, 1): b"A", (0, 2): b"A", (2, 2): b"B"}
    dones = np.array([True, True, False])
    adv, grouped = group_advantages(rewards, starts, dones, lambda t, e: names[(t, e)], 1.0, turns)
    # Turn 1 against the others' whole returns: env 0: 2 - (2 + 0.5) / 2; env 1: 2 - (2 + 0.5) / 2 at its
    # first step; env 2: 0.5 - (2 + 2) / 2.
    assert adv[0:2, 0] == pytest.approx([0.75, 0.75])
    assert adv[0, 1] == pytest.approx(0.75)
    assert adv[0:2, 2] == pytest.approx([-1.5, -1.5])
    # Turn 2 against the return-to-go from the second turn of those that had one: env 0: 1 - 2; env 1: 2 - 1.
    assert adv[2:4, 0] == pytest.approx([-1.0, -1.0])
    assert adv[1:3, 1] == pytest.approx([1.0, 1.0])
    assert grouped[:, :2].all() and grouped[:2, 2].all() and not grouped[2:, 2].any()
    # Without turns, every step is judged against the others' whole returns.
    adv, _ = group_advantages(rewards, starts, dones, lambda t, e: names[(t, e)], 1.0)
    assert adv[2:4, 0] == pytest.approx([1.0 - 1.25, 1.0 - 1.25])


def test_turn_starts_find_the_turns_of_a_conversation():
    env = gym.make("DialogueChat-v0")
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    eos = env.unwrapped.codec.eos_id
    rows, actions, episode_starts, expected = [], [], [], []
    begins = new_episode = True
    for _ in range(120):
        rows.append(obs)
        episode_starts.append(new_episode)
        expected.append(begins)
        action = eos if rng.random() < 0.15 else int(rng.integers(env.action_space.n))
        actions.append(action)
        obs, _, terminated, truncated, info = env.step(action)
        new_episode = terminated or truncated
        begins = "completion" in info  # the turn ended: the next step starts a new one
        if new_episode:
            obs, _ = env.reset()
    observations = {k: np.stack([o[k] for o in rows])[:, None] for k in rows[0]}
    starts = np.array(episode_starts, dtype=np.float32)[:, None]
    found = turn_starts(observations, np.array(actions)[:, None, None], starts)
    assert found[:, 0].tolist() == expected
    assert sum(expected) > sum(episode_starts) + 5  # several turns per conversation
    # Observations that are not a token layout: one turn per episode.
    plain = turn_starts({"obs": np.zeros((120, 1, 3))}, np.array(actions)[:, None], starts)
    assert plain[:, 0].tolist() == [True] + [bool(x) for x in episode_starts[1:]]


def test_repeat_task_serves_each_prompt_in_groups():
    env = RepeatTask(gym.make("Dialogue-v0"), times=3)
    prompts = [env.reset(seed=0)[1]["prompt"]] + [env.reset()[1]["prompt"] for _ in range(5)]
    assert prompts[0] == prompts[1] == prompts[2] != prompts[3] == prompts[4] == prompts[5]
    assert env.reset(seed=0)[1]["prompt"] == prompts[0]  # a seed starts a new group
    assert env.reset()[1]["prompt"] == prompts[0]
    with pytest.raises(ValueError, match="times must be a positive int"):
        RepeatTask(gym.make("Dialogue-v0"), times=0)
    with pytest.raises(RuntimeError, match="no task to repeat"):
        gym.make("Dialogue-v0").reset(options={"repeat_task": True})


def test_group_baseline_replaces_the_critic_for_grouped_episodes(micro_lm):
    venv = make_vec_env("TokenSubset-v0", n_envs=2, seed=0, wrapper_class=RepeatTask, wrapper_kwargs={"times": 4})
    kwargs = {"n_steps": 40, "batch_size": 20, "seed": 0, "policy_kwargs": {"model_name": micro_lm}}
    model = PPO(
        LMActorCriticPolicy,
        venv,
        rollout_buffer_class=EpisodeDictRolloutBuffer,
        rollout_buffer_kwargs={"baseline": "group"},
        **kwargs,
    )
    _, callback = model._setup_learn(80, None)
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, n_rollout_steps=40)
    buf = model.rollout_buffer
    assert 0.5 < buf.grouped_fraction <= 1.0
    # The grouped steps' advantages are the group's, whatever the critic's values were.
    advantages, grouped = group_advantages(
        buf.rewards,
        buf.episode_starts,
        model._last_episode_starts,
        lambda t, e: b"".join(buf.observations[k][t, e].tobytes() for k in sorted(buf.observations)),
        buf.gamma,
    )
    assert grouped.mean() == buf.grouped_fraction
    assert np.allclose(buf.advantages[grouped], advantages[grouped])
    assert not np.allclose(buf.advantages[grouped], (buf.returns - buf.values)[grouped])
    model.learn(80)  # and PPO trains with it
    with pytest.raises(ValueError, match="baseline must be"):
        PPO(
            LMActorCriticPolicy,
            venv,
            rollout_buffer_class=EpisodeDictRolloutBuffer,
            rollout_buffer_kwargs={"baseline": "prompt"},
            **kwargs,
        )


def test_repeat_task_replays_a_game_from_its_start():
    """A game's prompt changes turn by turn; repeating the task starts the same game over, not its last turn."""
    from tokengym.agents.textgame import SeedPool

    env = RepeatTask(SeedPool(gym.make("TextNav-v0", level=2)), times=2)
    first = env.reset(seed=3)[1]["prompt"]
    writer = TextActionWrapper(env)
    command = env.unwrapped.admissible_commands[0]
    assert writer.step(command)[4]["prompt"] == first
    assert env.unwrapped.current_sample.prompt != first  # the next turn's text
    assert env.reset()[1]["prompt"] == first  # the same game from its start
    assert env.reset()[1]["prompt"] != first  # a group of two: the next game is a new one
    with pytest.raises(RuntimeError, match="no game to repeat"):
        gym.make("TextNav-v0").reset(options={"repeat_task": True})
