"""The count beside a page of a list, as every list of the API answers it."""

from pydantic import BaseModel, Field


class CountedPage(BaseModel):
    """How many match a paged list; subclasses add the page's ``data``.

    Under a record-level scope the count stops at a bound (``kehu.store.count_rows``), so a
    manager paging through 700,000 customers is told "at least 10,001", not kept waiting.
    """

    count: int = Field(
        description="How many match; when count_is_exact is false, counting stopped there: "
        "at least this many match."
    )
    count_is_exact: bool = Field(
        default=True,
        description="False when the count stopped at a bound (10,000 or past the page) under "
        "a record-level scope; page with offset until a page comes back short.",
    )
