"""Worker names unique ignoring case; users.kudos_adjustments (what floors and the ceiling changed).

Workers whose names already differ only by case (or surrounding spaces) keep the oldest one's
name; the others get their id's first 8 characters appended, so the unique index can be built.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

workers = sa.table(
    "workers", sa.column("id", sa.String), sa.column("name", sa.String), sa.column("name_lower", sa.String),
    sa.column("created", sa.DateTime),
)


def _rename_look_alikes(conn) -> None:
    seen: set[str] = set()
    rows = conn.execute(sa.select(workers.c.id, workers.c.name).order_by(workers.c.created, workers.c.id)).all()
    for worker_id, name in rows:
        name = name.strip()
        key = name.lower()
        if key in seen:
            name = f"{name[:90]} ({worker_id[:8]})"
            key = name.lower()
        seen.add(key)
        conn.execute(workers.update().where(workers.c.id == worker_id).values(name=name, name_lower=key))


def upgrade():
    _rename_look_alikes(op.get_bind())
    with op.batch_alter_table("workers") as batch:
        batch.drop_index("ix_workers_name_lower")
        batch.create_index("ix_workers_name_lower", ["name_lower"], unique=True)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("kudos_adjustments", sa.Float(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("kudos_adjustments")
    with op.batch_alter_table("workers") as batch:
        batch.drop_index("ix_workers_name_lower")
        batch.create_index("ix_workers_name_lower", ["name_lower"], unique=False)
