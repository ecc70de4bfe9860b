"""Case-insensitive username lookups (registration refuses taken names).

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_users_username_lower", "users", [sa.text("lower(username)")], unique=False)


def downgrade():
    op.drop_index("ix_users_username_lower", table_name="users")
