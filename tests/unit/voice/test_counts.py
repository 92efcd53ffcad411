"""Platform counts as exports write them."""

import pytest

from kehu.ingest.validation import parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", 1234),
        ("1,234", 1234),
        ("1.2万", 12000),
        ("3k", 3000),
        ("2亿", 200_000_000),
        ("", None),
        ("-", None),
        ("N/A", None),
    ],
)
def test_counts_parse(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["many", "-3", "1e30"])
def test_bad_counts_say_why(text):
    with pytest.raises(ValueError, match="count"):
        parse_count(text)
