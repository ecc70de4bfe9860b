"""The moderator page, /moderation: filters with a test box, IP timeouts, suspicious users
and workers, and the actions on them. Logged-in moderators only; every action is a form
(CSRF-protected) that calls the same domain rule as the API, then comes back here.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, request, url_for

from horde.db import utcnow
from horde.domain import errors
from horde.domain.accounts import users
from horde.domain.moderation import horde_modes, ip_timeouts, overview, prompt_filters
from horde.domain.workers import ip_blocks, worker_admin
from horde.models import User
from horde.web import views

bp = Blueprint("moderation", __name__)
bp.before_request(views.check_csrf)
bp.register_error_handler(views.PageError, views.page_error)
bp.register_error_handler(errors.HordeError, views.domain_error)


def _moderator() -> User:
    account = views.require_account()
    if not account.moderator:
        raise views.PageError("This page is for moderators.", 403)
    return account


def _page(status: int = 200, **extra):
    db = views.db()
    return views.page(
        "moderation.html", status, view=overview.overview(db, utcnow()), modes=horde_modes.current(db),
        filter_types=list(prompt_filters.EXPLAINED_TYPES.items()), **extra,
    )


def _done(message: str, rules_changed: bool = False):
    db = views.db()
    db.commit()
    if rules_changed:
        views.services().rules.changed(views.services().cache)
    flash(message)
    return redirect(url_for("moderation.index"), 303)


def _refused(error: errors.HordeError):
    views.db().rollback()
    return _page(error.status, error=error.message)


@bp.get("/moderation")
def index():
    _moderator()
    return _page()


@bp.post("/moderation/filters")
def add_filter():
    actor = _moderator()
    form = request.form
    try:
        filter_type = int(form.get("filter_type", "0"))
        row = prompt_filters.add(
            views.db(), actor, form.get("regex", ""), filter_type, form.get("description") or None, form.get("replacement", "")
        )
    except ValueError:
        return _refused(errors.BadRequest("Choose a filter type."))
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"Filter {row.id} is in place.", rules_changed=True)


@bp.post("/moderation/filters/<filter_id>/delete")
def delete_filter(filter_id: str):
    _moderator()
    db = views.db()
    try:
        prompt_filters.delete(db, prompt_filters.get(db, filter_id))
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"Filter {filter_id} is deleted.", rules_changed=True)


@bp.post("/moderation/filters/test")
def test_prompt():
    _moderator()
    svc = views.services()
    prompt = request.form.get("prompt", "")
    result = prompt_filters.test_prompt(svc.rules.filters(svc.db, svc.cache), prompt, None)
    return _page(tested={"prompt": prompt, **result})


@bp.post("/moderation/ipaddr")
def add_timeout():
    _moderator()
    try:
        net = ip_timeouts.network(request.form.get("ipaddr", ""))
        hours = _whole(request.form.get("hours", ""), 1, 720, "Hours")
        ip_timeouts.time_out(views.db(), net, dt.timedelta(hours=hours), "moderator", utcnow())
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"{net} is in timeout for {hours} hours.", rules_changed=True)


@bp.post("/moderation/ipaddr/lift")
def lift_timeout():
    _moderator()
    try:
        net = ip_timeouts.network(request.form.get("ipaddr", ""))
        ip_timeouts.lift(views.db(), net)
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"The timeout of {net} is lifted.", rules_changed=True)


@bp.post("/moderation/users/<int:user_id>/reset")
def reset_suspicion(user_id: int):
    actor = _moderator()
    db = views.db()
    try:
        target = users.get_user(db, user_id)
        users.modify(db, actor, target, {"reset_suspicion": True}, views.services().settings.admins)
    except errors.HordeError as error:
        return _refused(error)
    views.services().callers.forget(user_id)
    return _done(f"The suspicion of {target.alias} is reset, with their workers'.")


@bp.post("/moderation/workers/<worker_id>/pause")
def pause_worker(worker_id: str):
    actor = _moderator()
    db = views.db()
    paused = request.form.get("paused") == "1"
    try:
        worker = worker_admin.find(db, worker_id=worker_id)
        worker_admin.modify(db, actor, worker, {"paused": paused})
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"Worker {worker.name} is {'paused' if paused else 'running again'}.")


@bp.post("/moderation/workers/<worker_id>/block")
def block_worker_ip(worker_id: str):
    _moderator()
    try:
        days = _whole(request.form.get("days", ""), 1, ip_blocks.MAX_DAYS, "Days")
        ip_blocks.block(views.db(), worker_id, days, utcnow())
    except errors.HordeError as error:
        return _refused(error)
    return _done(f"The worker's IP address is in timeout for {days} days.", rules_changed=True)


@bp.post("/moderation/modes")
def change_modes():
    actor = _moderator()
    wanted = {flag: request.form.get(flag) == "1" for flag in ("invite_only_mode", "raid_mode")}
    try:
        horde_modes.change(views.db(), actor, views.services().settings.admins, wanted)
    except errors.HordeError as error:
        return _refused(error)
    return _done("The horde's modes are changed.")


def _whole(text: str, low: int, high: int, what: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise errors.BadRequest(f"{what} must be a whole number from {low} to {high}.")
    return value
