"""The `horde` command: serve, db upgrade, user create/kudos, jobs."""

from __future__ import annotations

import json

import logging
import os
import sys
from pathlib import Path

import click

from horde.modes import Mode
from horde.settings import Settings, SettingsError

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _settings(ctx: click.Context, **overrides) -> Settings:
    mode = overrides.pop("mode", None) or ctx.obj.get("mode")
    values = {k: v for k, v in overrides.items() if v is not None}
    if mode:
        values["mode"] = Mode.parse(mode)
    try:
        return Settings.from_env(**values)
    except (SettingsError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None


def _with_secret(settings: Settings) -> Settings:
    """The settings with their secret (HORDE_SECRET_KEY or a development one), or one line
    saying which variable to set and exit."""
    from horde import secret_key

    try:
        return secret_key.resolve(settings)
    except SettingsError as exc:
        click.echo(f"horde: refusing to start: {exc}", err=True)
        sys.exit(2)


def _app(settings: Settings):
    from horde.app import create_app

    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    return create_app(_with_secret(settings))


@click.group()
@click.option("--mode", type=click.Choice(["image", "text"]), help="Which horde (default: HORDE_MODE or image).")
@click.pass_context
def main(ctx: click.Context, mode: str | None) -> None:
    """Horde: an open AI Horde API v2 server."""
    ctx.ensure_object(dict)
    ctx.obj["mode"] = mode
    logging.basicConfig(level=os.environ.get("HORDE_LOG_LEVEL", "INFO").upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


# --- database ------------------------------------------------------------------------
@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration."""
    from flask_migrate import upgrade

    settings = _settings(ctx)
    app = _app(settings)
    with app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    click.echo(f"{settings.mode.value} database is up to date ({_redacted(settings.effective_database_url)})")


@db.command("check")
@click.pass_context
def db_check(ctx: click.Context) -> None:
    """Exit non-zero when migrations are pending."""
    settings = _settings(ctx)
    problem = schema_problem(settings)
    if problem:
        raise click.ClickException(problem)
    click.echo("schema is up to date")


def schema_problem(settings: Settings) -> str | None:
    """None when the database is at the newest migration, else what to do about it."""
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine

    script = ScriptDirectory.from_config(_alembic_config(Config))
    heads = set(script.get_heads())
    engine = create_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except Exception as exc:  # unreachable database
        return f"cannot read the database schema version: {exc}"
    finally:
        engine.dispose()
    if current != heads:
        return (
            f"the database schema is out of date (at {sorted(current) or 'nothing'}, newest is {sorted(heads)}): "
            f"run `horde --mode {settings.mode.value} db upgrade` first"
        )
    return None


def _alembic_config(config_cls):
    cfg = config_cls(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


# --- serving -------------------------------------------------------------------------
@main.command()
@click.option("--mode", type=click.Choice(["image", "text"]), default=None)
@click.option("--host", default=None, help="Listen address (HORDE_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (HORDE_PORT, default 7001).")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes (HORDE_WEB_WORKERS).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option("--no-jobs", is_flag=True, help="Do not run the scheduler in this process (run `horde jobs`).")
@click.pass_context
def serve(ctx, mode, host, port, workers, dev, no_jobs) -> None:
    """Serve the API (gunicorn, or Flask's server with --dev)."""
    settings = _settings(ctx, mode=mode, host=host, port=port, web_workers=workers, run_jobs=False if no_jobs else None)
    if dev:
        settings = settings.with_(environment="development")
    settings = _with_secret(settings)  # a development secret is created before any worker starts
    problem = schema_problem(settings)
    if problem:
        click.echo(f"horde: refusing to start: {problem}", err=True)
        sys.exit(2)
    if dev:
        app = _app(settings)
        if settings.run_jobs:
            from horde.jobs import start_in_background

            start_in_background(app)
        app.run(host=settings.host, port=settings.port, threaded=True, use_reloader=False)
        return
    from horde.gunicorn_app import run

    run(settings)


@main.command()
@click.pass_context
def jobs(ctx) -> None:
    """Run the scheduler of periodic jobs in this process (one node runs them at a time)."""
    from horde.jobs import run_forever

    settings = _settings(ctx)
    problem = schema_problem(settings)
    if problem:
        raise click.ClickException(problem)
    run_forever(_app(settings))


# --- users ---------------------------------------------------------------------------
@main.group()
def user() -> None:
    """Create users and adjust kudos."""


@user.command("create")
@click.option("--username", required=True)
@click.option("--kudos", type=float, default=0.0)
@click.option("--moderator", is_flag=True)
@click.option("--trusted", is_flag=True)
@click.option("--concurrency", type=click.IntRange(0, 1_000_000), default=None)
@click.pass_context
def user_create(ctx, username, kudos, moderator, trusted, concurrency) -> None:
    """Create a user and print its API key (shown only this once)."""
    from horde.domain.accounts import ledger, users
    from horde.domain.errors import HordeError

    settings = _settings(ctx)
    app = _app(settings)
    services = app.extensions["horde"]
    try:
        with services.db.transaction() as session:
            new_user, api_key = users.create_user(
                session,
                services.hasher,
                username,
                concurrency=concurrency or settings.default_concurrency,
                moderator=moderator,
                trusted=trusted,
            )
            if kudos:
                ledger.move_kudos(session, new_user, kudos, bucket="admin", reason="admin")
            alias = new_user.alias
    except HordeError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {alias}")
    click.echo(f"api key: {api_key}")


@user.command("kudos", context_settings={"ignore_unknown_options": True})
@click.argument("reference")
@click.argument("amount", type=float)
@click.pass_context
def user_kudos(ctx, reference, amount) -> None:
    """Add AMOUNT kudos (negative to remove) to a user given by id, alias or name."""
    from horde.domain.accounts import ledger, users
    from horde.domain.errors import HordeError

    app = _app(_settings(ctx))
    services = app.extensions["horde"]
    try:
        with services.db.transaction() as session:
            target = users.find_by_reference(session, reference)
            ledger.move_kudos(session, target, amount, bucket="admin", reason="admin")
            session.refresh(target)
            click.echo(f"{target.alias} now has {target.kudos:g} kudos")
    except HordeError as exc:
        raise click.ClickException(exc.message) from None


# --- prompt filters --------------------------------------------------------------------
@main.group()
def filters() -> None:
    """Load and save the prompt filters (a new horde has none)."""


@filters.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def filters_import(ctx, path) -> None:
    """Add the filters of a JSON file: a list of {regex, filter_type, description, replacement}.
    Filters already there (same regex and type) are kept as they are."""
    from horde.domain.errors import HordeError
    from horde.domain.moderation import prompt_filters

    services = _app(_settings(ctx)).extensions["horde"]
    try:
        with open(path, encoding="utf-8") as source:
            entries = json.load(source)
        if not isinstance(entries, list):
            raise click.ClickException("The file must hold a JSON list of filters.")
        with services.db.transaction() as session:
            for number, entry in enumerate(entries, 1):
                try:
                    prompt_filters.add(
                        session, None, entry.get("regex"), entry.get("filter_type"), entry.get("description"),
                        entry.get("replacement"),
                    )
                except HordeError as exc:
                    raise click.ClickException(f"filter {number}: {exc.errors or exc.message}") from None
    except (ValueError, AttributeError) as exc:
        raise click.ClickException(f"{path} is not a JSON list of filters: {exc}") from None
    services.rules.changed(services.cache)
    click.echo(f"{len(entries)} filters loaded; every node uses them within seconds")


@filters.command("export")
@click.pass_context
def filters_export(ctx) -> None:
    """Print the filters as JSON (the format `import` reads)."""
    from horde.domain.moderation import prompt_filters

    services = _app(_settings(ctx)).extensions["horde"]
    with services.db.transaction() as session:
        rows = [
            {"regex": r.regex, "filter_type": r.filter_type, "description": r.description, "replacement": r.replacement}
            for r in prompt_filters.listing(session, None, None)
        ]
    click.echo(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
