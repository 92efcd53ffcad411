"""relationship follow-ups (issue 7) -- RESERVED SLOT, fill in or leave empty

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 07:00:00
"""

from collections.abc import Sequence

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing yet."""


def downgrade() -> None:
    """Nothing yet."""
