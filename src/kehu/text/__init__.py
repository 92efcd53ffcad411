"""Text models: normalisation, message categories and sentiment (a pure library: core and
numeric libraries only)."""

from kehu.text.preprocessing import cut_words, has_han, normalize, normalize_many

__all__ = ["cut_words", "has_han", "normalize", "normalize_many"]
