"""Per-request access to the application's services and the caller's identity."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.orm import Session

from horde.api.validation import missing_header
from horde.db import utcnow
from horde.domain.accounts import apikeys, sharedkeys
from horde.models import User
from horde import sibling
from horde.services import Services

APIKEY_HELP = "The API Key corresponding to a registered user."


def services() -> Services:
    return current_app.extensions["horde"]


def session() -> Session:
    return services().db.session()


def sibling_answer(kind: str, route: str, **params: str):
    """The sibling horde's answer to a question about the kind it serves and we do not
    (horde/sibling.py); None without a sibling, for our own kind, or when asked by a sibling."""
    svc = services()
    if svc.sibling is None or kind == svc.settings.mode.value or request.headers.get(sibling.HEADER):
        return None
    svc.db.remove()  # no database connection held while the sibling is asked (docs/serving.md)
    return svc.sibling.get(route, **params)


def client_ip() -> str:
    return request.remote_addr or "0.0.0.0"


def client_agent() -> str:
    return request.headers.get("Client-Agent", "unknown:0:unknown")[:1000]


def caller(required: bool = True, recent: bool = False) -> User | None:
    """The user of the `apikey` header. Missing: a validation error when required.

    `recent=True` (the generation routes) accepts a snapshot up to a few seconds old."""
    if "caller" in g:
        return g.caller
    api_key = sent_apikey()
    if not api_key:
        if required:
            raise missing_header("apikey", APIKEY_HELP)
        return None
    svc = services()
    if recent:
        user = svc.callers.find(session(), svc.hasher, api_key)
    else:
        user = apikeys.find_by_api_key(session(), svc.hasher, api_key)
    g.caller = user
    return user


def sent_apikey() -> str | None:
    """The caller's key: the `apikey` header, or what a route read elsewhere (the OpenAI
    routes' `Authorization: Bearer`) and set as `g.apikey`."""
    return g.get("apikey") or request.headers.get("apikey")


def require_apikey() -> str:
    api_key = sent_apikey()
    if not api_key:
        raise missing_header("apikey", APIKEY_HELP)
    return api_key


def requester(style_key_id: str | None = None, allow_downgrade: bool = False) -> sharedkeys.Requester:
    """Who pays for a generation request: the `apikey` header's user, or a shared key's owner
    (sharedkeys.resolve, the one place every kind's admission turns a key into a payer)."""
    svc = services()
    found = sharedkeys.resolve(
        session(), svc.hasher, svc.callers, require_apikey(), utcnow(),
        style_key_id=style_key_id, allow_downgrade=allow_downgrade,
    )
    g.caller = found.user
    return found


def commit_rule_change(db: Session) -> dict:
    """Commit a change to the filters or IP timeouts: this node reloads them now, the others
    within seconds (horde.domain.moderation.live_rules)."""
    db.commit()
    services().rules.changed(services().cache)
    return {"message": "OK"}
