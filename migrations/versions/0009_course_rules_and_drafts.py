"""Course rules: how long a freed seat is kept for the next on the waiting list; the draft
an order was made from, so that a double tap makes one.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('course_settings') as batch:
        batch.add_column(sa.Column('offer_hours', sa.Integer(), nullable=False,
                                   server_default='12'))
    with op.batch_alter_table('course_orders') as batch:
        batch.add_column(sa.Column('draft', sa.String(length=32), nullable=True))
        batch.create_index(batch.f('ix_course_orders_draft'), ['draft'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('course_orders') as batch:
        batch.drop_index(batch.f('ix_course_orders_draft'))
        batch.drop_column('draft')
    with op.batch_alter_table('course_settings') as batch:
        batch.drop_column('offer_hours')
