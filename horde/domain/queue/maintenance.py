"""Periodic upkeep of the queue (run by the scheduler's leader, behaviour §1.12, §1.13, §5.2).

Each function does a bounded amount of work per call and commits, so a big backlog is
worked off over several runs without long transactions.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from horde import events as hub
from horde.domain import errors, events
from horde.domain.accounts import ledger
from horde.domain.queue import engine
from horde.domain.workers import live, matching
from horde.models import ANONYMOUS_USER_ID, GenerationRequest, Job, KudosEvent
from horde.models import job as job_states
from horde.services import Services
from horde.storage import result_key

log = logging.getLogger(__name__)
BATCH = 500


def requeue_stale_jobs(session: Session, now: dt.datetime) -> int:
    """Jobs past their TTL are aborted and their slot goes back to the engine."""
    postgres = session.get_bind().dialect.name == "postgresql"
    query = (
        select(Job).where(Job.state == job_states.PROCESSING, Job.deadline < now).order_by(Job.deadline).limit(BATCH)
    )
    if postgres:
        query = query.with_for_update(skip_locked=True)
    stale = list(session.scalars(query))
    aborted = 0
    for job in stale:
        try:
            engine.fail_job(session, job, now)
            aborted += 1
        except (errors.DuplicateGen, errors.AbortedGen):
            continue  # delivered or aborted meanwhile
    session.commit()
    events.emit(events.JOBS_TIMED_OUT, aborted)
    return aborted


def expire_requests(session: Session, svc: Services, now: dt.datetime) -> int:
    """Requests past their expiry disappear with their jobs and stored images."""
    expired = list(
        session.execute(
            # Alchemy forms expire with their interrogation (alchemy.expire_interrogations).
            select(GenerationRequest.id, GenerationRequest.extra, GenerationRequest.user_id)
            .where(GenerationRequest.expiry < now, GenerationRequest.interrogation_id.is_(None)).limit(BATCH)
        )
    )
    if not expired:
        return 0
    ids = [request_id for request_id, _, _ in expired]
    for request_id, _, user_id in expired:
        engine.changed(session, request_id, user_id)
    job_ids = list(session.scalars(select(Job.id).where(Job.request_id.in_(ids))))
    session.execute(delete(Job).where(Job.request_id.in_(ids)))
    session.execute(delete(GenerationRequest).where(GenerationRequest.id.in_(ids)))
    session.commit()
    keys = [result_key(job_id) for job_id in job_ids]
    for _, extra, _ in expired:
        keys.extend((extra or {}).get("sources") or [])
    svc.store.delete(keys)
    events.emit(events.REQUESTS_EXPIRED, len(ids))
    return len(ids)


def fold_anonymous_kudos(session: Session) -> float:
    """Apply the anonymous account's appended kudos events to its balance, in one update."""
    postgres = session.get_bind().dialect.name == "postgresql"
    query = select(KudosEvent.id, KudosEvent.amount, KudosEvent.bucket).where(
        KudosEvent.user_id == ANONYMOUS_USER_ID, KudosEvent.folded.is_(False)
    ).limit(10 * BATCH)
    if postgres:
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return 0.0
    by_bucket: dict[str, float] = {}
    for _, amount, bucket in rows:
        by_bucket[bucket] = by_bucket.get(bucket, 0.0) + amount
    for bucket, amount in by_bucket.items():
        ledger.apply_to_balance(session, ANONYMOUS_USER_ID, round(amount, 2), bucket, ledger.FLOOR_ANONYMOUS)
    session.execute(update(KudosEvent).where(KudosEvent.id.in_([r[0] for r in rows])).values(folded=True))
    session.commit()
    return sum(by_bucket.values())


def served_kinds(svc: Services) -> tuple[str, ...]:
    """The kinds of work this horde queues: image mode serves alchemy too."""
    mode = svc.settings.mode.value
    return (mode, "interrogation") if mode == "image" else (mode,)


def refresh_snapshots(session: Session, svc: Services, now: dt.datetime) -> None:
    """Queue positions and totals for every kind this horde serves."""
    for kind in served_kinds(svc):
        _refresh_kind(session, svc, kind, now)


def _refresh_kind(session: Session, svc: Services, kind: str, now: dt.datetime) -> None:
    live_workers = svc.live.get(session, kind, now)
    rate = live.throughput(live_workers, kind)
    live.refresh_queue_snapshot(session, svc.cache, kind, rate)
    queued_jobs, queued_things = session.execute(
        select(func.coalesce(func.sum(GenerationRequest.n), 0), func.coalesce(func.sum(GenerationRequest.things * GenerationRequest.n), 0))
        .where(matching.queued(kind))
    ).one()
    processing = session.scalar(
        select(func.coalesce(func.sum(GenerationRequest.processing), 0)).where(GenerationRequest.kind == kind)
    )
    past_minute = session.scalar(
        select(func.coalesce(func.sum(Job.things), 0)).where(
            Job.finished_at > now - dt.timedelta(seconds=60), Job.state.in_(job_states.DONE_STATES), Job.fake.is_(False)
        )
    )
    svc.cache.set(
        f"totals:{kind}",
        {
            "queued_jobs": int(queued_jobs), "queued_things": float(queued_things), "processing": int(processing or 0),
            "workers": len(live_workers), "threads": sum(w.threads for w, _ in live_workers),
            "past_minute_things": float(past_minute or 0),
        },
        ttl=60,
    )
    hub.note(session, f"positions:{kind}")  # waiting streams re-read their place in the queue
    session.commit()


def refresh_queue_statistics(session: Session) -> None:
    """ANALYZE the queue tables. They change fast (bursts of new requests), faster than
    autovacuum notices; the pop's plans are only good with current statistics."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ("requests", "request_models", "jobs"):
        session.execute(text(f"ANALYZE {table}"))
    session.commit()
