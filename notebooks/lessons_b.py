"""Lessons 5 to 8 of the teaching notebooks (``python notebooks/build.py`` writes them)."""

from build import code, md

DIALOGUE = [
    md("""
# 5. PPO on dialogue with a KL penalty to a reference model

Fine-tuning a language model with RL trades two things: the task reward, and staying a fluent language model.
The KL-regularised objective (Jaques et al. 2019; Ziegler et al. 2019) makes the trade explicit,

$$ \\max_\\theta \\; \\mathbb{E}_{y \\sim \\pi_\\theta(\\cdot|x)}\\big[r(x, y)\\big]
   - \\beta\\, \\mathrm{KL}\\big(\\pi_\\theta(\\cdot|x) \\,\\|\\, \\pi_{\\mathrm{ref}}(\\cdot|x)\\big), $$

paid token by token as $-\\beta(\\log \\pi_\\theta(a_t|s_t) - \\log \\pi_{\\mathrm{ref}}(a_t|s_t))$, with
$\\pi_{\\mathrm{ref}}$ the frozen starting model. With `target_kl`, $\\beta$ adapts so that the KL per token stays
near a target. **What to look at:** the conversations before and after, side by side on the same prompts.
"""),
    code("""
import tempfile

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.evaluate import evaluate_model
from tokengym.agents.running.train import train

ENV_KWARGS = {"max_prompt_len": 64, "max_new_tokens": 24}
before = evaluate_model("tiny", "Dialogue-v0", episodes=B(3, 16), metrics=None, env_kwargs=ENV_KWARGS)
cfg = TrainConfig(
    env_id="Dialogue-v0", env_kwargs=ENV_KWARGS, total_timesteps=B(64, 4096), n_envs=B(1, 4), vec_env="dummy",
    n_steps=B(64, 128), batch_size=B(64, 256), learning_rate=3e-5, temperature=0.7, group_size=B(1, 4),
    kl_coef=0.05, target_kl=0.05, eval_episodes=B(3, 16), out_dir=tempfile.mkdtemp(prefix="lesson5-"),
    progress_bar=False, tensorboard=False,
)
result = train(cfg, log=lambda *a: None)
after = result.held_out
print(f"held-out reward: before {before.report.mean:+.3f}, after {after.report.mean:+.3f} over {after.rules()}")
"""),
    code("""
for old, new in list(zip(before.report.samples, after.report.samples, strict=True))[:B(2, 5)]:
    print(old["prompt"][-160:].strip())
    print(f"  before ({old['return']:+.2f}): {old['completion']}")
    print(f"  after  ({new['return']:+.2f}): {new['completion']}")
    print()
for name, ev in [("before", before), ("after", after)]:
    words = np.mean([len(s["completion"].split()) for s in ev.report.samples])
    print(f"{name}: {words:.1f} words per reply on average")
plt.imshow(plt.imread(str(result.learning_curve)))
plt.axis("off")
plt.show()
"""),
    md("""
The reward is the task's default: lexical relevance to a reference reply, with penalties for rambling,
repetition and one-word replies (`gym.make("Dialogue-v0").unwrapped.reward_spec`).

## Exercises

1. Train with `kl_coef=0.0` (and no `target_kl`) at the full budget. Compare the replies: what does the policy
   give up without the penalty?
2. Play the trained checkpoint in a multi-turn conversation: `tokengym eval DialogueChat-v0 --model ...` will
   refuse it (another environment); train on `DialogueChat-v0` instead and read a whole conversation from
   `held_out.report.samples[0]["turns"]`.
3. Where is the KL measured? Open TensorBoard logs (`tensorboard=True`) and find `kl/` scalars.

Solutions: `notebooks/solutions/05_ppo_dialogue_kl.md`.
"""),
]

DIALOGUE_SOLUTIONS = """
# Lesson 5: solutions

1. Without the penalty the policy moves further from the starting model in the same number of steps: replies
   get shorter and more generic (the reward's relevance is lexical, so frequent reference words pay), and less
   fluent. `TrainConfig(..., kl_coef=0.0, target_kl=None)`.
2. `TrainConfig(env_id="DialogueChat-v0", ...)`; each sample's `turns` holds every reply with the user's answer
   to it. Multi-turn episodes are 4 times longer: give it 4 times the steps.
3. `KLPenaltyCallback` (tokengym.agents.lm.kl) logs the measured KL per token and the coefficient under `kl/`;
   `tensorboard --logdir RUN/tb`.
"""

GAMES = [
    md("""
# 6. Text games at token level: action masks, MaskablePPO, walkthrough warm starts

`TextNav-v0` is lesson 3's game with the language model **writing** each command, token by token. Most of the
4,096 tokens cannot start or continue any admissible command, so the environment offers `action_masks()`: the
tokens that keep the command on a path of the **command trie** (the admissible commands, tokenised, as a prefix
tree). MaskablePPO samples only among them,

$$ \\pi_\\theta^{\\text{mask}}(a|s) =
   \\frac{\\pi_\\theta(a|s)\\, m(s, a)}{\\sum_{a'} \\pi_\\theta(a'|s)\\, m(s, a')}, $$

and NLPO (Ramamurthy et al. 2023) builds such masks for tasks without a trie from the top-p nucleus of a frozen
copy of the policy (`--nlpo-top-p`). **What to look at:** how many tokens stay legal at each step, and what a
few supervised steps on walkthroughs do before any RL.
"""),
    code("""
import gymnasium as gym

GAME = {"level": 1, "max_turns": 5}
env = gym.make("TextNav-v0", level=2)  # a room with two exits, so that the trie branches
obs, info = env.reset(seed=0)
codec = env.unwrapped.codec
print(info["prompt"])
print("admissible:", info["admissible_commands"])
command = info["admissible_commands"][0]
for token in codec.encode(" " + command) + [codec.eos_id]:
    legal = env.unwrapped.action_masks()
    print(f"{int(legal.sum()):>5} legal tokens, writing {codec.decode([token])!r}")
    obs, reward, terminated, truncated, info = env.step(token)
print("reward", reward, "| info after the command:", sorted(info))
"""),
    code("""
import tempfile

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.policies import load_policy
from tokengym.agents.running.train import train
from tokengym.agents.textgame import evaluate_win_rate, held_out_seeds

WORK = tempfile.mkdtemp(prefix="lesson6-")
games = held_out_seeds(B(4, 50))


def win_rate(model):
    policy = load_policy(model, "TextNav-v0", GAME).policy
    return evaluate_win_rate(policy, "TextNav-v0", games, deterministic=False, env_kwargs=GAME).win_rate


rl = train(TrainConfig(env_id="TextNav-v0", env_kwargs=GAME, algo="maskable_ppo", total_timesteps=B(64, 4096),
                       n_steps=B(64, 256), batch_size=64, group_size=B(1, 4), learning_rate=3e-5,
                       eval_episodes=0, out_dir=f"{WORK}/ppo", progress_bar=False, tensorboard=False),
           log=lambda *a: None)
rates = {"tiny, masked": win_rate("tiny"), "MaskablePPO": win_rate(str(rl.checkpoint))}
plt.bar(list(rates), list(rates.values()))
plt.ylabel(f"win rate on {len(games)} unseen games (masked sampling)")
plt.show()
print(dict(zip(rates, np.round(list(rates.values()), 2), strict=True)))
"""),
    md("""
**A walkthrough warm start.** TextWorld's games (the `textworld` extra) record a walkthrough: the commands that
win. A few supervised steps on them (`tokengym.agents.supervised.sft`, or `tokengym sft TWCoinCollector-v0
--out runs/sft`) teach the model the game's language before any RL, and MaskablePPO starts from there
(`tokengym train TWCoinCollector-v0 --algo maskable_ppo --model runs/sft`). TextNav's games have no
walkthrough, so this notebook starts RL from "tiny" itself.

## Exercises

1. Play `TextNav-v0` with masks off (`load_policy(..., masks=False)`): how often does the untrained model write
   an admissible command at all?
2. Train `--algo maskable_ppo --nlpo-top-p 0.9` on `Dialogue-v0` from the command line. What does the mask
   remove, and why does it keep the replies fluent?
3. Compare with lesson 3: the command-level LSTM-DQN picks from a list; here the model writes. Which one can
   play a game whose commands it has never seen listed?
4. With the `textworld` extra installed: warm-start on `TWCoinCollector-v0`'s walkthroughs
   (`SFTConfig(env_id="TWCoinCollector-v0", steps=60)`) and compare the win rate before and after.

Solutions: `notebooks/solutions/06_text_games_token_level.md`.
"""),
]

GAMES_SOLUTIONS = """
# Lesson 6: solutions

1. `load_policy("tiny", "TextNav-v0", GAME, masks=False)`: the model writes free text, most of it not a command
   (the game answers "I don't understand that" and the turn is lost); the win rate falls to near zero.
2. `tokengym train Dialogue-v0 --algo maskable_ppo --nlpo-top-p 0.9 --steps 2048`: the mask keeps the tokens in
   the frozen model's top-90% nucleus, so the policy cannot drift into tokens the language model finds
   unlikely: a hard version of the KL penalty of lesson 5.
3. The token-level model: it writes commands from their words; the command-level agent only ranks what the game
   lists.
4. ```python
   from tokengym.agents.supervised.sft import SFTConfig, supervised_finetune
   supervised_finetune(SFTConfig(env_id="TWCoinCollector-v0", steps=60, progress_bar=False), out="runs/sft")
   ```
   then `win_rate` as above with `"TWCoinCollector-v0"` for both folders: the warm start wins far more games than
   "tiny" before any RL, and MaskablePPO then starts from a policy that already wins.
"""

SUMMARIES = [
    md("""
# 7. Summarization and faithfulness

`Summarization-v0` asks for a summary of an article. The articles are generated with every person, place and
number invented for the document, so a model can only get them right by **copying from the source**. Metrics:

- overlap with the reference: ROUGE-1/2/L, BLEU, chrF;
- **fact coverage**: the share of the article's key facts that the summary states;
- **faithfulness** and **invented facts**: names and numbers in the summary that the source does not contain.

With `invented_penalty=w` the environment also pays $-w$ on the token that completes an invented name or number:
a dense faithfulness signal. **What to look at:** what RL changes in coverage and invention, not only ROUGE.
"""),
    code("""
import gymnasium as gym

from tokengym.agents.running.evaluate import evaluate_model

env = gym.make("Summarization-v0")
obs, info = env.reset(seed=3)
print(info["prompt"][:500], "...")
print("metrics:", env.unwrapped.eval_metrics())
zero_shot = evaluate_model("tiny", "Summarization-v0", episodes=B(2, 16))
print("zero-shot summary:", zero_shot.report.samples[0]["completion"])
print({k: round(v["mean"], 3) for k, v in zero_shot.report.metrics.items()})
"""),
    code("""
import tempfile

from tokengym.agents.running.config import TrainConfig
from tokengym.agents.running.train import train

cfg = TrainConfig(env_id="Summarization-v0", env_kwargs={"invented_penalty": 1.0}, total_timesteps=B(64, 3072),
                  n_envs=B(1, 4), vec_env="dummy", n_steps=B(64, 128), batch_size=B(64, 256), learning_rate=3e-5,
                  temperature=0.7, kl_coef=0.05, eval_episodes=0, out_dir=tempfile.mkdtemp(prefix="lesson7-"),
                  progress_bar=False, tensorboard=False)
trained = train(cfg, log=lambda *a: None)
after = evaluate_model(str(trained.checkpoint), "Summarization-v0", episodes=B(2, 16))
names = [n for n in zero_shot.report.metrics if n in after.report.metrics]
x = np.arange(len(names))
plt.bar(x - 0.2, [zero_shot.report.metrics[n]["mean"] for n in names], width=0.4, label="tiny")
plt.bar(x + 0.2, [after.report.metrics[n]["mean"] for n in names], width=0.4, label="PPO + invented penalty")
plt.xticks(x, names, rotation=45, ha="right")
plt.legend()
plt.title("Held-out summary metrics")
plt.show()
print("after:", after.report.samples[0]["completion"])
"""),
    md("""
## Exercises

1. Train with `reward="rouge_l"` only. Does ROUGE rise? Does fact coverage? Does invention fall?
2. Write a summary by hand for seed 3 that scores high ROUGE-L and invents a number. Which metric catches it?
3. Why are the entities of the pretraining articles invented per document? (Think of what a model would learn
   if the same names always came with the same facts.)

Solutions: `notebooks/solutions/07_summarization_faithfulness.md`.
"""),
]

SUMMARIES_SOLUTIONS = """
# Lesson 7: solutions

1. `TrainConfig(..., reward="rouge_l")`: ROUGE-L rises a little; coverage moves with it (shared words), while
   invented names and numbers are not penalised and stay as frequent: a lexical reward is blind to which words
   are facts.
2. ```python
   env = tokengym.TextActionWrapper(gym.make("Summarization-v0", reward="rouge_l + faithfulness"))
   _, info = env.reset(seed=3)
   _, r, *_, info = env.step(REFERENCE_WITH_ONE_NUMBER_CHANGED)
   print(info["reward_components"])    # rouge_l high, faithfulness lower
   ```
3. With fixed names, a model learns "Keiko Zhang works at Westwind" as world knowledge and writes it from memory:
   it would look faithful without reading the source. Invented entities make copying the only way to be right.
"""

RLHF = [
    md("""
# 8. RLHF: preferences, a reward model, PPO, and over-optimisation

When the reward cannot be written down, ask people which of two replies they prefer. The **Bradley-Terry**
model links preferences to a hidden reward $r^*$:
$P(y_A \\succ y_B \\mid x) = \\sigma\\big((r^*(x, y_A) - r^*(x, y_B)) / T\\big)$. A reward model $r_\\phi$ is
fitted by maximum likelihood on the pairs,

$$ L(\\phi) = -\\mathbb{E}_{(x, y_w, y_l)}\\big[\\log \\sigma(r_\\phi(x, y_w) - r_\\phi(x, y_l))\\big], $$

and PPO maximises $r_\\phi$ with the KL penalty of lesson 5. Here the "people" are a **simulated labeller** with a
hidden gold reward, so we can check what RLHF recovers: as the policy moves away from the data the reward model
saw (the KL grows), the learned reward keeps rising while the gold one stalls or falls. That is
**over-optimisation** (Gao et al. 2023). **What to look at:** learned and gold reward against KL.
"""),
    code("""
from tokengym.feedback import DEFAULT_GOLD, SimulatedLabeller, label_pairs, sample_pairs

ENV_KWARGS = {"max_prompt_len": 64, "max_new_tokens": 24}
pairs = sample_pairs("Dialogue-v0", B(8, 64), seed=0, env_kwargs=ENV_KWARGS)
labeller = SimulatedLabeller(DEFAULT_GOLD, seed=0)
preferences = label_pairs(pairs, labeller)
print("the hidden gold reward:", DEFAULT_GOLD)
p = preferences[0]
print(p.prompt[-120:].strip())
print("  chosen:  ", p.chosen, round(p.metadata["gold_chosen"], 3))
print("  rejected:", p.rejected, round(p.metadata["gold_rejected"], 3))
"""),
    code("""
import tempfile

from tokengym.feedback.rlhf import RLHFConfig, run_rlhf

cfg = RLHFConfig(
    env_kwargs=ENV_KWARGS, rounds=B(1, 2), pairs_per_round=B(8, 96), rm_epochs=B(1, 2), rm_batch_size=8,
    ppo_steps=B(32, 2048), n_envs=B(2, 4), n_steps=B(16, 128), batch_size=B(32, 256), group_size=B(1, 4),
    kl_coef=0.02, eval_episodes=B(4, 32), curve_episodes=B(2, 16), out_dir=tempfile.mkdtemp(prefix="lesson8-"),
)
result = run_rlhf(cfg, log=lambda *a: None)
points = [e for e in result.log if e.get("kind") in ("zero_shot", "point", "round")]
kl = np.asarray([e["kl"] for e in points])
plt.plot(kl, [e["learned"] for e in points], "o-", label="learned reward (what PPO maximises)")
plt.plot(kl, [e["gold"] for e in points], "s-", label="gold reward (what we wanted)")
plt.xlabel("KL per token to the starting model")
plt.ylabel("held-out mean")
plt.legend()
plt.title("Over-optimisation")
plt.show()
change, error = result.gold_change()
print(f"gold reward change: {change:+.3f} ± {error:.3f}; reward model held-out accuracy:",
      result.rounds[-1]["rm"]["held_out_accuracy"])
"""),
    md("""
The same loop runs from the command line (`tokengym rlhf Dialogue-v0 --rounds 2`), with people instead of the
simulated labeller (`--human`, and `tokengym feedback serve` for the labelling page), and DPO on the same
preferences (`tokengym dpo`) is the offline baseline beside it.

## Exercises

1. Make the labeller noisy (`labeller_noise=0.2` in `RLHFConfig`). How does the reward model's accuracy change,
   and the gold reward after PPO?
2. Lower `kl_coef` to 0.0. Where on the plot does the gold reward peak?
3. Train a reward model with `train_reward_model(preferences)` on half the pairs and score the other half: what
   accuracy do you get, and what is the labeller's own accuracy against the gold reward?

Solutions: `notebooks/solutions/08_rlhf.md`.
"""),
]

RLHF_SOLUTIONS = """
# Lesson 8: solutions

1. Noise flips a fifth of the labels: the reward model's held-out accuracy falls toward 0.5 + 0.6 x (its
   accuracy without noise - 0.5), and PPO gains less gold reward for the same KL.
2. Without the KL penalty the policy moves further per step; the learned reward keeps rising and the gold
   reward peaks at a small KL, then falls: the classic over-optimisation curve.
3. ```python
   from tokengym.feedback import train_reward_model
   half = len(preferences) // 2
   rm = train_reward_model(preferences[:half])
   rest = preferences[half:]
   scores = [(rm([p.prompt], [p.chosen])[0], rm([p.prompt], [p.rejected])[0]) for p in rest]
   print(np.mean([a > b for a, b in scores]))
   ```
   The labeller's own accuracy is bounded by its temperature: with the default 0.05 and a typical gold gap of
   0.2 it agrees with the gold reward on about 98% of the pairs.
"""

LESSONS = [
    ("05_ppo_dialogue_kl", DIALOGUE, DIALOGUE_SOLUTIONS),
    ("06_text_games_token_level", GAMES, GAMES_SOLUTIONS),
    ("07_summarization_faithfulness", SUMMARIES, SUMMARIES_SOLUTIONS),
    ("08_rlhf", RLHF, RLHF_SOLUTIONS),
]
