"""An order of a menu course keeps the course's titles in other languages, {locale: title},
so a reader of that language reads the order in theirs too (the topic is the fallback).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 14:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('course_orders') as batch:
        batch.add_column(sa.Column('titles', sa.JSON(), nullable=False, server_default='{}'))
    # Orders already made of a menu course under its title take its titles.
    op.execute("UPDATE course_orders SET titles = (SELECT courses.titles FROM courses "
               "WHERE courses.id = course_orders.course_id) "
               "WHERE course_id IS NOT NULL AND topic = (SELECT courses.title FROM courses "
               "WHERE courses.id = course_orders.course_id)")


def downgrade() -> None:
    with op.batch_alter_table('course_orders') as batch:
        batch.drop_column('titles')
