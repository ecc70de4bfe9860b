"""Statistics windows (minute, hour, day, month, total) from roll-ups (behaviour §6).

Deliveries append raw rows (`record`). The scheduler folds new rows into daily buckets and
totals (`roll_up`) and compiles the windows into a snapshot in the cache (`compile_windows`); the
`/stats/*` routes read that snapshot, compiling it once only when the cache has none. Each
snapshot names the roll-up it was compiled after, and a reader whose snapshot is older than the
database's roll-up compiles a new one: without Redis every process has a cache of its own, and
all of them show the same roll-up.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from horde.cache import Cache
from horde.db import add_to_rows, delete_oldest
from horde.models import DailyStat, GenerationStat, StatsCursor, TotalStat

SNAPSHOT_SECONDS = 120
ROLL_UP_BATCH = 50_000
WINDOWS = {"minute": dt.timedelta(minutes=1), "hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1)}
MONTH_DAYS = 30
# Retention: raw rows feed the minute, hour and day windows (and the dashboard's last day),
# daily rows the month; older ones are only in the totals, where the roll-up put them.
RAW_KEPT = dt.timedelta(days=1, hours=1)
DAYS_KEPT = dt.timedelta(days=MONTH_DAYS + 1)
PRUNE_CHUNK = 10_000


_INSERT_STAT = insert(GenerationStat.__table__)


def record(session: Session, kind: str, model: str, things: float, state: str, now: dt.datetime) -> None:
    # Core on the session's connection: the ORM's bulk insert path costs more than the insert.
    session.connection().execute(_INSERT_STAT, {"kind": kind, "model": model, "finished": now, "things": things, "state": state})


def roll_up(session: Session, kind: str) -> int:
    """Fold raw rows newer than the cursor into daily buckets and totals; returns how many."""
    cursor = session.get(StatsCursor, kind, with_for_update=True)
    if cursor is None:
        cursor = StatsCursor(kind=kind, last_id=0)
        session.add(cursor)
        session.flush()
    # The next batch of rows of any kind: ids of one kind can be far apart (an image horde's
    # few interrogations among its images, or the other kind's rows already pruned), and a
    # window of ids with none of this kind's rows in it must not stop the cursor.
    batch = select(GenerationStat.id).where(GenerationStat.id > cursor.last_id).order_by(GenerationStat.id).limit(ROLL_UP_BATCH)
    newest = session.scalar(select(func.max(batch.subquery().c.id)))
    if newest is None:
        session.commit()
        return 0
    rows = session.execute(
        select(GenerationStat.model, func.date(GenerationStat.finished), func.count(), func.sum(GenerationStat.things))
        .where(GenerationStat.kind == kind, GenerationStat.id > cursor.last_id, GenerationStat.id <= newest)
        .group_by(GenerationStat.model, func.date(GenerationStat.finished))
    ).all()
    folded = 0
    for model, day, count, things in rows:
        day = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day))
        sums = {"count": count, "things": float(things or 0)}
        add_to_rows(session, DailyStat.__table__, ("kind", "model", "day"), [{"kind": kind, "model": model, "day": day, **sums}])
        add_to_rows(session, TotalStat.__table__, ("kind", "model"), [{"kind": kind, "model": model, **sums}])
        folded += count
    cursor.last_id = newest
    session.commit()
    return folded


def prune_raw(session: Session, kind: str, now: dt.datetime) -> int:
    """Delete one chunk of raw rows that are older than every window reading them and
    already rolled up (the cursor has passed them); returns how many went."""
    rolled_up_to = _rolled_up_to(session, kind)
    return delete_oldest(
        session, GenerationStat,
        GenerationStat.kind == kind, GenerationStat.finished < now - RAW_KEPT, GenerationStat.id <= rolled_up_to,
        oldest_first=GenerationStat.finished, limit=PRUNE_CHUNK,
    )


def prune_days(session: Session, now: dt.datetime) -> int:
    """Daily buckets older than the month window (a few hundred rows a day: one statement)."""
    gone = session.execute(delete(DailyStat).where(DailyStat.day < (now - DAYS_KEPT).date())).rowcount
    session.commit()
    return gone


def compile_windows(session: Session, kind: str, now: dt.datetime) -> dict:
    """The windows: recent ones from raw rows (by time index), month from days, total from totals."""
    windows: dict[str, dict[str, tuple[int, float]]] = {}
    for name, span in WINDOWS.items():
        rows = session.execute(
            select(GenerationStat.model, func.count(), func.sum(GenerationStat.things))
            .where(GenerationStat.kind == kind, GenerationStat.finished > now - span)
            .group_by(GenerationStat.model)
        ).all()
        windows[name] = {model: (count, float(things or 0)) for model, count, things in rows}
    month_rows = session.execute(
        select(DailyStat.model, func.sum(DailyStat.count), func.sum(DailyStat.things))
        .where(DailyStat.kind == kind, DailyStat.day > (now - dt.timedelta(days=MONTH_DAYS)).date())
        .group_by(DailyStat.model)
    ).all()
    windows["month"] = {model: (int(count), float(things or 0)) for model, count, things in month_rows}
    windows["total"] = {
        row.model: (int(row.count), float(row.things))
        for row in session.scalars(select(TotalStat).where(TotalStat.kind == kind))
    }
    return {name: {model: list(value) for model, value in models.items()} for name, models in windows.items()}


def _rolled_up_to(session: Session, kind: str) -> int:
    return session.scalar(select(StatsCursor.last_id).where(StatsCursor.kind == kind)) or 0


def _compile(session: Session, cache: Cache, kind: str, now: dt.datetime) -> dict:
    snapshot = {**compile_windows(session, kind, now), "rolled_up_to": _rolled_up_to(session, kind)}
    cache.set(f"stats:{kind}", snapshot, SNAPSHOT_SECONDS)
    return snapshot


def refresh(session: Session, cache: Cache, kind: str, now: dt.datetime) -> dict:
    roll_up(session, kind)
    return _compile(session, cache, kind, now)


def refresh_all(session: Session, cache: Cache, kinds: tuple[str, ...], now: dt.datetime) -> None:
    """The scheduler's job: every kind this horde records is rolled up (so that its raw rows
    can be pruned); the first, the horde's mode, is the one the /stats routes show."""
    for kind in kinds[1:]:
        roll_up(session, kind)
    refresh(session, cache, kinds[0], now)


def snapshot(session: Session, cache: Cache, kind: str, now: dt.datetime) -> dict:
    """The cached snapshot while it is of the latest roll-up (one primary-key read to know)."""
    found = cache.get(f"stats:{kind}")
    if found is None:
        return refresh(session, cache, kind, now)
    if found.get("rolled_up_to") != _rolled_up_to(session, kind):
        return _compile(session, cache, kind, now)
    return found


def totals(snap: dict, count_name: str, things_name: str) -> dict:
    return {
        window: {
            count_name: sum(int(v[0]) for v in snap.get(window, {}).values()),
            things_name: int(sum(float(v[1]) for v in snap.get(window, {}).values())),
        }
        for window in ("minute", "hour", "day", "month", "total")
    }


def per_model(snap: dict, keep) -> dict:
    return {
        window: {model: int(v[0]) for model, v in sorted(snap.get(window, {}).items()) if keep(model)}
        for window in ("day", "month", "total")
    }
