"""Engine, sessions, declarative base and naming convention.

One `Database` per application. Request code gets a session with `db.session()`; the
Flask app closes it at the end of each request. `domain/` receives sessions as arguments
and never imports Flask.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import time
from pathlib import Path
from typing import Iterator

from sqlalchemy import BigInteger, Integer, MetaData, any_, create_engine, delete, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

# Alembic's scripts, inside the package so that every kind of install (editable, wheel, the
# Docker image) finds them.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Naive UTC: the same representation on PostgreSQL and SQLite."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def add_to_rows(session: Session, table, key_columns: tuple[str, ...], rows: list[dict]) -> None:
    """Insert `rows`, or where a row with the same key exists add their other values to its
    (an upsert that sums), in one statement."""
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=list(key_columns),
        set_={name: table.c[name] + statement.excluded[name] for name in rows[0] if name not in key_columns},
    )
    session.execute(statement, rows)


def delete_oldest(session: Session, model, *where, oldest_first, limit: int) -> int:
    """Delete at most `limit` rows of `model` that match `where`, oldest (by `oldest_first`)
    first, and commit: one bounded transaction, so a prune never holds many row locks for
    long. Returns how many rows went."""
    (key,) = model.__table__.primary_key.columns
    chosen = select(key).where(*where).order_by(oldest_first).limit(limit).scalar_subquery()
    if session.get_bind().dialect.name == "postgresql":
        # `= ANY(ARRAY(…))`: the chosen keys become one array, then primary-key lookups.
        # With `IN (…)` the planner hashed them and read the whole table for every chunk.
        matches = key == any_(func.array(chosen))
    else:
        matches = key.in_(chosen)
    gone = session.execute(delete(model.__table__).where(matches)).rowcount
    session.commit()
    return gone


def rfc822(moment: dt.datetime) -> str:
    """How the API writes a date: `Tue, 02 Jan 2024 03:04:05 -0000` (spec/api.md §1.6)."""
    return moment.strftime("%a, %d %b %Y %H:%M:%S -0000")


# PostgreSQL: give up connecting after 3 s; TCP keepalives find a connection whose peer
# vanished without closing it (a host gone, a network cut) within about 10 s.
PG_CONNECT_ARGS = {"connect_timeout": 3, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 2}


def is_disconnect(exc: BaseException) -> bool:
    """Is `exc` the database being unreachable (down, restarting, connection cut), rather
    than a fault of the statement? Those become a 503 `DatabaseUnavailable`."""
    import sqlite3

    import psycopg2
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError, sqlite3.OperationalError)):
        return True  # the driver's own, from a statement run on a raw connection (read_one)
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return True
    return isinstance(exc, sa_exc.PendingRollbackError) and "invalidated" in str(exc).lower()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str, autocommit: bool = False) -> Engine:
    extra = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10}, **extra)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A connection that died (PostgreSQL restarted, a proxy cut it) is noticed before a
    # request uses it: see `_ping_if_idle`. Connecting gives up after a few seconds, so a
    # request during an outage is answered 503 quickly instead of hanging.
    # Few connections kept open per process (one core slot does the database work; the
    # scheduler's and senders' threads add a few), more opened for a burst and closed after:
    # a node's processes stay well inside PostgreSQL's default max_connections of 100.
    common = dict(pool_recycle=1800, connect_args=PG_CONNECT_ARGS)
    if autocommit:
        engine = create_engine(url, pool_size=2, max_overflow=13, pool_reset_on_return=None, **common, **extra)
    else:
        engine = create_engine(url, pool_size=4, max_overflow=16, **common)
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection that rested longer than this is pinged before it is handed out.
IDLE_PING_SECONDS = 1.0


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    """Pre-ping, but only for connections that sat idle: a dead one is replaced before any
    request sees it (DisconnectionError makes the pool connect afresh, and on a real
    disconnect SQLAlchemy also retires every older connection of the pool). Connections
    that are in constant use skip the round trip (the polled routes stay one statement);
    they cannot have missed a restart unnoticed, since requests during the outage failed on
    them and invalidated the pool."""
    idle_since = record.info.get("idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        if not dbapi_connection.autocommit:
            dbapi_connection.rollback()  # leave no transaction open behind the ping
    except Exception as exc:
        raise DisconnectionError(f"pooled connection is dead: {exc}") from exc


class Database:
    """The engine plus a scoped session factory. Flask-Migrate reads `.engine`/`.metadata`."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.metadata = Base.metadata
        self.session_factory = sessionmaker(bind=self.engine, expire_on_commit=False)
        # Single-statement reads without BEGIN/ROLLBACK round trips (the polled routes): a
        # small pool of its own whose connections are in autocommit from the start.
        self.reader = make_engine(url, autocommit=True)
        self._compiled_reads: dict = {}
        self.scoped = scoped_session(self.session_factory)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def session(self) -> Session:
        """The session of the current request/thread."""
        return self.scoped()

    def remove(self) -> None:
        self.scoped.remove()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A fresh session in its own transaction (for jobs and the CLI)."""
        with self.session_factory() as session, session.begin():
            yield session

    def read_one(self, statement, params: dict | None = None):
        """The first row of one read-only statement, in autocommit (no transaction).

        On PostgreSQL the statement is compiled once and run on the driver's cursor: the
        polled routes (check) are mostly this one read, and SQLAlchemy's result machinery
        cost more than the query. psycopg2 returns the column types the rows need."""
        if self.reader.dialect.name != "postgresql":
            with self.reader.connect() as conn:
                return conn.execute(statement, params or {}).first()
        sql, fixed, row_type = self._compiled_reads.get(statement) or self._compile_read(statement)
        raw = self.reader.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(sql, {**fixed, **params} if params else fixed)
            row = cursor.fetchone()
            cursor.close()
        except Exception as exc:
            if is_disconnect(exc):
                raw.invalidate(exc)  # never back into the pool
            raise
        finally:
            raw.close()
        return None if row is None else row_type(*row)

    def _compile_read(self, statement):
        compiled = statement.compile(dialect=self.reader.dialect)
        fixed = compiled.params  # values the statement carries itself (the caller's are None here)
        row_type = collections.namedtuple("Row", [column.key for column in statement.selected_columns], rename=True)
        self._compiled_reads[statement] = (compiled.string, fixed, row_type)
        return compiled.string, fixed, row_type

    def ping(self) -> bool:
        try:
            with self.reader.connect() as conn:  # autocommit: one round trip, no ROLLBACK
                conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.scoped.remove()
        self.engine.dispose()
        self.reader.dispose()
