"""Clusters of similar complaints on real review texts (waimai_10k)."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

import csv
import statistics
from pathlib import Path

from kehu.text import normalize
from kehu.voice import cluster_texts

SLICE = Path(__file__).parents[2] / "data" / "voice" / "waimai_negative.csv"
SLOW = [  # real waimai_10k reviews, all "delivery too slow"
    "送餐太慢，每次都超时，商家都在催促",
    "送的太慢了，到了都不饿了",
    "送餐太慢了，我十二点点的餐两点才到，",
    "送餐太慢等一个半小时",
]
OTHER = ["肉臭了,态度还十分恶劣,必须差评", "很快，好吃，味道足，量大", "包装很好"]


def test_slow_delivery_complaints_form_bigger_clusters_than_other_complaints():
    with SLICE.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [normalize(r["review"]) for r in rows]
    is_slow = [r["is_slow_delivery"] == "1" for r in rows]

    sizes = cluster_texts(texts, [str(i) for i in range(len(texts))]).sizes

    slow = [s for s, flag in zip(sizes, is_slow, strict=True) if flag]
    other = [s for s, flag in zip(sizes, is_slow, strict=True) if not flag]
    assert (len(slow), len(other)) == (15, 150)
    assert statistics.median(slow) == 5
    assert statistics.median(other) == 2
    assert sorted(slow) == [1, 1, 2, 2, 2, 3, 5, 5, 5, 6, 6, 7, 8, 8, 8]


def test_a_cluster_is_a_neighbourhood_not_a_chain():
    texts = [normalize(t) for t in SLOW + OTHER]

    clusters = cluster_texts(texts, [str(i) for i in range(len(texts))])

    assert clusters.sizes[4:] == [1, 1, 1]
    assert all(size < 4 for size in clusters.sizes[:4])


def test_one_author_repeating_counts_once():
    texts = [normalize(SLOW[0])] * 3

    assert cluster_texts(texts, ["spammer"] * 3).sizes == [1, 1, 1]


def test_emoji_only_and_empty_texts_stay_alone():
    clusters = cluster_texts(["😡😡", "", "!!!", "😡😡"], ["a", "b", "c", "d"])

    assert clusters.sizes == [1, 1, 1, 1]
    assert cluster_texts([], []).sizes == []


def test_english_and_mixed_text_cluster_too():
    texts = ["the fridge door does not close", "fridge door won't close properly", "great pizza"]

    assert cluster_texts(texts, ["a", "b", "c"]).sizes == [2, 2, 1]
