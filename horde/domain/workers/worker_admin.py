"""Worker details (public and privileged views), changes by owners and moderators, deletion."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from horde.domain import errors, profanity
from horde.domain.workers import bridges
from horde.domain.workers.checkin import ONLINE_WINDOW
from horde.models import Job, Team, User, Worker
from horde.models import job as job_states

INFO_MAX, NAME_MIN, NAME_MAX, MAINTENANCE_MSG_MAX = 1000, 5, 100, 300


def privileged(viewer: User | None) -> bool:
    """Moderators see the privileged view; owners get the public one, as on the public horde."""
    return bool(viewer and viewer.moderator)


def _performance(worker: Worker) -> str:
    if worker.speed is None:
        return "No requests fulfilled yet"
    if worker.worker_type == "image":
        return f"{worker.speed / 1_000_000:.1f} megapixelsteps per second"
    if worker.worker_type == "interrogation":  # speed is forms per second
        return f"{1 / max(worker.speed, 1e-6):.1f} seconds per form"
    return f"{worker.speed:.1f} tokens per second"


def details(worker: Worker, owner: User, team: Team | None, *, privileged: bool, now: dt.datetime) -> dict[str, Any]:
    """WorkerDetails (spec/api.md §5.2): who may see what is decided by `privileged`."""
    bridge = bridges.parse(worker.bridge_agent)
    data: dict[str, Any] = {
        "type": worker.worker_type,
        "name": worker.name,
        "id": worker.id,
        "online": now - worker.last_check_in < ONLINE_WINDOW,
        "requests_fulfilled": worker.fulfilments,
        "uncompleted_jobs": worker.uncompleted_jobs,
        "kudos_rewards": round(worker.kudos_generated + worker.kudos_uptime, 2),
        "kudos_details": {"generated": round(worker.kudos_generated, 2), "uptime": int(worker.kudos_uptime)},
        "performance": _performance(worker),
        "threads": worker.threads,
        "uptime": worker.uptime,
        "maintenance_mode": worker.maintenance,
        "info": worker.info,
        "trusted": owner.trusted,
        "flagged": owner.flagged,
        "team": {"id": team.id if team else None, "name": team.name if team else None},
        "bridge_agent": worker.bridge_agent,
        "nsfw": worker.nsfw,
        "models": list(worker.models or []),
    }
    if worker.worker_type == "image":
        data.update(
            max_pixels=worker.max_pixels,
            megapixelsteps_generated=int(worker.contributions),
            img2img=worker.allow_img2img and "img2img" in bridge.capabilities,
            painting=worker.allow_painting and "inpainting" in bridge.capabilities,
            lora=worker.allow_lora and "lora" in bridge.capabilities,
            controlnet=worker.allow_controlnet and "controlnet" in bridge.capabilities,
            sdxl_controlnet=worker.allow_sdxl_controlnet and "controlnet" in bridge.capabilities,
        )
        data["post-processing"] = worker.allow_post_processing and "post-processing" in bridge.capabilities
    elif worker.worker_type == "interrogation":
        data.update(models=[], forms=list(worker.models or []))
    else:
        data.update(max_length=worker.max_length, max_context_length=worker.max_context_length)
    if owner.public_workers or privileged:
        data["owner"] = owner.alias
        data["messages"] = []
    if privileged:
        data.update(ipaddr=worker.ipaddr, contact=owner.contact, paused=worker.paused, suspicious=worker.suspicion)
    return data


def _with_owner_and_team(session: Session, query):
    return session.execute(query.add_columns(User).join(User, User.id == Worker.owner_id)).all()


def _team(session: Session, worker: Worker) -> Team | None:
    return session.get(Team, worker.team_id) if worker.team_id else None


def online(session: Session, now: dt.datetime, *, kind: str | None, name: str | None, privileged: bool) -> list[dict]:
    """Workers seen in the last five minutes, by exact (case-insensitive) name or by type."""
    query = select(Worker).where(Worker.last_check_in > now - ONLINE_WINDOW).order_by(Worker.created)
    if name:
        query = query.where(Worker.name_lower == name.lower())
    elif kind:
        query = query.where(Worker.worker_type == kind)
    teams = {t.id: t for t in session.scalars(select(Team))}
    return [
        details(worker, owner, teams.get(worker.team_id), privileged=privileged, now=now)
        for worker, owner in _with_owner_and_team(session, query)
    ]


def find(session: Session, *, worker_id: str | None = None, name: str | None = None) -> Worker:
    if worker_id:
        worker = session.get(Worker, worker_id)
    else:  # names are unique ignoring case
        worker = session.scalar(select(Worker).where(Worker.name_lower == (name or "").strip().lower()))
    if worker is None:
        raise errors.WorkerNotFound(f"Worker '{worker_id or name}' not found.")
    return worker


def single(session: Session, worker: Worker, *, privileged: bool, now: dt.datetime) -> dict:
    return details(worker, session.get(User, worker.owner_id), _team(session, worker), privileged=privileged, now=now)


def modify(session: Session, actor: User, worker: Worker, changes: dict) -> dict:
    """PUT /workers/{id}: owner or moderator per field (spec/api.md §4.8)."""
    present = {k: v for k, v in changes.items() if v is not None and k != "maintenance_msg"}
    if not present:
        raise errors.NoWorkerModSelected()
    if actor.is_anonymous:
        raise errors.AnonForbiddenWorker()
    is_owner = actor.id == worker.owner_id
    if "paused" in present and not actor.moderator:
        raise errors.NotModerator("Only moderators can pause workers.")
    if not (is_owner or actor.moderator):
        raise errors.NotOwner("Only the worker's owner or a moderator can change it.")
    return apply_changes(session, worker, changes)


def apply_changes(session: Session, worker: Worker, changes: dict) -> dict:
    """Set the fields of `changes` that are not None, whoever may: `modify` checks the caller
    first; the operator's CLI (`horde worker set`) may set them all."""
    present = {k: v for k, v in changes.items() if v is not None and k != "maintenance_msg"}
    if not present:
        raise errors.NoWorkerModSelected()
    result: dict[str, Any] = {}
    if "maintenance" in present:
        worker.maintenance = bool(present["maintenance"])
        message = changes.get("maintenance_msg")
        worker.maintenance_msg = message[:MAINTENANCE_MSG_MAX] if worker.maintenance and message else None
        result["maintenance"] = worker.maintenance
    if "paused" in present:
        worker.paused = bool(present["paused"])
        result["paused"] = worker.paused
    if "info" in present:
        info = present["info"]
        if len(info) > INFO_MAX:
            raise errors.TooLongWorkerName(f"Worker info may be at most {INFO_MAX} characters.")
        if profanity.is_profane(info):
            raise errors.ProfaneWorkerInfo()
        worker.info = info
        result["info"] = info
    if "name" in present:
        result["name"] = _rename(session, worker, present["name"])
    if "team" in present:
        result["team"] = _join_team(session, worker, present["team"])
    session.flush()
    return result


def _rename(session: Session, worker: Worker, name: str) -> str:
    name = name.strip()
    if len(name) > NAME_MAX:
        raise errors.TooLongWorkerName()
    if len(name) < NAME_MIN:
        raise errors.BadRequest(f"Worker names need at least {NAME_MIN} characters (spaces around them do not count).")
    if profanity.is_profane(name):
        raise errors.ProfaneWorkerName()
    taken = session.scalar(select(exists().where(Worker.name_lower == name.lower(), Worker.id != worker.id)))
    if taken:
        raise errors.WorkerNameAlreadyExists()
    worker.name, worker.name_lower = name, name.lower()
    try:
        session.flush()
    except IntegrityError:  # taken by a concurrent rename or first pop
        session.rollback()
        raise errors.WorkerNameAlreadyExists() from None
    return name


def _join_team(session: Session, worker: Worker, team_id: str) -> str:
    if team_id == "":
        worker.team_id = None
        return "None"
    team = session.get(Team, team_id)
    if team is None:
        raise errors.TeamNotFound(f"Team '{team_id}' not found.")
    worker.team_id = team.id
    return team.name


def delete(session: Session, actor: User, worker: Worker) -> dict:
    if actor.is_anonymous:
        raise errors.AnonForbiddenWorker()
    if not (actor.id == worker.owner_id or actor.moderator):
        raise errors.NotOwner("Only the worker's owner or a moderator can delete it.")
    return remove(session, worker)


def remove(session: Session, worker: Worker) -> dict:
    """Delete a worker that has no job in progress, whoever asks (`delete` checks the caller)."""
    busy = session.scalar(
        select(func.count()).select_from(Job).where(Job.worker_id == worker.id, Job.state == job_states.PROCESSING)
    )
    if busy:
        raise errors.Locked("This worker still has jobs in progress; try again once they are delivered.")
    result = {"deleted_id": worker.id, "deleted_name": worker.name}
    session.delete(worker)
    session.flush()
    return result
