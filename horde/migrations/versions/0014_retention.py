"""Retention: kudos roll-ups, retention cursors, indexes for the pruning of old rows.

Revision ID: 0014_retention
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa

revision = "0014_retention"
down_revision = "0013"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "kudos_rollups",
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("events", BigId, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_kudos_rollups_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "bucket", "reason", name=op.f("pk_kudos_rollups")),
    )
    op.create_table(
        "retention_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_id", BigId, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_retention_cursors")),
    )
    op.create_index("ix_worker_messages_expiry", "worker_messages", ["expiry"], unique=False)
    op.create_index("ix_webhook_deliveries_created", "webhook_deliveries", ["created"], unique=False)


def downgrade():
    op.drop_index("ix_webhook_deliveries_created", table_name="webhook_deliveries")
    op.drop_index("ix_worker_messages_expiry", table_name="worker_messages")
    op.drop_table("retention_cursors")
    op.drop_table("kudos_rollups")
