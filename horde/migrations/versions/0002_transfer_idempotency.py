"""Kudos transfers: the client's Idempotency-Key, unique per payer.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("kudos_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("idempotency_key", sa.String(length=255), nullable=True))
        batch_op.create_index(
            "uq_kudos_events_idempotency", ["user_id", "idempotency_key"], unique=True,
            postgresql_where=sa.text("idempotency_key IS NOT NULL"), sqlite_where=sa.text("idempotency_key IS NOT NULL"),
        )


def downgrade():
    with op.batch_alter_table("kudos_events", schema=None) as batch_op:
        batch_op.drop_index("uq_kudos_events_idempotency", postgresql_where=sa.text("idempotency_key IS NOT NULL"),
                            sqlite_where=sa.text("idempotency_key IS NOT NULL"))
        batch_op.drop_column("idempotency_key")
