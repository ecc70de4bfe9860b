"""The live dashboard's figures (/dashboard): workers, queue per model, jobs per minute, kudos
moved, top models and teams.

Computed by the scheduler's leader every few seconds (`Dashboard.refresh`), kept in the
cache and announced on the events hub; every open dashboard reads them from there, so a
thousand viewers cost no more database work than one. Jobs per minute come from the raw
statistics rows (indexed by time); kudos moved from the kudos events read forward from a
cursor on their id (no scan by time of that table).
"""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.domain.status import model_status
from horde.models import GenerationStat, KudosEvent, Team, TotalStat
from horde.services import Services

CACHE_KEY = "dashboard:{kind}"
CACHE_SECONDS = 30.0
REFRESH_SECONDS = 3.0
TOPIC = "dashboard"
HOURS = 3  # of jobs and kudos per minute
TOP = 5
KUDOS_LOOKBACK_EVENTS = 200_000  # read back at start to rebuild the last hours


def _minute(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


def _minute_expression(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.date_trunc("minute", column), 'YYYY-MM-DD"T"HH24:MI')
    return func.strftime("%Y-%m-%dT%H:%M", column)


def _per_minute(session: Session, kind: str, now: dt.datetime) -> dict[str, int]:
    minute = _minute_expression(session, GenerationStat.finished)
    rows = session.execute(
        select(minute, func.count())
        .where(GenerationStat.kind == kind, GenerationStat.finished > now - dt.timedelta(hours=HOURS))
        .group_by(minute)
    ).all()
    return {str(key): int(count) for key, count in rows}


def _series(counts: dict[str, float], now: dt.datetime) -> list[list]:
    """[[epoch seconds of the minute, value], ...] for every minute of the window, oldest first."""
    start = now.replace(second=0, microsecond=0) - dt.timedelta(hours=HOURS) + dt.timedelta(minutes=1)
    points = []
    for step in range(HOURS * 60):
        at = start + dt.timedelta(minutes=step)
        stamp = int(at.replace(tzinfo=dt.timezone.utc).timestamp())
        points.append([stamp, round(counts.get(_minute(at), 0), 2)])
    return points


class Dashboard:
    """The figures, with the running sums of kudos per minute (one per scheduler process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kudos_cursor: int | None = None
        self._kudos: dict[str, float] = {}

    def _read_kudos(self, session: Session, now: dt.datetime) -> dict[str, float]:
        if self._kudos_cursor is None:
            newest = session.scalar(select(func.max(KudosEvent.id))) or 0
            self._kudos_cursor = max(newest - KUDOS_LOOKBACK_EVENTS, 0)
        minute = _minute_expression(session, KudosEvent.created)
        rows = session.execute(
            select(minute, func.sum(KudosEvent.amount), func.max(KudosEvent.id))
            .where(KudosEvent.id > self._kudos_cursor, KudosEvent.reason == "reward",
                   KudosEvent.created > now - dt.timedelta(hours=HOURS))
            .group_by(minute)
        ).all()
        for key, amount, newest in rows:
            self._kudos[str(key)] = self._kudos.get(str(key), 0.0) + float(amount or 0)
            self._kudos_cursor = max(self._kudos_cursor, int(newest))
        oldest = _minute(now - dt.timedelta(hours=HOURS))
        self._kudos = {key: value for key, value in self._kudos.items() if key > oldest}
        return self._kudos

    def compute(self, session: Session, svc: Services, now: dt.datetime) -> dict:
        kind = svc.settings.mode.value
        with self._lock:
            kudos = dict(self._read_kudos(session, now))
        online = svc.live.get(session, kind, now)
        models = model_status.compute(session, svc, kind, now)
        totals = svc.cache.get(f"totals:{kind}") or {}
        per_minute = _per_minute(session, kind, now)
        last_day = session.execute(
            select(GenerationStat.model, func.count())
            .where(GenerationStat.kind == kind, GenerationStat.finished > now - dt.timedelta(days=1))
            .group_by(GenerationStat.model).order_by(func.count().desc()).limit(TOP)
        ).all()
        teams = session.execute(
            select(Team.id, Team.name, Team.kudos, Team.fulfilments).order_by(Team.kudos.desc()).limit(TOP)
        ).all()
        delivered_total = session.scalar(select(func.coalesce(func.sum(TotalStat.count), 0)).where(TotalStat.kind == kind))
        queue = sorted(
            ({"model": m["name"], "jobs": int(m["jobs"]), "eta": m["eta"], "workers": m["count"]} for m in models),
            key=lambda entry: (-entry["jobs"], entry["model"]),
        )
        return {
            "kind": kind,
            "updated": now.isoformat(timespec="seconds") + "Z",
            "workers": {
                "online": len(online),
                "threads": sum(max(worker.threads, 1) for worker, _ in online),
                "maintenance": sum(1 for worker, _ in online if worker.maintenance),
                "kinds": {kind: len(online)},
            },
            "queue": {
                "jobs": sum(entry["jobs"] for entry in queue),
                "processing": int(totals.get("processing", 0)),
                "models": queue,
            },
            "jobs_per_minute": _series(per_minute, now),
            "kudos_per_minute": _series(kudos, now),
            "jobs_last_hour": sum(count for key, count in per_minute.items() if key > _minute(now - dt.timedelta(hours=1))),
            "kudos_last_hour": round(sum(v for key, v in kudos.items() if key > _minute(now - dt.timedelta(hours=1))), 2),
            "delivered_total": int(delivered_total or 0),
            "top_models": [{"model": model, "jobs": int(count)} for model, count in last_day],
            "top_teams": [
                {"id": team_id, "name": name, "kudos": round(kudos_sum or 0, 2), "fulfilments": int(done or 0)}
                for team_id, name, kudos_sum, done in teams
            ],
        }

    def refresh(self, session: Session, svc: Services, now: dt.datetime) -> dict:
        """Compute, keep in the cache, and announce (what the scheduler's job does)."""
        figures = self.compute(session, svc, now)
        svc.cache.set(CACHE_KEY.format(kind=figures["kind"]), figures, CACHE_SECONDS)
        session.rollback()
        svc.events.publish(TOPIC)
        return figures


def cached(svc: Services) -> dict | None:
    return svc.cache.get(CACHE_KEY.format(kind=svc.settings.mode.value))

