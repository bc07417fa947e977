"""passphrase tries pending: parallel right passphrases wait for each other instead of counting as wrong

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 00:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('passphrase_tries_pending', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('passphrase_pending_since', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('passphrase_pending_since')
        batch_op.drop_column('passphrase_tries_pending')
