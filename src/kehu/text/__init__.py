"""Text models: normalisation, message categories and sentiment.

A pure library: it imports kehu.core and numeric libraries only.
"""

from kehu.text._errors import TextDataError, TextModelMismatchError
from kehu.text._persistence import load_text_model, save_text_model
from kehu.text.classification import DEFAULT_TRIAGE_THRESHOLD, TextClassifier
from kehu.text.preprocessing import cut_words, has_han, normalize, normalize_many
from kehu.text.sentiment import (
    SentimentClassifier,
    load_default_sentiment_model,
    normalize_sentiment_labels,
)

__all__ = [
    "DEFAULT_TRIAGE_THRESHOLD",
    "SentimentClassifier",
    "TextClassifier",
    "TextDataError",
    "TextModelMismatchError",
    "cut_words",
    "has_han",
    "load_default_sentiment_model",
    "load_text_model",
    "normalize",
    "normalize_many",
    "normalize_sentiment_labels",
    "save_text_model",
]
