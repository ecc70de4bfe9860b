"""The alchemy use cases (behaviour §1.16): queue an interrogation, pop forms, submit a form's
result, status, cancel, and the cleaner that removes expired interrogations.

Each form is a queued request of kind "interrogation" with one job (`alchemy_jobs`), so the
queue engine pops, settles, requeues and expires forms as it does image and text jobs.
Source images are fetched, decoded and stored with no database connection held.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, exists, func, literal, or_, select, update
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain import model_reference as ref
from horde.domain.accounts import ledger, sharedkeys
from horde.domain.moderation import horde_modes, screening
from horde.domain.queue import alchemy_jobs, engine, generation, images, pricing, settlement
from horde.domain.queue.image_requests import NewRequest
from horde.domain.workers import checkin
from horde.models import GenerationRequest, Interrogation, Job, SharedKey, User
from horde.models import job as job_states
from horde.services import Services
from horde.storage import result_key

R = GenerationRequest
KIND = alchemy_jobs.KIND
FORMS = ("caption", "interrogation", "nsfw", "vectorize", "palette", "describe", "aesthetic")
KNOWN_FORMS = (*FORMS, *ref.POST_PROCESSORS)
TILE_SIDE = 512
MAX_TILES = 255
CONCURRENCY_FACTOR = 10  # waiting + processing forms per unit of a user's concurrency
MAX_PAYLOAD_KEYS, MAX_PAYLOAD_VALUE = 20, 1000
POST_PROCESSOR_CACHE_SECONDS = 90 * 60
RESULT_CACHE_SECONDS = 5 * 24 * 3600
CLEANER_BATCH = 500


def tiles(width: int, height: int) -> int:
    """The image's size in 512x512 tiles, partial tiles counted whole."""
    return math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE)


def is_post_processor(form: str) -> bool:
    return form in ref.POST_PROCESSORS


def parse_forms(raw: list) -> list[tuple[str, dict | None]]:
    """Forms by name in the order sent, a repeated name ignored; payloads are flat objects of
    strings (the worker's business, bounded here)."""
    forms: dict[str, dict | None] = {}
    for index, item in enumerate(raw):
        name, payload = item["name"], item.get("payload")
        if payload is not None:
            if len(payload) > MAX_PAYLOAD_KEYS or any(
                not isinstance(v, str) or len(v) > MAX_PAYLOAD_VALUE or len(k) > 100 for k, v in payload.items()
            ):
                raise errors.ValidationFailed(errors={
                    f"forms.{index}.payload": f"at most {MAX_PAYLOAD_KEYS} keys of up to 100 characters, "
                    f"each with a string of up to {MAX_PAYLOAD_VALUE} characters",
                })
        forms.setdefault(name, payload or None)
    if not forms:
        raise errors.ValidationFailed(errors={"forms": "At least one form is needed."})
    return list(forms.items())


def _active_forms(session: Session, user: User, limit: int) -> int:
    """Forms of the user waiting or at a worker, counted up to `limit` (enough to decide)."""
    rows = select(literal(1)).where(
        R.user_id == user.id, R.kind == KIND, R.cancelled.is_(False), R.faulted.is_(False), or_(R.n > 0, R.processing > 0)
    ).limit(limit).subquery()
    return int(session.scalar(select(func.count()).select_from(rows)) or 0)


def _admit(session: Session, user: User, new_forms: int) -> None:
    if user.deleted:
        raise errors.DeletedUser()
    allowed = user.concurrency * CONCURRENCY_FACTOR
    active = _active_forms(session, user, allowed + 1)
    if active + new_forms > allowed:
        raise errors.TooManyPrompts(f"Parallel forms ({active + new_forms}) exceeded user limit ({allowed}).")


def _check_size(width: int, height: int) -> None:
    if tiles(width, height) > MAX_TILES:
        raise errors.SourceImageResolutionExceeded(
            f"The source image is {width}x{height}: {tiles(width, height)} tiles of 512x512, at most {MAX_TILES} are allowed."
        )


def source_key(interrogation_id: str) -> str:
    return f"{interrogation_id}_alchemy_src"  # stored as sent (PNG, JPEG, WebP...)


def _cache_key(form: str, url: str) -> str:
    return f"alchemy:{form}:{url}"


def _cached_results(svc: Services, forms: list[tuple[str, dict | None]], url: str) -> dict[str, dict]:
    """Results of earlier forms on the same URL (behaviour §1.16). A stored image is copied
    for the new form, so each interrogation owns (and at expiry deletes) its own files."""
    found: dict[str, dict] = {}
    for name, _ in forms:
        cached = svc.cache.get(_cache_key(name, url))
        if not cached:
            continue
        entry = {"result": cached["result"], "result_key": None}
        if cached.get("result_key"):
            data = svc.store.get(cached["result_key"])
            if data is None:
                continue  # the earlier interrogation expired with its files
            entry["result_key"] = f"{uuid.uuid4()}.webp"
            svc.store.put(entry["result_key"], data)
        found[name] = entry
    return found


def _form_request(name: str, payload: dict | None, interrogation: Interrogation, key_id: str | None) -> NewRequest:
    return NewRequest(
        kind=KIND, prompt="", n=1, models=[name], params=payload or {},
        columns={
            "interrogation_id": interrogation.id, "tiles": interrogation.tiles, "things": alchemy_jobs.FORM_THINGS,
            "trusted_workers": interrogation.trusted_workers, "slow_workers": interrogation.slow_workers,
            "safe_ip": True, "extra": {}, "shared_key_id": key_id,
        },
        price=pricing.alchemy_form_price(name, interrogation.tiles), dry_run_cost=0.0, tax=0.0, ages=False,
    )


def _check_key_budget(key: SharedKey, forms: list[tuple[str, dict | None]], cached: dict, tiles_: int, slow: bool) -> None:
    """A finite shared key must hold what the forms not answered from the cache will cost."""
    cost = sum(
        pricing.alchemy_burn(pricing.alchemy_form_price(name, tiles_), slow_workers=slow) for name, _ in forms if name not in cached
    )
    sharedkeys.check_budget(key, cost, allow_downgrade=False)


def request_alchemy(
    session: Session, svc: Services, user: User, body: dict, *, ipaddr: str, client_agent: str, now: dt.datetime,
    sharedkey: SharedKey | None = None,
) -> str:
    """Admit and queue an interrogation; returns its id. `sharedkey`: the key it came through
    (sharedkeys.resolve): its owner is `user`, and each form's cost is drawn from its budget."""
    horde_modes.ensure_not_in_maintenance(session)
    if client_agent in generation.BANNED_CLIENT_AGENTS:
        raise errors.BannedClientAgent()
    webhook = generation.check_webhook(body)
    forms = parse_forms(list(body.get("forms") or []))
    screening.ensure_ip_allowed(svc, ipaddr, now)
    _admit(session, user, len(forms))
    source = body["source_image"]
    url = source if images.is_url(source) else None
    if url and not svc.fetcher.has_room():
        raise errors.SourceImageFetchBusy()
    session.commit()  # no connection is held while the image is fetched, decoded and stored
    data, width, height = images.read_alchemy_source(source, svc.fetcher, _check_size)
    interrogation_id = str(uuid.uuid4())
    stored: list[str] = []
    try:
        if data is not None:
            stored.append(source_key(interrogation_id))
            svc.store.put(stored[0], data)
        cached = _cached_results(svc, forms, url) if url else {}
        stored.extend(entry["result_key"] for entry in cached.values() if entry["result_key"])
        _admit(session, user, len(forms))  # again: the fetch took time
        slow = bool(body.get("slow_workers", True))
        if sharedkey is not None:
            _check_key_budget(sharedkey, forms, cached, tiles(width, height), slow)
        interrogation = Interrogation(
            id=interrogation_id, user_id=user.id, source_url=url, source_key=stored[0] if data is not None else None,
            width=width, height=height, tiles=tiles(width, height), trusted_workers=bool(body.get("trusted_workers", False)),
            slow_workers=slow, webhook=webhook, ipaddr=ipaddr, client_agent=client_agent,
            created=now,
        )
        session.add(interrogation)
        session.flush()
        for index, (name, payload) in enumerate(forms):
            new = _form_request(name, payload, interrogation, sharedkey.id if sharedkey is not None else None)
            created = now + dt.timedelta(microseconds=index)  # forms keep the order they were sent in
            if name in cached:
                _insert_done_form(session, user, new, cached[name], created)
                continue
            engine.enqueue(
                session, user, new, request_id=str(uuid.uuid4()), worker_ids=[], worker_blacklist=False, ipaddr=ipaddr,
                client_agent=client_agent, webhook=webhook, proxied_account=None, downgraded=False, now=created, charge=False,
            )
        if not user.is_anonymous:
            session.execute(
                update(User).where(User.id == user.id)
                .values(requested_interrogation=User.requested_interrogation + 1, last_active=now)
                .execution_options(synchronize_session=False)
            )
        session.commit()
    except Exception:
        session.rollback()
        svc.store.delete(stored)
        raise
    return interrogation_id


def _insert_done_form(session: Session, user: User, new: NewRequest, cached: dict, created: dt.datetime) -> None:
    """A form answered from the result cache: done at once, nothing to pay."""
    priority = engine.queue_priority(user, False)
    session.add(GenerationRequest(
        id=str(uuid.uuid4()), kind=KIND, user_id=user.id, prompt="", params=new.params, models=new.models, n=0, jobs=1,
        finished=1, priority=priority, sort_key=float(priority), kudos=new.price, created=created,
        expiry=created + engine.REQUEST_LIFETIME,
        **{**new.columns, "extra": {"result": cached["result"], "result_key": cached["result_key"]}},
    ))


# --- pop ---------------------------------------------------------------------------
@dataclass
class PoppedForm:
    id: str
    form: str
    payload: dict | None
    source_image: str
    r2_upload: str | None


def pop_forms(
    session: Session, svc: Services, user: User, body: dict, *, ipaddr: str, now: dt.datetime
) -> tuple[list[PoppedForm], dict[str, int]]:
    """Alchemist check-in, then up to `amount` forms it can do, best first."""
    screening.ensure_ip_allowed(svc, ipaddr, now)
    modes = horde_modes.cached(session)
    worker, forms, _fresh = checkin.check_in(session, user, body, KIND, ipaddr, modes, now)
    session.flush()
    profile = checkin.profile(worker, user.id, user.trusted, forms, body, KIND)
    popped: list[engine.Popped] = []
    missed_key = f"deep-miss:{worker.id}"  # as for image and text: no deep look for a while after a miss
    look_deep = svc.cache.get(missed_key) is None
    for _ in range(int(body.get("amount", 1))):
        got = engine.pop(session, alchemy_jobs, profile, 1, now, look_deep=look_deep)
        if got is None:
            if look_deep and not popped:
                svc.cache.set(missed_key, True, generation.DEEP_MISS_SECONDS)
            break
        if profile.require_upfront_kudos:
            _hold_for(session, got)
        popped.append(got)
    if not popped:
        if worker.maintenance:
            session.commit()
            raise errors.WorkerMaintenance(worker.maintenance_msg or errors.WorkerMaintenance.message)
        skipped = generation.cached_skipped(session, svc, profile)
        session.commit()
        return [], skipped
    ids = {p.request.interrogation_id for p in popped}
    sources = {i.id: i for i in session.scalars(select(Interrogation).where(Interrogation.id.in_(ids)))}
    session.commit()
    result = []
    for item in popped:
        interrogation = sources[item.request.interrogation_id]
        job_id = item.job_ids[0]
        result.append(PoppedForm(
            id=job_id, form=item.model, payload=alchemy_jobs.payload(item.request),
            source_image=interrogation.source_url or svc.store.download_url(interrogation.source_key),
            r2_upload=svc.store.upload_url(result_key(job_id)) if is_post_processor(item.model) else None,
        ))
    return result, {}


def _hold_for(session: Session, popped: engine.Popped) -> None:
    """An alchemist that wants its kudos up front gets a hold on an untrusted requester's
    balance for what the form will cost (behaviour §1.16, §2.8). The pop's SQL already passed
    over requesters without that much available; a requester drained meanwhile by a
    concurrent pop gets no hold and is debited (down to the floor) on delivery."""
    request = popped.request
    if session.scalar(select(User.trusted).where(User.id == request.user_id)):
        return
    amount = alchemy_jobs.burn(request, request.kudos)
    if ledger.hold(session, request.user_id, amount):
        session.execute(update(Job).where(Job.id == popped.job_ids[0]).values(reserved=amount).execution_options(synchronize_session=False))


# --- submit ------------------------------------------------------------------------
def submit_form(session: Session, svc: Services, user: User, body: dict, now: dt.datetime) -> float:
    """A form's result; returns the kudos the worker earned for it."""
    submission = engine.load_submission(session, body["id"], user)
    job, request = submission.job, submission.request
    if request is not None and request.kind != KIND:
        raise errors.InvalidJobID(f"Processing Job with ID {job.id} is not an alchemy form.")
    if body.get("state", "ok") == job_states.FAULTED:
        engine.fail_job(session, job, now)
        session.commit()
        return 0.0
    result = body["result"]
    if not isinstance(result, dict):
        raise errors.ValidationFailed(errors={"result": "The result of a form is an object, such as {\"caption\": \"...\"}."})
    reward = settlement.deliver(
        session, alchemy_jobs, submission, state=job_states.OK, censored=False, seed=0, generation=None,
        gen_metadata=[], now=now,
    )
    uploaded = result_key(job.id) if "R2" in result.values() else None
    interrogation = None
    if request is not None and not job.fake:  # a paused alchemist's answers are not results
        session.execute(
            update(R).where(R.id == request.id).values(extra={"result": result, "result_key": uploaded})
            .execution_options(synchronize_session=False)
        )
        interrogation = session.get(Interrogation, request.interrogation_id)
    session.commit()
    if interrogation is not None and interrogation.source_url:
        seconds = POST_PROCESSOR_CACHE_SECONDS if is_post_processor(job.model) else RESULT_CACHE_SECONDS
        svc.cache.set(_cache_key(job.model, interrogation.source_url), {"result": result, "result_key": uploaded}, seconds)
    return reward


# --- status and cancel ---------------------------------------------------------------
def _get(session: Session, interrogation_id: str) -> Interrogation:
    found = session.get(Interrogation, interrogation_id) if len(interrogation_id) == 36 else None
    if found is None:
        raise errors.RequestNotFound(f"Interrogation with ID '{interrogation_id}' not found. It may have expired.")
    return found


def _forms(session: Session, interrogation_id: str) -> list[GenerationRequest]:
    return list(session.scalars(select(R).where(R.interrogation_id == interrogation_id).order_by(R.created, R.id)))


def form_state(form: GenerationRequest) -> str:
    if "result" in (form.extra or {}):
        return "done"
    if form.cancelled:
        return "cancelled"
    if form.faulted:
        return "faulted"
    return "processing" if form.processing > 0 else "waiting"


def overall_state(states: list[str]) -> str:
    """All faulted: faulted; all done: done; else processing, waiting, or partial (a mix)."""
    if states and all(s == "faulted" for s in states):
        return "faulted"
    if states and all(s == "done" for s in states):
        return "done"
    for state in ("processing", "waiting"):
        if state in states:
            return state
    return "partial"


def _result(svc: Services, form: GenerationRequest) -> dict | None:
    extra = form.extra or {}
    result = extra.get("result")
    if not result:
        return None
    key = extra.get("result_key")
    return {name: (svc.store.download_url(key) if value == "R2" and key else value) for name, value in result.items()}


def topics(session: Session, interrogation_id: str) -> tuple[str, ...]:
    """What an interrogation's event stream listens to: each form is a queued request whose
    changes the engine publishes (`req:<form id>`), and the interrogation's own topic, noted
    when it expires. Its forms are fixed at creation. Unknown: RequestNotFound."""
    _get(session, interrogation_id)
    form_ids = session.scalars(select(R.id).where(R.interrogation_id == interrogation_id))
    return (f"req:{interrogation_id}", *(f"req:{form_id}" for form_id in form_ids))


def check(session: Session, interrogation_id: str) -> dict:
    """The stream's `check` body: each form's state, the overall state, and `done` once no
    form is left waiting or at a worker (then the status body with the results follows)."""
    _get(session, interrogation_id)
    forms = [{"form": form.models[0], "state": form_state(form)} for form in _forms(session, interrogation_id)]
    states = [form["state"] for form in forms]
    return {
        "state": overall_state(states), "forms": forms,
        "done": not any(state in ("waiting", "processing") for state in states),
    }


def status(session: Session, svc: Services, interrogation_id: str) -> dict:
    _get(session, interrogation_id)
    shown = []
    for form in _forms(session, interrogation_id):
        entry = {"form": form.models[0], "state": form_state(form)}
        result = _result(svc, form)
        if result is not None:
            entry["result"] = result
        shown.append(entry)
    return {"state": overall_state([f["state"] for f in shown]), "forms": shown}


def webhook_payload(session: Session, svc: Services, delivery) -> dict | None:
    """A finished form's webhook (spec/api.md §10.6): the form as in the status answer with its
    worker, plus the interrogation's id as `request`, the form's id and its reward. None once
    the interrogation expired."""
    form = session.get(R, delivery.request_id)
    job = session.get(Job, delivery.job_id)
    if form is None or job is None:
        return None
    return {
        "form": form.models[0], "state": form_state(form), "result": _result(svc, form) or {},
        "worker_id": job.worker_id or "", "worker_name": job.worker_name,
        "request": form.interrogation_id, "id": job.id, "kudos": delivery.kudos,
    }


def cancel(session: Session, svc: Services, interrogation_id: str, now: dt.datetime) -> dict:
    """Every form not done is cancelled; a form at a worker is settled as if delivered
    (the worker is paid for its work, the requester pays for it)."""
    _get(session, interrogation_id)
    for form in _forms(session, interrogation_id):
        if form_state(form) in ("done", "cancelled", "faulted"):
            continue
        at_workers = session.scalars(select(Job.id).where(Job.request_id == form.id, Job.state == job_states.PROCESSING))
        for job_id in list(at_workers):
            submission = engine.read_submission(session, job_id)
            try:
                settlement.deliver(
                    session, alchemy_jobs, submission, state=job_states.CANCELLED, censored=False, seed=0,
                    generation=None, gen_metadata=[], now=now,
                )
            except errors.DuplicateGen:
                return cancel(session, svc, interrogation_id, now)  # delivered meanwhile: look again
        engine.cancel(session, form)
    session.commit()
    session.expire_all()
    return status(session, svc, interrogation_id)


# --- upkeep -------------------------------------------------------------------------
def expire_interrogations(session: Session, svc: Services, now: dt.datetime) -> int:
    """Interrogations whose forms have all expired go, with their stored source and results."""
    live_form = exists(select(literal(1)).where(R.interrogation_id == Interrogation.id, R.expiry >= now))
    ids = list(session.scalars(
        select(Interrogation.id).where(Interrogation.created < now - engine.REQUEST_LIFETIME, ~live_form)
        .order_by(Interrogation.created).limit(CLEANER_BATCH)
    ))
    if not ids:
        return 0
    keys = [k for k in session.scalars(select(Interrogation.source_key).where(Interrogation.id.in_(ids))) if k]
    forms = session.execute(select(R.id, R.extra).where(R.interrogation_id.in_(ids))).all()
    form_ids = [form_id for form_id, _ in forms]
    keys.extend((extra or {}).get("result_key") for _, extra in forms if (extra or {}).get("result_key"))
    keys.extend(result_key(job_id) for job_id in session.scalars(select(Job.id).where(Job.request_id.in_(form_ids))))
    held = session.execute(
        select(R.user_id, Job.reserved).join(Job, Job.request_id == R.id)
        .where(R.id.in_(form_ids), Job.state == job_states.PROCESSING, Job.reserved > 0)
    ).all()
    for user_id, amount in held:  # forms still at workers when their interrogation expired
        ledger.release(session, user_id, amount)
    session.execute(delete(Job).where(Job.request_id.in_(form_ids)))
    session.execute(delete(R).where(R.interrogation_id.in_(ids)))
    session.execute(delete(Interrogation).where(Interrogation.id.in_(ids)))
    for interrogation_id in ids:  # its event streams end with an error event
        engine.changed(session, interrogation_id)
    session.commit()
    svc.store.delete(list(dict.fromkeys(keys)))
    return len(ids)
