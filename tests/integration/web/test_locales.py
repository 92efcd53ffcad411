import json
import re
from pathlib import Path

import kehu.web

WEB = Path(kehu.web.__file__).parent
# A literal message: _("Text") or _("Text", n=1); value-built keys (_("role." ~ x)) are not.
LITERAL = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*[,)]""")


def _catalogue(locale):
    return json.loads((WEB / "locales" / f"{locale}.json").read_text(encoding="utf-8"))


def test_catalogues_have_the_same_messages():
    assert set(_catalogue("en")) == set(_catalogue("zh-CN"))


def test_every_template_string_is_translated():
    zh = _catalogue("zh-CN")
    missing = set()
    for template in (WEB / "templates").rglob("*.html"):
        for match in LITERAL.finditer(template.read_text(encoding="utf-8")):
            message = match.group(1) or match.group(2)
            if message not in zh:
                missing.add(message)
    assert missing == set()


def test_chinese_has_placeholders_of_the_english():
    en, zh = _catalogue("en"), _catalogue("zh-CN")
    for key, text in en.items():
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", zh[key])), key
