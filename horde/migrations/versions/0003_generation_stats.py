"""Generation statistics: raw rows, daily and total roll-ups, the roll-up cursor.

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "generation_stats",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("finished", sa.DateTime(), nullable=False),
        sa.Column("things", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_generation_stats")),
    )
    op.create_index("ix_generation_stats_kind_finished", "generation_stats", ["kind", "finished"], unique=False)
    op.create_table(
        "stats_daily",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("count", BigId, nullable=False),
        sa.Column("things", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "model", "day", name=op.f("pk_stats_daily")),
    )
    op.create_table(
        "stats_totals",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("count", BigId, nullable=False),
        sa.Column("things", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "model", name=op.f("pk_stats_totals")),
    )
    op.create_table(
        "stats_cursor",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_id", BigId, nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_stats_cursor")),
    )


def downgrade():
    op.drop_table("stats_cursor")
    op.drop_table("stats_totals")
    op.drop_table("stats_daily")
    op.drop_index("ix_generation_stats_kind_finished", table_name="generation_stats")
    op.drop_table("generation_stats")
