"""``If-Match``: change a record only if it is still at the version the client read."""

from typing import Annotated

from fastapi import Depends, Header

from kehu.core import InvalidInputError


def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            max_length=100,
            description='The `version` you read (`3` or `"3"`); the change is refused with 409 '
            "if someone changed the record since. Omit (or `*`) to change it regardless.",
        ),
    ] = None,
) -> int | None:
    """Return the version an ``If-Match`` header names, or None when there is none."""
    if if_match is None or if_match.strip() in {"", "*"}:
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit() or len(tag) > 18:
        raise InvalidInputError(
            f"If-Match: {if_match!r} is not a version; send the ticket's `version` number.",
            code="invalid_if_match",
        )
    return int(tag)


ExpectedVersion = Annotated[int | None, Depends(expected_version)]

__all__ = ["ExpectedVersion", "expected_version"]
