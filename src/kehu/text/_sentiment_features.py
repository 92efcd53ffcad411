"""Hashed n-gram features for the sentiment model: characters, jieba words and word bigrams.

Hashing (Weinberger et al. 2009, "Feature Hashing for Large Scale Multitask Learning", ICML)
instead of a vocabulary keeps the saved model a fixed, small set of arrays (an idf and a weight
per bucket) whatever the training corpus, and needs no string table at prediction time.

Speed is the point of this module (issue 6 asks for 2,000 messages/s on 2 cores): building one
Python string per n-gram and hashing it cost ~5 ms a review. Instead a whole batch of texts
becomes one array of code points, and every character n-gram and word is hashed at once with a
polynomial rolling hash over prefix sums (Karp & Rabin 1987) modulo 2^64 — the substring
``[s, e)`` hashes to ``(P[e] - P[s]) · B^-s`` with ``P[i] = Σ_{j<i} (c_j + 1) B^j`` — then mixed
with splitmix64's finaliser (Steele, Lea & Flood 2014) and reduced to a bucket. All arithmetic is
unsigned 64-bit with wrap-around, so a bucket means the same thing on every platform. Per text
only OpenCC normalisation and jieba segmentation (rjieba, in Rust) run in Python.

Character n-grams skip white space (Chinese does not separate words with it); words are jieba's
tokens that hold at least one letter, digit or Han character; a word bigram is two adjacent such
words. Term frequencies are sublinear (``1 + log tf``), weighted by a smoothed idf and
L2-normalised per row, as ``TfidfVectorizer(sublinear_tf=True)`` does.
"""

from collections.abc import Sequence
from functools import lru_cache
from itertools import chain

import numpy as np
import numpy.typing as npt
import rjieba
import scipy.sparse as sp
from sklearn.preprocessing import normalize as l2_normalize

U64 = npt.NDArray[np.uint64]

_BASE = np.uint64(0x100000001B3)  # odd, so invertible modulo 2^64
_BASE_INVERSE = np.uint64(pow(0x100000001B3, -1, 2**64))
#: Distinct salts keep a character n-gram, a word and a word bigram with equal text apart.
_SALT_CHAR = 0x9E3779B97F4A7C15
_SALT_WORD = np.uint64(0xC2B2AE3D27D4EB4F)
_SALT_BIGRAM = np.uint64(0x165667B19E3779F9)
#: Texts hashed together; bounds the temporary arrays (~100 bytes per character).
_BATCH = 4096


@lru_cache(maxsize=1)
def _char_tables() -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Return (is white space, is letter/digit/Han) for every code point of the BMP."""
    chars = [chr(i) for i in range(0x10000)]
    space = np.array([c.isspace() for c in chars])
    alnum = np.array([c.isalnum() for c in chars])
    return space, alnum


def _mix(x: U64) -> U64:
    """Return splitmix64's finaliser of every value (a bijection that spreads the bits)."""
    x = x ^ (x >> np.uint64(30))
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _powers(base: np.uint64, n: int) -> U64:
    """Return ``base ** i`` modulo 2^64 for ``i`` in ``0..n-1``."""
    out = np.full(n, base, dtype=np.uint64)
    out[0] = 1
    np.multiply.accumulate(out, out=out)
    return out


def _rolling(codes: U64) -> tuple[U64, U64]:
    """Return the prefix sums ``P`` and inverse powers ``B^-i`` the substring hashes need."""
    powers = _powers(_BASE, len(codes) + 1)
    prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
    np.cumsum((codes + np.uint64(1)) * powers[:-1], out=prefix[1:])
    return prefix, _powers(_BASE_INVERSE, len(codes) + 1)


def _substring_hashes(
    rolling: tuple[U64, U64], starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> U64:
    """Return the polynomial hash of every ``codes[start:end]`` (see the module docstring)."""
    prefix, inverse = rolling
    hashes: U64 = (prefix[ends] - prefix[starts]) * inverse[starts]
    return hashes


def _batch_features(
    texts: Sequence[str], *, char_max: int, word_bigrams: bool
) -> tuple[npt.NDArray[np.int64], U64]:
    """Return (text index, 64-bit feature hash) of every feature occurrence in ``texts``."""
    space, alnum = _char_tables()
    joined = "".join(texts)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    text_lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), text_lengths)
    bmp = np.minimum(codes, 0xFFFF).astype(np.int64)

    rows: list[npt.NDArray[np.int64]] = []
    hashes: list[U64] = []

    keep = ~space[bmp]
    compact = codes[keep]
    compact_owner = owner[keep]
    compact_rolling = _rolling(compact)
    for n in range(1, char_max + 1):
        starts = np.arange(len(compact) - n + 1, dtype=np.int64)
        starts = starts[compact_owner[starts] == compact_owner[starts + n - 1]]
        h = _substring_hashes(compact_rolling, starts, starts + n)
        rows.append(compact_owner[starts])
        hashes.append(_mix(h ^ np.uint64(_SALT_CHAR * n % 2**64)))

    word_lengths = np.fromiter(
        chain.from_iterable(map(len, rjieba.cut(t)) for t in texts), dtype=np.int64
    )
    if len(word_lengths):
        ends = np.cumsum(word_lengths)
        starts = ends - word_lengths
        is_word = np.add.reduceat(alnum[bmp].astype(np.int64), starts) > 0
        starts, ends = starts[is_word], ends[is_word]
        word_owner = owner[starts]
        word_hash = _mix(_substring_hashes(_rolling(codes), starts, ends) ^ _SALT_WORD)
        rows.append(word_owner)
        hashes.append(word_hash)
        if word_bigrams and len(word_hash) > 1:
            same = word_owner[1:] == word_owner[:-1]
            pair = _mix(_mix(word_hash[:-1] ^ _SALT_BIGRAM) ^ word_hash[1:])
            rows.append(word_owner[1:][same])
            hashes.append(pair[same])
    return np.concatenate(rows), np.concatenate(hashes)


def hashed_counts(
    texts: Sequence[str], *, n_features: int, char_max: int, word_bigrams: bool
) -> sp.csr_matrix:
    """Return the sublinear term-frequency matrix (``1 + log tf``) of normalised ``texts``."""
    blocks = []
    for first in range(0, max(len(texts), 1), _BATCH):
        batch = texts[first : first + _BATCH]
        if not batch:
            blocks.append(sp.csr_matrix((0, n_features), dtype=np.float32))
            continue
        rows, hashes = _batch_features(batch, char_max=char_max, word_bigrams=word_bigrams)
        columns = (hashes % np.uint64(n_features)).astype(np.int64)
        block = sp.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, columns)),
            shape=(len(batch), n_features),
        )
        block.sum_duplicates()
        blocks.append(block)
    matrix: sp.csr_matrix = sp.vstack(blocks, format="csr") if len(blocks) > 1 else blocks[0]
    np.log(matrix.data, out=matrix.data)
    matrix.data += np.float32(1.0)
    return matrix


def fit_idf(counts: sp.csr_matrix) -> npt.NDArray[np.float32]:
    """Return the smoothed idf of every bucket, ``log((1 + n) / (1 + df)) + 1``."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    idf: npt.NDArray[np.float32] = (np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0).astype(
        np.float32
    )
    return idf


def tfidf(counts: sp.csr_matrix, idf: npt.NDArray[np.float32]) -> sp.csr_matrix:
    """Return ``counts`` weighted by ``idf`` with L2-normalised rows (empty rows stay zero)."""
    weighted = counts.copy()
    weighted.data *= idf[weighted.indices]
    out: sp.csr_matrix = l2_normalize(weighted, copy=False)
    return out


def binary_features(counts: sp.csr_matrix) -> sp.csr_matrix:
    """Return the presence (1) of every feature in ``counts``, rows L2-normalised."""
    binary = counts.copy()
    binary.data[:] = 1.0
    out: sp.csr_matrix = l2_normalize(binary, copy=False)
    return out


def nb_log_ratio(
    x: sp.csr_matrix,
    y: npt.NDArray[np.int64],
    *,
    alpha: float,
    sample_weight: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Return the naive-Bayes log-count ratio of every feature (Wang & Manning 2012, §2.1).

    ``r = log((p / |p|_1) / (q / |q|_1))`` with ``p = alpha + Σ_{y=1} x̂``, ``q = alpha + Σ_{y=0}
    x̂`` over binarised features ``x̂`` ("Baselines and Bigrams: Simple, Good Sentiment and Topic
    Classification", ACL 2012). Scaling the features by ``r`` before a linear model is NB-LR.
    With ``sample_weight`` each text's features count that many times.
    """
    binary = x.copy()
    binary.data[:] = 1.0
    if sample_weight is not None:
        binary = sp.csr_matrix(binary.multiply(sample_weight.reshape(-1, 1)))
    p = alpha + np.asarray(binary[y == 1].sum(axis=0)).ravel()
    q = alpha + np.asarray(binary[y == 0].sum(axis=0)).ravel()
    ratio: npt.NDArray[np.float64] = np.log(p / p.sum()) - np.log(q / q.sum())
    return ratio


def cap_length(text: str, max_chars: int) -> str:
    """Return ``text`` cut to ``max_chars``: its head and tail halves, where verdicts sit."""
    if len(text) <= max_chars:
        return text
    half = max_chars // 2
    return text[:half] + " " + text[len(text) - (max_chars - half) :]
