"""Item-item similarity kernels on a hand-computed example."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from kehu.analytics.recommend import _similarity
from kehu.analytics.recommend._similarity import _top_k_mask, similarity

# Items x baskets: item 0 in baskets {0, 1}; item 1 in {0, 1, 2}; item 2 in {2}; item 3 in {3}.
BASKETS = sp.csr_matrix(
    np.array(
        [
            [1, 1, 0, 0],
            [1, 1, 1, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
        ],
        dtype=float,
    )
)


def _dense(weighting: str, k: int = 3, **kwargs: float) -> np.ndarray:
    return similarity(BASKETS, weighting=weighting, k=k, **kwargs).toarray()


def test_jaccard_and_lift_by_hand() -> None:
    jaccard = _dense("jaccard")
    assert jaccard[0, 1] == pytest.approx(2 / 3)  # shared 2, either 3
    assert jaccard[1, 2] == pytest.approx(1 / 3)
    assert jaccard[0, 2] == 0.0
    np.testing.assert_allclose(jaccard, jaccard.T)
    lift = _dense("lift")
    assert lift[0, 1] == pytest.approx(2 * 4 / (2 * 3))  # co * n_baskets / (n_0 * n_1)
    assert lift[1, 2] == pytest.approx(1 * 4 / (3 * 1))


def test_cosine_never_pairs_an_item_with_itself() -> None:
    cosine = _dense("cosine")
    assert cosine[0, 1] == pytest.approx(2 / math.sqrt(2 * 3), rel=1e-6)
    assert np.all(np.diag(cosine) == 0)
    assert not cosine[3].any()  # item 3 shares no basket


def test_top_k_keeps_the_best_neighbours() -> None:
    top1 = _dense("jaccard", k=1)
    assert (top1 > 0).sum(axis=1).tolist() == [1, 1, 1, 0]
    assert top1[1].argmax() == 0  # 2/3 beats 1/3
    assert top1[2].argmax() == 1


def test_shrinkage_discounts_thin_evidence() -> None:
    plain, shrunk = _dense("cosine"), _dense("cosine", shrinkage=1.0)
    assert shrunk[0, 1] == pytest.approx(plain[0, 1] * 2 / 3, rel=1e-6)  # co 2
    assert shrunk[1, 2] == pytest.approx(plain[1, 2] * 1 / 2, rel=1e-6)  # co 1


@pytest.mark.parametrize("weighting", ["bm25", "tfidf"])
def test_reweighted_kernels_rank_the_shared_pair_first(weighting: str) -> None:
    sim = _dense(weighting)
    assert sim[1].argmax() == 0
    assert sim[0, 1] > 0
    assert sim[0, 2] == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_top_k_mask_matches_a_plain_sort(dtype: type[np.floating]) -> None:
    # Zeros, ties at the k-th value (kept: the lowest columns), rows with fewer than k
    # positives: the same mask as sorting each row by (-value, column).
    rng = np.random.default_rng(7)
    block = rng.integers(0, 6, size=(40, 30)).astype(dtype) / 4
    block[rng.random(block.shape) < 0.5] = 0.0
    block[:5, :] = 0.0
    block[5:8, 3:] = 0.0
    k = 4
    expected = np.zeros(block.shape, dtype=bool)
    for r, row in enumerate(block):
        order = np.lexsort((np.arange(len(row)), -row))
        chosen = [c for c in order[:k] if row[c] > 0]
        expected[r, chosen] = True
    assert np.array_equal(_top_k_mask(block, k), expected)


def test_blocks_do_not_change_the_neighbours(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    baskets = sp.random(70, 40, density=0.2, random_state=rng, format="csr")
    whole = similarity(baskets, weighting="bm25", k=5)
    monkeypatch.setattr(_similarity, "_BLOCK", 16)
    blocked = similarity(baskets, weighting="bm25", k=5)
    assert (whole != blocked).nnz == 0
    assert np.array_equal(whole.indptr, blocked.indptr)
