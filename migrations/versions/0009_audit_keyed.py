"""audit chain keyed by an HSM-resident secret, with signed checkpoints

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Events written before this revision are plain SHA-256 (scheme 1); new ones are HMAC-ed in the HSM (scheme 2).
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("scheme", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("scheme")
