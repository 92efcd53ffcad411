"""The message-category classifier on a real slice of BANKING77 and on Chinese messages."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

import csv
import json
from pathlib import Path

import numpy as np
import opencc
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from kehu.text import (
    TextClassifier,
    TextDataError,
    TextModelMismatchError,
    load_text_model,
    save_text_model,
)

DATA = Path(__file__).parents[2] / "data" / "text"

# Written for these tests (no third-party text): three service-desk categories, simplified.
ZH_TRAIN = [
    ("我要退款，请把钱退回我的银行卡", "refund"),
    ("申请退款，商品质量有问题", "refund"),
    ("退货以后什么时候退钱", "refund"),
    ("订单取消了，退款还没有到账", "refund"),
    ("请尽快处理我的退款申请", "refund"),
    ("快递三天了还没有送到", "delivery"),
    ("物流信息一直没有更新", "delivery"),
    ("包裹显示已签收但是我没有收到", "delivery"),
    ("请问什么时候发货", "delivery"),
    ("快递员把包裹送错地址了", "delivery"),
    ("我忘记了账户密码，无法登录", "account"),
    ("怎么修改绑定的手机号码", "account"),
    ("账户被冻结了，请帮我解冻", "account"),
    ("登录时一直提示验证码错误", "account"),
    ("我想注销这个账户", "account"),
]
ZH_TEST = [
    ("退款什么时候能到我的银行卡", "refund"),
    ("我的包裹还没有送到，物流不动了", "delivery"),
    ("忘记密码了，账户登录不了", "account"),
]


def _read(name: str) -> tuple[list[str], list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


@pytest.fixture(scope="module")
def banking() -> tuple[list[str], list[str], list[str], list[str]]:
    return (*_read("banking77_train_slice.csv"), *_read("banking77_test_slice.csv"))


@pytest.fixture(scope="module")
def fitted(banking: tuple[list[str], list[str], list[str], list[str]]) -> TextClassifier:
    texts, labels, _, _ = banking
    return TextClassifier().fit(texts, labels)


def test_accuracy_is_far_above_chance(
    fitted: TextClassifier, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    _, _, test_texts, test_labels = banking

    predicted = fitted.predict(test_texts)

    assert len(fitted.classes_) == 11  # chance is 1/11 = 9 %
    assert predicted.dtype.kind == "U"
    assert np.mean(predicted == np.asarray(test_labels)) >= 0.85


def test_probabilities_sum_to_one_and_are_calibrated(
    fitted: TextClassifier, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    _, _, test_texts, test_labels = banking

    proba = fitted.predict_proba(test_texts)
    confidence = fitted.confidence(test_texts)

    assert proba.shape == (len(test_texts), len(fitted.classes_))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_array_equal(fitted.classes_[proba.argmax(axis=1)], fitted.predict(test_texts))
    np.testing.assert_allclose(confidence, proba.max(axis=1))
    accuracy = np.mean(fitted.predict(test_texts) == np.asarray(test_labels))
    # Calibrated: the mean confidence is close to the accuracy it claims (not 0.99 for 0.9).
    assert abs(confidence.mean() - accuracy) < 0.1
    assert 0.0 < fitted.temperature_ < 10.0


def test_save_load_round_trip_gives_identical_predictions(
    fitted: TextClassifier,
    banking: tuple[list[str], list[str], list[str], list[str]],
    tmp_path: Path,
) -> None:
    _, _, test_texts, _ = banking

    folder = save_text_model(fitted, tmp_path / "model", metrics={"accuracy": 0.9})
    loaded = load_text_model(folder, expected=TextClassifier())

    assert isinstance(loaded, TextClassifier)
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.predict(test_texts), fitted.predict(test_texts))
    np.testing.assert_array_equal(
        loaded.predict_proba(test_texts), fitted.predict_proba(test_texts)
    )
    document = json.loads((folder / "params.json").read_text())
    assert document["model_type"] == "kehu.text.TextClassifier"
    assert document["metrics"] == {"accuracy": 0.9}
    assert not list(folder.glob("*.pkl"))


def test_every_parameter_round_trips(
    banking: tuple[list[str], list[str], list[str], list[str]], tmp_path: Path
) -> None:
    texts, labels, _, _ = banking
    model = TextClassifier(
        C=2.0,
        word_ngram_range=(1, 1),
        char_ngram_range=(3, 4),
        min_df=2,
        calibration_folds=2,
        max_chars=500,
        random_state=7,
    ).fit(texts, labels)

    loaded = load_text_model(save_text_model(model, tmp_path / "m"))

    assert loaded.get_params() == model.get_params()
    assert isinstance(loaded.char_ngram_range, tuple)
    np.testing.assert_array_equal(loaded.predict(texts), model.predict(texts))


def test_load_refuses_another_configuration_and_a_tampered_file(
    fitted: TextClassifier, tmp_path: Path
) -> None:
    folder = save_text_model(fitted, tmp_path / "model")

    with pytest.raises(TextModelMismatchError, match="not the expected"):
        load_text_model(folder, expected=TextClassifier(C=3.0))
    document = json.loads((folder / "params.json").read_text())
    document["hyperparameters"]["C"] = 9.0
    (folder / "params.json").write_text(json.dumps(document))
    with pytest.raises(TextModelMismatchError, match="fingerprint"):
        load_text_model(folder)
    with pytest.raises(TextDataError, match="not a saved kehu text model"):
        load_text_model(tmp_path / "nothing-here")


def test_traditional_and_simplified_chinese_get_the_same_answer() -> None:
    to_traditional = opencc.OpenCC("s2t")
    model = TextClassifier().fit([t for t, _ in ZH_TRAIN], [c for _, c in ZH_TRAIN])
    simplified = [t for t, _ in ZH_TEST]
    traditional = [to_traditional.convert(t) for t in simplified]

    assert traditional != simplified  # the conversion changed the script
    np.testing.assert_array_equal(model.predict(simplified), [c for _, c in ZH_TEST])
    np.testing.assert_array_equal(model.predict(traditional), model.predict(simplified))
    np.testing.assert_allclose(model.predict_proba(traditional), model.predict_proba(simplified))


def test_two_categories_give_two_columns() -> None:
    texts = ["refund please", "i want my money back", "card not arrived", "where is my card"]

    model = TextClassifier().fit(texts, ["refund", "refund", "card", "card"])

    assert model.classes_.tolist() == ["card", "refund"]
    assert model.predict_proba(["money back"]).shape == (1, 2)
    assert model.predict(["money back please"]).tolist() == ["refund"]


def test_fitting_twice_equals_fitting_once(
    banking: tuple[list[str], list[str], list[str], list[str]],
) -> None:
    texts, labels, test_texts, _ = banking
    model = TextClassifier(calibration_folds=2)

    first = model.fit(texts, labels).predict_proba(test_texts)
    second = model.fit(texts, labels).predict_proba(test_texts)
    other = clone(model).fit(texts, labels).predict_proba(test_texts)

    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, other)


def test_estimator_contract() -> None:
    model = TextClassifier(C=0.3)

    assert clone(model).get_params() == model.get_params()
    assert model.set_params(C=0.7).C == 0.7
    assert model.fit(["a b", "c d"], ["x", "y"]) is model
    with pytest.raises(NotFittedError):
        TextClassifier().predict(["hello"])


@pytest.mark.parametrize(
    ("texts", "labels", "message"),
    [
        pytest.param(["a", "b"], ["x", "x"], "at least two categories", id="one_class"),
        pytest.param(["a", "b"], ["x"], "2 texts but 1 labels", id="length_mismatch"),
        pytest.param(["a", "b"], ["x", " "], "Label 1 is empty", id="empty_label"),
        pytest.param("just one string", ["x"], "not one string", id="one_string"),
        pytest.param(["a", None], ["x", "y"], "item 1 is NoneType", id="not_a_string"),
        pytest.param(["", "  "], ["x", "y"], "Every training text is empty", id="all_empty"),
    ],
)
def test_bad_training_data_is_refused_with_a_reason(
    texts: object, labels: list[str], message: str
) -> None:
    with pytest.raises(TextDataError, match=message):
        TextClassifier().fit(texts, labels)  # type: ignore[arg-type]


def test_bad_hyperparameters_are_refused() -> None:
    with pytest.raises(TextDataError, match="word_ngram_range"):
        TextClassifier(word_ngram_range=(2, 1)).fit(["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="C"):
        TextClassifier(C=-1.0).fit(["a", "b"], ["x", "y"])


def test_empty_and_symbol_only_messages_still_get_an_answer(fitted: TextClassifier) -> None:
    proba = fitted.predict_proba(["", "???", "🙂"])

    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert fitted.predict([]).shape == (0,)


def test_a_huge_message_is_cut_to_its_head_and_tail(fitted: TextClassifier) -> None:
    request = "My card still has not arrived, when will it be delivered?"
    huge = request + " lorem" * 200_000 + " thanks"

    assert len(huge) > 1_000_000
    assert fitted.predict([huge]).tolist() == fitted.predict([request]).tolist() == ["card_arrival"]
