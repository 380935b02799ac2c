"""Broadcasts: the key of the draft each was made from, so a double tap makes one.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new nullable column and a unique index on it: no copy of the table on SQLite.
    op.add_column('broadcasts', sa.Column('draft_key', sa.String(length=32), nullable=True))
    op.create_index(op.f('ix_broadcasts_draft_key'), 'broadcasts', ['draft_key'], unique=True)


def downgrade() -> None:
    op.drop_index(op.f('ix_broadcasts_draft_key'), table_name='broadcasts')
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('draft_key')
