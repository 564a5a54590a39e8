"""Reference-based lexical rewards backed by real metric libraries: ROUGE (rouge-score), BLEU and chrF (sacrebleu).

All return F-measures or scores scaled to [0, 1] and need ``references=[...]`` (one reference string per
completion). An empty completion scores 0.
"""

from __future__ import annotations

from typing import Any

from tokengym.rewards.base import Reward

_ROUGE_TYPES = {"rouge_1": "rouge1", "rouge_2": "rouge2", "rouge_l": "rougeL", "rouge_lsum": "rougeLsum"}


class _CachedStemmer:
    """nltk's Porter stemmer (what rouge-score uses) with a memo: stemming dominates ROUGE's cost and
    task vocabularies are small, so each word is stemmed once per process."""

    def __init__(self) -> None:
        from nltk.stem import porter

        self._stemmer = porter.PorterStemmer()
        self._memo: dict[str, str] = {}

    def stem(self, word: str) -> str:
        stem = self._memo.get(word)
        if stem is None:
            stem = self._memo[word] = self._stemmer.stem(word)
            if len(self._memo) > 200_000:  # bound memory under adversarial text
                self._memo.clear()
        return stem


class _RougeTokenizer:
    """rouge-score's own tokenisation (lower-case, alphanumeric, stems words over 3 letters), memoised stems."""

    def __init__(self, use_stemmer: bool) -> None:
        self._stemmer = _CachedStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        from rouge_score import tokenize

        return tokenize.tokenize(text, self._stemmer)


class Rouge(Reward):
    """ROUGE F-measure from Google's ``rouge-score`` package, in [0, 1].

    Args:
        variant: ``"rouge_1"``, ``"rouge_2"``, ``"rouge_l"`` or ``"rouge_lsum"``.
        use_stemmer: Porter-stem words before matching (as in most published results).
        name: component name; defaults to ``variant``.

    Example:
        >>> Rouge("rouge_1")(["Q"], ["the cat sat"], references=["the cat sat on the mat"])
        [0.6666666666666666]
    """

    range = (0.0, 1.0)
    needs = ("references",)

    def __init__(self, variant: str = "rouge_l", use_stemmer: bool = True, name: str | None = None) -> None:
        if variant not in _ROUGE_TYPES:
            raise ValueError(f"unknown ROUGE variant {variant!r}; choose one of {sorted(_ROUGE_TYPES)}")
        self.variant = variant
        self.use_stemmer = bool(use_stemmer)
        self.name = name or variant
        self._scorer: Any = None

    def _score(self, prompt: str, completion: str, references: str, **_: Any) -> float:
        if not completion.strip():
            return 0.0
        if self._scorer is None:
            from rouge_score import rouge_scorer

            self._scorer = rouge_scorer.RougeScorer(
                [_ROUGE_TYPES[self.variant]], tokenizer=_RougeTokenizer(self.use_stemmer)
            )
        return self._scorer.score(references, completion)[_ROUGE_TYPES[self.variant]].fmeasure

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_scorer": None}


class LexicalRelevance(Rouge):
    """Relevance of a reply to the reference reply, measured lexically: ROUGE-1 F with stemming, in [0, 1].

    Named ``relevance_lexical`` so that logs never confuse it with semantic (embedding) relevance.
    """

    def __init__(self, use_stemmer: bool = True) -> None:
        super().__init__("rouge_1", use_stemmer=use_stemmer, name="relevance_lexical")


class _SacreBleuSentence(Reward):
    """A sacrebleu sentence-level metric, built on first use (so instances pickle small), scaled to [0, 1]."""

    range = (0.0, 1.0)
    needs = ("references",)

    def __init__(self) -> None:
        self._metric: Any = None

    def _build(self) -> Any:
        raise NotImplementedError

    def _score(self, prompt: str, completion: str, references: str, **_: Any) -> float:
        if not completion.strip():
            return 0.0
        if self._metric is None:
            self._metric = self._build()
        return self._metric.sentence_score(completion, [references]).score / 100.0

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_metric": None}


class Bleu(_SacreBleuSentence):
    """Sentence BLEU from ``sacrebleu`` (exponential smoothing, effective order), divided by 100: [0, 1].

    Example:
        >>> Bleu()(["Q"], ["the cat sat on the mat"], references=["the cat sat on the mat"])
        [1.0]
    """

    name = "bleu"

    def _build(self) -> Any:
        from sacrebleu.metrics import BLEU

        return BLEU(effective_order=True)


class Chrf(_SacreBleuSentence):
    """Sentence chrF (character n-gram F-score, beta=2) from ``sacrebleu``, divided by 100: [0, 1]."""

    name = "chrf"

    def _build(self) -> Any:
        from sacrebleu.metrics import CHRF

        return CHRF()
