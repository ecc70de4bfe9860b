"""Moderation: prompt filters, IP timeouts, suspicion records, rule versions.

Revision ID: 0009
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "prompt_filters",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("regex", sa.Text(), nullable=False),
        sa.Column("filter_type", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("replacement", sa.Text(), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_prompt_filters_user_id_users", ondelete="SET NULL"), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("updated", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_prompt_filters"),
    )
    op.create_index("ix_prompt_filters_filter_type", "prompt_filters", ["filter_type"])
    op.create_table(
        "ip_timeouts",
        sa.Column("block", sa.String(64), nullable=False),
        sa.Column("expires", sa.DateTime(), nullable=False),
        sa.Column("suspicion", sa.Integer(), nullable=False),
        sa.Column("suspicion_expires", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("block", name="pk_ip_timeouts"),
    )
    op.create_index("ix_ip_timeouts_expires", "ip_timeouts", ["expires"])
    op.create_table(
        "suspicions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_suspicions_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("worker_id", sa.String(36), sa.ForeignKey("workers.id", name="fk_suspicions_worker_id_workers", ondelete="CASCADE"), nullable=True),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_suspicions"),
    )
    op.create_index("ix_suspicions_worker_id", "suspicions", ["worker_id"])
    op.create_index("ix_suspicions_user_reason", "suspicions", ["user_id", "reason"])
    with op.batch_alter_table("horde_state") as batch:
        batch.add_column(sa.Column("filters_version", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("ip_timeouts_version", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("horde_state") as batch:
        batch.drop_column("ip_timeouts_version")
        batch.drop_column("filters_version")
    op.drop_index("ix_suspicions_user_reason", table_name="suspicions")
    op.drop_index("ix_suspicions_worker_id", table_name="suspicions")
    op.drop_table("suspicions")
    op.drop_index("ix_ip_timeouts_expires", table_name="ip_timeouts")
    op.drop_table("ip_timeouts")
    op.drop_index("ix_prompt_filters_filter_type", table_name="prompt_filters")
    op.drop_table("prompt_filters")
