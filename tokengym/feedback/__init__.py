"""Learning from feedback: preference data, a simulated labeller, reward models, stored human judgements.

- :mod:`tokengym.feedback.preferences`: ``(prompt, chosen, rejected)`` pairs as JSONL.
- :mod:`tokengym.feedback.labeller`: candidate pairs sampled from a model, judged by a simulated labeller.
- :mod:`tokengym.feedback.reward_model`: reward models trained on preferences (``reward="learned(path=...)"``).
"""

from tokengym.feedback.preferences import (
    Preference,
    PreferenceError,
    preference_from_record,
    read_preferences,
    write_preferences,
)

__all__ = ["Preference", "PreferenceError", "preference_from_record", "read_preferences", "write_preferences"]

# Stored human feedback: candidate pairs, judgements and the SQLite store (the labelling page and the terminal
# labeller are tokengym.feedback.server and tokengym.feedback.terminal).
from tokengym.feedback.candidates import Candidate, CandidateError
from tokengym.feedback.judgements import (
    VERDICTS,
    AlreadyJudgedError,
    Judgement,
    JudgementError,
    Pair,
    Progress,
    UnknownPairError,
)
from tokengym.feedback.store import Added, FeedbackStore, FeedbackStoreError

__all__ += [
    "VERDICTS",
    "Added",
    "AlreadyJudgedError",
    "Candidate",
    "CandidateError",
    "FeedbackStore",
    "FeedbackStoreError",
    "Judgement",
    "JudgementError",
    "Pair",
    "Progress",
    "UnknownPairError",
]

# Preferences from a simulated labeller, and reward models (tokengym.feedback.reward_model loads torch, so its
# names are imported on first use).
from tokengym.feedback.labeller import (  # noqa: E402  (after the block above)
    DEFAULT_GOLD,
    SimulatedLabeller,
    label_pairs,
    prompt_columns,
    sample_pairs,
)

_REWARD_MODEL_EXPORTS = (
    "RewardModel",
    "RewardModelChecksumError",
    "RewardModelConfig",
    "RewardModelError",
    "RewardModelNotFoundError",
    "RewardModelTokenizerError",
    "load_reward_model",
    "train_reward_model",
)


def __getattr__(name: str) -> object:
    """The reward-model names, imported from :mod:`tokengym.feedback.reward_model` on first use."""
    if name in _REWARD_MODEL_EXPORTS:
        from tokengym.feedback import reward_model

        return getattr(reward_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ += [
    "DEFAULT_GOLD",
    "SimulatedLabeller",
    "label_pairs",
    "prompt_columns",
    "sample_pairs",
    *_REWARD_MODEL_EXPORTS,
]

# RLHF in rounds and DPO (tokengym.feedback.rlhf, tokengym.feedback.dpo), their held-out evaluation and the wait for
# people's judgements: these load torch and Stable-Baselines3, so their names too are imported on first use.
_LEARNING_EXPORTS = {
    "DPOConfig": "dpo",
    "DPOResult": "dpo",
    "train_dpo": "dpo",
    "FeedbackTimeoutError": "human_judging",
    "wait_for_judgements": "human_judging",
    "HeldOutReport": "held_out",
    "evaluate_held_out": "held_out",
    "held_out_prompts": "held_out",
    "RLHFConfig": "rlhf_config",
    "RLHFResult": "rlhf",
    "RLHFSettingsError": "rlhf",
    "run_rlhf": "rlhf",
}
_reward_model_getattr = __getattr__


def __getattr__(name: str) -> object:  # extends the one above
    """The names of :data:`_LEARNING_EXPORTS` from their modules, then the reward-model names, on first use."""
    if name in _LEARNING_EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"tokengym.feedback.{_LEARNING_EXPORTS[name]}"), name)
    return _reward_model_getattr(name)


__all__ += list(_LEARNING_EXPORTS)
