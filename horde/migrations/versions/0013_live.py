"""Live: the webhook outbox, users' webhook secrets, a user's requests in flight.

Revision ID: 0013
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
IN_FLIGHT = "(n > 0 OR processing > 0) AND NOT faulted AND NOT cancelled"


def upgrade():
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_webhook_deliveries_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("url", sa.String(1024), nullable=False),
        sa.Column("kudos", sa.Float(), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(255), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("job_id", name="uq_webhook_deliveries_job_id"),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt"],
        postgresql_where=sa.text("state = 'pending'"), sqlite_where=sa.text("state = 'pending'"),
    )
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("webhook_secret", sa.String(64), nullable=True))
    op.create_index(
        "ix_requests_user_in_flight", "requests", ["user_id"],
        postgresql_where=sa.text(IN_FLIGHT), sqlite_where=sa.text(IN_FLIGHT),
    )


def downgrade():
    op.drop_index("ix_requests_user_in_flight", table_name="requests")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("webhook_secret")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
