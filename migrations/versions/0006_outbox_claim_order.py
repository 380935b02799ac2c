"""Outbox: an index in the order rows are claimed, so a claim reads 200 rows, not all due.

(A (group_key, status) index for broadcast progress was tried too and left out: every
status change then wrote one more index, which doubled the bytes written per
recipient and slowed the sender.)

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
    op.create_index('ix_outbox_claim_order', 'outbox',
                    ['status', sa.column('urgent').desc(), sa.column('priority').desc(),
                     'not_before', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_claim_order', table_name='outbox')
