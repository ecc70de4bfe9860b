"""Horde-wide operating modes: maintenance (admins), invite-only and raid (moderators).

Every request reads them, so each process keeps them for two seconds (a change made here is
seen at once; other processes see it within two seconds).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.moderation import roles
from horde.models import (
    HORDE_STATE_ID,
    GenerationRequest,
    HordeState,
    QueuedModel,
    User,
)

CACHE_SECONDS = 2.0
_cache: dict[str, tuple[float, "Modes"]] = {}
_cache_lock = threading.Lock()


@dataclass(frozen=True)
class Modes:
    maintenance_mode: bool
    invite_only_mode: bool
    raid_mode: bool


def _cache_key(session: Session) -> str:
    return str(session.get_bind().url)


def cached(session: Session) -> Modes:
    """The modes as of at most two seconds ago (for the hot paths)."""
    key = _cache_key(session)
    with _cache_lock:
        entry = _cache.get(key)
        if entry and entry[0] > time.monotonic():
            return entry[1]
    state = current(session)
    modes = Modes(state.maintenance_mode, state.invite_only_mode, state.raid_mode)
    with _cache_lock:
        _cache[key] = (time.monotonic() + CACHE_SECONDS, modes)
    return modes


def forget(session: Session | None = None) -> None:
    """Drop the cached modes (of one database, or all)."""
    with _cache_lock:
        if session is None:
            _cache.clear()
        else:
            _cache.pop(_cache_key(session), None)


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
        if not roles.is_admin(actor, admins):
            raise errors.NotAdmin()
        state.maintenance_mode = bool(present["maintenance_mode"])
        result["maintenance_mode"] = state.maintenance_mode
        if state.maintenance_mode:
            stop_handing_out_work(session)
    for flag in ("invite_only_mode", "raid_mode"):
        if flag in present:
            if not (actor.moderator or roles.is_admin(actor, admins)):
                raise errors.NotModerator()
            setattr(state, flag, bool(present[flag]))
            result[flag] = getattr(state, flag)
    session.flush()
    forget(session)
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
    if cached(session).maintenance_mode:
        raise errors.MaintenanceMode()
