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


def _upgrade(app, revision: str) -> None:
    from flask_migrate import upgrade

    from tests.conftest import MIGRATIONS

    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=revision)


def test_worker_look_alikes_are_renamed_when_names_become_unique(tmp_path):
    """Migration 0006: workers whose names differ only by case or spaces keep the oldest name;
    the others get their id's start appended, so the case-insensitive unique index can exist."""
    from sqlalchemy import text

    from horde.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(tmp_path))
    engine = app.extensions["horde"].db.engine
    _upgrade(app, "0005")
    rows = [("a" * 36, "BobWorker1", "2024-01-01"), ("b" * 36, "BOBWORKER1", "2024-01-02"), ("c" * 36, " bobworker1 ", "2024-01-03")]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO users (id, username, oauth_id, kudos, evaluating_kudos, kudos_accumulated, kudos_gifted,"
                          " kudos_donated, kudos_admin, kudos_received, kudos_recurring, kudos_awarded, kudos_styled,"
                          " usage_megapixelsteps, usage_tokens, contributed_megapixelsteps, contributed_tokens,"
                          " fulfilled_image, fulfilled_text, fulfilled_interrogation, requested_image, requested_text,"
                          " requested_interrogation, concurrency, worker_invited, usage_multiplier, monthly_kudos,"
                          " suspicion, moderator, trusted, flagged, customizer, vpn, special, service, education,"
                          " deleted, public_workers, pseudonymous, created, last_active)"
                          " VALUES (7, 'owner', 'o', 0,0,0,0,0,0,0,0,0,0, 0,0,0,0, 0,0,0,0,0,0, 30,0,1,0, 0,"
                          " 0,0,0,0,0,0,0,0,0,0,0, '2024-01-01', '2024-01-01')"))
        for worker_id, name, created in rows:
            conn.execute(text(
                "INSERT INTO workers (id, name, name_lower, worker_type, owner_id, bridge_agent, threads, models, blacklist,"
                " softprompts, nsfw, extra_slow, max_pixels, allow_img2img, allow_painting, allow_unsafe_ipaddr,"
                " allow_post_processing, allow_controlnet, allow_sdxl_controlnet, allow_lora, limit_max_steps,"
                " max_length, max_context_length, maintenance, paused, suspicion, kudos_generated, kudos_uptime,"
                " fulfilments, contributions, uncompleted_jobs, dropped_jobs, uptime, last_reward_uptime, created,"
                " last_check_in) VALUES (:id, :name, :lower, 'image', 7, 'x', 1, '[]', '[]', '[]', 1, 0, 1, 1, 1, 1,"
                " 1, 0, 0, 0, 0, 512, 2048, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, :created, :created)"
            ), {"id": worker_id, "name": name, "lower": name.lower(), "created": created})
    _upgrade(app, "0006")
    with engine.connect() as conn:
        names = [r[0] for r in conn.execute(text("SELECT name FROM workers ORDER BY created"))]
    assert names == ["BobWorker1", "BOBWORKER1 (bbbbbbbb)", "bobworker1 (cccccccc)"]
    app.extensions["horde"].db.dispose()
