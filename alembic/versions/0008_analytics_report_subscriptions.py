"""analytics report subscriptions: a scheduled daily or weekly report per user

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('analytics_report_subscriptions',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('frequency', sa.String(length=10), nullable=False),
    sa.Column('next_send_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id')
    )
    with op.batch_alter_table('analytics_report_subscriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analytics_report_subscriptions_next_send_at'), ['next_send_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('analytics_report_subscriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analytics_report_subscriptions_next_send_at'))
    op.drop_table('analytics_report_subscriptions')
