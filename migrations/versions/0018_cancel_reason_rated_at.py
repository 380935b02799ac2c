"""A cancelled session keeps its reason (shown on its card, roster and history), and a
report's rating keeps when it was given (the digest's "1–2 ⭐ since yesterday").

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 14:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('course_sessions', sa.Column('cancel_reason', sa.JSON(), nullable=True))
    op.add_column('voice_reports', sa.Column('rated_at', models.types.UTCDateTime(timezone=True),
                                             nullable=True))
    # Ratings given before: the best known time is the report's last change.
    op.execute("UPDATE voice_reports SET rated_at = updated_at WHERE rating IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('voice_reports') as batch:
        batch.drop_column('rated_at')
    with op.batch_alter_table('course_sessions') as batch:
        batch.drop_column('cancel_reason')
