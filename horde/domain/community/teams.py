"""Teams: creation by trusted users, changes by their creator or a moderator, details."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from horde.domain import errors, profanity
from horde.domain.workers.checkin import ONLINE_WINDOW
from horde.models import Team, User, Worker


def _check_text(name: str | None, info: str | None) -> None:
    if name is not None and profanity.is_profane(name):
        raise errors.ProfaneTeamName()
    if info is not None and profanity.is_profane(info):
        raise errors.ProfaneTeamInfo()


def _name_taken(session: Session, name: str, except_id: str | None = None) -> bool:
    query = exists().where(Team.name_lower == name.lower())
    if except_id:
        query = query.where(Team.id != except_id)
    return bool(session.scalar(select(query)))


def create(session: Session, actor: User, name: str, info: str | None) -> Team:
    if actor.is_anonymous:
        raise errors.AnonForbidden("Anonymous users cannot create teams.")
    if not actor.trusted:
        raise errors.UntrustedTeamCreation()
    name = name.strip()
    _check_text(name, info)
    if _name_taken(session, name):
        raise errors.TeamNameAlreadyExists()
    team = Team(id=str(uuid.uuid4()), name=name, name_lower=name.lower(), info=info, creator_id=actor.id)
    session.add(team)
    session.flush()
    return team


def check_viewer(viewer: User | None) -> None:
    """GET /teams/{id}: no key is fine, but a key must be a moderator's (as on the public horde)."""
    if viewer is not None and not viewer.moderator:
        raise errors.NotModerator()


def get(session: Session, team_id: str) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise errors.TeamNotFound(f"Team '{team_id}' not found.")
    return team


def _may_change(actor: User, team: Team) -> None:
    if actor.is_anonymous:
        raise errors.AnonForbidden("Anonymous users cannot change teams.")
    if actor.id != team.creator_id and not actor.moderator:
        raise errors.NotOwner("Only the team's creator or a moderator can change it.")


def modify(session: Session, actor: User, team: Team, name: str | None, info: str | None) -> dict:
    _may_change(actor, team)
    if name is None and info is None:
        raise errors.NoTeamModSelected()
    _check_text(name, info)
    if name is not None:
        name = name.strip()
        if _name_taken(session, name, except_id=team.id):
            raise errors.TeamNameAlreadyExists()
        team.name, team.name_lower = name, name.lower()
    # The name is always echoed: horde-sdk's ModifyTeam model requires it.
    result: dict[str, Any] = {"id": team.id, "name": team.name}
    if info is not None:
        team.info = info
        result["info"] = info
    session.flush()
    return result


def delete(session: Session, actor: User, team: Team) -> dict:
    _may_change(actor, team)
    result = {"deleted_id": team.id, "deleted_name": team.name}
    session.execute(Worker.__table__.update().where(Worker.__table__.c.team_id == team.id).values(team_id=None))
    session.delete(team)
    session.flush()
    return result


def details(session: Session, team: Team, now: dt.datetime) -> dict:
    members = list(session.scalars(select(Worker).where(Worker.team_id == team.id).order_by(Worker.created)))
    creator = session.get(User, team.creator_id)
    models: dict[str, int] = {}
    for worker in members:
        for model in worker.models or []:
            models[model] = models.get(model, 0) + 1
    return {
        "id": team.id, "name": team.name, "info": team.info, "requests_fulfilled": team.fulfilments,
        "kudos": round(team.kudos, 2), "uptime": team.uptime, "creator": creator.alias if creator else None,
        "worker_count": len(members),
        "workers": [
            {"type": w.worker_type, "name": w.name, "id": w.id, "online": now - w.last_check_in < ONLINE_WINDOW}
            for w in members
        ],
        "models": [{"name": name, "count": count} for name, count in sorted(models.items())],
    }


def all_teams(session: Session, now: dt.datetime) -> list[dict]:
    return [details(session, team, now) for team in session.scalars(select(Team).order_by(Team.created))]
