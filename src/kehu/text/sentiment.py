"""Sentiment of customer texts: positive (1) or negative (0), with a calibrated probability.

Chinese (simplified and traditional: every text is normalised to simplified script first, see
:func:`kehu.text.normalize`) is scored by a trained NB-LR model: logistic regression on
naive-Bayes-scaled TF-IDF of hashed character n-grams (1-3 by default, 1-4 in the shipped
model), jieba words and word bigrams (Wang & Manning 2012, "Baselines and Bigrams: Simple, Good
Sentiment and Topic Classification", ACL).
Negation (不好, 没有问题, 不是很满意) is carried by the character and word n-grams that span it.
Its decision values are turned into probabilities by Platt scaling fitted on cross-validated
decision values (Platt 1999), so ``predict_proba`` is calibrated, not just ranked.

English and emoji are scored by the VADER lexicon rules shipped in kehu
(:mod:`kehu.text._sentiment_lexicon`) and, for English, by a second model of the same kind
trained on English review, tweet and editorial sentences
(:meth:`SentimentClassifier.with_english_model`; the shipped one is attached by
:func:`load_default_sentiment_model`). A text is routed by script: no Chinese characters →
the lexicon, blended 0.7 / 0.3 with the English model when it has Latin letters (the English
model alone when the lexicon rates none of its words); Chinese → the Chinese model, blended
with the lexicon in proportion to the English words and emoji the text carries. English is
less accurate than Chinese: about 75 % on domains the English model never saw (73 % for the
lexicon alone; models/README.md).

Bad input has a defined answer, never an exception: a text with nothing to judge (empty, ``None``,
digits or punctuation only, a script the lexicon does not know) gets P(positive) = 0.5 and is
predicted positive (1), so it never raises a complaint alert by itself; texts longer than
``max_chars`` are cut to their head and tail.

Examples
--------
>>> from kehu.text.sentiment import load_default_sentiment_model
>>> model = load_default_sentiment_model()
>>> model.predict(["服务很周到 下次还来", "太差了 再也不会买了", "房間很乾淨 服務很好"]).tolist()
[1, 0, 1]
"""

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from numbers import Integral, Real
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from kehu.text._errors import TextDataError
from kehu.text._persistence import read_text_model, save_text_model
from kehu.text._sentiment_features import (
    binary_features,
    cap_length,
    fit_idf,
    hashed_counts,
    nb_log_ratio,
    tfidf,
)
from kehu.text._sentiment_lexicon import lexicon_evidence
from kehu.text.preprocessing import has_han, normalize

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Words accepted as labels (compared after stripping and lower-casing), besides 1/0 and True/False.
POSITIVE_LABELS = frozenset(
    {"1", "pos", "positive", "good", "正面", "积极", "好评", "正", "正向", "褒", "積極", "好評"}
)
NEGATIVE_LABELS = frozenset(
    {
        "0",
        "neg",
        "negative",
        "bad",
        "负面",
        "消极",
        "差评",
        "负",
        "负向",
        "贬",
        "負面",
        "消極",
        "差評",
    }
)

_DEFAULT_MODEL = "models/sentiment"
_DEFAULT_ENGLISH_MODEL = "models/sentiment-en"
#: Share of the English model in a Latin-script text's probability when the lexicon rated some
#: of its words (the rest is the lexicon's); chosen leave-one-domain-out, see models/README.md.
ENGLISH_MODEL_WEIGHT = 0.3
_LATIN = re.compile(r"[a-zA-Z]")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
#: What the lexicon could rate: Latin letters, emoticon punctuation, emoji and other symbols.
_LEXICON_CANDIDATE = re.compile(r"[a-z:;=^<>()\u2190-\u2bff\U0001f000-\U0001faff]")
#: Han characters per "word" when weighing Chinese against English words in a mixed text.
_HAN_PER_WORD = 1.5


def normalize_sentiment_labels(labels: Any) -> IntArray:
    """Return ``labels`` as an int array, 1 positive and 0 negative.

    Parameters
    ----------
    labels
        A sequence of 1/0, True/False or words: positive/negative, pos/neg, 正面/负面, 好评/差评,
        积极/消极 (case and surrounding spaces ignored; traditional spellings accepted).

    Returns
    -------
    numpy.ndarray
        One int per label.

    Raises
    ------
    TextDataError
        (an :class:`~kehu.core.InvalidInputError`) naming the labels that are neither.

    Examples
    --------
    >>> normalize_sentiment_labels(["正面", "neg", 1, "Positive"]).tolist()
    [1, 0, 1, 1]
    """
    if isinstance(labels, str | bytes):
        raise TextDataError("labels must be a sequence, not one string.", code="text.bad_labels")
    try:
        values = list(labels)
    except TypeError as exc:
        raise TextDataError(
            f"labels must be a sequence, got {type(labels).__name__}.", code="text.bad_labels"
        ) from exc
    out = np.empty(len(values), dtype=np.int64)
    unknown: list[str] = []
    for i, value in enumerate(values):
        key = _label_key(value)
        if key in POSITIVE_LABELS:
            out[i] = 1
        elif key in NEGATIVE_LABELS:
            out[i] = 0
        else:
            unknown.append(repr(value))
    if unknown:
        shown = sorted(set(unknown))
        raise TextDataError(
            f"Unknown sentiment labels: {', '.join(shown[:10])}"
            f"{' …' if len(shown) > 10 else ''}. Use 1/0, positive/negative, pos/neg or 正面/负面.",
            code="text.bad_labels",
            details={"unknown": shown[:50]},
        )
    return out


def _label_key(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return "1" if value else "0"
    if isinstance(value, Integral | np.integer) or (
        isinstance(value, Real | np.floating) and float(value) in (0.0, 1.0)
    ):
        return str(int(float(value)))
    return str(value).strip().lower()


def _check_texts(texts: Any) -> list[str]:
    if isinstance(texts, str | bytes):
        raise TextDataError(
            "texts must be a sequence of texts, not one string.", code="text.bad_texts"
        )
    try:
        docs = list(texts)
    except TypeError as exc:
        raise TextDataError(
            f"texts must be a sequence of texts, got {type(texts).__name__}.",
            code="text.bad_texts",
        ) from exc
    # None (a post without text) is a defined, signal-free input, not an error.
    bad = [i for i, doc in enumerate(docs) if doc is not None and not isinstance(doc, str)]
    if bad:
        raise TextDataError(
            f"texts must be strings; item {bad[0]} is {type(docs[bad[0]]).__name__}.",
            code="text.bad_texts",
            details={"positions": bad[:20]},
        )
    return [doc or "" for doc in docs]


class SentimentClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]  # sklearn ships no stubs
    """Binary sentiment (1 positive, 0 negative) of Chinese and English customer texts.

    Parameters
    ----------
    C
        Inverse L2 regularisation strength of the logistic regression.
    char_max
        Longest character n-gram (1..``char_max``).
    word_bigrams
        Whether pairs of adjacent jieba words are features too.
    n_features
        Hash buckets shared by all features (a power of two keeps collisions uniform).
    nb_alpha
        Additive smoothing of the naive-Bayes log-count ratios; 0 turns the NB scaling off
        (plain TF-IDF logistic regression).
    calibration_folds
        Folds of the cross-validation whose decision values Platt scaling is fitted on.
    max_chars
        Texts longer than this are cut to their head and tail halves before scoring.
    use_lexicon
        Whether English words and emoji are scored with the shipped VADER lexicon; if not, a
        text without Chinese characters gets the model's answer on its character n-grams.
    binary_view
        Whether a second NB-LR is fitted on the same n-grams' presence (binary, L2-normalised)
        and its decision value averaged with the TF-IDF model's: a two-view ensemble. It
        doubles the fit and adds one sparse product to prediction; by 5-fold cross-validation
        on ChnSentiCorp it is 0.15 point below the TF-IDF model alone, so the shipped model
        does not use it (benchmarks/text/README.md, ``sentiment.py cv``).
    random_state
        Seed of the calibration folds.

    Attributes
    ----------
    classes_ : numpy.ndarray
        ``[0, 1]``.
    idf_, coef_ : numpy.ndarray
        Per-bucket idf and weight (the NB ratio folded into the weight), float32.
    intercept_ : float
        The model's intercept.
    binary_coef_, binary_intercept_ : numpy.ndarray, float
        The binary view's weights and intercept (only with ``binary_view``).
    calibration_ : numpy.ndarray
        Platt scaling ``[a, b]``: P(positive) = sigmoid(a · decision + b).
    english_ : bool
        Whether most training texts were Latin-script: then the model judges English texts
        itself (blended with the lexicon, as an attached English model would), not the
        lexicon alone. False for models saved before it existed.
    """

    #: Saved as float16 (see :mod:`kehu.text._persistence`); fitting already rounds them so.
    _stored_dtypes: ClassVar[dict[str, str]] = {
        "idf_": "float16",
        "coef_": "float16",
        "binary_coef_": "float16",
    }
    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "char_max": [Interval(Integral, 1, 5, closed="both")],
        "word_bigrams": ["boolean"],
        "n_features": [Interval(Integral, 2**10, 2**24, closed="both")],
        "nb_alpha": [Interval(Real, 0, None, closed="left")],
        "calibration_folds": [Interval(Integral, 2, None, closed="left")],
        "max_chars": [Interval(Integral, 16, None, closed="left")],
        "use_lexicon": ["boolean"],
        "binary_view": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        C: float = 10.0,
        char_max: int = 3,
        word_bigrams: bool = True,
        n_features: int = 2**20,
        nb_alpha: float = 1.0,
        calibration_folds: int = 3,
        max_chars: int = 2000,
        use_lexicon: bool = True,
        binary_view: bool = False,
        random_state: int | None = 0,
    ) -> None:
        self.C = C
        self.char_max = char_max
        self.word_bigrams = word_bigrams
        self.n_features = n_features
        self.nb_alpha = nb_alpha
        self.calibration_folds = calibration_folds
        self.max_chars = max_chars
        self.use_lexicon = use_lexicon
        self.binary_view = binary_view
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the hyperparameters; ``binary_view`` only when on.

        Left out when off, so models saved before it existed keep their configuration
        fingerprint (:mod:`kehu.text._persistence`) and still load.
        """
        params: dict[str, Any] = super().get_params(deep=deep)
        if not params.get("binary_view"):
            params.pop("binary_view", None)
        return params

    def fit(self, texts: Sequence[str], labels: Any, sample_weight: Any = None) -> Self:
        """Learn the Chinese model from ``texts`` and their labels.

        Parameters
        ----------
        texts
            Customer texts (any script; normalised here).
        labels
            One label per text: 1/0 or words (see :func:`normalize_sentiment_labels`).
        sample_weight
            Optional non-negative weight per text (default 1): how much each counts in the
            naive-Bayes ratios, the regression and the calibration. The shipped model weighs
            the reviews of its target domains above the rest (scripts/train-sentiment-model.py).

        Returns
        -------
        SentimentClassifier
            ``self``, fitted.

        Raises
        ------
        TextDataError
            Texts, labels and weights differ in number, a label is unknown, a weight is
            negative or not finite, or one class is missing.
        """
        self._validate_params()
        docs = _check_texts(texts)
        y = normalize_sentiment_labels(labels)
        if len(docs) != len(y):
            raise TextDataError(
                f"Got {len(docs)} texts but {len(y)} labels; give one label per text.",
                code="text.bad_labels",
            )
        weights = _check_weights(sample_weight, len(y))
        counts_per_class = np.bincount(y, minlength=2)
        if counts_per_class.min() < self.calibration_folds:
            raise TextDataError(
                f"Training needs at least {self.calibration_folds} positive and "
                f"{self.calibration_folds} negative texts; got {counts_per_class[1]} positive and "
                f"{counts_per_class[0]} negative.",
                code="text.too_few_labels",
            )
        counts = self._counts(docs)
        decision = np.empty(len(y))
        folds = StratifiedKFold(
            self.calibration_folds, shuffle=True, random_state=self.random_state
        )
        for train, held in folds.split(np.zeros(len(y)), y):
            state = self._fit_state(counts[train], y[train], weights[train])
            decision[held] = self._decision_of(state, counts[held])
        self.calibration_ = _fit_platt(decision, y, weights)
        for key, value in self._fit_state(counts, y, weights).items():
            setattr(self, key, value)
        self.classes_ = np.array([0, 1])
        self.n_train_ = len(y)
        # Trained mostly on Latin-script texts: the model is its own English model (see _route).
        self.english_ = bool(np.mean([_is_latin(doc) for doc in docs]) >= 0.5)
        return self

    def decision_function(self, texts: Sequence[str]) -> FloatArray:
        """Return the Chinese model's raw decision value of every text (lexicon not applied)."""
        check_is_fitted(self)
        return self._decision(self._counts(_check_texts(texts)))

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """Return calibrated ``[P(negative), P(positive)]`` for every text.

        Texts with no signal (empty, symbols only) get ``[0.5, 0.5]``.
        """
        check_is_fitted(self)
        docs = [self._prepare(t) for t in _check_texts(texts)]
        counts = self._counts_normalized(docs)
        positive = self._calibrated(counts)
        english = self._english_probabilities(docs, positive)
        for i, doc in enumerate(docs):
            positive[i] = self._route(
                doc, positive[i], counts.indptr[i + 1] > counts.indptr[i], english.get(i)
            )
        return np.column_stack([1.0 - positive, positive])

    def predict(self, texts: Sequence[str]) -> IntArray:
        """Return 1 (positive) or 0 (negative) for every text; P(positive) ≥ 0.5 counts as 1."""
        positive = self.predict_proba(texts)[:, 1]
        return (positive >= 0.5).astype(np.int64)

    def score(self, texts: Sequence[str], labels: Any, sample_weight: Any = None) -> float:
        """Return the accuracy on ``texts``; ``labels`` may be words (see ``fit``)."""
        y = normalize_sentiment_labels(labels)
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return float(np.average(self.predict(texts) == y, weights=weights))

    # -- internals -----------------------------------------------------------------------------

    #: A fitted English model consulted for Latin-script texts, and its share against the
    #: lexicon (:meth:`with_english_model`); not a hyperparameter, not saved with this model.
    _english: "tuple[SentimentClassifier, float] | None" = None

    def with_english_model(
        self, english: "SentimentClassifier", *, weight: float = ENGLISH_MODEL_WEIGHT
    ) -> Self:
        """Score texts without Chinese characters with ``english`` too, blended with the lexicon.

        For such a text with Latin letters, P(positive) becomes ``weight · p_english + (1 -
        weight) · p_lexicon`` (``p_english`` alone when the lexicon rates none of its words).
        :func:`load_default_sentiment_model` attaches the shipped English model this way.

        Parameters
        ----------
        english
            A fitted model trained on English texts (``use_lexicon=False`` keeps it pure).
        weight
            Its share, 0…1.

        Returns
        -------
        SentimentClassifier
            ``self``.
        """
        check_is_fitted(english)
        if not 0.0 <= weight <= 1.0:
            raise TextDataError(
                f"The English model's weight must be between 0 and 1; got {weight}.",
                code="text.bad_blend",
            )
        self._english = (english, float(weight))
        return self

    def _calibrated(self, counts: sp.csr_matrix) -> FloatArray:
        a, b = self.calibration_
        positive: FloatArray = expit(a * self._decision(counts) + b)
        return positive

    def _english_probabilities(self, docs: list[str], own: FloatArray) -> dict[int, float]:
        """Return the English model's P(positive) of the Latin-script texts without Chinese.

        The attached English model's, or this model's own (``own``) when it was trained mostly
        on Latin-script texts (``english_``): a model fitted on a business's English labels
        then judges English with what it learnt, blended with the lexicon, not by the lexicon
        alone.
        """
        if not self.use_lexicon or (self._english is None and not getattr(self, "english_", 0)):
            return {}
        latin = [i for i, doc in enumerate(docs) if _is_latin(doc)]
        if not latin:
            return {}
        if self._english is None:  # trained on English itself: its own probabilities
            return {i: float(own[i]) for i in latin}
        english = self._english[0]
        positive = english._calibrated(english._counts_normalized([docs[i] for i in latin]))
        return {i: float(p) for i, p in zip(latin, positive, strict=True)}

    def _route(
        self, doc: str, p_model: float, has_features: bool, p_english: float | None = None
    ) -> float:
        """Combine the model's probability with the lexicon's by the script of ``doc``."""
        chinese = has_han(doc)
        if not self.use_lexicon:
            return p_model if has_features else 0.5
        if chinese and not _LEXICON_CANDIDATE.search(doc):
            return p_model
        compound, rated = lexicon_evidence(doc)
        p_lexicon = 0.5 + 0.5 * compound
        if p_english is not None:
            weight = ENGLISH_MODEL_WEIGHT if self._english is None else self._english[1]
            return weight * p_english + (1.0 - weight) * p_lexicon if rated else p_english
        if not chinese:
            return p_lexicon if rated else 0.5
        if not rated:
            return p_model
        han = len(_HAN.findall(doc))
        weight = rated / (rated + han / _HAN_PER_WORD)
        return (1.0 - weight) * p_model + weight * p_lexicon

    def _prepare(self, text: str) -> str:
        """Return ``text`` normalised and cut to ``max_chars`` (cut first too: bounds the cost)."""
        capped = cap_length(text, 4 * self.max_chars)
        # Lone surrogates (broken UTF-16 from some exports) cannot be segmented: replace them.
        clean = capped.encode("utf-8", "replace").decode("utf-8")
        return cap_length(normalize(clean), self.max_chars)

    def _counts(self, docs: list[str]) -> sp.csr_matrix:
        return self._counts_normalized([self._prepare(t) for t in docs])

    def _counts_normalized(self, docs: list[str]) -> sp.csr_matrix:
        return hashed_counts(
            docs, n_features=self.n_features, char_max=self.char_max, word_bigrams=self.word_bigrams
        )

    def _decision(self, counts: sp.csr_matrix) -> FloatArray:
        return self._decision_of(vars(self), counts)

    def _decision_of(self, state: Mapping[str, Any], counts: sp.csr_matrix) -> FloatArray:
        """Return the decision values of fitted ``state`` (TF-IDF view, averaged with binary)."""
        scores: FloatArray = (
            tfidf(counts, state["idf_"]) @ state["coef_"].astype(np.float64) + state["intercept_"]
        )
        if self.binary_view:
            binary = (
                binary_features(counts) @ state["binary_coef_"].astype(np.float64)
                + state["binary_intercept_"]
            )
            scores = (scores + binary) / 2.0
        return scores

    def _fit_state(self, counts: sp.csr_matrix, y: IntArray, weights: FloatArray) -> dict[str, Any]:
        """Fit every view; return the fitted attributes by name."""
        idf = fit_idf(counts)
        coef, intercept = self._fit_linear(tfidf(counts, idf), y, weights)
        state: dict[str, Any] = {
            "idf_": idf.astype(np.float16).astype(np.float32),
            "coef_": coef,
            "intercept_": intercept,
        }
        if self.binary_view:
            state["binary_coef_"], state["binary_intercept_"] = self._fit_linear(
                binary_features(counts), y, weights
            )
        return state

    def _fit_linear(
        self, x: sp.csr_matrix, y: IntArray, weights: FloatArray
    ) -> tuple[npt.NDArray[np.float32], float]:
        """Return NB-LR's weights (the NB ratio folded in) and intercept on features ``x``."""
        ratio = (
            nb_log_ratio(x, y, alpha=self.nb_alpha, sample_weight=weights)
            if self.nb_alpha > 0
            else np.ones(x.shape[1])
        )
        scaled = sp.csr_matrix(x.multiply(ratio.astype(np.float32)))
        # The dual liblinear solver is the fast one when features far outnumber texts.
        model = LogisticRegression(
            C=self.C, max_iter=5000, solver="liblinear", dual=True, random_state=self.random_state
        )
        model.fit(scaled, y, sample_weight=weights)
        # Rounded to float16 here, not only when saved, so a saved model predicts exactly as the
        # fitted one did (the weights need three significant digits, not seven).
        coef = (model.coef_.ravel() * ratio).astype(np.float16).astype(np.float32)
        return coef, float(model.intercept_[0])


def _is_latin(doc: str) -> bool:
    """Whether a normalised text has Latin letters and no Chinese characters."""
    return _LATIN.search(doc) is not None and not has_han(doc)


def _check_weights(sample_weight: Any, n: int) -> FloatArray:
    if sample_weight is None:
        return np.ones(n)
    try:
        weights = np.asarray(sample_weight, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise TextDataError(
            "sample_weight must be numbers, one per text.", code="text.bad_weights"
        ) from exc
    if len(weights) != n or not np.isfinite(weights).all() or (weights < 0).any():
        raise TextDataError(
            f"sample_weight needs {n} finite, non-negative numbers (one per text); got "
            f"{len(weights)}.",
            code="text.bad_weights",
        )
    return weights


def _fit_platt(decision: FloatArray, y: IntArray, weights: FloatArray) -> FloatArray:
    """Return Platt's ``[a, b]`` fitted on cross-validated decision values (Platt 1999)."""
    model = LogisticRegression(C=1e6, solver="lbfgs", max_iter=1000)
    model.fit(decision.reshape(-1, 1), y, sample_weight=weights)
    return np.array([float(model.coef_[0, 0]), float(model.intercept_[0])])


def blend_proba(
    models: Sequence[SentimentClassifier],
    texts: Sequence[str],
    *,
    weights: Sequence[float] | None = None,
) -> FloatArray:
    """Return the weighted mean of several models' ``predict_proba`` (a general + a business one).

    Measured on a domain the general model never saw (benchmarks/text/README.md): the shipped
    kind of general model alone 87.6 %, a model fitted on 1,000 of the business's own labelled
    reviews 87.0 %, their equal blend 90.7 %. Blend until the business has many thousands of
    labels.

    Parameters
    ----------
    models
        Fitted models, e.g. ``[load_default_sentiment_model(), own_model]``.
    texts
        The texts to score.
    weights
        One non-negative weight per model (equal when omitted); normalised to sum to 1.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` probabilities, rows summing to 1.

    Raises
    ------
    TextDataError
        No models, or weights that do not match them or are not positive.
    """
    if not models:
        raise TextDataError("blend_proba needs at least one model.", code="text.bad_blend")
    w = np.ones(len(models)) if weights is None else np.asarray(list(weights), dtype=float)
    if w.shape != (len(models),) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise TextDataError(
            f"Give one non-negative weight per model ({len(models)}), not all zero; got "
            f"{list(w) if w.ndim else w}.",
            code="text.bad_blend",
        )
    w = w / w.sum()
    docs = _check_texts(texts)
    out: FloatArray = sum(
        (weight * model.predict_proba(docs) for weight, model in zip(w, models, strict=True)),
        start=np.zeros((len(docs), 2)),
    )
    return out


# -- persistence: the text models' one implementation (JSON + npz, never pickle) -------------------


def save_sentiment_model(
    model: SentimentClassifier,
    path: str | Path,
    *,
    data_fingerprint: str | None = None,
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write a fitted model to the folder ``path``: ``params.json`` + ``arrays.npz``.

    :func:`kehu.text.save_text_model` for a sentiment model (the weights are stored as
    float16, which loses nothing: fitting already rounded them so).

    Parameters
    ----------
    model
        A fitted :class:`SentimentClassifier`.
    path
        The folder (created if needed).
    data_fingerprint
        Optional identifier of the training data.
    metrics
        Optional figures to keep with the model.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    check_is_fitted(model)
    return save_text_model(model, path, data_fingerprint=data_fingerprint, metrics=metrics)


def load_sentiment_model(
    path: str | Path | Any, *, expected: SentimentClassifier | None = None
) -> SentimentClassifier:
    """Read a model written by :func:`save_sentiment_model`.

    Parameters
    ----------
    path
        The folder (a path or an ``importlib.resources`` traversable).
    expected
        An unfitted model the saved one must match in hyperparameters.

    Returns
    -------
    SentimentClassifier
        The fitted model.

    Raises
    ------
    TextDataError
        The folder holds no sentiment model, or its arrays do not match their checksum.
    TextModelMismatchError
        The saved configuration differs from ``expected``'s.
    """
    folder = Path(path) if isinstance(path, str) else path
    model = read_text_model(folder, expected=expected, what="sentiment")
    if not isinstance(model, SentimentClassifier):
        raise TextDataError(
            f"{folder} is not a saved kehu sentiment model: it holds a {type(model).__name__}.",
            code="text.bad_model",
        )
    if not hasattr(model, "classes_"):  # saved before classes_ was stored
        model.classes_ = np.array([0, 1])
    return model


@lru_cache(maxsize=1)
def load_default_sentiment_model() -> SentimentClassifier:
    """Return the sentiment model shipped with kehu (fitted; loaded once, then cached).

    Trained by ``scripts/train-sentiment-model.py`` on all the shared Chinese review sets
    (ChnSentiCorp train and dev, online_shopping_10_cats, waimai_10k), the reviews of hotels,
    books and computers weighing 1 and the other domains 0.1; see ``kehu/text/models/README.md``
    for sources, licences and accuracy (ChnSentiCorp test 94.75 %). The shipped English model
    (``models/sentiment-en``) is attached for texts without Chinese characters
    (:meth:`SentimentClassifier.with_english_model`). Retrain on a business's own
    labelled texts with :meth:`SentimentClassifier.fit` when its domain differs. The object
    is shared: never call ``fit`` on it (fit ``sklearn.base.clone(model)`` or a new
    ``SentimentClassifier``).
    """
    model = load_sentiment_model(resources.files("kehu.text").joinpath(_DEFAULT_MODEL))
    english = resources.files("kehu.text").joinpath(_DEFAULT_ENGLISH_MODEL)
    if english.joinpath("params.json").is_file():
        model.with_english_model(load_sentiment_model(english))
    return model


__all__ = [
    "NEGATIVE_LABELS",
    "POSITIVE_LABELS",
    "SentimentClassifier",
    "blend_proba",
    "load_default_sentiment_model",
    "load_sentiment_model",
    "normalize_sentiment_labels",
    "save_sentiment_model",
]
