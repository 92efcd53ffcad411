"""voice of the customer: posts, comments, spread risk, crises, demand, polls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables (filled in with the feature)."""


def downgrade() -> None:
    """Drop the tables (filled in with the feature)."""
