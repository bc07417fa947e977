"""renewal: expiry reminders sent and renewal requests

Revision ID: 0004_renewal
Revises: 0003
Create Date: 2026-11-26 00:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_renewal'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('expiry_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_expiry_reminders_certificate_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_expiry_reminders')),
    sa.UniqueConstraint('certificate_id', 'days_before', name='uq_expiry_reminders_certificate_days')
    )
    op.create_table('renewal_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_renewal_requests_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_renewal_requests'))
    )
    with op.batch_alter_table('renewal_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renewal_requests_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('renewal_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renewal_requests_account_id'))
    op.drop_table('renewal_requests')
    op.drop_table('expiry_reminders')
