"""What the moderator page shows: filters, IP timeouts, suspicious users and workers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from horde.domain.moderation import ip_timeouts, prompt_filters, suspicion
from horde.models import User


@dataclass
class Overview:
    filters: list[dict]
    timeouts: list[dict]
    users: list[dict]
    workers: list[dict]


def overview(session: Session, now: dt.datetime) -> Overview:
    filters = [prompt_filters.details(session, row) for row in prompt_filters.listing(session, None, None)]
    users = suspicion.most_suspicious_users(session)
    reasons = suspicion.reasons(session, [u.id for u in users])
    workers = suspicion.most_suspicious_workers(session)
    owners = {u.id: u for u in session.scalars(select(User).where(User.id.in_({w.owner_id for w in workers})))}
    return Overview(
        filters=filters,
        timeouts=ip_timeouts.listing(session, now),
        users=[
            {
                "id": u.id, "alias": u.alias, "suspicion": u.suspicion, "suspicious": suspicion.is_suspicious(u),
                "trusted": u.trusted, "flagged": u.flagged, "reasons": reasons.get(u.id, []),
            }
            for u in users
        ],
        workers=[
            {
                "id": w.id, "name": w.name, "owner": owners[w.owner_id].alias if w.owner_id in owners else "",
                "suspicion": w.suspicion, "paused": w.paused, "ipaddr": w.ipaddr or "",
            }
            for w in workers
        ],
    )
