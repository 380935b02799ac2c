"""A session may say what to bring ("a yoga mat", "your phone"), shown on its card.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('course_sessions', sa.Column('bring', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('course_sessions') as batch:
        batch.drop_column('bring')
