"""indexes for the console and API at millions of customers (issue 8) -- RESERVED SLOT, fill in or leave empty

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 07:00:00
"""

from collections.abc import Sequence

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
