"""A report, and a reply in its thread, may carry a voice note (its Telegram file id),
played back to staff.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('voice_reports', sa.Column('voice_file_id', sa.String(length=255),
                                             nullable=True))
    op.add_column('voice_report_notes', sa.Column('voice_file_id', sa.String(length=255),
                                                  nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('voice_report_notes') as batch:
        batch.drop_column('voice_file_id')
    with op.batch_alter_table('voice_reports') as batch:
        batch.drop_column('voice_file_id')
