"""Question answering with abstention: answer from a short context, or say "I don't know" when it cannot tell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tokengym.data.qa import MIXED, SOURCES, SPLIT_CODES, qa_item_for
from tokengym.envs.core import Sample, TokenEnv, fit_prompt
from tokengym.envs.validation import check_choice, check_index, check_number
from tokengym.rewards.qa import abstention_phrases as phrasing_set
from tokengym.rewards.qa import abstention_summary, judge

QUESTION_PREFIX = "\nQuestion: "
ANSWER_SUFFIX = "\nAnswer:"
MAX_INDEX = 2**31 - 1
#: The largest weight of a reward term: the weights are ratios, and larger ones only rescale the return.
MAX_WEIGHT = 100.0
DEFAULT_WEIGHTS = {"correct_reward": 1.0, "abstention_reward": 1.0, "fabrication_cost": 1.0}


def format_question(context: str, question: str) -> str:
    """The prompt text: ``"<context>\\nQuestion: <question>\\nAnswer:"``."""
    return f"{context}{QUESTION_PREFIX}{question}{ANSWER_SUFFIX}"


def weighted_spec(
    correct_reward: float = 1.0, abstention_reward: float = 1.0, fabrication_cost: float = 1.0, phrases: str = "default"
) -> str:
    """The reward spec of :class:`ContextQAEnv` for these weights and abstention phrasing set.

    Example:
        >>> weighted_spec(fabrication_cost=2.0)
        "1.0*answer_correct(phrases='default') + 1.0*abstention(phrases='default') - 2.0*fabrication(phrases='default')"
    """
    arg = f"(phrases={phrases!r})"
    return (
        f"{float(correct_reward)!r}*answer_correct{arg} + {float(abstention_reward)!r}*abstention{arg} "
        f"- {float(fabrication_cost)!r}*fabrication{arg}"
    )


class ContextQAEnv(TokenEnv):
    """Answer a question about a short context, or abstain when the context cannot answer it; one token per step.

    ## Description
    A context (a generated news article, a persona's profile or a support ticket's note; see
    :mod:`tokengym.data.qa`) and a question about it are laid out as ``"<context>\\nQuestion: <question>\\nAnswer:"``.
    A share of the questions (``unanswerable_share``, 0.4 by default) cannot be answered from the context: the
    fact is absent (a city the persona never mentions, an event the article does not report, a ticket number the
    note does not give) or the question's premise contradicts the context (the name of a persona's dog when the
    persona has a parrot, the fix for a printer on a ticket about a phone). The agent writes a short answer, or an
    abstention such as ``"I don't know."``, and ends it with the end-of-sequence token.

    ## Action Space
    ``Discrete(vocab_size)``: the next token id (4,096 for the embedded tokenizer).

    ## Observation Space
    ``Dict``, both arrays of length ``L = max_prompt_len + max_new_tokens``, right-padded:

    | key              | dtype | shape | content                                           |
    |------------------|-------|-------|---------------------------------------------------|
    | ``input_ids``      | int32 | (L,)  | ``[context + question + Answer: | answer | pad]``  |
    | ``attention_mask`` | int8  | (L,)  | 1 over prompt and answer, 0 over padding          |

    ## Rewards
    0 on every step but the last; at the end of the answer (:mod:`tokengym.rewards.qa`)::

        correct_reward * answer_correct + abstention_reward * abstention - fabrication_cost * fabrication

    ``answer_correct`` is 1 for the right answer to an answerable question (the answer's words, case and
    punctuation aside, with at most 5 more words), ``abstention`` 1 for an accepted abstention phrasing on an
    unanswerable question, ``fabrication`` 1 for any other non-empty answer: an invented answer to an
    unanswerable question or a wrong one to an answerable question. Abstaining on an answerable question and an
    empty answer score 0. With the default weights (1, 1, 1) the reward lies in [-1, 1];
    ``info["reward_components"]`` holds the three terms, unweighted, and ``info["outcome"]`` the answer's outcome
    (``"correct"``, ``"abstained"``, ``"fabricated"`` or ``"empty"``). A ``reward`` spec replaces the whole
    reward; it reads the columns ``answers`` (the gold answer, ``""`` when there is none) and ``references`` (the
    answer, or the canonical abstention of the phrasing set for an unanswerable question: the supervised warm
    start's target).

    Accepted abstentions (``abstention_phrases``): ``"strict"``: only "I don't know."; ``"default"``: also "I do not
    know.", "I'm not sure.", "I can't tell (from the text).", "The text does not say.", "Not stated.",
    "Not mentioned.", "Unanswerable.", "There is no answer." and variants; ``"lenient"``: also "Unknown.",
    "No idea.", "Dunno.", "Can't say.", "N/A" and the like (:data:`tokengym.rewards.qa.ABSTENTION_PHRASES`).
    An abstention is a whole completion: "I don't know, maybe Leeds" is an answer.

    ``tokengym eval`` reports, besides the reward, accuracy on answerable questions, the abstention rate on each
    kind of question, the fabrication rate (on unanswerable questions, and wrong answers over all), the precision
    of the answers given, and a calibration figure: the share of questions where the choice to answer or abstain
    was right (:func:`~tokengym.rewards.qa.abstention_summary`).

    ## Starting State
    A question index drawn with ``self.np_random`` (any of 2^31 items of the split);
    ``reset(options={"index": i})`` picks item ``i``. Whether a question is answerable is drawn from the item's
    own address, so the same index gives the same question under the same ``unanswerable_share``. The
    ``train`` and ``test`` splits draw their contexts from disjoint generator streams.

    ## Episode End
    - Termination: the agent emits the end-of-sequence token, or the answer reaches ``max_new_tokens`` tokens;
      the answer is scored on that step and ``info["ended_by"]`` says which (``"eos"`` or ``"budget"``).
    - Truncation: ``TimeLimit`` at ``max_new_tokens`` steps (registered as ``max_episode_steps``); a shorter one
      truncates earlier, unscored.

    Contexts longer than the prompt budget lose their end; the question is always kept whole.

    ## Arguments
    ```python
    env = gym.make("ContextQA-v0", source="persona", unanswerable_share=0.5, fabrication_cost=2.0, split="test")
    ```
    ``tokenizer``, ``reward``, ``max_prompt_len`` (192), ``max_new_tokens`` (24), ``render_mode`` as in
    :class:`~tokengym.envs.core.TokenEnv`; ``source`` (``"mix"``, the default: article, persona and support in
    turn, or one of them); ``split`` (``"train"`` or ``"test"``); ``unanswerable_share`` (0 to 1, default 0.4);
    ``abstention_phrases`` (``"strict"``, ``"default"`` or ``"lenient"``); ``correct_reward``,
    ``abstention_reward`` and ``fabrication_cost`` (numbers from 0 to 100, default 1 each: the weights above;
    give them or a ``reward`` spec, not both).

    ## Version History
    - v0: articles, personas and support notes; absent facts and false premises; three abstention phrasing sets.
    """

    default_reward: ClassVar[str] = weighted_spec()
    truncation_side: ClassVar[str] = "right"
    reset_options: ClassVar[tuple[str, ...]] = ("repeat_task", "index")
    min_prompt_len: ClassVar[int] = 2

    def __init__(
        self,
        source: str = MIXED,
        split: str = "train",
        unanswerable_share: float = 0.4,
        abstention_phrases: str = "default",
        correct_reward: float = 1.0,
        abstention_reward: float = 1.0,
        fabrication_cost: float = 1.0,
        tokenizer: Any = None,
        reward: Any = None,
        max_prompt_len: int = 192,
        max_new_tokens: int = 24,
        render_mode: str | None = None,
    ) -> None:
        source = check_choice("source", source, (*SOURCES, MIXED))
        split = check_choice("split", split, tuple(SPLIT_CODES))
        share = check_number("unanswerable_share", unanswerable_share, low=0.0, high=1.0)
        weights = {
            "correct_reward": check_number("correct_reward", correct_reward, low=0.0, high=MAX_WEIGHT),
            "abstention_reward": check_number("abstention_reward", abstention_reward, low=0.0, high=MAX_WEIGHT),
            "fabrication_cost": check_number("fabrication_cost", fabrication_cost, low=0.0, high=MAX_WEIGHT),
        }
        self.phrases = abstention_phrases
        canonical = phrasing_set(abstention_phrases)[0]  # an unknown set name fails here, before anything is built
        if reward is not None and weights != DEFAULT_WEIGHTS:
            changed = ", ".join(k for k in weights if weights[k] != DEFAULT_WEIGHTS[k])
            raise ValueError(
                f"give the reward weights ({changed}) or a reward spec, not both: a reward spec replaces the "
                "weighted reward (write the weights into it, e.g. 'answer_correct + abstention - 2*fabrication')"
            )
        spec = weighted_spec(**weights, phrases=abstention_phrases) if reward is None else reward
        super().__init__(tokenizer, spec, max_prompt_len, max_new_tokens, render_mode)
        self.source = source
        self.split = split
        self.unanswerable_share = share
        self.weights = weights
        self.abstention_reference = canonical
        """The reference completion of an unanswerable question: the phrasing set's canonical abstention."""
        self._answer_suffix = self.codec.encode(ANSWER_SUFFIX)

    def _sample(self, options: Mapping[str, Any]) -> Sample:
        index = options.get("index")
        if index is None:
            index = int(self.np_random.integers(MAX_INDEX))
        check_index(index, MAX_INDEX, "questions of a split")
        item = qa_item_for(int(index), self.split, self.source, self.unanswerable_share)
        suffix = self.codec.encode(f"{QUESTION_PREFIX}{item.question}") + self._answer_suffix
        if len(suffix) >= self.max_prompt_len:
            raise ValueError(
                f"max_prompt_len={self.max_prompt_len} cannot hold question {index} ({len(suffix)} tokens) and any "
                "of its context; raise max_prompt_len"
            )
        ids = fit_prompt(self.codec.encode(item.context), self.max_prompt_len, side="right", suffix=suffix)
        return Sample(
            prompt=format_question(item.context, item.question),
            prompt_ids=ids,
            columns={"references": item.answer or self.abstention_reference, "answers": item.answer},
            metadata={
                "index": int(index),
                "source": item.source,
                "kind": item.kind,
                "answerable": item.answerable,
                "question": item.question,
            },
        )

    def _end_of_completion(self, completion: str, ended_by_eos: bool) -> tuple[float, bool, dict[str, Any]]:
        reward, terminated, info = super()._end_of_completion(completion, ended_by_eos)
        assert self._sample_ is not None
        info["outcome"] = judge(completion, self._sample_.columns["answers"], self.phrases)
        return reward, terminated, info

    def eval_metrics(self) -> str:
        """The three reward terms, unweighted, under this env's abstention phrasing set."""
        arg = f"(phrases={self.phrases!r})"
        return f"answer_correct{arg} + abstention{arg} + fabrication{arg}"

    def eval_summary(self, episodes: Sequence[tuple[Sample, str]]) -> dict[str, dict[str, float]]:
        """Accuracy, abstention and fabrication rates by kind of question, answer precision and calibration over
        evaluated ``(sample, completion)`` pairs (:func:`~tokengym.rewards.qa.abstention_summary`)."""
        outcomes = [judge(completion, sample.columns["answers"], self.phrases) for sample, completion in episodes]
        return abstention_summary(outcomes, [sample.metadata["kind"] for sample, _ in episodes])
