"""data changes and migrations between agencies (F13, F14); the subscriber's city

Revision ID: 0004_data_changes
Revises: 0003
Create Date: 2026-11-26 00:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_data_changes'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('data_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('target_agency_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('UPDATE', 'MIGRATION', name='changekind', native_enum=False, length=16), nullable=False),
    sa.Column('state', sa.Enum('WAITING_AGENCY_HEAD', 'WAITING_RA', 'PENDING_SUBSCRIBER', 'APPLIED', 'REJECTED', 'CANCELLED',
                               name='changestate', native_enum=False, length=24), nullable=False),
    sa.Column('before', sa.JSON(), nullable=False),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=254), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_certificate_id', sa.Integer(), nullable=True),
    sa.Column('form_path', sa.String(length=255), nullable=True),
    sa.Column('signed_document_id', sa.Integer(), nullable=True),
    sa.Column('signed_path', sa.String(length=255), nullable=True),
    sa.Column('signed_by_id', sa.Integer(), nullable=True),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_data_changes_account_id_accounts')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_data_changes_agency_id_agencies')),
    sa.ForeignKeyConstraint(['target_agency_id'], ['agencies.id'], name=op.f('fk_data_changes_target_agency_id_agencies')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['accounts.id'], name=op.f('fk_data_changes_requested_by_id_accounts')),
    sa.ForeignKeyConstraint(['revoked_certificate_id'], ['certificates.id'],
                            name=op.f('fk_data_changes_revoked_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['signed_document_id'], ['signed_documents.id'],
                            name=op.f('fk_data_changes_signed_document_id_signed_documents')),
    sa.ForeignKeyConstraint(['signed_by_id'], ['accounts.id'], name=op.f('fk_data_changes_signed_by_id_accounts')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['accounts.id'], name=op.f('fk_data_changes_decided_by_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_changes'))
    )
    with op.batch_alter_table('data_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_changes_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_data_changes_agency_state_id', ['agency_id', 'state', 'id'], unique=False)
        batch_op.create_index('ix_data_changes_kind_state_id', ['kind', 'state', 'id'], unique=False)

    with op.batch_alter_table('subscriber_profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=100), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('subscriber_profiles', schema=None) as batch_op:
        batch_op.drop_column('city')

    with op.batch_alter_table('data_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_data_changes_kind_state_id')
        batch_op.drop_index('ix_data_changes_agency_state_id')
        batch_op.drop_index(batch_op.f('ix_data_changes_account_id'))

    op.drop_table('data_changes')
