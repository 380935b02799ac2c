"""Outbox: indexes for claims (in claim order) and for a group's rows by status.

A claim reads the next 200 rows from ix_outbox_claim_order instead of sorting every
due row; a broadcast's progress is counted from ix_outbox_group_key_status alone.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 03:25:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_group_key')
        batch_op.create_index('ix_outbox_group_key_status', ['group_key', 'status'])
    op.create_index('ix_outbox_claim_order', 'outbox',
                    ['status', sa.column('urgent').desc(), sa.column('priority').desc(),
                     'not_before', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_claim_order', table_name='outbox')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_group_key_status')
        batch_op.create_index('ix_outbox_group_key', ['group_key'])
