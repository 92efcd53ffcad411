import pytest

from kehu.core import InvalidInputError
from kehu.customers import normalise_identity


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("email", "  Li.Wei@Example.COM ", "li.wei@example.com"),
        ("phone", "+86 138-1234-5678", "+8613812345678"),
        ("phone", "0086 (138) 1234 5678", "+8613812345678"),
        ("phone", "020 7946 0958", "02079460958"),
        ("wechat_openid", " oAbC-123 ", "oAbC-123"),
    ],
)
def test_values_are_normalised(kind, value, expected):
    assert normalise_identity(kind, value)[1] == expected


def test_a_default_calling_code_makes_local_and_international_numbers_equal():
    local = normalise_identity("phone", "138 1234 5678", default_calling_code="86")
    international = normalise_identity("phone", "+86 138 1234 5678", default_calling_code="86")

    assert local == international


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "not-an-email", "not an e-mail"),
        ("phone", "12ab", "not a phone"),
        ("fax", "123", "Unknown identity kind"),
        ("weibo_uid", "   ", "empty"),
    ],
)
def test_bad_identities_are_refused_with_a_reason(kind, value, message):
    with pytest.raises(InvalidInputError, match=message):
        normalise_identity(kind, value)
