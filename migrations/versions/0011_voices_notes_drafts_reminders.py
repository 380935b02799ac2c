"""Reports keep the thread of staff's answers and remember the draft they were sent from, so a second ✅ Send of the same draft
(a double tap) files no second report; polls remember when those who had not answered
were reminded, so they are reminded once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('voice_reports', sa.Column('draft_key', sa.String(length=32),
                                             nullable=True))
    op.create_index('ix_voice_reports_draft_key', 'voice_reports', ['draft_key'],
                    unique=True)
    op.create_table(
        'voice_report_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('created_at', models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['report_id'], ['voice_reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_voice_report_notes_report_id', 'voice_report_notes', ['report_id'],
                    unique=False)
    op.add_column('polls', sa.Column('reminded_at', models.types.UTCDateTime(timezone=True),
                                     nullable=True))


def downgrade() -> None:
    op.drop_index('ix_voice_report_notes_report_id', table_name='voice_report_notes')
    op.drop_table('voice_report_notes')
    with op.batch_alter_table('polls') as batch:
        batch.drop_column('reminded_at')
    op.drop_index('ix_voice_reports_draft_key', table_name='voice_reports')
    with op.batch_alter_table('voice_reports') as batch:
        batch.drop_column('draft_key')
