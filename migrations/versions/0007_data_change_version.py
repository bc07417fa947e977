"""data-change version: of two decisions taken at once on one ticket, the second fails instead of both passing

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('data_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))


def downgrade():
    with op.batch_alter_table('data_changes', schema=None) as batch_op:
        batch_op.drop_column('version')
