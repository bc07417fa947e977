"""outbox: exhausted messages kept retrievable; loop heartbeats

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('links_expire_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'loop_heartbeats',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('interval_seconds', sa.Float(), nullable=False),
        sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade():
    op.drop_table('loop_heartbeats')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('links_expire_at')
