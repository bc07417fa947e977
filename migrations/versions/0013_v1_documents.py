"""eSign v1 documents: the API client that signed a document and until when it may download it

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-10 00:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_client_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('kept_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_signed_documents_api_client_id_api_clients', 'api_clients', ['api_client_id'], ['id'])
        batch_op.create_index('ix_signed_documents_kept_until', ['kept_until'], unique=False)


def downgrade():
    with op.batch_alter_table('signed_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_signed_documents_kept_until')
        batch_op.drop_constraint('fk_signed_documents_api_client_id_api_clients', type_='foreignkey')
        batch_op.drop_column('kept_until')
        batch_op.drop_column('api_client_id')
