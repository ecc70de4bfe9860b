"""Horde-wide operating modes: maintenance (admins), invite-only and raid (moderators)."""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from horde.domain import accounts, errors
from horde.models import HORDE_STATE_ID, GenerationRequest, HordeState, QueuedModel, User


def current(session: Session) -> HordeState:
    state = session.get(HordeState, HORDE_STATE_ID)
    if state is None:  # the migration inserts it; be forgiving of hand-made databases
        state = HordeState(id=HORDE_STATE_ID, maintenance_mode=False, invite_only_mode=False, raid_mode=False)
        session.add(state)
        session.flush()
    return state


def view(state: HordeState, viewer: User | None) -> dict:
    data = {"maintenance_mode": state.maintenance_mode, "invite_only_mode": state.invite_only_mode}
    if viewer is not None and viewer.moderator:
        data["raid_mode"] = state.raid_mode
    return data


def check_viewer(viewer: User | None) -> None:
    """GET /status/modes: no key is fine, but a key must be a moderator's."""
    if viewer is not None and not viewer.moderator:
        raise errors.NotModerator()


def change(session: Session, actor: User, admins: list[str], changes: dict) -> dict:
    present = {k: v for k, v in changes.items() if v is not None}
    if not present:
        raise errors.NoHordeModSelected()
    state = current(session)
    result: dict = {}
    if "maintenance_mode" in present:
        if not accounts.is_admin(actor, admins):
            raise errors.NotAdmin()
        state.maintenance_mode = bool(present["maintenance_mode"])
        result["maintenance_mode"] = state.maintenance_mode
        if state.maintenance_mode:
            stop_handing_out_work(session)
    for flag in ("invite_only_mode", "raid_mode"):
        if flag in present:
            if not (actor.moderator or accounts.is_admin(actor, admins)):
                raise errors.NotModerator()
            setattr(state, flag, bool(present[flag]))
            result[flag] = getattr(state, flag)
    session.flush()
    return result


def stop_handing_out_work(session: Session) -> None:
    """Maintenance: queued requests keep what is done and get no more jobs."""
    session.execute(delete(QueuedModel))
    session.execute(
        update(GenerationRequest)
        .where(GenerationRequest.n > 0)
        .values(n=0, jobs=GenerationRequest.finished + GenerationRequest.processing)
        .execution_options(synchronize_session=False)
    )


def ensure_not_in_maintenance(session: Session) -> None:
    if current(session).maintenance_mode:
        raise errors.MaintenanceMode()
