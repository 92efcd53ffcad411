"""Dictionary matching: Chinese substrings, English whole words, once per post."""

# ruff: noqa: RUF001 - real Chinese text uses full-width punctuation

from kehu.text import normalize
from kehu.voice import TermMatcher, fold_term, term_language

TERMS = [
    ("colour", "white", "白色"),
    ("colour", "white", "white"),
    ("colour", "red", "red"),
    ("size", "large", "xl"),
    ("feature", "battery", "续航"),
]


def test_terms_match_in_both_languages_and_count_once():
    matcher = TermMatcher.build(TERMS)

    found = matcher.find(normalize("白色很好看，WHITE 版本续航也好，白色！"))

    assert found == {("colour", "white"), ("feature", "battery")}


def test_english_terms_need_whole_words():
    matcher = TermMatcher.build(TERMS)

    assert matcher.find("reduced price, bored") == set()
    assert matcher.find("the red one in xl") == {("colour", "red"), ("size", "large")}


def test_traditional_script_matches_after_normalising():
    matcher = TermMatcher.build(
        [("colour", "white", normalize("白色")), ("x", "y", normalize("續航"))]
    )

    assert matcher.find(normalize("續航不錯，白色")) == {("colour", "white"), ("x", "y")}


def test_terms_are_folded_and_their_language_told():
    assert fold_term("  \uff37\uff28\uff29\uff34\uff25  Pearl ") == "white pearl"  # full width
    assert (term_language("白色"), term_language("white")) == ("zh", "en")
