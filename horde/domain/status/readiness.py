"""Readiness: can this node serve the core loop (submit, pop, submit, check) right now?

The heartbeat says whether the node is alive (and keeps the shape horde-sdk accepts); this
says, per dependency, what works, for load balancers and orchestrators. The database and
the result store are needed; Redis is an accelerator: while it is unreachable the horde
serves from its fallbacks, so it is reported (`degraded`) but does not make the node unready.
"""

from __future__ import annotations

from horde.cache import FailoverCache
from horde.services import Services


def check(svc: Services) -> dict:
    database = svc.db.ping()
    storage = svc.store.ready()
    cache = svc.cache
    if isinstance(cache, FailoverCache):
        redis_ok = cache.primary.ping()
        redis = {"configured": True, "ok": redis_ok, "serving_from": "redis" if redis_ok else cache.fallback.state()}
    else:
        redis = {"configured": False, "ok": None, "serving_from": cache.state()}
    reasons = []
    if not database:
        reasons.append("database unreachable")
    if not storage:
        reasons.append("result storage unavailable")
    return {
        "ready": not reasons,
        "degraded": redis["configured"] and not redis["ok"],
        "reasons": reasons,
        "database": {"ok": database, "backend": svc.db.engine.dialect.name},
        "redis": redis,
        "storage": {"ok": storage, "backend": "s3" if svc.settings.s3_bucket else "local"},
    }
