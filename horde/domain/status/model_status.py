"""GET /status/models: which models the online workers serve, and how busy each one is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.domain import model_reference as ref
from horde.domain.workers import live, matching
from horde.models import GenerationRequest, QueuedModel
from horde.services import Services

CACHE_SECONDS = 5.0
NO_ETA = 10000
DIVISOR = {"image": 1_000_000, "text": 1}


def _queued_by_model(session: Session, kind: str) -> dict[str, tuple[float, int]]:
    R, QM = GenerationRequest, QueuedModel
    rows = session.execute(
        select(QM.model, func.sum(R.things * R.n), func.sum(R.n))
        .join(R, R.id == QM.request_id)
        .where(QM.kind == kind, matching.queued(kind))
        .group_by(QM.model)
    ).all()
    return {model: (float(things or 0), int(jobs or 0)) for model, things, jobs in rows if model}


def compute(session: Session, svc: Services, kind: str, now: dt.datetime) -> list[dict]:
    workers_by_model: dict[str, list] = {}
    for worker, _profile in svc.live.get(session, kind, now):
        if worker.maintenance:
            continue
        for model in worker.models or []:
            workers_by_model.setdefault(model, []).append(worker)
    queued = _queued_by_model(session, kind)
    result = []
    for name in sorted(set(workers_by_model) | set(queued)):
        if "horde_special" in name:
            continue
        serving = workers_by_model.get(name, [])
        count = sum(max(w.threads, 1) for w in serving)
        speeds = [(w.speed or live.BASELINE_SPEED[kind]) / DIVISOR[kind] for w in serving]
        performance = round(sum(speeds) / len(speeds), 1) if speeds else 0.0
        things, jobs = queued.get(name, (0.0, 0))
        amount = round(things / DIVISOR[kind], 2)
        eta = int(amount / (count * performance)) if count and performance else NO_ETA
        result.append(
            {"name": name, "count": count, "performance": performance, "queued": amount,
             "jobs": float(jobs), "eta": eta, "type": kind}
        )
    return result


def listing(session: Session, svc: Services, kind: str, now: dt.datetime) -> list[dict]:
    key = f"models:{kind}"
    cached = svc.cache.get(key)
    if cached is None:
        cached = compute(session, svc, kind, now)
        svc.cache.set(key, cached, CACHE_SECONDS)
    return cached


def is_known(kind: str, name: str) -> bool:
    if kind == "image":
        return ref.is_known_image_model(name)
    return ref.text_model_parameters(name) is not None


def select_models(entries: list[dict], kind: str, *, state: str, min_count: int | None, max_count: int | None) -> list[dict]:
    chosen = []
    for entry in entries:
        known = is_known(kind, entry["name"])
        if state == "known" and not known or state == "custom" and known:
            continue
        if min_count is not None and entry["count"] < min_count:
            continue
        if max_count is not None and entry["count"] > max_count:
            continue
        chosen.append(entry)
    return chosen
