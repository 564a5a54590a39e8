"""Reward functions: the batched :class:`RewardFunc` protocol, built-ins, and weighted composition.

Built-in names usable in specs (``gym.make(..., reward="rouge_l + 0.2*verbosity")``):

================== ========== ==========================================================
name               range      what it measures
================== ========== ==========================================================
rouge_1/2/l/lsum   [0, 1]     ROUGE F-measure to ``references`` (rouge-score, stemmed)
relevance_lexical  [0, 1]     ROUGE-1 F of a reply to the reference reply
bleu               [0, 1]     sentence BLEU / 100 (sacrebleu)
chrf               [0, 1]     sentence chrF / 100 (sacrebleu)
verbosity          [-1, 0]    words over a budget (fixed, or a ratio of the reference)
brevity            [-1, 0]    words under a minimum
repetition         [-1, 0]    share of repeated word n-grams
================== ========== ==========================================================
"""

from tokengym.rewards.base import (
    CompositeReward,
    Reward,
    RewardFunc,
    get_reward,
    make_reward,
    parse_reward_spec,
    register_reward,
    reward_names,
)
from tokengym.rewards.lexical import Bleu, Chrf, LexicalRelevance, Rouge
from tokengym.rewards.shape import Brevity, Repetition, Verbosity

for _variant in ("rouge_1", "rouge_2", "rouge_l", "rouge_lsum"):
    register_reward(_variant, lambda _v=_variant, **kw: Rouge(_v, **kw))
register_reward("relevance_lexical", LexicalRelevance)
register_reward("bleu", Bleu)
register_reward("chrf", Chrf)
register_reward("verbosity", Verbosity)
register_reward("brevity", Brevity)
register_reward("repetition", Repetition)

__all__ = [
    "Bleu",
    "Brevity",
    "Chrf",
    "CompositeReward",
    "LexicalRelevance",
    "Repetition",
    "Reward",
    "RewardFunc",
    "Rouge",
    "Verbosity",
    "get_reward",
    "make_reward",
    "parse_reward_spec",
    "register_reward",
    "reward_names",
]
