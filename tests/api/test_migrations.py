"""The migration creates exactly the schema the models describe, on PostgreSQL and SQLite."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from horde.db import Base


def test_migration_matches_models(app):
    engine = app.extensions["horde"].db.engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == [], diff


def test_anonymous_user_and_modes_exist_after_migration(client):
    assert client.get("/api/v2/users/0").get_json()["username"] == "Anonymous#0"
    assert client.get("/api/v2/status/modes").status_code == 200
