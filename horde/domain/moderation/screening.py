"""What every new generation request passes (spec/behaviour.md §1.3 steps 12-13): the
client's IP is not in timeout, and the prompt gets past the filters (§7.2).

A prompt refused by the filters costs its sender: the prompt is archived for the
moderators, the user gets a CORRUPT_PROMPT suspicion and the IP a growing timeout
(moderators are refused without consequences, to test filters in place).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.moderation import ip_timeouts, prompt_check, suspicion
from horde.models import User

if TYPE_CHECKING:
    from horde.services import Services

log = logging.getLogger(__name__)


def ensure_ip_allowed(svc: "Services", ipaddr: str, now: dt.datetime) -> None:
    ip_timeouts.ensure_not_timed_out(svc.rules.timeouts(svc.db, svc.cache), ipaddr, now)


def screened_prompt(
    session: Session, svc: "Services", user: User, *, kind: str, prompt: str, models: list[str],
    replacement_filter: bool, ipaddr: str, now: dt.datetime,
) -> str:
    """The prompt workers may get (perhaps rewritten), or `CorruptPrompt`."""
    ensure_ip_allowed(svc, ipaddr, now)
    verdict = prompt_check.screen(
        svc.rules.filters(svc.db, svc.cache), prompt, models=models, replacement_filter=replacement_filter,
        flagged=user.flagged, education=user.education, moderator=user.moderator, score_filters=kind == "image",
    )
    if not verdict.refused:
        return verdict.prompt
    if verdict.punish:
        punish_corrupt_prompt(session, svc, user, prompt, ipaddr, now)
    raise errors.CorruptPrompt()


def punish_corrupt_prompt(session: Session, svc: "Services", user: User, prompt: str, ipaddr: str, now: dt.datetime) -> None:
    _archive(svc, user, prompt, ipaddr, now)
    suspicion.record_user(session, user.id, suspicion.CORRUPT_PROMPT)
    ip_timeouts.punish_corrupt_prompt(session, ipaddr, now)
    session.commit()
    svc.rules.changed(svc.cache)


def _archive(svc: "Services", user: User, prompt: str, ipaddr: str, now: dt.datetime) -> None:
    record = {"user": user.alias, "user_id": user.id, "ipaddr": ipaddr, "prompt": prompt, "at": now.isoformat() + "Z"}
    try:
        svc.store.put(f"corrupt-prompt-{uuid.uuid4()}.json", json.dumps(record).encode())
    except Exception:  # the refusal and its consequences must not depend on the store
        log.exception("could not archive a corrupt prompt")
