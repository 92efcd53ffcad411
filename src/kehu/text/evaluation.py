"""Check a text model on your own labelled messages: read the files, train, score (pure).

``kehu text evaluate`` is a thin shell over :func:`evaluate_text_model`; everything here raises
:class:`~kehu.text.TextDataError` with a sentence a person can act on, never a traceback.
Files are CSV or JSONL (one JSON object per line) with the fields ``text`` and ``label``
(``category`` is accepted for ``label``), in UTF-8, UTF-16 with a BOM, GBK/GB18030 or Big5.
"""

import csv
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from sklearn.metrics import f1_score

from kehu.text._errors import TextDataError
from kehu.text.classification import DEFAULT_TRIAGE_THRESHOLD, TextClassifier

Task = Literal["category", "sentiment"]
TASKS: tuple[Task, ...] = ("category", "sentiment")
#: Largest file read (bytes): evaluation data, not a data lake.
MAX_FILE_BYTES = 200 * 1024 * 1024
_LABEL_FIELDS = ("label", "category")
_SHOWN = 5


@dataclass(frozen=True)
class LabelledTexts:
    """Messages and their labels read from one file."""

    texts: list[str]
    labels: list[str]
    path: Path
    encoding: str


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:65536]:
        raise TextDataError(
            f"{name} does not look like a text file (it contains NUL bytes); "
            "save it as CSV or JSONL in UTF-8.",
            code="text.not_text",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None:
        try:
            return data.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise TextDataError(
        f"{name} is not in a text encoding kehu can read; save it as UTF-8.",
        code="text.bad_encoding",
    )


def _label_field(fields: list[str], name: str) -> str:
    for wanted in _LABEL_FIELDS:
        if wanted in fields:
            return wanted
    raise TextDataError(
        f"{name} has no 'label' column (found: {', '.join(fields) or 'none'}); "
        "give each message a 'text' and a 'label'.",
        code="text.missing_column",
    )


def _rows_from_csv(content: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    sample = content[:65536]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(content, newline=""), dialect=dialect)
    fields = [(f or "").strip().lower() for f in (reader.fieldnames or [])]
    reader.fieldnames = fields
    if "text" not in fields:
        raise TextDataError(
            f"{name} has no 'text' column (found: {', '.join(f for f in fields if f) or 'none'}); "
            "give each message a 'text' and a 'label'.",
            code="text.missing_column",
        )
    _label_field(fields, name)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    try:
        for row in reader:
            rows.append(row)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise TextDataError(
            f"{name} is not valid CSV near line {reader.line_num}: {exc}", code="text.bad_csv"
        ) from exc
    return rows, lines


def _rows_from_jsonl(content: str, name: str) -> tuple[list[dict[str, Any]], list[int]]:
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise TextDataError(
                f"{name} line {number} is not a JSON object: {exc}", code="text.bad_jsonl"
            ) from exc
        if not isinstance(value, dict):
            raise TextDataError(
                f"{name} line {number} is not a JSON object with 'text' and 'label'.",
                code="text.bad_jsonl",
            )
        rows.append({str(k).strip().lower(): v for k, v in value.items()})
        lines.append(number)
    return rows, lines


def _looks_like_jsonl(path: Path, content: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in {".jsonl", ".ndjson", ".json"}:
        return True
    if suffix in {".csv", ".tsv", ".txt"}:
        return False
    return content.lstrip().startswith("{")


def read_labelled_texts(path: str | Path) -> LabelledTexts:
    """Read messages and labels from a CSV or JSONL file.

    Parameters
    ----------
    path
        A ``.csv`` (header row with ``text`` and ``label``) or ``.jsonl`` file (one object per
        line with ``text`` and ``label``); other names are sniffed.

    Returns
    -------
    LabelledTexts
        The messages (as written) and their labels (stripped strings).

    Raises
    ------
    TextDataError
        The file is missing, unreadable, too large, in an unknown encoding, lacks a column, or
        holds an empty text or label (the first few row numbers are named).
    """
    file = Path(path)
    name = str(file)
    if not file.is_file():
        raise TextDataError(f"{name} does not exist or is not a file.", code="text.no_file")
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise TextDataError(
            f"{name} is {size / 1e6:.0f} MB; evaluate on at most "
            f"{MAX_FILE_BYTES / 1e6:.0f} MB of messages.",
            code="text.too_large",
        )
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise TextDataError(f"{name} cannot be read: {exc.strerror}.", code="text.no_file") from exc
    content, encoding = _decode(data, name)
    if not content.strip():
        raise TextDataError(f"{name} is empty.", code="text.empty_file")
    if _looks_like_jsonl(file, content):
        rows, lines = _rows_from_jsonl(content, name)
    else:
        rows, lines = _rows_from_csv(content, name)
    if not rows:
        raise TextDataError(f"{name} holds no messages.", code="text.empty_file")
    texts: list[str] = []
    labels: list[str] = []
    no_text: list[int] = []
    no_label: list[int] = []
    no_field: list[int] = []
    for row, line in zip(rows, lines, strict=True):
        if "text" not in row or not any(f in row for f in _LABEL_FIELDS):
            no_field.append(line)
            continue
        text = row["text"]
        label = row[_label_field(list(row), name)]
        text = "" if text is None else str(text)
        label = "" if label is None else str(label).strip()
        if not text.strip():
            no_text.append(line)
        if not label:
            no_label.append(line)
        texts.append(text)
        labels.append(label)
    for problem, where in (
        ("lack a 'text' or 'label' field", no_field),
        ("have an empty text", no_text),
        ("have an empty label", no_label),
    ):
        if where:
            shown = ", ".join(str(n) for n in where[:_SHOWN])
            more = f" and {len(where) - _SHOWN} more" if len(where) > _SHOWN else ""
            raise TextDataError(
                f"{name}: {len(where)} row(s) {problem} (line {shown}{more}); fix or remove them.",
                code="text.bad_rows",
                details={"lines": where[:100]},
            )
    return LabelledTexts(texts=texts, labels=labels, path=file, encoding=encoding)


def _sentiment_module() -> Any:
    try:
        from kehu.text import sentiment
    except ImportError as exc:  # pragma: no cover - the module ships with kehu
        raise TextDataError(
            "The sentiment model is not available in this kehu installation.",
            code="text.no_sentiment",
        ) from exc
    return sentiment


def _rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def evaluate_text_model(
    task: str,
    train: LabelledTexts,
    test: LabelledTexts,
    *,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Train the ``task``'s model on ``train`` and score it on ``test``.

    Parameters
    ----------
    task
        ``"category"`` (:class:`~kehu.text.TextClassifier`) or ``"sentiment"``
        (:class:`~kehu.text.sentiment.SentimentClassifier`, labels 1/0 or words such as
        positive/negative).
    train, test
        Labelled messages (:func:`read_labelled_texts`).
    threshold
        Confidence below which a category prediction goes to triage; the model's default when
        omitted. Ignored for sentiment.

    Returns
    -------
    dict
        Plain JSON-able figures: sizes, accuracy, macro-F1, predict throughput (end to end:
        normalisation, features, model), fit time, ``method`` (which model ran: with or
        without the MiniLM cascade) and, for categories, the triage share at the
        threshold with the accuracy of the messages not sent to triage.
    """
    if task not in TASKS:
        raise TextDataError(
            f"Unknown task {task!r}; use one of {', '.join(TASKS)}.", code="text.bad_task"
        )
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise TextDataError(
            f"The threshold is a probability between 0 and 1; got {threshold}.",
            code="text.bad_threshold",
        )
    model: Any
    if task == "category":
        y_train = np.asarray(train.labels, dtype=np.str_)
        y_test = np.asarray(test.labels, dtype=np.str_)
        model = TextClassifier()
    else:
        sentiment = _sentiment_module()
        y_train = sentiment.normalize_sentiment_labels(train.labels)
        y_test = sentiment.normalize_sentiment_labels(test.labels)
        model = sentiment.SentimentClassifier()
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise TextDataError(
            f"{train.path} holds a single label ({classes[0]!s}); training needs at least two.",
            code="text.one_class",
        )
    started = time.perf_counter()
    model.fit(train.texts, y_train)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    proba = np.asarray(model.predict_proba(test.texts))
    predict_seconds = time.perf_counter() - started
    predicted = np.asarray(model.classes_)[np.argmax(proba, axis=1)]
    correct = predicted == y_test
    labels = np.union1d(classes, np.unique(y_test))
    result: dict[str, Any] = {
        "task": task,
        "train_file": str(train.path),
        "test_file": str(test.path),
        "n_train": len(train.texts),
        "n_test": len(test.texts),
        "n_classes": len(classes),
        "n_test_unseen_labels": int(np.sum(~np.isin(y_test, classes))),
        "accuracy": float(correct.mean()),
        "macro_f1": float(
            f1_score(y_test, predicted, labels=labels, average="macro", zero_division=0)
        ),
        "messages_per_second": _rate(len(test.texts), predict_seconds),
        "fit_seconds": fit_seconds,
        "model": type(model).__name__,
        "method": _method(model),
        "hyperparameters": {k: _json_value(v) for k, v in model.get_params(deep=False).items()},
    }
    if task == "category":
        cut = DEFAULT_TRIAGE_THRESHOLD if threshold is None else threshold
        confident = proba.max(axis=1) >= cut
        result["threshold"] = cut
        result["triage_share"] = float(1.0 - confident.mean())
        result["accuracy_untriaged"] = float(correct[confident].mean()) if confident.any() else None
    return result


def _method(model: Any) -> str:
    """Name what actually ran: the cascade needs the encoder, which "auto" may not find."""
    if not isinstance(model, TextClassifier):
        return "NB-LR on character and word n-grams"
    if getattr(model, "encoder_", None) == "minilm":
        return f"TF-IDF + linear SVM, MiniLM cascade below confidence {model.cascade_threshold:g}"
    from kehu.text._encoder import ENCODER_INSTALL

    return f"TF-IDF + linear SVM (no sentence encoder; `{ENCODER_INSTALL}` adds it)"


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value
