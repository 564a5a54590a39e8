"""What a newcomer gives the command line: model folders without a tokenizer, models of another vocabulary, rewards
of their own; what it shows them: TextWorld's environments, episode totals, progress; and what TRPO and DQN cost."""

import copy
import json
import pickle
import re
import textwrap
import warnings

import gymnasium as gym
import pytest
import torch
from cli_runner import run_cli

import tokengym  # noqa: F401  (registers the environments)
from tokengym.agents.lm.loading import load_lm
from tokengym.agents.running.algorithms import build_model, make_vec_envs
from tokengym.agents.running.config import TrainConfig
from tokengym.rewards import RewardReferenceError, make_reward
from tokengym.tokenizer import TokenizerWarning, load_tokenizer

BUDGET = ["--steps", "16", "--n-steps", "16", "--batch-size", "16", "--no-progress", "--eval-episodes", "1"]


def _save_gpt2(folder, vocab_size, tokenizer=False):
    """A 1-layer GPT-2 of ``vocab_size`` tokens saved with ``save_pretrained``; the embedded tokenizer beside it
    when asked (the folder of a model trained with another tokenizer, given the wrong one)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    from tokengym.agents.supervised.sft import save_tokenizer_files

    torch.manual_seed(0)
    codec = load_tokenizer()
    config = GPT2Config(
        vocab_size=vocab_size, n_positions=512, n_embd=32, n_layer=1, n_head=2, eos_token_id=codec.eos_id
    )
    GPT2LMHeadModel(config).save_pretrained(str(folder))
    if tokenizer:
        save_tokenizer_files("tiny", codec, folder)
    return str(folder)


# ----------------------------------------------------------------------------------------- models, tokenizers


def test_a_model_folder_without_a_tokenizer_of_the_embedded_size_takes_the_embedded_one_and_says_so(tmp_path):
    folder = _save_gpt2(tmp_path / "bare", 4096)
    with pytest.warns(TokenizerWarning, match="holds no tokenizer files; .* 4,096 tokens, as the embedded"):
        _, tokenizer = load_lm(folder)
    assert tokenizer.vocab_size == 4096
    folder = _save_gpt2(tmp_path / "again", 4096)
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", folder, "--episodes", "1", "--metrics", "none")
    assert code == 0, err
    assert "tokengym eval: warning:" in err and "holds no tokenizer files" in err and "mean reward" in out


def test_a_model_folder_without_a_tokenizer_of_another_size_is_refused_at_load_time(tmp_path):
    folder = _save_gpt2(tmp_path / "bare", 5000)
    with pytest.raises(FileNotFoundError, match=r"holds no tokenizer \(its model has 5,000 tokens\).*save_pretrained"):
        load_lm(folder)
    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "Dialogue-v0", "--model", folder, *BUDGET, "--out", str(out))
    assert code == 2 and "holds no tokenizer (its model has 5,000 tokens)" in err
    assert not out.exists()


def test_a_model_of_another_vocabulary_is_refused_before_anything_is_written(tmp_path, micro_lm):
    folder = _save_gpt2(tmp_path / "wide", 5000, tokenizer=True)  # 5,000 outputs beside the 4,096-token tokenizer
    out = tmp_path / "run"
    code, stdout, err = run_cli("train", "Dialogue-v0", "--model", folder, *BUDGET, "--out", str(out))
    assert code == 2 and not out.exists()  # no run folder, no tb/
    assert "scores 5,000 tokens but the environment acts in Discrete(4096)" in err
    code, _, err = run_cli("eval", "Dialogue-v0", "--model", folder, "--episodes", "1")
    assert code == 2 and "scores 5,000 tokens" in err
    tokenizer_of_another_model = json.dumps({"tokenizer": folder})  # the env's tokenizer chosen by hand
    code, _, err = run_cli("train", "Dialogue-v0", "--model", micro_lm, *BUDGET, "--out", str(out),
                           "--env-kwargs", tokenizer_of_another_model)  # fmt: skip
    assert code == 0, err  # the same 4,096 tokens: allowed


# ------------------------------------------------------------------------------------- rewards of one's own


@pytest.fixture
def reward_file(tmp_path, monkeypatch):
    path = tmp_path / "my_rewards.py"
    path.write_text(
        textwrap.dedent(
            """
            def shouting(prompts, completions, **kwargs):
                return [sum(c.isupper() for c in text) / max(len(text), 1) for text in completions]

            def reward(prompts, completions, **kwargs):
                return [0.25] * len(completions)

            class Length:
                name = "length"

                def __call__(self, prompts, completions, **kwargs):
                    return [float(len(text.split())) for text in completions]

            NOT_CALLABLE = 3
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    return path


def test_a_spec_names_rewards_of_ones_own_by_reference(reward_file):
    assert make_reward("my_rewards.py:shouting").weights == {"shouting": 1.0}
    assert make_reward(str(reward_file)).weights == {"reward": 1.0}  # a file alone: its function named reward
    assert make_reward("my_rewards.py:Length").weights == {"length": 1.0}  # a class: an instance of it
    mixed = make_reward('rouge_l + 0.5*"my_rewards.py:shouting" - 0.1*"tokengym.rewards.shape:Repetition"')
    assert mixed.weights == {"rouge_l": 1.0, "shouting": 0.5, "repetition": -0.1}
    totals, parts = mixed.score(["Q"], ["HELLO there"], references=["hello there"])
    assert parts["shouting"] == [pytest.approx(5 / 11)]
    env = gym.make("Dialogue-v0", reward="my_rewards.py:shouting")
    assert pickle.loads(pickle.dumps(env.unwrapped)).reward_fn.weights == {"shouting": 1.0}


def test_a_reward_list_mixes_callables_spec_strings_and_mappings(reward_file):
    def brevity_bonus(prompts, completions, **kwargs):
        return [1.0] * len(completions)

    reward = make_reward(["rouge_l + 0.5*bleu", brevity_bonus, {"verbosity": 0.2}, "my_rewards.py:shouting"])
    assert reward.weights == {"rouge_l": 1.0, "bleu": 0.5, "brevity_bonus": 1.0, "verbosity": 0.2, "shouting": 1.0}
    with pytest.raises(ValueError, match="two reward components are named 'rouge_l'"):
        make_reward(["rouge_l", {"rouge_l": 0.5}])
    with pytest.raises(TypeError, match="a reward list holds"):
        make_reward(["rouge_l", 3])


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("missing.py:fn", "no file 'missing.py'"),
        ("my_rewards.py:nothing", "has no 'nothing'; it defines Length, reward, shouting"),
        ("my_rewards.py:NOT_CALLABLE", "names an object of type int, not a callable"),
        ("no_such_module_here:fn", "no module named 'no_such_module_here'"),
    ],
)
def test_a_reference_that_does_not_load_says_what_is_wrong(reward_file, reference, message):
    with pytest.raises(RewardReferenceError, match=re.escape(message)):
        make_reward(reference)


def test_train_and_eval_take_a_reward_and_metrics_of_ones_own(reward_file, micro_lm, tmp_path):
    run = tmp_path / "run"
    small = json.dumps({"max_new_tokens": 8})
    code, out, err = run_cli("train", "Dialogue-v0", "--model", micro_lm, *BUDGET, "--out", str(run),
                             "--reward", "my_rewards.py:shouting", "--env-kwargs", small)  # fmt: skip
    assert code == 0, err
    assert "Held-out: mean reward" in out  # the run's own evaluation named the reward again
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", str(run), "--episodes", "1")
    assert code == 2 and "runs your code (my_rewards.py:shouting)" in err and "--reward" in err
    code, out, err = run_cli("eval", "Dialogue-v0", "--model", str(run), "--episodes", "1", "--json",
                             "--reward", "my_rewards.py:shouting", "--metrics", "my_rewards.py:Length")  # fmt: skip
    assert code == 0, err
    report = json.loads(out)
    assert set(report["components"]) == {"shouting"} and set(report["metrics"]) == {"length"}


# --------------------------------------------------------------------------------- list, episodes, progress


def test_list_includes_the_textworld_environments_marked_as_needing_the_extra(monkeypatch):
    from tokengym.cli import catalogue
    from tokengym.envs import textworld_ids

    monkeypatch.setattr(catalogue, "textworld_installed", lambda: False)
    code, out, err = run_cli("list")
    assert code == 0, err
    assert "TextWorld environments (need the textworld extra, pip install 'tokengym[textworld]': not installed)" in out
    for env_id in textworld_ids():
        assert re.search(rf"{re.escape(env_id)} +max_episode_steps \d+  \[needs the textworld extra\]", out)
    code, out, err = run_cli("episodes", "--env", "TWCoinCollector-v0", "--episodes", "1")
    assert code == 0 and "== TWCoinCollector-v0  [needs the textworld extra: pip install" in out


def test_episodes_print_each_component_summed_over_the_episode_beside_the_return():
    import numpy as np

    from tokengym.agents.episodes import play_episodes
    from tokengym.cli.catalogue import RandomPolicy

    code, out, err = run_cli("episodes", "--env", "CoinCollector-v0", "--env", "TextNav-v0", "--episodes", "2")
    assert code == 0, err
    totals = re.findall(r"return ([+-]\d+\.\d+)  \(summed over the episode: ([^)]*)\)", out)
    assert len(totals) == 4 and "== CoinCollector-v0" in out and "== Dialogue-v0" not in out
    for total, parts in totals:  # a game's components add up to its return
        values = [float(part.split("=")[1]) for part in parts.split(", ")]
        assert float(total) == pytest.approx(sum(values), abs=0.0005 * len(values) + 1e-9), (total, parts)
    # a conversation: the components of all its turns, summed (not the last turn's)
    code, out, err = run_cli("episodes", "--env", "DialogueChat-v0", "--episodes", "1")
    assert code == 0, err
    env = gym.make("DialogueChat-v0")
    (episode,) = play_episodes(RandomPolicy(env.action_space.n, np.random.default_rng(0)), env, [0])
    shown = ", ".join(f"{k}={v:+.3f}" for k, v in episode.components.items())
    assert f"return {episode.episode_return:+.3f}  (summed over the episode: {shown})" in out


def test_sft_shows_a_progress_bar_like_train(micro_lm, tmp_path, monkeypatch):
    from tokengym.agents.supervised import sft

    bars = []

    class Bar:
        def __init__(self, steps):
            bars.append(self)
            self.steps, self.done, self.closed = steps, 0, False

        def set_postfix_str(self, text, refresh=True):
            self.postfix = text

        def update(self, n):
            self.done += n

        def close(self):
            self.closed = True

    monkeypatch.setattr(sft, "_progress_bar", Bar)
    args = ["--model", micro_lm, "--steps", "3", "--batch-size", "2"]
    code, _, err = run_cli("sft", "Dialogue-v0", *args, "--out", str(tmp_path / "a"))
    assert code == 0, err
    assert len(bars) == 1 and bars[0].steps == bars[0].done == 3 and bars[0].closed and "loss" in bars[0].postfix
    code, _, err = run_cli("sft", "Dialogue-v0", *args, "--out", str(tmp_path / "b"), "--no-progress")
    assert code == 0 and len(bars) == 1


# ---------------------------------------------------------------------------------------- TRPO's and DQN's cost


def test_trpo_and_dqn_take_their_cost_settings_from_the_configuration(micro_lm):
    from tokengym.agents.lm.trpo import LMTRPO

    small = {"env_id": "TokenSubset-v0", "model_name": micro_lm, "n_steps": 16, "batch_size": 16}
    cfg = TrainConfig(algo="trpo", cg_max_steps=3, n_critic_updates=1, total_timesteps=16, **small)
    trpo = build_model(cfg, make_vec_envs(cfg, 0))
    assert isinstance(trpo, LMTRPO) and (trpo.cg_max_steps, trpo.n_critic_updates) == (3, 1)
    defaults = TrainConfig(algo="trpo", **small)
    assert (defaults.cg_max_steps, defaults.n_critic_updates) == (10, 5)
    cfg = TrainConfig(
        algo="dqn", buffer_size=64, train_freq=8, gradient_steps=2, target_update_interval=32, learning_starts=8,
        **small,
    )  # fmt: skip
    dqn = build_model(cfg, make_vec_envs(cfg, 0))
    assert (dqn.buffer_size, dqn.train_freq.frequency, dqn.gradient_steps, dqn.target_update_interval) == (64, 8, 2, 32)
    assert not dqn.policy.q_net_target.q_net.states.use_kv_cache  # replay batches are scored in full
    assert dqn.policy.q_net.q_net.states.use_kv_cache  # acting keeps the cache
    with pytest.raises(ValueError, match="cg_max_steps must be"):
        TrainConfig(algo="trpo", cg_max_steps=0, **small)
    code, out, _ = run_cli("train", "--help")
    assert "--cg-max-steps" in out and "--n-critic-updates" in out and "--train-freq" in out


def test_lm_trpo_takes_the_same_gradients_as_sb3_contrib_in_one_pass(micro_lm):
    """LMTRPO's one-call gradients are sb3-contrib's per-tensor gradients, and so are the Fisher-vector products
    built on them."""
    from sb3_contrib import TRPO
    from stable_baselines3.common.distributions import kl_divergence

    cfg = TrainConfig(env_id="TokenSubset-v0", algo="trpo", model_name=micro_lm, n_steps=16, batch_size=16)
    model = build_model(cfg, make_vec_envs(cfg, 0))
    _, callback = model._setup_learn(32, None)
    callback.init_callback(model)
    model.collect_rollouts(model.env, callback, model.rollout_buffer, 16)
    data = next(model.rollout_buffer.get(batch_size=None))
    torch.manual_seed(1)
    with torch.no_grad():  # a copy, as TRPO keeps it: the policy's distribution object is reused by each call
        old = copy.copy(model.policy.get_distribution(data.observations))
        old.distribution = torch.distributions.Categorical(logits=old.distribution.logits + torch.randn(16, 4096))
    results = []
    for method in (TRPO._compute_actor_grad, type(model)._compute_actor_grad):
        dist = model.policy.get_distribution(data.observations)
        kl = kl_divergence(dist, old).mean()
        objective = (dist.log_prob(data.actions.flatten().long()) * data.advantages).mean()
        params, objective_grad, kl_grad, shapes = method(model, kl, objective)
        vector = torch.ones_like(kl_grad) * 1e-3
        fisher = model.hessian_vector_product(params, kl_grad, vector, retain_graph=False)
        results.append((params, objective_grad.detach(), kl_grad.detach(), [tuple(s) for s in shapes], fisher))
    (p1, o1, k1, s1, f1), (p2, o2, k2, s2, f2) = results
    assert [id(p) for p in p1] == [id(p) for p in p2] and s1 == s2
    assert torch.allclose(o1, o2, atol=1e-6) and torch.allclose(k1, k2, atol=1e-6)
    assert torch.allclose(f1, f2, atol=1e-6)
    assert k1.abs().sum() > 0  # the KL was not flat: the comparison means something


# -------------------------------------------------------------------------------------------------- README


def _readme_python_blocks():
    from pathlib import Path

    text = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S), text


def _free_names(source):
    """Names a snippet reads that neither it nor Python's builtins define."""
    import ast
    import builtins

    tree = ast.parse(source)
    defined = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            defined |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    read = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    return read - defined


def test_every_readme_snippet_runs_when_pasted_alone():
    blocks, _ = _readme_python_blocks()
    assert len(blocks) >= 5
    for block in blocks:
        assert not _free_names(block), (block, _free_names(block))
    for block in blocks:
        if ".learn(" not in block:  # the training snippets take minutes; their imports are checked above
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                exec(compile(block, "README.md", "exec"), {"__name__": "readme"})


def test_the_readme_lists_every_notebook():
    from pathlib import Path

    _, text = _readme_python_blocks()
    notebooks = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))
    assert notebooks
    for notebook in notebooks:
        assert f"notebooks/{notebook.name}" in text, notebook.name


def test_one_reference_loader_serves_rewards_and_bench_agents():
    import doctest

    from tokengym import references

    assert doctest.testmod(references).failed == 0
