"""sign-in failures counted per account and address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sign_in_failures',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_sign_in_failures_account_id_accounts')),
        sa.PrimaryKeyConstraint('account_id', 'address', name=op.f('pk_sign_in_failures')),
    )
    with op.batch_alter_table('accounts', schema=None) as batch_op:  # the account-wide block is gone
        batch_op.drop_column('sign_in_blocked_until')
        batch_op.drop_column('last_failed_sign_in_at')
        batch_op.drop_column('failed_sign_ins')


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_sign_ins', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('last_failed_sign_in_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('sign_in_blocked_until', sa.DateTime(timezone=True), nullable=True))
    op.drop_table('sign_in_failures')
