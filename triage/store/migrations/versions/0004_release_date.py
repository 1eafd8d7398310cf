"""The release date of each release (``--released``), for time to fix in days.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add release.released_on (NULL for older rows: they count as released on created_at)."""
    with op.batch_alter_table("release") as batch:
        batch.add_column(sa.Column("released_on", sa.Date, nullable=True))
