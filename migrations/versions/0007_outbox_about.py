"""Outbox: whom a message is about, when not its recipient, so erasing them blanks it too.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN, with no copy of a large outbox table: SQLite allows a foreign key
    # on a new column that defaults to NULL, though Alembic cannot say so for it.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE outbox ADD COLUMN about_user_id INTEGER REFERENCES users (id)')
    else:
        op.add_column('outbox', sa.Column('about_user_id', sa.Integer(),
                                          sa.ForeignKey('users.id'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('about_user_id')
