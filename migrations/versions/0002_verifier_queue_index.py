"""verifier queue index: accounts of an agency newest first, for the first page and keyset pages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 22:57:40.744678

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index('ix_accounts_agency_id_id', ['agency_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_agency_id_id')
