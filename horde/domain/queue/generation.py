"""The generation use cases: queue a request, pop jobs, submit results, read status, cancel.

Called by the API with a session and the application's services; everything here is HTTP
free. Image decoding and storage happen outside database transactions (the session is
committed first, so no connection is held meanwhile).
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from types import ModuleType

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from horde.domain import errors, events
from horde.domain.accounts import ledger, sharedkeys
from horde.domain.moderation import horde_modes, screening
from horde.domain.queue import (
    engine,
    image_jobs,
    image_requests,
    images,
    pricing,
    settlement,
    text_jobs,
    text_requests,
)
from horde.domain.queue.image_requests import NewRequest
from horde.domain.workers import checkin, live, messages
from horde.models import Collection, GenerationRequest, Job, SharedKey, Style, User
from horde.models import job as job_states
from horde.services import Services
from horde.storage import result_key, source_key

BANNED_CLIENT_AGENTS = ("My-Project:v0.0.1:My-Contact",)
NO_WORKER_MESSAGE = (
    "No available workers can fulfill this request. It will expire in 20 minutes unless a worker appears. "
    "Please consider reducing the size of the request or choosing a different model."
)
SKIPPED_CACHE_SECONDS = 30.0
DEEP_MISS_SECONDS = 10.0  # a worker that found nothing deep in the queue checks only its head for a while
MAX_GEN_METADATA = 50


@dataclass
class Queued:
    """What a new request's answer says."""

    request_id: str | None
    kudos: float
    dry_run: bool = False
    message: str | None = None
    warnings: list[dict] | None = None


JOB_RULES: dict[str, ModuleType] = {"image": image_jobs, "text": text_jobs}
REQUEST_RULES: dict[str, ModuleType] = {"image": image_requests, "text": text_requests}


@dataclass(frozen=True)
class StyleUse:
    """The style a request was made with (horde.domain.community.styles applies it)."""

    style_id: str
    owner_id: int
    sharedkey_id: str | None = None
    collection_id: str | None = None


def kind_module(kind: str) -> ModuleType:
    return JOB_RULES[kind]


def check_webhook(body: dict) -> str | None:
    webhook = body.get("webhook")
    if webhook is None:
        return None
    if not webhook.startswith("https://") or not 10 <= len(webhook) <= 1024:
        raise errors.BadRequest("webhook must be an https:// URL of 10 to 1024 characters.")
    return webhook


def available_kudos(user: User) -> float:
    return 0.0 if user.is_anonymous else user.kudos - ledger.kudos_floor(user)


def _apply_upfront_rule(session: Session, svc: Services, user: User, new: NewRequest, body: dict, now: dt.datetime) -> bool:
    """Requests above the free threshold need their kudos in hand; returns True if downgraded."""
    rules = REQUEST_RULES[new.kind]
    threads = sum(w.threads for w, _ in svc.live.get(session, new.kind, now))
    totals = svc.cache.get(f"totals:{new.kind}") or {}
    limit = rules.upfront_threshold(new.models, threads, int(totals.get("queued_jobs", 0)))
    required = rules.upfront_cost(new)
    if not rules.needs_upfront(new, limit) or available_kudos(user) >= required:
        return False
    if body.get("allow_downgrade"):
        rules.downgrade(new, limit)
        return True
    raise errors.KudosUpfront(
        f"This request requires {required:g} kudos to fulfil, and you do not have enough. "
        "Reduce its size or steps, or set allow_downgrade."
    )


def _fetches_urls(new: NewRequest) -> bool:
    values = [*new.source_images.values(), *(extra.get("image", "") for extra in new.extra_source_images)]
    return any(images.is_url(value) for value in values)


def _screen_prompt(session: Session, svc: Services, user: User, new: NewRequest, body: dict, ipaddr: str, now: dt.datetime) -> None:
    prompt = screening.screened_prompt(
        session, svc, user, kind=new.kind, prompt=new.prompt, models=new.models,
        replacement_filter=bool(body.get("replacement_filter", True)), ipaddr=ipaddr, now=now,
    )
    if prompt != new.prompt:
        new.prompt = prompt
        if "prompt" in new.params:
            new.params["prompt"] = prompt


def _store_sources(svc: Services, request_id: str, new: NewRequest) -> list[str]:
    """Decode, check and store the request's source images; return their storage keys."""
    keys: list[str] = []
    painting = bool(new.columns.get("painting"))
    try:
        for name, short in (("source_image", "src"), ("source_mask", "msk")):
            value = new.source_images.get(name)
            if value:
                require_alpha = name == "source_image" and painting and "source_mask" not in new.source_images
                data = images.read_source(
                    value, svc.fetcher, require_alpha=require_alpha and new.columns.get("source_processing") == "inpainting"
                )
                key = source_key(request_id, short)
                svc.store.put(key, data)
                keys.append(key)
        for index, extra in enumerate(new.extra_source_images):
            key = source_key(request_id, f"extra{index}")
            svc.store.put(key, images.read_source(extra["image"], svc.fetcher))
            keys.append(key)
    except Exception:
        svc.store.delete(keys)
        raise
    return keys


def _apply_shared_key(key: SharedKey, new: NewRequest, body: dict, style: StyleUse | None) -> bool:
    """The key's maxima (waived for the style it is assigned to) and budget; True if downgraded."""
    if style is None or style.sharedkey_id != key.id:
        columns = new.columns
        if new.kind == "image":
            sharedkeys.check_request(key, pixels=columns.get("pixels", 0), steps=columns.get("steps", 0))
        else:
            sharedkeys.check_request(key, tokens=columns.get("max_length", 0))
    new.columns["shared_key_id"] = key.id
    return sharedkeys.check_budget(key, new.dry_run_cost, bool(body.get("allow_downgrade")))


def _record_style_use(session: Session, use: StyleUse, user: User, request_id: str, kind: str) -> None:
    """Count the use; another user's style earns its owner the style tax (bucket "styled")."""
    session.execute(update(Style).where(Style.id == use.style_id).values(use_count=Style.use_count + 1))
    if use.collection_id:
        session.execute(update(Collection).where(Collection.id == use.collection_id).values(use_count=Collection.use_count + 1))
    if use.owner_id != user.id:
        owner = session.get(User, use.owner_id)
        if owner is not None:
            ledger.move_kudos(
                session, owner, pricing.STYLE_TAX, bucket="styled", reason="style", request_id=request_id,
                other_user_id=user.id, also={f"styled_{kind}": ("add", 1)},
            )


def request_generation(
    session: Session, svc: Services, user: User, new: NewRequest, body: dict, *, ipaddr: str, client_agent: str,
    now: dt.datetime, sharedkey: SharedKey | None = None, style: StyleUse | None = None, downgraded: bool = False,
) -> Queued:
    """Admit, price and queue a new request (or only price it, for a dry run).

    `sharedkey`: the key the request came through (sharedkeys.resolve); `style`: the style
    applied to `new` (community.styles.apply); `downgraded`: an empty key's anonymous fallback."""
    horde_modes.ensure_not_in_maintenance(session)
    if client_agent in BANNED_CLIENT_AGENTS:
        raise errors.BannedClientAgent()
    webhook = check_webhook(body)
    if style is not None and style.owner_id != user.id:
        new.tax += pricing.STYLE_TAX
    worker_ids = list(body.get("workers") or [])
    if not body.get("dry_run") and _fetches_urls(new) and not svc.fetcher.has_room():
        raise errors.SourceImageFetchBusy()  # before any database work: busy clients retry
    engine.admit(session, user, new, worker_ids=worker_ids, proxied_account=body.get("proxied_account"), cache=svc.cache)
    if body.get("dry_run"):  # a price asked for is not a prompt sent: no filters, no consequences
        screening.ensure_ip_allowed(svc, ipaddr, now)
    else:
        _screen_prompt(session, svc, user, new, body, ipaddr, now)
    downgraded = _apply_upfront_rule(session, svc, user, new, body, now) or downgraded
    if sharedkey is not None:
        downgraded = _apply_shared_key(sharedkey, new, body, style) or downgraded
    if body.get("dry_run"):
        return Queued(request_id=None, kudos=round(new.dry_run_cost), dry_run=True)

    request_id = str(uuid.uuid4())
    stored: list[str] = []
    if new.source_images or new.extra_source_images:
        # No connection is held while images are fetched (up to the fetch deadline),
        # decoded and stored; admission is checked again once they are in.
        session.commit()
        stored = _store_sources(svc, request_id, new)
    try:
        if stored:
            engine.admit(session, user, new, worker_ids=worker_ids, proxied_account=body.get("proxied_account"), cache=None)
            new.columns["extra"] = {**new.columns["extra"], "sources": stored}
        engine.enqueue(
            session, user, new, request_id=request_id, worker_ids=worker_ids,
            worker_blacklist=bool(body.get("worker_blacklist", False)), ipaddr=ipaddr, client_agent=client_agent,
            webhook=webhook, proxied_account=body.get("proxied_account"), downgraded=downgraded, now=now,
        )
        if new.columns.get("shared_key_id"):
            sharedkeys.charge(session, new.columns["shared_key_id"], new.tax)
        if style is not None:
            _record_style_use(session, style, user, request_id, new.kind)
        session.commit()
    except Exception:
        session.rollback()
        svc.store.delete(stored)
        raise
    possible = live.any_can_serve(svc.live.get(session, new.kind, now), engine.new_request_values(new), new.models)
    svc.cache.set(f"possible:{request_id}", possible, live.POSSIBLE_TTL)
    result = Queued(request_id=request_id, kudos=round(new.price) if new.kind == "image" else round(new.dry_run_cost))
    if not possible and not horde_modes.cached(session).raid_mode:
        result.message = NO_WORKER_MESSAGE
        if new.kind == "image":
            result.warnings = [{"code": "NoAvailableWorker", "message": NO_WORKER_MESSAGE}]
    return result


# --- pop ---------------------------------------------------------------------------
@dataclass
class PopResult:
    popped: engine.Popped | None
    skipped: dict[str, int]
    source_urls: dict[str, str | None]
    messages: list[dict]


MESSAGES_CACHE_SECONDS = 10.0


def _messages(session: Session, svc: Services, worker_id: str, now: dt.datetime) -> list[dict]:
    key = f"messages:{worker_id}"
    found = svc.cache.get(key)
    if found is None:
        found = messages.for_pop(session, worker_id, now)
        svc.cache.set(key, found, MESSAGES_CACHE_SECONDS)
    return found


def pop_jobs(session: Session, svc: Services, user: User, body: dict, kind: str, *, ipaddr: str, now: dt.datetime) -> PopResult:
    screening.ensure_ip_allowed(svc, ipaddr, now)
    modes = horde_modes.cached(session)
    worker, models, _fresh = checkin.check_in(session, user, body, kind, ipaddr, modes, now)
    session.flush()
    profile = checkin.profile(worker, user.id, user.trusted, models, body, kind)
    missed_key = f"deep-miss:{worker.id}"
    look_deep = svc.cache.get(missed_key) is None
    popped = engine.pop(session, kind_module(kind), profile, int(body.get("amount", 1)), now, look_deep=look_deep)
    if popped is None:
        if look_deep:
            svc.cache.set(missed_key, True, DEEP_MISS_SECONDS)
        if worker.maintenance:
            session.commit()
            raise errors.WorkerMaintenance(worker.maintenance_msg or errors.WorkerMaintenance.message)
        skipped = cached_skipped(session, svc, profile)
        notes = _messages(session, svc, worker.id, now)
        session.commit()
        return PopResult(popped=None, skipped=skipped, source_urls={}, messages=notes)
    notes = _messages(session, svc, worker.id, now)
    session.commit()
    events.emit(events.JOBS_POPPED, len(popped.job_ids), kind=kind)
    return PopResult(popped=popped, skipped={}, source_urls=_source_payload(svc, popped, profile), messages=notes)


def cached_skipped(session: Session, svc: Services, profile) -> dict[str, int]:
    """Skip counts scan the live queue: an idle worker polling every second reuses them."""
    key = f"skipped:{profile.id}"
    cached = svc.cache.get(key)
    if cached is None:
        cached = engine.skipped(session, profile)
        if cached:  # an empty answer came from an (almost) empty queue: cheap to recount
            svc.cache.set(key, cached, SKIPPED_CACHE_SECONDS)
    return cached


def _source_payload(svc: Services, popped: engine.Popped, profile) -> dict[str, str | None]:
    """Source images as URLs for bridges that fetch them, else inline base64."""
    request = popped.request
    result: dict[str, str | None] = {"source_image": None, "source_mask": None}
    for name, short in (("source_image", "src"), ("source_mask", "msk")):
        key = source_key(request.id, short)
        if key not in (request.extra.get("sources") or []):
            continue
        if "r2_source" in profile.bridge.capabilities:
            result[name] = svc.store.download_url(key)
        else:
            data = svc.store.get(key)
            result[name] = base64.b64encode(data).decode() if data else None
    extras = [k for k in (request.extra.get("sources") or []) if "_extra" in k]
    if extras and "extra_source_images" in profile.bridge.capabilities:
        strengths = request.extra.get("extra_source_strengths") or [1.0] * len(extras)
        result["extra_source_images"] = [
            {"image": svc.store.download_url(k), "strength": s} for k, s in zip(extras, strengths)
        ]
    return result


# --- submit ------------------------------------------------------------------------
def submit_job(session: Session, svc: Services, user: User, body: dict, kind: str, now: dt.datetime) -> float:
    """Record what a worker delivered; returns the reward it earned (before bridge multiplier)."""
    submission = engine.load_submission(session, body["id"], user)
    job = submission.job
    rules = kind_module(kind)
    state = body.get("state", "ok")
    metadata = list(body.get("gen_metadata") or [])
    if len(metadata) > MAX_GEN_METADATA:
        raise errors.BadRequest(f"At most {MAX_GEN_METADATA} gen_metadata entries are allowed.")
    if state == job_states.FAULTED:
        engine.fail_job(session, job, now)
        session.commit()
        events.emit(events.JOBS_FAULTED, 1, kind=kind)
        return 0.0
    generation = body.get("generation", "")
    if kind == "image":
        if generation != "R2":
            session.commit()  # no connection held while the image is decoded and stored
            data = images.decode_base64(generation)
            images.check_result(data, svc.settings.max_upload_bytes)
            svc.store.put(result_key(job.id), images.to_webp(data))
            generation = "R2"
        censored = any(m.get("type") == "censorship" for m in metadata)
        csam = any(m.get("type") == "censorship" and m.get("value") == "csam" for m in metadata)
        final_state = job_states.CSAM if csam or state == "csam" else job_states.CENSORED if censored else job_states.OK
        reward = None
    else:
        censored = state in ("censored", "csam") or any(m.get("value") == "csam" for m in metadata)
        if state == "csam" and not any(m.get("value") == "csam" for m in metadata):
            metadata.append({"type": "censorship", "value": "csam"})
        final_state = job_states.CSAM if state == "csam" else job_states.CENSORED if censored else job_states.OK
        owner_trusted = submission.owner is not None and submission.owner.trusted
        reward = text_jobs.reward_for(submission.request, job, submission.bridge_agent, owner_trusted, generation)
    reward = settlement.deliver(
        session, rules, submission, state=final_state, censored=censored, seed=int(body.get("seed", 0) or 0),
        generation=generation, gen_metadata=metadata, now=now, reward=reward,
    )
    session.commit()
    events.emit(events.JOBS_DELIVERED, 1, kind=kind)
    events.emit(events.KUDOS_REWARDED, reward, kind=kind)
    return reward


# --- status ------------------------------------------------------------------------
def possible(session: Session, svc: Services, request_id: str, kind: str, now: dt.datetime) -> bool:
    """Whether an online worker can serve the request (kept for a minute per request)."""
    key = f"possible:{request_id}"
    cached = svc.cache.get(key)
    if cached is None:
        request = session.get(GenerationRequest, request_id)
        live_workers = svc.live.get(session, kind, now)
        cached = request is not None and live.any_can_serve(live_workers, engine.request_values(request), request.models)
        svc.cache.set(key, cached, live.POSSIBLE_TTL)
    return bool(cached)


# `check` is the most polled route: it reads only these columns, with one primary-key lookup.
_PROGRESS = (
    GenerationRequest.id, GenerationRequest.kind, GenerationRequest.n, GenerationRequest.jobs,
    GenerationRequest.processing, GenerationRequest.finished, GenerationRequest.restarted,
    GenerationRequest.faulted, GenerationRequest.cancelled, GenerationRequest.consumed_kudos,
    GenerationRequest.sort_key, GenerationRequest.created, GenerationRequest.things,
)


def progress(session: Session, svc: Services, request, now: dt.datetime) -> dict:
    """The check fields: counters from the row, position and is_possible from the cache."""
    snapshot, is_possible = svc.cache.hash_get_and_get(f"queue:{request.kind}", request.id, f"possible:{request.id}")
    position, wait = 0, 0
    if request.n > 0:
        found = live.snapshot_position(snapshot)
        if found is None:
            rate = live.throughput(svc.live.get(session, request.kind, now), request.kind)
            found = live.count_position(svc.db.read_one, request, rate)
        position, wait = found
    if is_possible is None:
        is_possible = possible(session, svc, request.id, request.kind, now)
    return engine.check_fields(request, position, wait, bool(is_possible))


def reposition(svc: Services, fields: dict, request_id: str, kind: str) -> dict:
    """Check fields with the queue position and wait of the latest snapshot (no database
    read: what an event stream does when the snapshot is refreshed)."""
    if not fields["waiting"]:
        return fields
    found = live.snapshot_position(svc.cache.hash_get(f"queue:{kind}", request_id))
    if found is None:
        return fields
    return {**fields, "queue_position": found[0], "wait_time": found[1]}


IN_FLIGHT_SHOWN = 20


def in_flight(session: Session, svc: Services, user_id: int, now: dt.datetime) -> list[dict]:
    """A user's requests still queued or being generated, oldest first, with their progress."""
    R = GenerationRequest
    rows = session.execute(
        select(*_PROGRESS, R.models)
        .where(R.user_id == user_id, or_(R.n > 0, R.processing > 0), R.faulted.is_(False), R.cancelled.is_(False))
        .order_by(R.created).limit(IN_FLIGHT_SHOWN)
    ).all()
    return [
        {"id": row.id, "kind": row.kind, "models": list(row.models or []), "created": row.created.isoformat() + "Z",
         **progress(session, svc, row, now)}
        for row in rows
    ]


_PROGRESS_BY_ID = select(*_PROGRESS).where(GenerationRequest.id == bindparam("request_id"))


UNKNOWN_CLIENT_AGENT = "unknown:0:unknown"


def check(
    session: Session, svc: Services, request_id: str, kind: str, now: dt.datetime, *, client_agent: str = "", ipaddr: str = ""
) -> dict:
    if client_agent == UNKNOWN_CLIENT_AGENT:  # a timed-out IP's nameless scripts may not poll either
        screening.ensure_ip_allowed(svc, ipaddr, now)
    row = svc.db.read_one(_PROGRESS_BY_ID, {"request_id": request_id}) if len(request_id) == 36 else None
    if row is None or row.kind != kind:
        raise errors.RequestNotFound(f"Request with ID '{request_id}' not found. It may have expired.")
    return progress(session, svc, row, now)


def status(session: Session, svc: Services, request_id: str, kind: str, now: dt.datetime) -> tuple[GenerationRequest, dict]:
    request = engine.get_request(session, request_id, kind)
    return request, progress(session, svc, request, now)


def _image_generation(svc: Services, request: GenerationRequest, job) -> dict:
    key = result_key(job.id)
    if request.r2:
        img = svc.store.download_url(key) if svc.store.exists(key) else "N/A"
    else:
        data = svc.store.get(key)
        img = base64.b64encode(data).decode() if data else "N/A"
    return {
        "img": img, "seed": str(job.seed), "id": job.id, "censored": job.censored,
        "gen_metadata": job.gen_metadata or [], "worker_id": job.worker_id or "", "worker_name": job.worker_name,
        "model": job.model, "state": "ok",
    }


def image_generations(session: Session, svc: Services, request: GenerationRequest) -> list[dict]:
    return [_image_generation(svc, request, job) for job in engine.delivered_jobs(session, request.id)]


def _text_generation(job) -> dict:
    return {
        "text": job.generation or "", "seed": int(job.seed or 0), "gen_metadata": job.gen_metadata or [],
        "worker_id": job.worker_id or "", "worker_name": job.worker_name, "model": job.model, "state": job.state,
    }


def text_generations(session: Session, request_id: str) -> list[dict]:
    return [_text_generation(job) for job in engine.delivered_jobs(session, request_id)]


def webhook_payload(session: Session, svc: Services, delivery) -> dict | None:
    """What a delivered job's webhook says (spec/api.md §10.6): the generation as in the
    status answer, plus the request's id, the job's id and its reward. None once the request
    has expired."""
    request = session.get(GenerationRequest, delivery.request_id)
    job = session.get(Job, delivery.job_id)
    if request is None or job is None:
        return None
    generation = _image_generation(svc, request, job) if delivery.kind == "image" else _text_generation(job)
    return {**generation, "request": request.id, "id": job.id, "kudos": delivery.kudos, "worker_id": job.worker_id or ""}


def cancel(session: Session, svc: Services, request_id: str, kind: str, now: dt.datetime) -> tuple[GenerationRequest, dict]:
    """Status as it was, then stop the request."""
    request, fields = status(session, svc, request_id, kind, now)
    engine.cancel(session, request)
    return request, fields
