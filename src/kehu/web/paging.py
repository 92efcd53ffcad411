"""Totals of paged console lists: exact for administrators, bounded under a record scope."""

from typing import Any

from sqlalchemy import ColumnElement

from kehu.store import count_limit_under, is_count_exact


def count_limit(scope: ColumnElement[bool] | None, page: int, page_size: int) -> int | None:
    """Return how far the count of ``page`` under ``scope`` goes (``None``: exactly).

    See :func:`kehu.store.count_limit_under`: exact for administrators, bounded under a
    record-level scope (issue 8 §3).
    """
    return count_limit_under(scope, (page - 1) * page_size, page_size)


def pager_context(total: int, limit: int | None, page: int, page_size: int) -> dict[str, Any]:
    """Return the template context of a pager: ``total``, ``total_more`` and ``n_pages``.

    Past the bound the total is the bound and ``total_more`` is true (the console prints
    "10,000+"); there are then as many pages as reach one past the current one, so that
    "Next" stays.
    """
    if is_count_exact(total, limit) or limit is None:
        return {"total": total, "total_more": False, "n_pages": max(1, -(-total // page_size))}
    return {"total": limit, "total_more": True, "n_pages": max(page + 1, -(-limit // page_size))}
