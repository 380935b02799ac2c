"""Volunteer tasks remember the draft they were published from, so a second ✅ Publish of
the same draft (a double tap) makes no second task.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:50:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('volunteer_tasks', sa.Column('draft_key', sa.String(length=32),
                                               nullable=True))
    op.create_index('ix_volunteer_tasks_draft_key', 'volunteer_tasks', ['draft_key'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('ix_volunteer_tasks_draft_key', table_name='volunteer_tasks')
    with op.batch_alter_table('volunteer_tasks') as batch:
        batch.drop_column('draft_key')
