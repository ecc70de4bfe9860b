"""The moderators' prompt filters (spec/api.md §6.6): list, add, change, delete, and the
prompt test. Every change moves the filters' version in the same transaction, so every
node recompiles within seconds (`live_rules`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from horde.db import utcnow
from horde.domain import errors
from horde.domain.moderation import prompt_check
from horde.models import HORDE_STATE_ID, HordeState, PromptFilter, User

EDITABLE = ("regex", "filter_type", "description", "replacement")
EXPLAINED_TYPES = {
    prompt_check.YOUTH: "10: youth (its replacement is used by the replacement filter)",
    prompt_check.YOUTH_EXTRA: "11: youth, more",
    prompt_check.SEXUAL: "20: sexual content",
}


def details(session: Session, row: PromptFilter) -> dict[str, Any]:
    editor = session.get(User, row.user_id) if row.user_id is not None else None
    return {
        "id": str(row.id),
        "regex": row.regex,
        "filter_type": row.filter_type,
        "description": row.description,
        "replacement": row.replacement or "",
        "user": editor.alias if editor is not None else "",
    }


def listing(session: Session, filter_type: int | None, contains: str | None) -> list[PromptFilter]:
    query = select(PromptFilter).order_by(PromptFilter.id)
    if filter_type is not None:
        query = query.where(PromptFilter.filter_type == filter_type)
    rows = list(session.scalars(query))
    if contains:  # in the regex or the description, case-insensitively
        needle = contains.lower()
        rows = [r for r in rows if needle in r.regex.lower() or needle in (r.description or "").lower()]
    return rows


def get(session: Session, filter_id: str) -> PromptFilter:
    row = session.get(PromptFilter, int(filter_id)) if filter_id.isdigit() and len(filter_id) < 19 else None
    if row is None:
        raise errors.FilterNotFound(f"Filter with ID '{filter_id}' not found.")
    return row


def _checked(filter_type: Any, regex: Any) -> None:
    if not isinstance(filter_type, int) or filter_type not in prompt_check.FILTER_TYPES:
        raise errors.ValidationFailed(errors={"filter_type": f"{filter_type!r} must be an integer from 10 to 29"})
    if not isinstance(regex, str) or not regex.strip():
        raise errors.ValidationFailed(errors={"regex": "A filter needs a regex."})
    prompt_check.compile_regex(regex)


def bump_version(session: Session) -> None:
    session.execute(
        update(HordeState).where(HordeState.id == HORDE_STATE_ID).values(filters_version=HordeState.filters_version + 1)
        .execution_options(synchronize_session=False)
    )


def add(session: Session, actor: User | None, regex: str, filter_type: int, description: str | None, replacement: str | None) -> PromptFilter:
    """A new filter; the same regex of the same type again returns the existing one.
    `actor` None: the operator, loading a list (`horde filters import`)."""
    _checked(filter_type, regex)
    existing = session.scalar(
        select(PromptFilter).where(PromptFilter.regex == regex, PromptFilter.filter_type == filter_type).limit(1)
    )
    if existing is not None:
        return existing
    now = utcnow()
    row = PromptFilter(
        regex=regex, filter_type=filter_type, description=description, replacement=replacement or "",
        user_id=actor.id if actor is not None else None, created=now, updated=now,
    )
    session.add(row)
    bump_version(session)
    session.flush()
    return row


def modify(session: Session, actor: User, row: PromptFilter, changes: dict[str, Any]) -> PromptFilter:
    present = {k: v for k, v in changes.items() if k in EDITABLE and v is not None}
    if not present:
        raise errors.NoFilterModSelected()
    _checked(present.get("filter_type", row.filter_type), present.get("regex", row.regex))
    for name, value in present.items():
        setattr(row, name, value)
    row.user_id, row.updated = actor.id, utcnow()
    bump_version(session)
    session.flush()
    return row


def delete(session: Session, row: PromptFilter) -> None:
    session.delete(row)
    bump_version(session)
    session.flush()


def test_prompt(filters: prompt_check.FilterSet, prompt: str, filter_type: int | None) -> dict[str, Any]:
    """POST /filters: how suspicious a prompt is, and what matched (suspicion 2 is refused)."""
    normalised = prompt_check.normalise(prompt)
    if filter_type:
        found = filters.matches(filter_type, normalised.text)
        if filter_type == prompt_check.YOUTH and normalised.youth_emoji and not found:
            found = ["(child emoji)"]
        return {"suspicion": str(int(bool(found))), "matches": found}
    suspicion, found = filters.score(normalised)
    return {"suspicion": str(suspicion), "matches": found}


def combined_regexes(session: Session, filter_type: int | None) -> list[dict[str, Any]]:
    """GET /filters/regex: per type, the one regex requests are matched against."""
    by_type: dict[int, list[str]] = {}
    for row in listing(session, filter_type, None):
        by_type.setdefault(row.filter_type, []).append(row.regex)
    return [
        {"filter_type": kind, "regex": prompt_check.combined_pattern(regexes)}
        for kind, regexes in sorted(by_type.items())
    ]
