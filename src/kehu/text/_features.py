r"""TF-IDF features over words and characters, with their fitted state as plain arrays.

Words: jieba segmentation for Chinese (``cut_words``), ``\w+`` runs otherwise, then n-grams.
Characters: n-grams inside word boundaries (``char_wb``), which for Chinese are n-grams of the
sentence. Both use sublinear term frequency and L2 rows; the two blocks are stacked side by side.

The fitted state is a vocabulary (strings ordered by column) and an idf vector per block, so a
model can be saved as JSON + ``.npz`` and rebuilt without pickle.
"""

import re
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

from kehu.text.preprocessing import cut_words, has_han

_WORD = re.compile(r"\w+")


def split_words(text: str) -> list[str]:
    r"""Return the words of a normalised text (jieba for Chinese, ``\w+`` runs otherwise)."""
    if has_han(text):
        return [part for word in cut_words(text) for part in _WORD.findall(word)]
    return _WORD.findall(text)


class _WordNgrams:
    """A picklable-free analyzer: word n-grams of ``split_words``."""

    def __init__(self, low: int, high: int) -> None:
        self.low = low
        self.high = high

    def __call__(self, text: str) -> list[str]:
        words = split_words(text)
        grams: list[str] = []
        for n in range(self.low, self.high + 1):
            grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
        return grams


def _word_vectorizer(
    ngram_range: tuple[int, int], *, min_df: int = 1, vocabulary: dict[str, int] | None = None
) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer=_WordNgrams(*ngram_range),
        sublinear_tf=True,
        min_df=min_df,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _char_vectorizer(
    ngram_range: tuple[int, int], *, min_df: int = 1, vocabulary: dict[str, int] | None = None
) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=ngram_range,
        sublinear_tf=True,
        min_df=min_df,
        vocabulary=vocabulary,
        dtype=np.float32,
    )


def _fit_block(
    make: Callable[..., TfidfVectorizer],
    ngram_range: tuple[int, int],
    min_df: int,
    docs: list[str],
) -> TfidfVectorizer:
    """Fit one block; fall back to ``min_df=1``, then to a placeholder term, on tiny data."""
    for threshold in dict.fromkeys((min_df, 1)):
        vectorizer = make(ngram_range, min_df=threshold)
        try:
            return vectorizer.fit(docs)
        except ValueError:  # "empty vocabulary" / "no terms remain": tiny or symbol-only data
            continue
    return make(ngram_range, vocabulary={"\x00": 0}).fit(docs)


def _ordered_vocabulary(vectorizer: TfidfVectorizer) -> npt.NDArray[np.str_]:
    terms = np.empty(len(vectorizer.vocabulary_), dtype=object)
    for term, column in vectorizer.vocabulary_.items():
        terms[column] = term
    return np.asarray(terms.tolist(), dtype=np.str_)


class TfidfFeatures:
    """Word + character TF-IDF; ``state()`` / ``from_state()`` carry it as arrays."""

    def __init__(self, word: TfidfVectorizer, char: TfidfVectorizer) -> None:
        self.word = word
        self.char = char

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        *,
        word_ngram_range: tuple[int, int],
        char_ngram_range: tuple[int, int],
        min_df: int,
    ) -> "TfidfFeatures":
        """Learn vocabularies and idf weights from normalised ``texts``."""
        docs = list(texts)
        word = _fit_block(_word_vectorizer, word_ngram_range, min_df, docs)
        char = _fit_block(_char_vectorizer, char_ngram_range, min_df, docs)
        return cls(word, char)

    @property
    def n_features(self) -> int:
        """Columns of :meth:`transform`'s matrix."""
        return len(self.word.vocabulary_) + len(self.char.vocabulary_)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Return the stacked TF-IDF rows of normalised ``texts``."""
        docs = list(texts)
        return sp.hstack(
            [self.word.transform(docs), self.char.transform(docs)], format="csr", dtype=np.float32
        )

    def state(self) -> dict[str, np.ndarray]:
        """Return the fitted state as arrays (vocabularies as strings, idf as floats)."""
        return {
            "word_vocabulary": _ordered_vocabulary(self.word),
            "word_idf": np.asarray(self.word.idf_, dtype=np.float64),
            "char_vocabulary": _ordered_vocabulary(self.char),
            "char_idf": np.asarray(self.char.idf_, dtype=np.float64),
        }

    @classmethod
    def from_state(
        cls,
        state: dict[str, np.ndarray],
        *,
        word_ngram_range: tuple[int, int],
        char_ngram_range: tuple[int, int],
    ) -> "TfidfFeatures":
        """Rebuild the features from :meth:`state`'s arrays."""
        word = _word_vectorizer(
            word_ngram_range,
            vocabulary={str(t): i for i, t in enumerate(state["word_vocabulary"])},
        )
        word.idf_ = np.asarray(state["word_idf"], dtype=np.float64)
        char = _char_vectorizer(
            char_ngram_range,
            vocabulary={str(t): i for i, t in enumerate(state["char_vocabulary"])},
        )
        char.idf_ = np.asarray(state["char_idf"], dtype=np.float64)
        return cls(word, char)
