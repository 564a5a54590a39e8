"""Lessons 1 to 4 of the teaching notebooks (``python notebooks/build.py`` writes them)."""

from build import code, md

QUICKSTART = [
    md("""
# 1. Text generation as an MDP

In tokengym an **action is one token**. An episode writes a completion (a reply, a summary) one token per step,
and the reward judges the completion when it ends. The Markov decision process is

- state $s_t$: the prompt and the tokens written so far, $s_t = (x, a_1, \\dots, a_{t-1})$;
- action $a_t \\in \\{0, \\dots, V-1\\}$, one of the $V = 4096$ tokens of the embedded model;
- transition: deterministic, $s_{t+1} = s_t \\oplus a_t$ (append the token);
- reward $r_t$: usually 0 until the end-of-sequence token, then the reward function's score of the completion;
- the return $G = \\sum_t r_t$ is what every algorithm of the next lessons maximises.

**What to look at:** the observation layout, what a random policy earns, and how swapping the reward changes the
task without touching the environment.
"""),
    code("""
import gymnasium as gym

env = gym.make("Dialogue-v0")
obs, info = env.reset(seed=0)
print(info["prompt"])
print("action space:", env.action_space)
print({k: (v.dtype, v.shape) for k, v in obs.items()})
"""),
    md("""
The observation is `[prompt | generated so far | pad]`, right-padded; the attention mask marks the real tokens.
Each step appends exactly one token, so the state grows by one:
"""),
    code("""
codec = env.unwrapped.codec
n = int(obs["attention_mask"].sum())
for token in codec.encode(" Good morning!"):
    obs, reward, terminated, truncated, info = env.step(token)
print(n, "->", int(obs["attention_mask"].sum()), "tokens; reward so far", reward)
obs, reward, terminated, truncated, info = env.step(codec.eos_id)  # end of the reply
print(terminated, round(reward, 3), repr(info["completion"]), info["reward_components"])
"""),
    md("""
A uniformly random policy writes noise until the 48-token budget runs out. Its returns are the floor every
learning algorithm must beat; the plot shows their spread over prompts.
"""),
    code("""
rng = np.random.default_rng(0)
random_returns = []
for episode in range(B(4, 20)):
    env.reset(seed=episode)
    done, total = False, 0.0
    while not done:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        total += reward
        done = terminated or truncated
    random_returns.append(total)
print("random policy mean return:", round(float(np.mean(random_returns)), 3))
plt.hist(random_returns, bins=10)
plt.xlabel("return of one episode")
plt.ylabel("episodes")
plt.title("Dialogue-v0, uniformly random tokens")
plt.show()
"""),
    md("""
`TextActionWrapper` steps with whole strings: for LLM agents that generate elsewhere, and for people
(`tokengym play Dialogue-v0`). The reference reply shows what a good completion earns:
"""),
    code("""
text_env = tokengym.TextActionWrapper(gym.make("Dialogue-v0"))
text_env.reset(seed=0)
reference = text_env.unwrapped.current_sample.columns["references"]
_, reward, *_, info = text_env.step(reference)
print(repr(reference), round(reward, 3))
"""),
    md("""
Rewards are swappable specs: weighted sums of named components. The environment reports each component in
`info["reward_components"]`, so you can see *why* a completion scored what it did.
"""),
    code("""
summ = tokengym.TextActionWrapper(gym.make("Summarization-v0", reward="rouge_l + 0.5*bleu - 0.1*repetition"))
_, info = summ.reset(seed=1)
print(info["prompt"][:300], "...")
_, reward, *_, info = summ.step("The council approved the plan on Tuesday.")
print(round(reward, 3), {k: round(v, 3) for k, v in info["reward_components"].items()})
print("available rewards:", tokengym.reward_names())
"""),
    md("""
## Exercises

1. How many states can an episode of `Dialogue-v0` visit? Count the possible token sequences of length
   `max_new_tokens` for $V = 4096$, and explain why a table of values (lesson 3) cannot work here.
2. Play `Dialogue-v0` with the **embedded model** instead of random tokens: `tokengym.agents.lm.loading.load_lm("tiny")`
   and sample each token from `softmax(logits[-1])`. What mean return does it reach on the same 20 prompts?
3. Write your own reward (`def my_reward(prompts, completions, **kw): ...`) that pays the number of question
   marks, and pass it as `reward=my_reward` to `gym.make("Dialogue-v0", ...)`.

Solutions: `notebooks/solutions/01_quickstart.md`.
"""),
]

QUICKSTART_SOLUTIONS = """
# Lesson 1: solutions

1. $4096^{48} \\approx 10^{173}$ sequences (more with shorter replies): far too many to visit once, let alone
   to estimate a value for each. Token-level RL needs a function (the language model) that generalises across
   states.
2. ```python
   from tokengym.agents.lm.loading import load_lm
   model, codec = load_lm("tiny")
   env = gym.make("Dialogue-v0", tokenizer=codec)
   returns = []
   for seed in range(20):
       obs, _ = env.reset(seed=seed)
       done, total = False, 0.0
       while not done:
           ids = torch.tensor(obs["input_ids"][obs["attention_mask"].astype(bool)])[None]
           with torch.no_grad():
               logits = model(input_ids=ids).logits[0, -1]
           token = int(torch.multinomial(torch.softmax(logits, -1), 1))
           obs, reward, terminated, truncated, _ = env.step(token)
           total, done = total + reward, terminated or truncated
       returns.append(total)
   print(np.mean(returns))   # about 0.5, against about 0 for random tokens
   ```
   (`tokengym.agents.teaching.reinforce.evaluate_returns(model, env, range(20))` does the same with the KV cache.)
3. ```python
   def questions(prompts, completions, **kwargs):
       return [float(c.count("?")) for c in completions]
   env = tokengym.TextActionWrapper(gym.make("Dialogue-v0", reward=questions))
   env.reset(seed=0)
   print(env.step("Why? How? Really?")[1])   # 3.0
   ```
"""

REWARDS = [
    md("""
# 2. Rewards and reward hacking

A reward function is the *only* thing the agent is told about the task. tokengym's rewards are batched callables
`fn(prompts, completions, **columns) -> list[float]`, and a spec string composes them into a weighted sum

$$ r(x, y) = \\sum_k w_k \\, r_k(x, y). $$

An optimiser maximises exactly that sum, including its loopholes: **reward hacking** is the policy finding a
completion that scores high and is not what we meant. This lesson

1. composes rewards and reads their components;
2. trains PPO on a hackable reward (VADER sentiment: repeat "great" and it scores 0.99) and watches it exploit it;
3. fixes it with a second objective (a repetition penalty) and a KL penalty to the starting model,
   $r'_t = r_t - \\beta \\,(\\log \\pi_\\theta(a_t|s_t) - \\log \\pi_{\\mathrm{ref}}(a_t|s_t))$.

**What to look at:** the sample replies before and after, and the reward components, not just the total.
"""),
    code("""
from tokengym.rewards import make_reward

replies = [
    "I am doing well, thank you for asking!",
    "great great great great great great great great",
    "ok",
]
for spec in ["sentiment", "sentiment + repetition", "sentiment + repetition + 0.5*brevity(min_words=4)"]:
    reward = make_reward(spec)
    scores = reward(["How are you?"] * len(replies), replies)
    print(f"{spec:<52}", [round(s, 3) for s in scores])
"""),
    md("""
The first spec prefers the degenerate reply. Let PPO find that out by itself: a short run from the embedded
model on `Dialogue-v0` with `reward="sentiment"`.
"""),
    code("""
import tempfile

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.train import train

RUNS = tempfile.mkdtemp(prefix="lesson2-")


def ppo(reward, name, kl_coef=0.0):
    cfg = TrainConfig(
        env_id="Dialogue-v0",
        env_kwargs={"max_prompt_len": 64, "max_new_tokens": 24},
        reward=reward,
        total_timesteps=B(64, 3072),
        n_envs=B(1, 4),
        vec_env="dummy",
        n_steps=B(64, 128),
        batch_size=B(64, 256),
        learning_rate=B(1e-4, 3e-4),
        temperature=0.7,
        kl_coef=kl_coef,
        eval_episodes=B(2, 12),
        out_dir=f"{RUNS}/{name}",
        progress_bar=False,
        tensorboard=False,
    )
    return train(cfg, log=lambda *a: None)


hacked = ppo("sentiment", "hacked")
for sample in hacked.held_out.report.samples[:4]:
    print(round(sample["return"], 3), repr(sample["completion"]))
"""),
    md("""
At the full budget most replies drift toward strings of positive words: the sentiment is high, the reply is
useless. Now the same run with the repetition penalty as a second objective and a KL penalty that keeps the
policy close to the fluent starting model.
"""),
    code("""
fixed = ppo("sentiment + repetition + relevance_lexical", "fixed", kl_coef=0.05)
for sample in fixed.held_out.report.samples[:4]:
    print(round(sample["return"], 3), repr(sample["completion"]))
"""),
    md("""
Score both policies under the *same* yardsticks: each component on its own. The hacked policy wins on the
component it was paid for and loses elsewhere.
"""),
    code("""
from tokengym.agents.running.evaluate import evaluate_model

yardstick = "sentiment + repetition + relevance_lexical"
rows = {}
policies = [("tiny (start)", "tiny"), ("PPO on sentiment", hacked.checkpoint), ("PPO fixed + KL", fixed.checkpoint)]
for name, run in policies:
    ev = evaluate_model(str(run), "Dialogue-v0", episodes=B(2, 16), metrics=yardstick,
                        env_kwargs={"max_prompt_len": 64, "max_new_tokens": 24, "reward": "sentiment"})
    rows[name] = {k: v["mean"] for k, v in ev.report.metrics.items()}
names = list(next(iter(rows.values())))
x = np.arange(len(names))
for i, (label, values) in enumerate(rows.items()):
    plt.bar(x + i * 0.27, [values[n] for n in names], width=0.27, label=label)
plt.xticks(x + 0.27, names)
plt.ylabel("mean over held-out prompts")
plt.legend()
plt.title("Each component on its own")
plt.show()
"""),
    md("""
## Exercises

1. Find a reply that scores above 0.5 on `"relevance_lexical"` for the prompt of `Dialogue-v0` seed 0 without
   answering it. (Hint: the reward compares words with the reference reply.)
2. Rerun the hacked run with `kl_coef=0.2`. How does the sentiment of the held-out replies change, and the
   repetition?
3. Which of the built-in rewards cannot be hacked by repeating words? Test three with the cell at the top.

Solutions: `notebooks/solutions/02_rewards_and_hacking.md`.
"""),
]

REWARDS_SOLUTIONS = """
# Lesson 2: solutions

1. ROUGE-1 counts shared words: copy the reference's words in any order, or pad the reply with its frequent
   words. ```python
   env = tokengym.TextActionWrapper(gym.make("Dialogue-v0", reward="relevance_lexical"))
   env.reset(seed=0)
   ref = env.unwrapped.current_sample.columns["references"]
   print(env.step(" ".join(sorted(ref.split())))[1])   # high, and not a reply
   ```
2. `ppo("sentiment", "kl02", kl_coef=0.2)`: the KL penalty pays for every token that the starting model finds
   unlikely, so the replies stay fluent; the sentiment gain is smaller, the repetition penalty near the start's.
3. `repetition` itself, `relevance_lexical` (partly: repeating a reference word is capped by its count in the
   reference) and `brevity` cannot be raised by repeating a word forever; `sentiment` and `politeness` can.
"""

TABULAR = [
    md("""
# 3. From tabular Q-learning to DQN on a small text game

`TextNavCmd-v0` is a command-level game: the observation is a room description and a list of admissible commands
(`go east`, `take red key`, ...), and the action picks one. At level 2 a map has 7 rooms and a locked door; with
12 turns a random player reaches the goal one time in twenty.

**Watkins' Q-learning** keeps a table $Q(s, a)$ and after each step moves it toward a one-step target:

$$ y = r + \\gamma \\max_{a'} Q(s', a') \\qquad Q(s, a) \\leftarrow Q(s, a) + \\alpha \\,(y - Q(s, a)) $$

($y = r$ when $s'$ ends the game). The states are the observations, hashed
(`tokengym.agents.teaching.tabular_q.state_key`). **What to look at:** the learning curve, and the table on
games it has not seen.
"""),
    code("""
# Watkins' update by hand, on a two-step corridor: s0 --go east--> s1 --go east--> goal (+1).
alpha, gamma = 0.5, 0.9
Q = {"s0": np.zeros(2), "s1": np.zeros(2)}     # actions: 0 = go east, 1 = go west
transitions = [("s0", 0, 0.0, "s1", False), ("s1", 0, 1.0, None, True)]
for sweep in range(3):
    for s, a, r, s_next, terminal in transitions:
        y = r if terminal else r + gamma * Q[s_next].max()      # the TD target
        Q[s][a] += alpha * (y - Q[s][a])                        # Watkins' update
    print(f"after sweep {sweep + 1}: Q(s0, east) = {Q['s0'][0]:.3f}, Q(s1, east) = {Q['s1'][0]:.3f}")
"""),
    md("""
The value of the goal flows back one step per sweep, and $Q(s_0, \\text{east})$ tends to $\\gamma \\cdot 1$.
The library's version (`tokengym/agents/teaching/tabular_q.py`) is the same update with epsilon-greedy
exploration over the offered commands:
"""),
    code("""
import gymnasium as gym

from tokengym.agents.teaching import TabularQConfig, train_tabular_q
from tokengym.agents.teaching.tabular_q import play_greedy
from tokengym.agents.textgame import RandomCommandAgent, held_out_seeds

GAME = {"level": 2, "max_turns": 12}
env = gym.make("TextNavCmd-v0", **GAME)
obs, info = env.reset(seed=0)
print(info["text"])
print(info["admissible_commands"])

curves, tables = [], []
for seed in range(3):
    result = train_tabular_q(TabularQConfig(env_kwargs=GAME, total_steps=B(3000, 20000), games=8, seed=seed), env)
    curves.append(result)
    tables.append(result.agent)
for result in curves:
    returns = np.asarray(result.episode_returns)
    smooth = [returns[max(0, i - 24): i + 1].mean() for i in range(len(returns))]
    plt.plot(result.episode_ends, smooth)
plt.xlabel("commands played")
plt.ylabel("episode return (moving mean of 25)")
plt.title("Tabular Q-learning on 8 TextNav games, 3 seeds")
plt.show()
"""),
    code("""
games = list(curves[0].train_games)
unseen = list(held_out_seeds(B(10, 100)))
rows = {
    "table, its games": [np.mean(play_greedy(t, env, games)) for t in tables],
    "random, its games": [np.mean(play_greedy(RandomCommandAgent(seed=s), env, games)) for s in range(3)],
    "table, unseen games": [np.mean(play_greedy(t, env, unseen)) for t in tables],
    "random, unseen games": [np.mean(play_greedy(RandomCommandAgent(seed=s), env, unseen)) for s in range(3)],
}
for name, values in rows.items():
    print(f"{name:<22} {np.mean(values):.3f} ± {np.std(values, ddof=1) / np.sqrt(3):.3f}")
print("states in the first table:", len(tables[0].table))
"""),
    md("""
The table solves the games it trained on and knows nothing of a new map: every new observation is a new row.
**DQN** replaces the table by a network $Q_\\phi(s, a)$ that reads the text, and fits it to the same target with a
frozen copy $\\phi^-$ and a replay buffer:

$$ L(\\phi) = \\mathbb{E}_{(s,a,r,s') \\sim \\mathcal{D}}
   \\big[(r + \\gamma \\max_{a'} Q_{\\phi^-}(s', a') - Q_\\phi(s, a))^2\\big]. $$

LSTM-DQN (Narasimhan et al., 2015) encodes the room text and each command with an LSTM and scores each pair;
here it is SB3's `DQN` with tokengym's policy, trained on games drawn from the training seeds and scored on
unseen ones.
"""),
    code("""
from tokengym.agents.running.presets import make_agent
from tokengym.agents.textgame import evaluate_win_rate, make_train_env

venv = make_train_env("TextNavCmd-v0", GAME, seed=0, n_envs=4)
dqn = make_agent("lstm_dqn", venv, seed=0)
dqn.learn(B(400, 12000))
report = evaluate_win_rate(dqn, "TextNavCmd-v0", held_out_seeds(B(10, 100)), env_kwargs=GAME)
random = evaluate_win_rate(RandomCommandAgent(seed=0), "TextNavCmd-v0", held_out_seeds(B(10, 100)), env_kwargs=GAME)
print(f"LSTM-DQN on unseen games: win rate {report.win_rate:.2f}, return {report.mean_return:.3f}")
print(f"random on unseen games:   win rate {random.win_rate:.2f}, return {random.mean_return:.3f}")
"""),
    md("""
## Exercises

1. Train the table with `games=0` (a new game every episode). How many states does it hold after 20,000 steps,
   and how well does it play its own last games?
2. Set `gamma=1.0`. Does the greedy table still win its games? Does it take the shortest way? (Count turns.)
3. Strip the "Turns left" line from the state (write your own `state_key`): how many states remain, and what
   goes wrong near the end of the turn budget?

Solutions: `notebooks/solutions/03_tabular_q_to_dqn.md`.
"""),
]

TABULAR_SOLUTIONS = """
# Lesson 3: solutions

1. ```python
   result = train_tabular_q(TabularQConfig(env_kwargs=GAME, total_steps=20000, games=0), env)
   print(len(result.agent.table))   # thousands of rows, nearly one per step: states are rarely met twice
   ```
   Its greedy play on fresh games is near random: the table never generalises.
2. With `gamma=1.0` all winning paths are worth 1, so ties are broken at random and the greedy play wanders
   (more turns); it still wins while the "Turns left" line tells it how much time remains. Below 1, shorter
   paths are worth more.
3. Hash the text without its "Turns left" line (decode `input_ids` with `env.unwrapped.codec`, drop the line,
   hash the rest). The table shrinks by roughly the turn budget, but the state is no longer Markov: the same
   room early and late in the game gets one value, and near the end the agent cannot tell a path that still fits
   from one that does not.
"""

POLICY_GRADIENTS = [
    md("""
# 4. Policy gradients from scratch: REINFORCE, baselines, group baselines, PPO

The policy is the language model: $\\pi_\\theta(a_t | s_t) = \\mathrm{softmax}(\\text{logits}_\\theta(s_t))_{a_t}$.
The policy-gradient theorem gives the gradient of the expected return as an expectation we can sample:

$$ \\nabla_\\theta J(\\theta) =
   \\mathbb{E}_{\\pi_\\theta}\\Big[\\sum_t (G_t - b_t)\\, \\nabla_\\theta \\log \\pi_\\theta(a_t|s_t)\\Big],
\\qquad G_t = \\sum_{k \\ge t} \\gamma^{k-t} r_k . $$

Any baseline $b_t$ that does not depend on $a_t$ leaves it unbiased and can cut its variance:

- **none**: $b = 0$ (Williams' REINFORCE);
- **mean**: a running mean of past returns;
- **value**: a learned $V(s_t)$ (a linear head on the model's hidden state);
- **RLOO**: play each prompt $K$ times, $b_i = \\frac{1}{K-1}\\sum_{j \\ne i} G_j$;
- **GRPO**: the same groups, $A_i = (G_i - \\bar G) / \\mathrm{std}(G)$.

The task is `TokenSubset-v0`: each token with an odd id pays 1/8, so random play earns 0.5 and the best policy 1.
Read `tokengym/agents/teaching/reinforce.py` beside this notebook: every equation is named there.
**What to look at:** how fast each curve rises, and how noisy it is.
"""),
    code("""
import gymnasium as gym

from tokengym.agents.teaching import ReinforceConfig, train_reinforce
from tokengym.agents.teaching.reinforce import evaluate_returns

STEPS = B(64, 2048)
runs = {}
for baseline in ["none", "mean", "value", "rloo", "grpo"]:
    cfg = ReinforceConfig(total_timesteps=STEPS, n_steps=B(32, 128), learning_rate=1e-3, baseline=baseline, seed=0)
    runs[baseline] = train_reinforce(cfg)
    print(f"{baseline:<6} last batch mean return {runs[baseline].history[-1]['charts/episodic_return']:.3f}, "
          f"{runs[baseline].seconds:.0f} s")
"""),
    code("""
for baseline, result in runs.items():
    steps = [h["global_step"] for h in result.history]
    plt.plot(steps, [h["charts/episodic_return"] for h in result.history], label=baseline)
plt.axhline(0.5, color="grey", linestyle=":", label="random")
plt.xlabel("tokens written")
plt.ylabel("mean return of the batch")
plt.legend()
plt.title("REINFORCE on TokenSubset-v0 from 'tiny'")
plt.show()
"""),
    md("""
Now the held-out check against random play, on prompts training never drew (seeds 0..N-1; training draws from
seeds above a million).
"""),
    code("""
env = gym.make("TokenSubset-v0", tokenizer=runs["mean"].tokenizer)
held_out = range(B(8, 64))
rng = np.random.default_rng(0)
random_returns = []
for seed in held_out:
    env.reset(seed=seed)
    done, total = False, 0.0
    while not done:
        _, r, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        total, done = total + r, terminated or truncated
    random_returns.append(total)
print(f"random        {np.mean(random_returns):.3f}")
for baseline, result in runs.items():
    print(f"{baseline:<13} {np.mean(evaluate_returns(result.model, env, held_out)):.3f}")
"""),
    md("""
**PPO** (through Stable-Baselines3, with tokengym's language-model policy) adds two things to REINFORCE with a
value baseline: several epochs over each batch, kept safe by the clipped ratio
$\\min(\\rho_t A_t, \\mathrm{clip}(\\rho_t, 1-\\epsilon, 1+\\epsilon) A_t)$ with
$\\rho_t = \\pi_\\theta(a_t|s_t)/\\pi_{\\text{old}}(a_t|s_t)$, and GAE advantages. Same task, same budget:
"""),
    code("""
import tempfile

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.curves import EpisodeLogCallback
from tokengym.agents.running.train import train

episodes = EpisodeLogCallback()
cfg = TrainConfig(env_id="TokenSubset-v0", algo="ppo", total_timesteps=STEPS, n_steps=B(32, 128), batch_size=B(32, 64),
                  learning_rate=1e-3, eval_episodes=B(2, 16), out_dir=tempfile.mkdtemp(prefix="lesson4-"),
                  progress_bar=False, tensorboard=False)
ppo = train(cfg, callbacks=[episodes], log=lambda *a: None)


def moving_mean(steps, returns, window=16):
    # Each episode's end step, and the mean return of the last `window` episodes (fewer at the start).
    returns = np.asarray(returns, dtype=float)
    means = [returns[max(0, i + 1 - window): i + 1].mean() for i in range(len(returns))]
    return steps, means


for baseline in ["mean", "rloo"]:
    plt.plot(*moving_mean(runs[baseline].episode_ends, runs[baseline].episode_returns), label=f"REINFORCE, {baseline}")
plt.plot(*moving_mean(episodes.steps, episodes.returns), label="PPO (SB3)")
plt.axhline(0.5, color="grey", linestyle=":", label="random")
plt.xlabel("tokens written")
plt.ylabel("episode return (moving mean of 16)")
plt.legend()
plt.show()
print("PPO held-out:", round(ppo.held_out.report.mean, 3))
"""),
    md("""
The same algorithm runs from the command line: `tokengym train TokenSubset-v0 --algo reinforce --lr 1e-3`
(a running-mean baseline; `--group-size 4` for RLOO), and its model folder is scored by `tokengym eval`.

## Exercises

1. Measure the variance of the gradient estimate: for the `none` and `rloo` baselines, record
   `history[i]["charts/grad_norm"]` and compare their spread.
2. Set `gamma=0.5`. Why does the policy still learn this task? Which task would it fail?
3. Implement a *per-token* RLOO (baseline at each position $t$ from the siblings' $G_t$) by editing a copy of
   `group_advantages`. Is it still unbiased?

Solutions: `notebooks/solutions/04_policy_gradients.md`.
"""),
]

POLICY_GRADIENTS_SOLUTIONS = """
# Lesson 4: solutions

1. ```python
   for b in ["none", "rloo"]:
       norms = [h["charts/grad_norm"] for h in runs[b].history]
       print(b, np.mean(norms), np.std(norms))
   ```
   Without a baseline every token of a good episode is pushed up by its (positive) return, so the gradient is
   large and noisy; centred advantages are half positive, half negative and the norm is smaller.
2. Here the reward is paid at every token, so each token's own reward dominates its return-to-go; a discount
   only shortens the horizon. A task that pays only at the end (Dialogue-v0) would give the first tokens
   $\\gamma^{T}$ of the signal: almost nothing after 24 tokens at 0.5.
3. ```python
   def per_token_rloo(returns, group_size):           # returns: (B, T) returns-to-go, zero past the end
       groups = returns.view(-1, group_size, returns.shape[1])
       others = (groups.sum(1, keepdim=True) - groups) / (group_size - 1)
       return (groups - others).reshape(returns.shape)
   ```
   Unbiased: the siblings' returns do not depend on this episode's actions.
"""

LESSONS = [
    ("01_quickstart", QUICKSTART, QUICKSTART_SOLUTIONS),
    ("02_rewards_and_hacking", REWARDS, REWARDS_SOLUTIONS),
    ("03_tabular_q_to_dqn", TABULAR, TABULAR_SOLUTIONS),
    ("04_policy_gradients", POLICY_GRADIENTS, POLICY_GRADIENTS_SOLUTIONS),
]
