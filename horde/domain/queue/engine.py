"""The queue engine shared by image and text: enqueue, pop, submit, cancel, status.

What differs between the kinds (batching, TTL, payload, reward, burn) comes from a kind
module (`image_jobs`, `text_jobs`) passed in. Hot-path rules (DESIGN.md §4): pop finds its
candidates with an index walk of the served models' queues and claims one with `FOR UPDATE
SKIP LOCKED` (PostgreSQL); balances move with single atomic UPDATEs; hot statements are
built once. Periodic sweeps live in `maintenance`, settling a delivered job in `settlement`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from types import ModuleType, SimpleNamespace

from sqlalchemy import (
    ARRAY,
    DateTime,
    String,
    and_,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    not_,
    select,
    true,
    union_all,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from horde import events
from horde.domain import errors
from horde.domain.accounts import ledger
from horde.domain.moderation import horde_modes
from horde.domain.queue.image_requests import NewRequest
from horde.domain.workers import dropped, matching
from horde.domain.workers.matching import ANY_MODEL, WorkerProfile
from horde.models import GenerationRequest, Job, QueuedModel, User, Worker
from horde.models import job as job_states

R, QM = GenerationRequest, QueuedModel
REQUEST_LIFETIME = dt.timedelta(minutes=20)
EXTRA_SLOW_LIFETIME = dt.timedelta(minutes=60)
FAULTS_BEFORE_FAULTED = 3
PRIORITY_AGING_PER_SECOND = 5  # the public horde adds 50 every 10 s
EPOCH = dt.datetime(2024, 1, 1)


def changed(session: Session, request_id: str, user_id: int | None = None) -> None:
    """A request's check/status changed: its event streams (and its owner's page) hear of it
    when this transaction commits (horde/events.py)."""
    events.note(session, f"req:{request_id}")
    if user_id is not None:
        events.note(session, f"user:{user_id}")


def sort_key(priority: int, created: dt.datetime) -> float:
    """Ordering value that ages by itself: priority + 5/s of age, minus a constant `now`."""
    return priority - PRIORITY_AGING_PER_SECOND * (created - EPOCH).total_seconds()


def queue_priority(user: User, downgraded: bool) -> int:
    if user.flagged:
        return round(user.kudos / 1000) if user.kudos > 10 else -100
    if downgraded:
        return -50
    return int(user.kudos)


EXACT_COUNT_UP_TO = 1000  # limits above this (service accounts) are checked against a recent count
RECENT_COUNT_SECONDS = 2.0


def queued_jobs_of(session: Session, user: User, kind: str, models: list[str]) -> int:
    """Jobs the user still has waiting (the concurrency limit counts these)."""
    rows = select(R.n).where(R.user_id == user.id, matching.queued(kind))
    if user.is_anonymous and models:
        # Everyone shares the anonymous account: its limit applies per set of models.
        rows = rows.where(select(literal(1)).where(QM.request_id == R.id, QM.model.in_(models)).exists())
    # Every queued request has n >= 1, so concurrency + 1 rows decide the question: a user
    # with thousands of queued requests costs no more than one at the limit.
    limited = rows.limit(user.concurrency + 1).subquery()
    return int(session.scalar(select(func.coalesce(func.sum(limited.c.n), 0))) or 0)


def _waiting_jobs(session: Session, cache, user: User, new: NewRequest) -> int:
    """The exact count costs up to limit + 1 rows; for accounts whose limit is in the
    thousands it is taken from a count at most two seconds old, kept up by each request."""
    if user.concurrency <= EXACT_COUNT_UP_TO or cache is None or user.is_anonymous:
        return queued_jobs_of(session, user, new.kind, new.models)
    key = f"queued:{user.id}:{new.kind}"
    waiting = cache.get(key)
    if waiting is None:
        waiting = queued_jobs_of(session, user, new.kind, new.models)
    cache.set(key, int(waiting) + new.n, RECENT_COUNT_SECONDS)
    return int(waiting)


def admit(
    session: Session, user: User, new: NewRequest, *, worker_ids: list[str], proxied_account: str | None, cache=None
) -> None:
    """The checks every new request passes before anything is written (behaviour §1.3)."""
    if user.deleted:
        raise errors.DeletedUser()
    if proxied_account and not user.service:
        raise errors.OnlyServiceAccountProxy()
    if worker_ids:
        known = set(session.scalars(select(Worker.id).where(Worker.id.in_(worker_ids))))
        if len(known) != len(set(worker_ids)):
            raise errors.WorkerNotFound("One of the requested workers does not exist.")
    waiting = _waiting_jobs(session, cache, user, new)
    if waiting + new.n > user.concurrency:
        message = f"Parallel requests ({waiting + new.n}) exceeded user limit ({user.concurrency})."
        if user.is_anonymous:
            message += " Please register and use your own API key to get a limit of your own."
        raise errors.TooManyPrompts(message)


_INSERT_REQUEST, _INSERT_QUEUE_ENTRY = insert(R.__table__), insert(QM.__table__)


def enqueue(
    session: Session,
    user: User,
    new: NewRequest,
    *,
    request_id: str,
    worker_ids: list[str],
    worker_blacklist: bool,
    ipaddr: str,
    client_agent: str,
    webhook: str | None,
    proxied_account: str | None,
    downgraded: bool,
    now: dt.datetime,
    charge: bool = True,
) -> None:
    """Store an admitted request and put it in the queue; charge the request tax (unless
    `charge` is false: alchemy forms pay nothing up front and count as one request together)."""
    priority = queue_priority(user, downgraded)
    key = sort_key(priority, now) if new.ages else float(priority)
    workers = list(dict.fromkeys(worker_ids))[:5]
    # Values as parameters of constant Core statements: compiled once, no per-call SQL
    # building, and not the ORM's bulk-insert path (which costs more than the inserts).
    connection = session.connection()
    connection.execute(
        _INSERT_REQUEST,
        dict(
            id=request_id, kind=new.kind, user_id=user.id, prompt=new.prompt, params=new.params, models=new.models,
            workers=workers, workers_csv=f",{','.join(workers)}," if workers else "", worker_blacklist=worker_blacklist,
            n=new.n, jobs=new.n, priority=priority, sort_key=key, kudos=new.price, ipaddr=ipaddr,
            client_agent=client_agent, webhook=webhook, proxied_account=proxied_account, created=now,
            expiry=now + REQUEST_LIFETIME, **new.columns,
        ),
    )
    connection.execute(
        _INSERT_QUEUE_ENTRY,
        [{"request_id": request_id, "model": m, "kind": new.kind, "sort_key": key, "created": now} for m in (new.models or [ANY_MODEL])],
    )
    changed(session, request_id, user.id)
    if not charge:
        return
    ledger.move_kudos(
        session, user, -new.tax, bucket="accumulated", reason="tax", request_id=request_id,
        also={f"requested_{new.kind}": ("add", 1), "last_active": ("set", now)},
    )


# --- pop ---------------------------------------------------------------------------
@dataclass
class Popped:
    request: GenerationRequest
    job_ids: list[str]
    model: str
    seed: int
    ttl: int
    fake: bool = False


QUEUE_WINDOW = 8  # queue entries read per served model in the first pass
DEEP_WINDOW = 512  # and in the second, for a worker that could serve none of the first


def _priority_candidate(session: Session, profile: WorkerProfile, eligible):
    users = (profile.owner_id,) if profile.maintenance else profile.priority_user_ids
    query = (
        select(R)
        .where(R.user_id.in_(users), matching.queued(profile.kind), matching.serves_models(profile), eligible)
        .order_by(R.sort_key.desc(), R.created)
        .limit(1)
    )
    return session.scalars(query).first()


def _candidate_ids(profile: WorkerProfile, window: int | None):
    """Ids to consider: the first `window` entries of each served model's queue, read
    through the request_models index only, plus the queued requests of priority users
    (the worker's owner and its `priority_usernames`). A worker in maintenance only
    considers its owner's requests."""
    priority = (profile.owner_id,) if profile.maintenance else profile.priority_user_ids
    own = select(R.id.label("request_id")).where(
        R.user_id.in_(priority), matching.queued(profile.kind), matching.serves_models(profile)
    )
    if window is not None:
        own = own.limit(window)
    if profile.maintenance:
        return own
    models = select(func.unnest(literal(profile.queue_models, ARRAY(String))).label("model")).subquery("m")
    head = (
        select(QM.request_id, QM.sort_key, QM.created)
        .where(QM.kind == profile.kind, QM.model == models.c.model)
        .order_by(QM.sort_key.desc(), QM.created)
    )
    if window is not None:
        head = head.limit(window)
    head = head.lateral("head")
    heads = select(head.c.request_id).select_from(models).join(head, true())
    return union_all(heads, own.subquery().select())


@lru_cache(maxsize=2048)
def _candidate_statement(profile: WorkerProfile, window: int):
    """`_candidate_ids`, built once per worker declaration: a worker polls with the same one
    every second, and building a statement costs more than PostgreSQL takes to run it."""
    return _candidate_ids(profile, window)


def _still_queued(kind: str):
    """`matching.queued`, written so that it does not match the queue's partial indexes:
    the claim must read its few candidates by primary key, and with stale statistics the
    planner would otherwise walk a whole queue index and filter it by id."""
    return and_(R.kind == kind, func.coalesce(R.n, 0) > 0, R.active, not_(R.faulted))


@lru_cache(maxsize=2048)
def _claim_statement_for(profile: WorkerProfile):
    """The best eligible request among `:ids`, locked with SKIP LOCKED (a request another
    worker is claiming is passed over): priority users first, then kudos priority with
    aging, then age. The choice sorts only narrow columns (a subquery, run once).

    For a worker that is not paused, the same statement takes one job off the chosen request
    (and takes the request out of the queue if that was its last), so the common pop claims
    in one round trip. The row comes back as it was before the claim, as the batching and
    seed rules expect. A paused worker's jobs are fake: it only reads the row."""
    priority = (profile.owner_id,) if profile.maintenance else profile.priority_user_ids
    best = (
        select(R.id)
        .where(R.id == any_(bindparam("ids", type_=ARRAY(String))), _still_queued(profile.kind), matching.eligible(profile))
        .order_by(case((R.user_id.in_(priority), 0), else_=1), R.sort_key.desc(), R.created)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    if profile.paused:
        return select(R).where(R.id == best)
    claimed = (
        update(_T).where(_T.c.id == best)
        .values(n=_T.c.n - 1, processing=_T.c.processing + 1, expiry=func.greatest(_T.c.expiry, bindparam("expiry", type_=DateTime())))
        .returning(*_T.c)
        .cte("claimed")
    )
    dequeued = delete(QM.__table__).where(
        QM.__table__.c.request_id.in_(select(claimed.c.id).where(claimed.c.n <= 0))
    ).cte("dequeued")
    before = {"n": claimed.c.n + 1, "processing": claimed.c.processing - 1}
    row = select(*(before[c.name].label(c.name) if c.name in before else c for c in claimed.c)).add_cte(dequeued)
    return select(R).from_statement(row)


# While the pop chooses its request, the planner reads tables through their indexes.
# Statistics lag the queue: a queue that filled since its last ANALYZE (autovacuum's, taken
# when it was empty) looks like a few pages, and reading its few candidates by primary key
# then costs more, on paper, than walking the whole table. Only for those statements: with
# seq scans off, any other statement that has no index to use is costed in the billions,
# and JIT-compiled for it (jit_above_cost), so JIT is off meanwhile and both settings go
# back to the server's defaults right after.
_INDEXES_ONLY = text("SET LOCAL enable_seqscan = off; SET LOCAL jit = off")
_PLANNER_DEFAULTS = text("SET LOCAL enable_seqscan TO DEFAULT; SET LOCAL jit TO DEFAULT")


@contextmanager
def planned_with_indexes(session: Session) -> Iterator[None]:
    """The pop's choosing statements run inside this (PostgreSQL): tests explain them in it."""
    connection = session.connection()
    connection.execute(_INDEXES_ONLY)
    try:
        yield
    finally:
        connection.execute(_PLANNER_DEFAULTS)


def _claim_best(
    session: Session, profile: WorkerProfile, window: int, exclude: set[str], expiry: dt.datetime
) -> tuple[list[GenerationRequest], list[str]]:
    """Two statements whose plans do not depend on table statistics (`planned_with_indexes`):
    an index walk of the heads of the served queues (`window` entries each), then those
    requests by primary key, the best one claimed (`_claim_statement_for`). Returns it (if
    any) and the ids looked at."""
    ids = [i for i in dict.fromkeys(session.scalars(_candidate_statement(profile, window))) if i not in exclude]
    if not ids:
        return [], ids
    request = session.scalar(_claim_statement_for(profile), {"ids": ids, "expiry": expiry})
    return ([request] if request is not None else []), ids


def _general_candidates_sqlite(session: Session, profile: WorkerProfile, eligible) -> list[GenerationRequest]:
    """SQLite (one writer at a time, small queues): one query; `_claim` guards the race."""
    query = (
        select(R)
        .join(QM, QM.request_id == R.id)
        .where(QM.kind == profile.kind, QM.model.in_(profile.queue_models), matching.queued(profile.kind), eligible)
        .order_by(QM.sort_key.desc(), QM.created)
        .limit(8)
    )
    return list(dict.fromkeys(session.scalars(query)))


# Hot statements, built once with bind parameters (building SQL per call costs more than
# running it). Executed on the session's connection: Core, inside the same transaction.
_T = R.__table__
_INSERT_JOB = insert(Job.__table__)
_DELETE_QUEUE_ENTRIES = delete(QM.__table__).where(QM.__table__.c.request_id == bindparam("request_id"))


@lru_cache(maxsize=4)
def _claim_statement(postgres: bool):
    statement = update(_T).where(_T.c.id == bindparam("request_id")).values(
        n=_T.c.n - bindparam("batch"), processing=_T.c.processing + bindparam("batch"),
        expiry=(func.greatest if postgres else func.max)(_T.c.expiry, bindparam("expiry")),
    )
    # SQLite has no row locks to skip: a compare-and-set on n guards against a race.
    return statement if postgres else statement.where(_T.c.n == bindparam("seen_n"))


def _claim(session: Session, request: GenerationRequest, batch: int, expiry: dt.datetime, postgres: bool) -> bool:
    """Take `batch` jobs off the request."""
    params = {"request_id": request.id, "batch": batch, "expiry": expiry, "seen_n": request.n}
    return session.connection().execute(_claim_statement(postgres), params).rowcount == 1


def pop(
    session: Session, kind_rules: ModuleType, profile: WorkerProfile, amount: int, now: dt.datetime, *, look_deep: bool = True
) -> Popped | None:
    """Hand this worker the best request it may serve, as a batch of up to `amount` jobs.

    `look_deep=False` skips the second, deeper pass (for a worker whose last deep look
    found nothing: the heads of the queues are still checked on every pop)."""
    postgres = session.get_bind().dialect.name == "postgresql"
    lifetime = EXTRA_SLOW_LIFETIME if profile.extra_slow else REQUEST_LIFETIME
    taken = 0  # jobs the candidate statement already claimed
    if postgres:
        # The heads of the queues first; a worker that can serve none of them looks deeper,
        # unless the first pass already saw every entry of its queues.
        with planned_with_indexes(session):
            candidates, seen = _claim_best(session, profile, QUEUE_WINDOW, set(), now + lifetime)
            if not candidates and look_deep and len(seen) >= QUEUE_WINDOW:
                candidates, _ = _claim_best(session, profile, DEEP_WINDOW, set(seen), now + lifetime)
        taken = 0 if profile.paused else 1
    else:
        eligible = matching.eligible(profile)
        first = _priority_candidate(session, profile, eligible)
        candidates = [first] if first is not None else []
        if not candidates and not profile.maintenance:
            candidates = _general_candidates_sqlite(session, profile, eligible)
    for request in candidates:
        fake = profile.paused and request.user_id != profile.owner_id
        batch = 1 if fake else kind_rules.batch_size(request, profile, amount)
        ttl = kind_rules.job_ttl(request, profile)
        expiry = max(now + lifetime, now + dt.timedelta(seconds=ttl + 300))
        if not fake:
            more = batch - taken
            if (more or expiry > now + lifetime) and not _claim(session, request, more, expiry, postgres):
                continue
            dequeued = taken and request.n <= 1  # the claim statement already did it
            if request.n - batch <= 0 and not dequeued:
                session.connection().execute(_DELETE_QUEUE_ENTRIES, {"request_id": request.id})
        seed = kind_rules.batch_seed(request)
        model = kind_rules.choose_model(request, profile)
        jobs = [
            dict(
                id=str(uuid.uuid4()), request_id=request.id, worker_id=profile.id, worker_name=profile.name,
                worker_owner_id=profile.owner_id, model=model, seed=seed, state=job_states.PROCESSING, fake=fake,
                things=request.things, started=now, deadline=now + dt.timedelta(seconds=ttl), gen_metadata=[],
            )
            for _ in range(batch)
        ]
        session.connection().execute(_INSERT_JOB, jobs)
        if not fake:
            changed(session, request.id, request.user_id)
        return Popped(request=request, job_ids=[job["id"] for job in jobs], model=model, seed=seed, ttl=ttl, fake=fake)
    return None


def skipped(session: Session, profile: WorkerProfile) -> dict[str, int]:
    query, keys = matching.skipped_query(profile)
    if not keys:  # no rule this worker could be skipped for reports a reason
        return {}
    row = session.execute(query).one()
    return {key: int(value) for key, value in zip(keys, row) if value}


# --- submit --------------------------------------------------------------------------
@dataclass
class Submission:
    """A job being submitted, with what settling it needs, read in one statement."""

    job: Job
    request: GenerationRequest | None  # None once the request has expired
    bridge_agent: str | None  # None: the worker was deleted
    team_id: str | None
    owner: ledger.Account | None
    requester: ledger.Account | None


_OWNER, _REQUESTER = aliased(User, name="owner"), aliased(User, name="requester")
_FIRST_ACCOUNT_COLUMN = 5  # after the job, the request and the three worker columns
_SUBMISSION = (
    select(
        Job, R, Worker.id.label("worker_found"), Worker.bridge_agent, Worker.team_id,
        *(getattr(_OWNER, name) for name in ledger.ACCOUNT_COLUMNS),
        *(getattr(_REQUESTER, name) for name in ledger.ACCOUNT_COLUMNS),
    )
    .outerjoin(R, R.id == Job.request_id)
    .outerjoin(Worker, Worker.id == Job.worker_id)
    .outerjoin(_OWNER, _OWNER.id == Job.worker_owner_id)
    .outerjoin(_REQUESTER, _REQUESTER.id == R.user_id)
    .where(Job.id == bindparam("job_id"))
)


def read_submission(session: Session, job_id: str) -> Submission | None:
    """A job with its request, worker and accounts, as settling it needs them (unchecked)."""
    row = session.execute(_SUBMISSION, {"job_id": job_id}).first()
    if row is None:
        return None
    first, width = _FIRST_ACCOUNT_COLUMN, len(ledger.ACCOUNT_COLUMNS)
    owner, requester = row[first:first + width], row[first + width:]
    return Submission(
        job=row[0], request=row[1], bridge_agent=row.bridge_agent if row.worker_found else None, team_id=row.team_id,
        owner=ledger.Account(*owner) if owner[0] is not None else None,
        requester=ledger.Account(*requester) if requester[0] is not None else None,
    )


def load_submission(session: Session, job_id: str, user: User) -> Submission:
    """The job `user`'s worker is submitting, checked, with its request, worker and accounts."""
    submission = read_submission(session, job_id)
    if submission is None:
        raise errors.InvalidJobID(f"Processing Job with ID {job_id} does not exist.")
    job = submission.job
    if job.worker_owner_id != user.id:
        raise errors.WrongCredentials()
    if job.state == job_states.FAULTED:
        raise errors.AbortedGen(f"Processing Job with ID {job_id} took too long and was aborted. Please check your worker speed.")
    if job.state != job_states.PROCESSING:
        raise errors.DuplicateGen(f"Processing Job with ID {job_id} already submitted.")
    return submission


@lru_cache(maxsize=16)
def _finish_statement(columns: tuple[str, ...]):
    table = Job.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("job_id"), table.c.state == job_states.PROCESSING)
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


def finish_job(session: Session, job: Job, values: dict) -> None:
    """Compare-and-set: only one submit of a job ever wins."""
    statement = _finish_statement(tuple(sorted(values)))
    params = {"job_id": job.id, **{f"new_{name}": value for name, value in values.items()}}
    result = session.connection().execute(statement, params)
    if result.rowcount != 1:
        session.rollback()
        current = session.get(Job, job.id)
        if current is not None and current.state == job_states.FAULTED:
            raise errors.AbortedGen()
        raise errors.DuplicateGen(f"Processing Job with ID {job.id} already submitted.")


def fail_job(session: Session, job: Job, now: dt.datetime) -> None:
    """A job that will not be delivered (worker fault or TTL passed): its slot goes back."""
    finish_job(session, job, {"state": job_states.FAULTED, "finished_at": now})
    if job.worker_id:
        session.execute(
            update(Worker).where(Worker.id == job.worker_id).values(uncompleted_jobs=Worker.uncompleted_jobs + 1)
            .execution_options(synchronize_session=False)
        )
        if not job.fake:
            dropped.record_drop(session, job.worker_id, raid=horde_modes.cached(session).raid_mode, now=now)
    if job.fake:
        return
    request = session.get(GenerationRequest, job.request_id, with_for_update=True, populate_existing=True)
    if request is None:
        return
    if job.reserved:
        ledger.release(session, request.user_id, job.reserved)
    values: dict = {"processing": R.processing - 1, "restarted": R.restarted + 1}
    requeue = False
    if request.cancelled:
        values["jobs"] = R.jobs - 1  # a cancelled request waits for no replacement
    elif request.restarted + 1 >= FAULTS_BEFORE_FAULTED:
        values["faulted"] = True
        session.execute(delete(QM).where(QM.request_id == request.id))
    elif not request.faulted:
        values["n"] = R.n + 1
        requeue = request.n == 0  # it had left the queue: put it back
    session.execute(update(R).where(R.id == request.id).values(**values).execution_options(synchronize_session=False))
    changed(session, request.id, request.user_id)
    if requeue:
        session.execute(
            _INSERT_QUEUE_ENTRY,
            [{"request_id": request.id, "model": m, "kind": request.kind, "sort_key": request.sort_key, "created": request.created}
             for m in (request.models or [ANY_MODEL])],
        )


# --- status and cancel -----------------------------------------------------------------
def get_request(session: Session, request_id: str, kind: str) -> GenerationRequest:
    request = session.get(GenerationRequest, request_id) if len(request_id) == 36 else None
    if request is None or request.kind != kind:
        raise errors.RequestNotFound(f"Request with ID '{request_id}' not found. It may have expired.")
    return request


def is_done(request: GenerationRequest) -> bool:
    return request.faulted or request.cancelled or (request.n <= 0 and request.processing <= 0)


def check_fields(request: GenerationRequest, position: int, wait_time: int, possible: bool) -> dict:
    waiting = max(min(request.n, request.jobs - request.processing - request.finished), 0)
    return {
        "finished": request.finished,
        "processing": request.processing,
        "restarted": request.restarted,
        "waiting": waiting,
        "done": is_done(request),
        "faulted": request.faulted,
        "wait_time": wait_time if waiting or request.processing else 0,
        "queue_position": position if request.n > 0 else 0,
        "kudos": round(request.consumed_kudos),
        "is_possible": possible or request.processing > 0,
    }


def delivered_jobs(session: Session, request_id: str) -> list[Job]:
    return list(
        session.scalars(
            select(Job).where(Job.request_id == request_id, Job.state.in_(job_states.DONE_STATES), Job.fake.is_(False))
            .order_by(Job.finished_at, Job.id)
        )
    )


def cancel(session: Session, request: GenerationRequest) -> None:
    """Stop handing out jobs; jobs already at workers still deliver and are settled."""
    session.execute(
        update(R).where(R.id == request.id).values(n=0, jobs=R.finished + R.processing, cancelled=True)
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(QM).where(QM.request_id == request.id))
    changed(session, request.id, request.user_id)


def request_values(request: GenerationRequest) -> SimpleNamespace:
    """A request's matching columns as plain values, for `matching.can_serve`."""
    return SimpleNamespace(**{c.key: getattr(request, c.key) for c in GenerationRequest.__table__.columns})


def new_request_values(new: NewRequest) -> SimpleNamespace:
    values = {c.key: c.default.arg if c.default is not None and not callable(c.default.arg) else None
              for c in GenerationRequest.__table__.columns}
    values.update(new.columns, prompt=new.prompt, workers_csv="", worker_blacklist=False)
    return SimpleNamespace(**values)
