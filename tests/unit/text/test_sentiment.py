"""The sentiment model on small real slices of ChnSentiCorp (tests/data/text/sentiment/)."""

import copy
import csv
import json
from functools import cache
from pathlib import Path

import numpy as np
import opencc
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from kehu.core import InvalidInputError
from kehu.text import (
    TextClassifier,
    TextDataError,
    TextModelMismatchError,
    load_text_model,
    save_text_model,
)
from kehu.text.sentiment import (
    SentimentClassifier,
    blend_proba,
    load_default_sentiment_model,
    load_sentiment_model,
    normalize_sentiment_labels,
    save_sentiment_model,
)

DATA = Path(__file__).parents[2] / "data" / "text" / "sentiment"
#: Fits in a few seconds; the shipped model uses 2**22 buckets.
FAST = {"n_features": 2**18, "C": 10.0}


def _read(name: str) -> tuple[list[str], np.ndarray]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [r["text"] for r in rows], np.array([int(r["label"]) for r in rows])


@cache
def _train() -> tuple[list[str], np.ndarray]:
    return _read("chnsenticorp_train_slice.tsv")


@cache
def _dev() -> tuple[list[str], np.ndarray]:
    return _read("chnsenticorp_dev_slice.tsv")


@cache
def _fitted() -> SentimentClassifier:
    texts, labels = _train()
    return SentimentClassifier(**FAST).fit(texts, labels)


def _traditional(texts: list[str]) -> list[str]:
    converter = opencc.OpenCC("s2t")
    return [converter.convert(t) for t in texts]


# -- labels ----------------------------------------------------------------------------------------


def test_labels_accept_numbers_booleans_and_words_in_both_scripts() -> None:
    labels = [1, 0, True, False, "1", "0", " Positive ", "NEG", "pos", "negative", "正面", "负面"]
    labels += ["負面", "好评", "差评", 1.0, np.int64(0)]

    out = normalize_sentiment_labels(labels)

    assert out.tolist() == [1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0]
    assert out.dtype == np.int64


def test_unknown_labels_raise_an_input_error_naming_them() -> None:
    with pytest.raises(InvalidInputError) as caught:
        normalize_sentiment_labels(["positive", "neutral", 2, "neutral"])

    assert "'neutral'" in caught.value.message
    assert "2" in caught.value.message
    assert caught.value.details == {"unknown": ["'neutral'", "2"]}


@pytest.mark.parametrize(
    ("labels", "expected"),
    [("positive", "not one string"), (5, "must be a sequence")],
    ids=["string_case", "scalar_case"],
)
def test_labels_that_are_not_a_sequence_are_refused(labels: object, expected: str) -> None:
    with pytest.raises(TextDataError, match=expected):
        normalize_sentiment_labels(labels)


def test_fit_refuses_a_label_count_that_differs_from_the_texts() -> None:
    with pytest.raises(TextDataError, match="3 texts but 2 labels"):
        SentimentClassifier(**FAST).fit(["好", "差", "好"], [1, 0])


def test_fit_refuses_a_single_class() -> None:
    texts, _ = _train()
    with pytest.raises(TextDataError, match="0 negative"):
        SentimentClassifier(**FAST).fit(texts[:50], ["正面"] * 50)


# -- the estimator ---------------------------------------------------------------------------------


def test_unit_weights_fit_the_same_model_as_no_weights() -> None:
    texts, labels = _train()

    weighted = SentimentClassifier(**FAST).fit(texts, labels, sample_weight=np.ones(len(labels)))

    np.testing.assert_array_equal(weighted.coef_, _fitted().coef_)
    np.testing.assert_array_equal(weighted.calibration_, _fitted().calibration_)


def test_a_zero_weight_silences_a_text_and_a_high_weight_amplifies_it() -> None:
    texts, labels = _train()
    # A made-up word the slice never uses, taught both ways: weights decide which way wins.
    taught = [*texts, "这家店非常瓜瓜噜", "这家店非常瓜瓜噜"]
    y = np.concatenate([labels, [1, 0]])
    favour_positive = np.concatenate([np.ones(len(labels)), [5.0, 0.0]])
    favour_negative = np.concatenate([np.ones(len(labels)), [0.0, 5.0]])

    up = SentimentClassifier(**FAST).fit(taught, y, sample_weight=favour_positive)
    down = SentimentClassifier(**FAST).fit(taught, y, sample_weight=favour_negative)

    probe = ["瓜瓜噜"]
    assert up.predict_proba(probe)[0, 1] > down.predict_proba(probe)[0, 1] + 0.1


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        pytest.param([1.0, 1.0], "needs 3", id="too_few_case"),
        pytest.param([1.0, -1.0, 1.0], "non-negative", id="negative_case"),
        pytest.param([1.0, float("nan"), 1.0], "finite", id="nan_case"),
        pytest.param(["a", "b", "c"], "numbers", id="words_case"),
    ],
)
def test_bad_sample_weights_are_refused(weights: list[object], expected: str) -> None:
    with pytest.raises(TextDataError, match=expected):
        SentimentClassifier(**FAST).fit(["好", "差", "好"], [1, 0, 1], sample_weight=weights)


def test_a_model_fitted_on_a_slice_is_far_above_chance_on_held_out_dev_texts() -> None:
    texts, labels = _dev()

    accuracy = float(np.mean(_fitted().predict(texts) == labels))

    # 1,200 training texts, 2**18 buckets: measured 0.825; chance is 0.51.
    assert accuracy >= 0.78


def test_word_labels_fit_the_same_model_as_numeric_labels() -> None:
    texts, labels = _train()
    words = np.where(labels == 1, "正面", "负面")

    by_words = SentimentClassifier(**FAST).fit(texts, words)

    np.testing.assert_array_equal(by_words.coef_, _fitted().coef_)


def test_traditional_script_gets_the_same_answers_as_simplified() -> None:
    texts, _ = _dev()
    model = _fitted()

    simplified = model.predict_proba(texts[:200])
    traditional = model.predict_proba(_traditional(texts[:200]))

    assert _traditional(texts[:200]) != texts[:200]
    # OpenCC's round trip s2t → t2s is not the identity for a few characters (著/着, 乾/干 ...),
    # so a handful of texts differ slightly after normalisation; none changes its answer.
    assert float(np.mean(np.abs(traditional - simplified))) < 0.002
    np.testing.assert_array_equal(traditional.argmax(axis=1), simplified.argmax(axis=1))


def test_probabilities_sum_to_one_and_are_calibrated_on_held_out_texts() -> None:
    texts, labels = _dev()

    proba = _fitted().predict_proba(texts)

    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert proba.shape == (len(texts), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    p = proba[:, 1]
    brier = float(np.mean((p - labels) ** 2))
    assert brier < 0.145  # measured 0.124; a constant 0.5 scores 0.25
    # Reliability: texts given P(positive) in [0.8, 1] are mostly positive, and in [0, 0.2]
    # mostly negative (the bands hold about two thirds of the texts).
    assert labels[p >= 0.8].mean() >= 0.85
    assert labels[p <= 0.2].mean() <= 0.15


def test_predict_is_the_probability_thresholded_at_a_half() -> None:
    texts, _ = _dev()
    model = _fitted()

    np.testing.assert_array_equal(
        model.predict(texts), (model.predict_proba(texts)[:, 1] >= 0.5).astype(int)
    )


def test_fitting_twice_equals_fitting_once() -> None:
    texts, labels = _train()
    model = SentimentClassifier(**FAST)

    model.fit(texts[:400], labels[:400]).fit(texts, labels)

    np.testing.assert_array_equal(model.coef_, _fitted().coef_)
    np.testing.assert_array_equal(model.calibration_, _fitted().calibration_)


def test_an_unfitted_model_refuses_to_predict() -> None:
    with pytest.raises(NotFittedError):
        SentimentClassifier().predict(["很好"])


def test_clone_and_get_params_keep_every_hyperparameter() -> None:
    model = SentimentClassifier(C=3.0, char_max=2, word_bigrams=False, max_chars=100)

    copy = clone(model)

    assert copy.get_params() == model.get_params()
    assert copy.get_params()["char_max"] == 2


def test_invalid_hyperparameters_are_refused_at_fit() -> None:
    texts, labels = _train()
    with pytest.raises(ValueError, match="char_max"):
        SentimentClassifier(char_max=0).fit(texts, labels)


@pytest.mark.parametrize(
    "text",
    ["", "   ", "😀😀😀", "!!!???", "12345", "a" * 50_000, "差" * 200_000, "\x00\ufeff"],
    ids=["empty", "spaces", "emoji", "punctuation", "digits", "long_latin", "long_han", "control"],
)
def test_bad_input_gets_a_defined_answer(text: str) -> None:
    proba = _fitted().predict_proba([text])

    assert proba.shape == (1, 2)
    assert np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(), 1.0)


def test_signal_free_texts_are_neutral_and_not_flagged_negative() -> None:
    proba = _fitted().predict_proba(["", "   ", "!!!???", "12345"])

    np.testing.assert_allclose(proba[:, 1], 0.5)
    assert _fitted().predict(["", None]).tolist() == [1, 1]  # type: ignore[list-item]


def test_very_long_texts_are_cut_to_max_chars() -> None:
    model = SentimentClassifier(**FAST, max_chars=200).fit(*_train())
    review = _dev()[0][0]

    long = model.predict_proba([review[:100] + "一般" * 10_000 + review[-100:]])

    assert np.isfinite(long).all()


def test_english_and_emoji_are_scored_by_the_lexicon() -> None:
    model = _fitted()
    texts = [
        "Great service, I love it!",
        "Terrible support, never again.",
        "not good at all",
        "😍👍",
        "😡💔",
    ]

    assert model.predict(texts).tolist() == [1, 0, 0, 1, 0]


def test_mixed_chinese_and_english_blends_both() -> None:
    model = _fitted()

    zh_only, mixed = model.predict_proba(
        ["房间一般", "房间一般 but the staff were wonderful, amazing!"]
    )[:, 1]

    assert mixed > zh_only


def test_texts_that_are_not_strings_are_refused() -> None:
    with pytest.raises(TextDataError, match="item 1 is int"):
        _fitted().predict(["好", 3])
    with pytest.raises(TextDataError, match="not one string"):
        _fitted().predict("好")


# -- persistence -----------------------------------------------------------------------------------


def test_save_and_load_round_trip_gives_identical_predictions(tmp_path: Path) -> None:
    texts, _ = _dev()
    model = _fitted()

    folder = save_sentiment_model(model, tmp_path / "m", data_fingerprint="abc", metrics={"a": 1})
    loaded = load_sentiment_model(folder, expected=SentimentClassifier(**FAST))

    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    document = json.loads((folder / "params.json").read_text())
    assert document["data_fingerprint"] == "abc"
    assert document["metrics"] == {"a": 1}


def test_the_binary_view_is_an_ensemble_that_saves_and_loads(tmp_path: Path) -> None:
    texts, labels = _train()
    dev_texts, dev_labels = _dev()
    plain = _fitted()
    both = SentimentClassifier(**FAST, binary_view=True).fit(texts, labels)

    # Its TF-IDF half is the plain model's; the decision averages it with the binary half.
    np.testing.assert_array_equal(both.coef_, plain.coef_)
    binary_half = 2.0 * both.decision_function(dev_texts) - plain.decision_function(dev_texts)
    assert not np.allclose(binary_half, plain.decision_function(dev_texts))
    assert both.binary_coef_.shape == (2**18,)
    assert both.score(dev_texts, dev_labels) >= 0.8
    folder = save_sentiment_model(both, tmp_path / "m")
    loaded = load_sentiment_model(folder, expected=SentimentClassifier(**FAST, binary_view=True))
    np.testing.assert_array_equal(loaded.predict_proba(dev_texts), both.predict_proba(dev_texts))
    with pytest.raises(TextModelMismatchError):
        load_sentiment_model(folder, expected=SentimentClassifier(**FAST))


def test_models_saved_before_the_binary_view_keep_their_fingerprint() -> None:
    assert "binary_view" not in SentimentClassifier().get_params()
    assert SentimentClassifier(binary_view=True).get_params()["binary_view"] is True
    assert clone(SentimentClassifier(binary_view=True)).binary_view is True
    assert load_default_sentiment_model().predict(["服务很周到 下次还来"]).tolist() == [1]


def test_loading_with_other_hyperparameters_is_a_mismatch(tmp_path: Path) -> None:
    folder = save_sentiment_model(_fitted(), tmp_path / "m")

    with pytest.raises(TextModelMismatchError):
        load_sentiment_model(folder, expected=SentimentClassifier(**{**FAST, "C": 1.0}))


def test_a_tampered_or_missing_model_is_refused(tmp_path: Path) -> None:
    folder = save_sentiment_model(_fitted(), tmp_path / "m")
    document = json.loads((folder / "params.json").read_text())
    document["arrays_sha256"] = "0" * 64
    (folder / "params.json").write_text(json.dumps(document))

    with pytest.raises(TextDataError, match="checksum"):
        load_sentiment_model(folder)
    with pytest.raises(TextDataError, match="not a saved kehu sentiment model"):
        load_sentiment_model(tmp_path / "nothing")


def test_sentiment_and_category_models_share_one_persistence(tmp_path: Path) -> None:
    sentiment = save_sentiment_model(_fitted(), tmp_path / "s")
    texts = ["退款还没到账", "钱没退回来", "快递三天没动", "物流一直不更新"]
    categories = TextClassifier(calibration_folds=2).fit(texts, ["退款", "退款", "物流", "物流"])
    category = save_text_model(categories, tmp_path / "c")

    assert isinstance(load_text_model(sentiment), SentimentClassifier)
    with pytest.raises(TextDataError, match="holds a TextClassifier"):
        load_sentiment_model(category)
    with pytest.raises(TextModelMismatchError):
        load_text_model(sentiment, expected=TextClassifier())
    stored = np.load(sentiment / "arrays.npz")
    assert stored["coef_"].dtype == np.float16  # half the bytes; fitting rounded them already


# -- the shipped model -----------------------------------------------------------------------------


def test_the_shipped_model_loads_once_and_is_accurate_on_dev_texts() -> None:
    texts, labels = _dev()

    model = load_default_sentiment_model()

    # A sanity check, not a held-out figure: the shipped model trained on train + dev (its
    # held-out figure is ChnSentiCorp test, scored by benchmarks/text/sentiment.py).
    assert load_default_sentiment_model() is model
    assert float(np.mean(model.predict(texts) == labels)) >= 0.90


def test_the_shipped_model_reads_traditional_chinese_as_simplified() -> None:
    texts, labels = _dev()
    model = load_default_sentiment_model()

    traditional = model.predict(_traditional(texts))

    assert float(np.mean(traditional == model.predict(texts))) >= 0.99
    assert float(np.mean(traditional == labels)) >= 0.90


def test_the_shipped_model_is_small() -> None:
    folder = Path(load_sentiment_model.__code__.co_filename).parent / "models" / "sentiment"

    size = sum(p.stat().st_size for p in folder.iterdir())
    english = sum(p.stat().st_size for p in (folder.parent / "sentiment-en").iterdir())

    # Character 1-4-grams in 2**22 float16 buckets: 8.46 MiB (models/README.md), the wheel's
    # largest file; the budget keeps a bigger table from slipping in unnoticed.
    assert size < 9 * 2**20
    assert english < 2 * 2**20


def test_score_accepts_word_labels() -> None:
    texts, labels = _dev()

    by_words = _fitted().score(texts, np.where(labels == 1, "positive", "negative"))

    assert by_words == float(np.mean(_fitted().predict(texts) == labels))


def test_blend_is_the_weighted_mean_of_the_models_probabilities() -> None:
    texts = _dev()[0][:50]
    general, own = load_default_sentiment_model(), _fitted()

    blended = blend_proba([general, own], texts, weights=[1.0, 3.0])

    expected = 0.25 * general.predict_proba(texts) + 0.75 * own.predict_proba(texts)
    np.testing.assert_allclose(blended, expected)
    np.testing.assert_allclose(blend_proba([own], texts), own.predict_proba(texts))


@pytest.mark.parametrize(
    ("models", "weights"),
    [(0, None), (2, [1.0]), (2, [1.0, -1.0]), (2, [0.0, 0.0])],
    ids=["no_models_case", "short_weights_case", "negative_case", "all_zero_case"],
)
def test_blend_refuses_bad_weights(models: int, weights: list[float] | None) -> None:
    with pytest.raises(TextDataError):
        blend_proba([_fitted()] * models, ["很好"], weights=weights)


# -- English: the lexicon and an attached English model -------------------------------------------


@cache
def _english() -> SentimentClassifier:
    """An English model fitted on 602 of VADER's Amazon review sentences (MIT, see README)."""
    return SentimentClassifier(**FAST, use_lexicon=False).fit(*_read("vader_amazon_fit_slice.tsv"))


def test_an_attached_english_model_blends_with_the_lexicon_on_latin_text_only() -> None:
    texts = ["great product, works perfectly", "房间很干净 服务很好", "😡😡👎", "12345", ""]
    alone = _fitted()
    both = copy.deepcopy(alone).with_english_model(_english(), weight=0.3)

    p_alone = alone.predict_proba(texts)[:, 1]
    p_both = both.predict_proba(texts)[:, 1]
    p_english = _english().predict_proba(texts[:1])[0, 1]

    np.testing.assert_allclose(p_both[0], 0.3 * p_english + 0.7 * p_alone[0])
    np.testing.assert_allclose(p_both[1:], p_alone[1:])  # Chinese, emoji, no signal: unchanged


def test_the_english_model_alone_judges_what_the_lexicon_cannot_rate() -> None:
    text = "the parcel arrived two weeks late"  # no word the lexicon rates
    both = copy.deepcopy(_fitted()).with_english_model(_english())

    assert _fitted().predict_proba([text])[0, 1] == 0.5
    np.testing.assert_allclose(
        both.predict_proba([text])[0, 1], _english().predict_proba([text])[0, 1]
    )


def test_the_english_model_beats_the_lexicon_on_held_out_review_sentences() -> None:
    texts, labels = _read("vader_amazon_held_slice.tsv")
    both = copy.deepcopy(_fitted()).with_english_model(_english())

    lexicon = float(np.mean(_fitted().predict(texts) == labels))
    blended = float(np.mean(both.predict(texts) == labels))

    assert blended >= lexicon + 0.02


def test_an_english_model_weight_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(TextDataError, match="between 0 and 1"):
        copy.deepcopy(_fitted()).with_english_model(_english(), weight=1.5)


def test_the_shipped_model_reads_english_with_its_english_model() -> None:
    model = load_default_sentiment_model()
    texts = [
        "Nobody answered my emails.",  # no word the lexicon rates: the English model decides
        "The app crashes every time I open it.",  # the same
        "Still waiting for my refund, very disappointed.",
        "Fast delivery, the support team was friendly and fixed it at once.",
        "Works great, would buy again!",
    ]

    assert model._english is not None
    assert model.predict(texts).tolist() == [0, 0, 0, 1, 1]


def test_a_model_fitted_on_english_judges_english_itself_with_the_lexicon() -> None:
    own = SentimentClassifier(**FAST).fit(*_read("vader_amazon_fit_slice.tsv"))
    texts, labels = _read("vader_amazon_held_slice.tsv")
    silent = "the parcel arrived two weeks late"

    assert own.english_
    assert not _fitted().english_
    assert (
        np.mean(own.predict(texts) == labels) >= np.mean(_fitted().predict(texts) == labels) + 0.02
    )
    # where the lexicon is silent its own model decides (as the attached English one would)
    np.testing.assert_allclose(
        own.predict_proba([silent])[0, 1], _english().predict_proba([silent])[0, 1]
    )
