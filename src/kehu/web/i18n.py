"""A tiny message catalogue: English source strings as keys, one JSON file per locale.

Templates call ``_("Customers")`` (or ``_("{n} rows", n=3)``); the string is looked up in
``locales/<locale>.json`` and formatted with the keyword arguments. A missing translation falls
back to the English text (for a key like ``role.admin``, to ``admin``), so a new page never
shows a blank.
"""

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

LOCALES_DIR = Path(__file__).with_name("locales")

#: The locales the console speaks, with their own names (shown in the language switch).
LOCALES: dict[str, str] = {"en": "English", "zh-CN": "中文"}
DEFAULT_LOCALE = "en"


@cache
def load_catalogue(locale: str) -> dict[str, str]:
    """Return the messages of ``locale`` (``{english: translation}``), read once."""
    path = LOCALES_DIR / f"{locale}.json"
    data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return data


def normalise_locale(value: str | None, default: str = DEFAULT_LOCALE) -> str:
    """Return a supported locale for ``value`` (``zh``, ``zh_cn``, ``zh-Hans`` → ``zh-CN``)."""
    if not value:
        return default
    text = value.strip().replace("_", "-").lower()
    for locale in LOCALES:
        if text == locale.lower():
            return locale
    if text.startswith("zh"):
        return "zh-CN"
    if text.startswith("en"):
        return "en"
    return default


def translate(locale: str, message: str, **values: Any) -> str:
    """Return ``message`` in ``locale``, formatted with ``values``."""
    text = load_catalogue(locale).get(message) or load_catalogue(DEFAULT_LOCALE).get(message)
    if text is None:
        # A value-derived key such as "kind.orders" with no entry yet: show the value itself.
        prefix, dot, rest = message.partition(".")
        text = rest if dot and prefix.isalpha() and " " not in message else message
    return text.format(**values) if values else text


def translator(locale: str) -> Callable[..., str]:
    """Return the ``_()`` function for one locale (what templates get)."""

    def _(message: str, **values: Any) -> str:
        return translate(locale, message, **values)

    return _


__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "load_catalogue",
    "normalise_locale",
    "translate",
    "translator",
]
