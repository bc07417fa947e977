"""agency electronic seals: seals, custodians, allowed clients, activations, codes, sealed documents

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10 00:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'seals',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('id_subscriber', sa.String(length=32), nullable=False),
        sa.Column('status', sa.Enum('PROPOSED', 'REQUESTED', 'APPROVED', 'REJECTED', 'ISSUE', 'REVOKE',
                                    name='sealstatus', native_enum=False, length=16), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('rejection_reason', sa.Text(), nullable=True),
        sa.Column('certificate_id', sa.Integer(), nullable=True),
        sa.Column('rest_secret', sa.LargeBinary(), nullable=True),
        sa.Column('wrong_codes', sa.Integer(), nullable=False),
        sa.Column('code_tries_pending', sa.Integer(), nullable=False),
        sa.Column('code_pending_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['agency_id'], ['agencies.id']),
        sa.ForeignKeyConstraint(['requested_by_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['accounts.id']),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('id_subscriber'),
    )
    op.create_index('ix_seals_agency_id', 'seals', ['agency_id'])
    op.create_table(
        'seal_custodians',
        sa.Column('seal_id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['account_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('seal_id', 'account_id'),
    )
    op.create_table(
        'seal_clients',
        sa.Column('seal_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['client_id'], ['api_clients.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('seal_id', 'client_id'),
    )
    op.create_table(
        'seal_activations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('seal_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('custodian_id', sa.Integer(), nullable=True),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('end_reason', sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id']),
        sa.ForeignKeyConstraint(['client_id'], ['api_clients.id']),
        sa.ForeignKeyConstraint(['custodian_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_seal_activations_seal_client', 'seal_activations', ['seal_id', 'client_id'])
    op.create_table(
        'seal_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('activation_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('custodian_id', sa.Integer(), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('wrapped_secret', sa.LargeBinary(), nullable=True),
        sa.Column('allowance', sa.Integer(), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['activation_id'], ['seal_activations.id']),
        sa.ForeignKeyConstraint(['custodian_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code_hash'),
    )
    op.create_index('ix_seal_codes_activation_id', 'seal_codes', ['activation_id'])
    op.create_table(
        'sealed_documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=32), nullable=False),
        sa.Column('seal_id', sa.Integer(), nullable=False),
        sa.Column('certificate_id', sa.Integer(), nullable=False),
        sa.Column('activation_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('custodian_id', sa.Integer(), nullable=True),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('original_sha256', sa.String(length=64), nullable=False),
        sa.Column('signed_sha256', sa.String(length=64), nullable=False),
        sa.Column('stored_path', sa.String(length=255), nullable=False),
        sa.Column('pades_level', sa.String(length=8), nullable=False),
        sa.Column('visible', sa.Boolean(), nullable=False),
        sa.Column('page', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('location', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['seal_id'], ['seals.id']),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id']),
        sa.ForeignKeyConstraint(['activation_id'], ['seal_activations.id']),
        sa.ForeignKeyConstraint(['client_id'], ['api_clients.id']),
        sa.ForeignKeyConstraint(['custodian_id'], ['accounts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('public_id'),
    )
    op.create_index('ix_sealed_documents_seal_created', 'sealed_documents', ['seal_id', 'created_at'])
    op.create_index('ix_sealed_documents_signed_sha256', 'sealed_documents', ['signed_sha256'])


def downgrade():
    op.drop_table('sealed_documents')
    op.drop_table('seal_codes')
    op.drop_table('seal_activations')
    op.drop_table('seal_clients')
    op.drop_table('seal_custodians')
    op.drop_table('seals')
