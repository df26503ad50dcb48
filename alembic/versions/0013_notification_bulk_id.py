"""notifications: the bulk send a notification was recorded by, so a bulk's summary can be read later

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bulk_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_notifications_bulk_id'), ['bulk_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_bulk_id'))
        batch_op.drop_column('bulk_id')
