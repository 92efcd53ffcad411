"""Errors of the text models."""

from kehu.core import InvalidInputError, KehuError


class TextDataError(InvalidInputError, ValueError):
    """Texts or labels handed to a text model cannot be used as they are.

    A ``ValueError`` (what numeric code expects) and a ``KehuError`` (what the delivery layers
    turn into a 4xx answer or a CLI message).
    """


class TextModelMismatchError(KehuError):
    """A saved text model is not of the type or configuration the caller expected."""

    status_code = 409
