"""join the branches of issues 5 and 6: API clients, renewal, data changes, suspensions

Revision ID: 0005
Revises: 0004_api_clients, 0004_data_changes, 0004_renewal, 0004_suspensions
Create Date: 2026-11-26 01:00:00

"""

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = ('0004_api_clients', '0004_data_changes', '0004_renewal', '0004_suspensions')
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
