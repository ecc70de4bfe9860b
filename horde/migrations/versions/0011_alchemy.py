"""Alchemy: interrogations, their forms as queued requests, alchemists' max_tiles, kudos holds.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "interrogations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("user_id", BigId, sa.ForeignKey("users.id", name="fk_interrogations_user_id_users", ondelete="CASCADE"), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("source_key", sa.String(100), nullable=True),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("tiles", sa.Integer(), nullable=False),
        sa.Column("trusted_workers", sa.Boolean(), nullable=False),
        sa.Column("slow_workers", sa.Boolean(), nullable=False),
        sa.Column("webhook", sa.String(1024), nullable=True),
        sa.Column("ipaddr", sa.String(64), nullable=True),
        sa.Column("client_agent", sa.String(1000), nullable=True),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_interrogations"),
    )
    op.create_index("ix_interrogations_created", "interrogations", ["created"])
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("interrogation_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("tiles", sa.Integer(), nullable=False, server_default="0"))
        batch.create_foreign_key(
            "fk_requests_interrogation_id_interrogations", "interrogations", ["interrogation_id"], ["id"], ondelete="CASCADE"
        )
        batch.create_index("ix_requests_interrogation_id", ["interrogation_id"])
    with op.batch_alter_table("workers") as batch:
        batch.add_column(sa.Column("max_tiles", sa.Integer(), nullable=False, server_default="80"))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("kudos_reserved", sa.Float(), nullable=False, server_default="0"))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("reserved", sa.Float(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("reserved")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("kudos_reserved")
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("max_tiles")
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_interrogation_id")
        batch.drop_constraint("fk_requests_interrogation_id_interrogations", type_="foreignkey")
        batch.drop_column("tiles")
        batch.drop_column("interrogation_id")
    op.drop_index("ix_interrogations_created", table_name="interrogations")
    op.drop_table("interrogations")
