"""GET /status/performance: queue sizes, online workers and throughput, from roll-ups.

The scheduler's snapshot job (every 2 s) keeps the totals; a request reads them from the
cache, or computes them once when no scheduler has run yet (a fresh single-node horde).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from horde.domain.queue import maintenance
from horde.services import Services

DIVISOR = {"image": 1_000_000, "text": 1}


def performance(session: Session, svc: Services, now: dt.datetime) -> dict:
    kind = svc.settings.mode.value
    totals = svc.cache.get(f"totals:{kind}")
    if totals is None:
        maintenance.refresh_snapshots(session, svc, now)
        totals = svc.cache.get(f"totals:{kind}") or {}
    jobs = int(totals.get("queued_jobs", 0)) + int(totals.get("processing", 0))
    queued = round(float(totals.get("queued_things", 0)) / DIVISOR[kind], 2)
    past_minute = round(float(totals.get("past_minute_things", 0)) / DIVISOR[kind], 2)
    workers, threads = int(totals.get("workers", 0)), int(totals.get("threads", 0))
    image, text = kind == "image", kind == "text"
    forms = (svc.cache.get("totals:interrogation") or {}) if image else {}
    return {
        "queued_requests": jobs if image else 0,
        "queued_text_requests": jobs if text else 0,
        "worker_count": workers if image else 0,
        "thread_count": threads if image else 0,
        "text_worker_count": workers if text else 0,
        "text_thread_count": threads if text else 0,
        "interrogator_count": int(forms.get("workers", 0)),
        "interrogator_thread_count": int(forms.get("threads", 0)),
        "queued_megapixelsteps": queued if image else 0.0,
        "past_minute_megapixelsteps": past_minute if image else 0.0,
        "queued_tokens": queued if text else 0.0,
        "past_minute_tokens": past_minute if text else 0.0,
        "queued_forms": float(int(forms.get("queued_jobs", 0)) + int(forms.get("processing", 0))),
    }
