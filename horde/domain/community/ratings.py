"""Aesthetic ratings of a finished, shared image request (spec/api.md §4.2).

The requester earns kudos for rating: 5 per rating, 5 more per rating that grades the
artifacts, 15 for naming the best image alone (or with a single rating under 7), never
more than the request cost them minus one.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.accounts import ledger
from horde.domain.queue import engine
from horde.models import User


def _reward(ratings: list[dict], best: str | None, consumed: float) -> float:
    reward = sum(5 + (5 if r.get("artifacts") is not None else 0) for r in ratings)
    if best and not ratings:
        reward = 15
    elif best and len(ratings) == 1 and ratings[0]["rating"] < 7:
        reward += 15
    return float(max(0, min(reward, round(consumed) - 1)))


def rate(session: Session, request_id: str, best: str | None, ratings: list[dict]) -> float:
    request = engine.get_request(session, request_id, "image")
    session.refresh(request, with_for_update=True)
    if not engine.is_done(request) or request.faulted:
        raise errors.AestheticsNotCompleted()
    if not request.shared:
        raise errors.AestheticsNotPublic()
    if (request.extra or {}).get("rated"):
        raise errors.AestheticsAlreadyExist()
    if not best and not ratings:
        raise errors.AestheticsMissing()
    delivered = {job.id for job in engine.delivered_jobs(session, request.id)}
    ids = [r["id"] for r in ratings]
    if len(ids) != len(set(ids)):
        raise errors.AestheticsDuplicate()
    if any(i not in delivered for i in ids) or (best and best not in delivered):
        raise errors.ProcGenNotFound()
    if best and not ratings and len(delivered) < 2:
        raise errors.AestheticsSolo()
    if best and ratings:
        top = max(r["rating"] for r in ratings)
        if best in ids and next(r["rating"] for r in ratings if r["id"] == best) < top:
            raise errors.AestheticsConfused()
    reward = _reward(ratings, best, request.consumed_kudos)
    request.extra = {**(request.extra or {}), "rated": True}
    owner = session.get(User, request.user_id)
    if owner is not None and reward > 0:
        ledger.move_kudos(session, owner, reward, bucket="awarded", reason="rating", request_id=request.id)
    session.commit()
    return reward
