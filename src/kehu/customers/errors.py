"""Error codes of the customers feature."""

from enum import StrEnum


class CustomerErrorCode(StrEnum):
    """Stable codes for customer problems."""

    NOT_FOUND = "customers.not_found"
    BAD_IDENTITY = "customers.bad_identity"
    IDENTITY_TAKEN = "customers.identity_taken"
    MERGE_SELF = "customers.merge_self"
    ALREADY_MERGED = "customers.already_merged"
    MERGE_NOT_FOUND = "customers.merge_not_found"
    MERGE_UNDONE = "customers.merge_already_undone"
    MERGE_SUPERSEDED = "customers.merge_superseded"
    NOT_AN_ACCOUNT = "customers.not_an_account"
    DUPLICATE_EXTERNAL_ID = "customers.duplicate_external_id"
