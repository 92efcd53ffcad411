"""``kehu text evaluate`` through Typer's CliRunner: the JSON contract and bad input."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from kehu.cli.main import app

DATA = Path(__file__).parents[2] / "data" / "text"
TRAIN = DATA / "banking77_train_slice.csv"
TEST = DATA / "banking77_test_slice.csv"

# Written for this test (no third-party text): short reviews, positive (1) and negative (0).
SENTIMENT_TRAIN = [
    ("服务很好，下次还来", "positive"),
    ("质量不错，很满意", "positive"),
    ("物流很快，包装完好", "positive"),
    ("非常喜欢，推荐购买", "positive"),
    ("味道很好，价格实惠", "positive"),
    ("客服态度好，问题解决了", "positive"),
    ("太差了，再也不买了", "negative"),
    ("质量很差，要求退货", "negative"),
    ("物流太慢，等了一个星期", "negative"),
    ("客服态度恶劣，非常失望", "negative"),
    ("东西是坏的，很生气", "negative"),
    ("价格贵，质量差，不推荐", "negative"),
]
SENTIMENT_TEST = [
    ("很满意，服务很好", "positive"),
    ("太失望了，质量很差", "negative"),
    ("包装完好，推荐", "positive"),
    ("态度恶劣，不会再买", "negative"),
]


def _run(*args: str) -> Result:
    return CliRunner().invoke(app, ["text", "evaluate", *args])


def _write(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text(
        "\n".join(json.dumps({"text": t, "label": c}, ensure_ascii=False) for t, c in rows),
        encoding="utf-8",
    )
    return path


def test_json_is_one_object_and_nothing_else() -> None:
    result = _run("--task", "category", "--train", str(TRAIN), "--test", str(TEST), "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one object: json.loads refuses trailing text
    assert result.stdout.count("\n") == 1
    assert report["task"] == "category"
    assert report["n_train"] == 275
    assert report["n_test"] == 110
    assert report["accuracy"] >= 0.85
    assert 0 < report["macro_f1"] <= 1
    assert report["messages_per_second"] > 0
    assert report["threshold"] == 0.5
    assert 0 <= report["triage_share"] < 0.5
    assert report["accuracy_untriaged"] >= report["accuracy"]
    assert result.stderr == ""


def test_table_with_a_threshold() -> None:
    result = _run(
        "--task", "category", "--train", str(TRAIN), "--test", str(TEST), "--threshold", "0.9"
    )

    assert result.exit_code == 0, result.stderr
    assert "accuracy" in result.stdout
    assert "macro-F1" in result.stdout
    assert "sent to triage (confidence < 0.9)" in result.stdout
    assert "messages per second" in result.stdout
    assert "Training the category model on 275 messages" in result.stderr


def test_sentiment_task_uses_the_sentiment_model(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", SENTIMENT_TRAIN)
    test = _write(tmp_path / "test.jsonl", SENTIMENT_TEST)

    result = _run("--task", "sentiment", "--train", str(train), "--test", str(test), "--json")

    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["model"] == "SentimentClassifier"
    assert report["n_classes"] == 2
    assert report["n_test"] == 4
    assert 0.0 <= report["accuracy"] <= 1.0  # the model's quality is tested with the model
    assert "triage_share" not in report


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(b"message,label\nhi,x\n", "no 'text' column", id="missing_column"),
        pytest.param(b"text,label\nhello,x\nworld,x\n", "single label", id="single_class"),
        pytest.param(b"text,label\nhello,x\n,y\n", "empty text", id="empty_text"),
        pytest.param(b"text,label\n\x00\xff\xfe\x00,x\n", "NUL bytes", id="not_text"),
        pytest.param(bytes(range(128, 256)) * 50, "encoding", id="unknown_encoding"),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(content)

    result = _run("--task", "category", "--train", str(bad), "--test", str(TEST), "--json")

    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_file_and_unknown_task_exit_2(tmp_path: Path) -> None:
    missing = _run("--task", "category", "--train", str(tmp_path / "no.csv"), "--test", str(TEST))
    unknown = _run("--task", "topic", "--train", str(TRAIN), "--test", str(TEST))
    bad_threshold = _run(
        "--task", "category", "--train", str(TRAIN), "--test", str(TEST), "--threshold", "2"
    )

    assert missing.exit_code == 2
    assert "does not exist" in missing.stderr
    assert unknown.exit_code == 2
    assert bad_threshold.exit_code == 2
    assert "between 0 and 1" in bad_threshold.stderr


def test_unknown_sentiment_labels_exit_2(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.jsonl", [("好", "maybe"), ("差", "perhaps")])

    result = _run("--task", "sentiment", "--train", str(train), "--test", str(train))

    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
