"""Which models the OpenAI routes offer: those the online workers serve."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain import model_reference as ref
from horde.services import Services


def online_models(session: Session, svc: Services, kind: str, now: dt.datetime, fresh: bool = False) -> list[str]:
    """The models of the online workers (not in maintenance), sorted."""
    names: set[str] = set()
    for worker, _profile in svc.live.get(session, kind, now, fresh=fresh):
        if not worker.maintenance:
            names.update(worker.models or [])
    return sorted(name for name in names if "horde_special" not in name)


def _known(kind: str, model: str) -> bool:
    return model in (ref.text_models() if kind == "text" else ref.image_models())


def ensure_served(session: Session, svc: Services, kind: str, model: str, now: dt.datetime) -> None:
    """An online worker serves `model`; else 404 (a name nobody knows) or 503 (a known model
    with no worker now). A miss re-reads the workers, since the cache may predate a worker."""
    if model in online_models(session, svc, kind, now) or model in online_models(session, svc, kind, now, fresh=True):
        return
    if _known(kind, model):
        raise errors.NoWorkerForModel(f"No online worker serves the model '{model}' now. Try again later.")
    raise errors.UnknownModel(f"The model '{model}' does not exist on this horde: GET /v1/models lists those served.")
