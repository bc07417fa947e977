"""suspensions (F15) and request letters with their disposition chain (F16)

Revision ID: 0004_suspensions
Revises: 0003
Create Date: 2026-11-26 00:31:24.077609

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_suspensions'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('request_letters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=100), nullable=False),
    sa.Column('letter_date', sa.Date(), nullable=False),
    sa.Column('sender_unit', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('persons', sa.Text(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('stored_name', sa.String(length=128), nullable=True),
    sa.Column('recorded_by', sa.String(length=128), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_request_letters_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_request_letters'))
    )
    with op.batch_alter_table('request_letters', schema=None) as batch_op:
        batch_op.create_index('ix_request_letters_agency_id', ['agency_id', 'id'], unique=False)

    op.create_table('disposition_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acted_by', sa.String(length=128), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['letter_id'], ['request_letters.id'], name=op.f('fk_disposition_steps_letter_id_request_letters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposition_steps')),
    sa.UniqueConstraint('letter_id', 'position', name='uq_disposition_steps_letter_position')
    )
    op.create_table('suspensions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('suspended_by', sa.String(length=128), nullable=False),
    sa.Column('suspended_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('legalised_by', sa.String(length=128), nullable=True),
    sa.Column('legalised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('return_reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('reactivated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('authenticator_reset_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_suspensions_account_id_accounts')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_suspensions_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suspensions'))
    )
    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.create_index('ix_suspensions_account_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suspensions_agency_id'), ['agency_id'], unique=False)

    op.create_table('reactivation_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('suspension_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=128), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_by', sa.String(length=128), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['suspension_id'], ['suspensions.id'], name=op.f('fk_reactivation_documents_suspension_id_suspensions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reactivation_documents')),
    sa.UniqueConstraint('suspension_id', 'kind', name='uq_reactivation_documents_suspension_kind')
    )
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requires_request_letter', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('disposition_chain', sa.Text(), nullable=False,
                                      server_default='Kepala Pusat, Kepala Bidang, Kepala Subbidang, Verifikator'))



def downgrade():
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.drop_column('disposition_chain')
        batch_op.drop_column('requires_request_letter')

    op.drop_table('reactivation_documents')
    with op.batch_alter_table('suspensions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suspensions_agency_id'))
        batch_op.drop_index('ix_suspensions_account_id')

    op.drop_table('suspensions')
    op.drop_table('disposition_steps')
    with op.batch_alter_table('request_letters', schema=None) as batch_op:
        batch_op.drop_index('ix_request_letters_agency_id')

    op.drop_table('request_letters')
