"""Reading labelled messages and scoring a text model on them (``kehu.text.evaluation``)."""

import json
from pathlib import Path

import pytest

from kehu.text import TextDataError
from kehu.text.evaluation import evaluate_text_model, read_labelled_texts

DATA = Path(__file__).parents[2] / "data" / "text"
TRAIN = DATA / "banking77_train_slice.csv"
TEST = DATA / "banking77_test_slice.csv"


def test_csv_is_read_with_its_labels() -> None:
    data = read_labelled_texts(TEST)

    assert len(data.texts) == len(data.labels) == 110
    assert data.texts[0] == "Where do you guys acquire your exchange rate?"
    assert data.labels[0] == "exchange_rate"
    assert data.encoding == "utf-8"


def test_jsonl_and_gbk_csv_and_category_column(tmp_path: Path) -> None:
    jsonl = tmp_path / "messages.jsonl"
    jsonl.write_text(
        '{"text": "退款还没到", "label": "refund"}\n\n{"Text": "快递没到", "LABEL": "delivery"}\n',
        encoding="utf-8",
    )
    gbk = tmp_path / "messages.csv"
    gbk.write_bytes("text,category\n退款还没有到账,退款\n快递还没有送到,物流\n".encode("gbk"))

    from_jsonl = read_labelled_texts(jsonl)
    from_gbk = read_labelled_texts(gbk)

    assert from_jsonl.texts == ["退款还没到", "快递没到"]
    assert from_jsonl.labels == ["refund", "delivery"]
    assert from_gbk.texts == ["退款还没有到账", "快递还没有送到"]
    assert from_gbk.labels == ["退款", "物流"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"message,label\nhi,x\n", "no 'text' column", id="no_text_column"),
        pytest.param(b"text,tag\nhi,x\n", "no 'label' column", id="no_label_column"),
        pytest.param(
            b"text,label\nhi,x\n,y\n  ,z\nok,\n", "2 row\\(s\\) have an empty text", id="empty_text"
        ),
        pytest.param(b"text,label\nhi,x\nok,\n", "have an empty label \\(line 3\\)", id="no_label"),
        pytest.param(b"", "is empty", id="empty_file"),
        pytest.param(b"text,label\n", "holds no messages", id="header_only"),
        pytest.param(b"text,label\n\x00\x01\x02,x\n", "NUL bytes", id="binary"),
    ],
)
def test_bad_files_are_refused_with_a_reason(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    with pytest.raises(TextDataError, match=message):
        read_labelled_texts(path)


def test_bad_jsonl_and_missing_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n[1, 2]\n', encoding="utf-8")

    with pytest.raises(TextDataError, match="line 2 is not a JSON object"):
        read_labelled_texts(path)
    path.write_text('{"text": "a", "label": "x"}\n{not json\n', encoding="utf-8")
    with pytest.raises(TextDataError, match="line 2 is not a JSON object"):
        read_labelled_texts(path)
    with pytest.raises(TextDataError, match="does not exist"):
        read_labelled_texts(tmp_path / "missing.csv")


def test_category_evaluation_reports_every_figure() -> None:
    result = evaluate_text_model("category", read_labelled_texts(TRAIN), read_labelled_texts(TEST))

    assert result["n_train"] == 275
    assert result["n_test"] == 110
    assert result["n_classes"] == 11
    assert result["accuracy"] >= 0.85
    assert 0.0 < result["macro_f1"] <= 1.0
    assert result["messages_per_second"] > 0
    assert result["threshold"] == 0.5
    assert 0.0 <= result["triage_share"] < 0.5
    assert result["accuracy_untriaged"] >= result["accuracy"]
    json.dumps(result, allow_nan=False)  # plain figures only


def test_a_higher_threshold_sends_more_to_triage() -> None:
    train, test = read_labelled_texts(TRAIN), read_labelled_texts(TEST)

    low = evaluate_text_model("category", train, test, threshold=0.2)
    high = evaluate_text_model("category", train, test, threshold=0.99)
    everything = evaluate_text_model("category", train, test, threshold=1.0)

    assert low["triage_share"] < high["triage_share"]
    assert everything["triage_share"] == 1.0
    assert everything["accuracy_untriaged"] is None


def test_bad_task_threshold_and_single_label_are_refused(tmp_path: Path) -> None:
    train, test = read_labelled_texts(TRAIN), read_labelled_texts(TEST)
    one = tmp_path / "one.csv"
    one.write_text("text,label\nhello,x\nworld,x\n", encoding="utf-8")

    with pytest.raises(TextDataError, match="Unknown task"):
        evaluate_text_model("topic", train, test)
    with pytest.raises(TextDataError, match="between 0 and 1"):
        evaluate_text_model("category", train, test, threshold=1.5)
    with pytest.raises(TextDataError, match="single label"):
        evaluate_text_model("category", read_labelled_texts(one), test)
