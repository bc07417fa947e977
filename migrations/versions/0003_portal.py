"""portal: authenticators, signed documents, workflows, signing lock

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 23:05:24.994120

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    
    op.create_table('authenticator_devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('sealed_secret', sa.LargeBinary(), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_step', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_authenticator_devices_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_authenticator_devices')),
    sa.UniqueConstraint('account_id', 'name', name='uq_authenticator_devices_account_name')
    )
    with op.batch_alter_table('authenticator_devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_authenticator_devices_account_id'), ['account_id'], unique=False)

    op.create_table('workflows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('current_path', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('ACTIVE', 'COMPLETED', 'DECLINED', name='workflowstatus', native_enum=False, length=16), nullable=False),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_workflows_agency_id_agencies')),
    sa.ForeignKeyConstraint(['owner_id'], ['accounts.id'], name=op.f('fk_workflows_owner_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('public_id', name=op.f('uq_workflows_public_id'))
    )
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflows_owner_id'), ['owner_id'], unique=False)

    op.create_table('signed_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('original_sha256', sa.String(length=64), nullable=False),
    sa.Column('signed_sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_path', sa.String(length=255), nullable=False),
    sa.Column('pades_level', sa.String(length=8), nullable=False),
    sa.Column('visible', sa.Boolean(), nullable=False),
    sa.Column('page', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('acting_as', sa.String(length=200), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_signed_documents_account_id_accounts')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_signed_documents_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_signed_documents_workflow_id_workflows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signed_documents')),
    sa.UniqueConstraint('public_id', name=op.f('uq_signed_documents_public_id'))
    )
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.create_index('ix_signed_documents_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_signed_documents_signed_sha256'), ['signed_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_signed_documents_workflow_id'), ['workflow_id'], unique=False)

    op.create_table('workflow_signers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('field_name', sa.String(length=60), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('box', sa.String(length=80), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('declined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_workflow_signers_account_id_accounts')),
    sa.ForeignKeyConstraint(['document_id'], ['signed_documents.id'], name=op.f('fk_workflow_signers_document_id_signed_documents')),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_signers_workflow_id_workflows')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_signers')),
    sa.UniqueConstraint('workflow_id', 'position', name='uq_workflow_signers_workflow_position')
    )
    with op.batch_alter_table('workflow_signers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workflow_signers_account_id'), ['account_id'], unique=False)

    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wrong_passphrases', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('signing_locked_at', sa.DateTime(timezone=True), nullable=True))




def downgrade():
    
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('signing_locked_at')
        batch_op.drop_column('wrong_passphrases')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('session_version')

    with op.batch_alter_table('workflow_signers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflow_signers_account_id'))

    op.drop_table('workflow_signers')
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signed_documents_workflow_id'))
        batch_op.drop_index(batch_op.f('ix_signed_documents_signed_sha256'))
        batch_op.drop_index('ix_signed_documents_account_created')

    op.drop_table('signed_documents')
    with op.batch_alter_table('workflows', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workflows_owner_id'))

    op.drop_table('workflows')
    with op.batch_alter_table('authenticator_devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_authenticator_devices_account_id'))

    op.drop_table('authenticator_devices')

