"""service desk: departments' categories, tickets, messages, SLA, answers, QA

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:00:00
"""

from collections.abc import Sequence

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the tables (filled in with the feature)."""


def downgrade() -> None:
    """Drop the tables (filled in with the feature)."""
