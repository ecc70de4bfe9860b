"""The `horde` command: serve, db, user, worker, filters, jobs, healthcheck.

Every command takes `--mode` (before or after its name). An unreachable database is one line
on stderr and exit status 1, never a traceback."""

from __future__ import annotations

import json

import logging
import os
import sys
from pathlib import Path

import click

from horde.modes import Mode
from horde.settings import Settings, SettingsError

from horde.db import MIGRATIONS_DIR


MODES = click.Choice(["image", "text"])
# What the Docker image's HEALTHCHECK asks (`horde healthcheck`): readiness, 200 only while
# this node can serve the core loop (its database and result storage answer).
HEALTH_PATH = "/api/v2/status/ready"


def _remember_mode(ctx: click.Context, _param, value: str | None) -> None:
    if value:
        ctx.ensure_object(dict)["mode"] = value


def mode_option(command):
    """`--mode` on a subcommand, the same as `horde --mode ... COMMAND`."""
    return click.option(
        "--mode", type=MODES, expose_value=False, callback=_remember_mode,
        help="Which horde (default: HORDE_MODE or image).",
    )(command)


def _settings(ctx: click.Context, **overrides) -> Settings:
    mode = ctx.obj.get("mode")
    values = {k: v for k, v in overrides.items() if v is not None}
    if mode:
        values["mode"] = Mode.parse(mode)
    try:
        settings = Settings.from_env(**values)
    except (SettingsError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    ctx.obj["database"] = _redacted(settings.effective_database_url)
    return settings


def database_problem(exc: BaseException) -> str | None:
    """One line saying why the database cannot be used, for errors of reaching it (None for others)."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return detail[0] if detail else type(exc).__name__


class HordeGroup(click.Group):
    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Exception as exc:
            problem = database_problem(exc)
            if problem is None:
                raise
            where = (ctx.obj or {}).get("database", "")
            click.echo(f"horde: cannot use the database {where}: {problem}", err=True)
            ctx.exit(1)


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


@click.group(cls=HordeGroup)
@click.option("--mode", type=MODES, help="Which horde (default: HORDE_MODE or image).")
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
@mode_option
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    """Apply every pending migration (several nodes at once: one migrates, the others wait)."""
    from flask_migrate import upgrade

    from horde.jobs.locks import migration_lock

    settings = _settings(ctx)
    app = _app(settings)
    with migration_lock(settings.effective_database_url, Path(settings.data_dir)), app.app_context():
        upgrade(directory=str(MIGRATIONS_DIR))
    click.echo(f"{settings.mode.value} database is up to date ({_redacted(settings.effective_database_url)})")


@db.command("check")
@mode_option
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
        return f"cannot read the database schema version: {database_problem(exc) or exc}"
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
@mode_option
@click.option("--host", default=None, help="Listen address (HORDE_HOST, default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Listen port (HORDE_PORT, default 7001).")
@click.option("--workers", type=int, default=None, help="gunicorn worker processes (HORDE_WEB_WORKERS).")
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
@click.option("--no-jobs", is_flag=True, help="Do not run the scheduler in this process (run `horde jobs`).")
@click.pass_context
def serve(ctx, host, port, workers, dev, no_jobs) -> None:
    """Serve the API (gunicorn, or Flask's server with --dev)."""
    settings = _settings(ctx, host=host, port=port, web_workers=workers, run_jobs=False if no_jobs else None)
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
@mode_option
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
@mode_option
@click.option("--username", required=True, help="Checked as /register checks it (unique, ignoring case).")
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
@mode_option
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


def _flag(name: str, help: str):
    return click.option(f"--{name}/--no-{name}", default=None, help=help)


@user.command("set")
@mode_option
@click.argument("reference")
@_flag("trusted", "Trusted: workers earn full kudos; the user may run more workers.")
@_flag("moderator", "Moderator (a moderator is also trusted).")
@click.option("--concurrency", type=click.IntRange(0, 1_000_000), default=None, help="Requests queued at once.")
@click.option("--kudos", type=click.FloatRange(-1e10, 1e10), default=None, help="Kudos to add (negative to remove).")
@click.option("--usage-multiplier", type=click.FloatRange(0.1, 10), default=None)
@click.option("--worker-invited", type=click.IntRange(0, 10000), default=None, help="Workers the user may run.")
@_flag("customizer", "May use custom models.")
@_flag("vpn", "May generate from VPN addresses.")
@_flag("service", "A service account (may proxy for others).")
@_flag("special", "Special account.")
@_flag("flagged", "Flagged: its requests and workers are held back.")
@_flag("education", "Education account (higher concurrency).")
@click.option("--username", default=None, help="Rename the user (the /register rules).")
@click.pass_context
def user_set(ctx, reference, **changes) -> None:
    """Change a user given by id, alias or name: roles, limits, kudos, flags."""
    from horde.domain.accounts import users
    from horde.domain.errors import HordeError

    services = _app(_settings(ctx)).extensions["horde"]
    present = {k: v for k, v in changes.items() if v is not None}
    if not present:
        raise click.UsageError("Nothing to change: give at least one option (see --help).")
    try:
        with services.db.transaction() as session:
            target = users.find_by_reference(session, reference)
            result = users.apply_changes(session, target, present)
            alias = target.alias
    except HordeError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{alias}: " + ", ".join(f"{k}={v}" for k, v in result.items()))


# --- workers -------------------------------------------------------------------------
@main.group()
def worker() -> None:
    """List, change and delete workers."""


def _find_worker(session, reference: str):
    from horde.domain.workers import worker_admin

    try:
        return worker_admin.find(session, worker_id=reference)
    except Exception:
        return worker_admin.find(session, name=reference)


@worker.command("list")
@mode_option
@click.option("--all", "everyone", is_flag=True, help="Also workers not seen in the last five minutes.")
@click.pass_context
def worker_list(ctx, everyone) -> None:
    """One line per worker: id, name, owner, type, state, last seen."""
    from sqlalchemy import select

    from horde.db import utcnow
    from horde.domain.workers import checkin
    from horde.models import User, Worker

    services = _app(_settings(ctx)).extensions["horde"]
    now = utcnow()
    with services.db.transaction() as session:
        rows = session.execute(select(Worker, User.username, User.id).join(User, User.id == Worker.owner_id).order_by(Worker.name)).all()
        for found, owner, owner_id in rows:
            online = now - found.last_check_in < checkin.ONLINE_WINDOW
            if not (online or everyone):
                continue
            state = "paused" if found.paused else "maintenance" if found.maintenance else "online" if online else "offline"
            click.echo(f"{found.id}  {found.name}  {owner}#{owner_id}  {found.worker_type}  {state}  {found.last_check_in or '-'}")


@worker.command("set")
@mode_option
@click.argument("reference")
@_flag("maintenance", "In maintenance: gets no jobs until its owner takes it out.")
@click.option("--message", default=None, help="Maintenance message shown to the owner.")
@_flag("paused", "Paused by a moderator: gets jobs but earns nothing (as upstream).")
@click.option("--info", default=None)
@click.option("--name", default=None, help="Rename the worker.")
@click.option("--team", default=None, help="Team id ('' to leave its team).")
@click.pass_context
def worker_set(ctx, reference, maintenance, message, paused, info, name, team) -> None:
    """Change a worker given by id or name."""
    from horde.domain.errors import HordeError
    from horde.domain.workers import worker_admin

    services = _app(_settings(ctx)).extensions["horde"]
    changes = {"maintenance": maintenance, "maintenance_msg": message, "paused": paused, "info": info, "name": name, "team": team}
    try:
        with services.db.transaction() as session:
            result = worker_admin.apply_changes(session, _find_worker(session, reference), changes)
    except HordeError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(", ".join(f"{k}={v}" for k, v in result.items()))


@worker.command("delete")
@mode_option
@click.argument("reference")
@click.pass_context
def worker_delete(ctx, reference) -> None:
    """Delete a worker given by id or name (refused while it has jobs in progress)."""
    from horde.domain.errors import HordeError
    from horde.domain.workers import worker_admin

    services = _app(_settings(ctx)).extensions["horde"]
    try:
        with services.db.transaction() as session:
            result = worker_admin.remove(session, _find_worker(session, reference))
    except HordeError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"deleted {result['deleted_name']} ({result['deleted_id']})")


# --- health --------------------------------------------------------------------------
@main.command()
@mode_option
@click.option("--path", default=HEALTH_PATH, show_default=True, help="The route to ask.")
@click.option("--timeout", type=float, default=5.0, show_default=True)
@click.pass_context
def healthcheck(ctx, path, timeout) -> None:
    """Exit 0 when this machine's server answers 200 (HORDE_HOST and HORDE_PORT); for
    container health checks."""
    import urllib.error
    import urllib.request

    from horde.settings import WILDCARD_HOSTS

    settings = _settings(ctx)
    host = "127.0.0.1" if settings.host in WILDCARD_HOSTS else settings.host
    host = f"[{host}]" if ":" in host else host
    url = f"http://{host}:{settings.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:
        click.echo(f"horde: {url} does not answer: {getattr(exc, 'reason', exc)}", err=True)
        sys.exit(1)
    if status != 200:
        click.echo(f"horde: {url} answered {status}", err=True)
        sys.exit(1)
    click.echo(f"{url}: ok")


# --- prompt filters --------------------------------------------------------------------
@main.group()
def filters() -> None:
    """Load and save the prompt filters (a new horde has none)."""


@filters.command("import")
@mode_option
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
@mode_option
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
