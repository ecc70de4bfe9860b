"""Collections (spec/api.md §6.8): curated lists of styles of one kind. Any registered user
may make one; its owner changes it, the owner or a moderator deletes it. A request may name
a collection as its `style`: one of its styles is picked at random (styles.apply)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.domain.community import styles
from horde.models import Collection, CollectionStyle, Style, User

COLLECTIONS_PER_USER = 50
MAX_STYLES = 100
FIELDS = ("name", "info", "public", "styles")


def get(session: Session, collection_id: str) -> Collection:
    collection = session.get(Collection, collection_id) if len(collection_id) == 36 else None
    if collection is None:
        raise errors.CollectionNotFound(f"Collection with ID '{collection_id}' not found.")
    return collection


def by_name(session: Session, reference: str) -> Collection:
    found = styles.find_collection_by_name(session, reference)
    if found is None:
        raise errors.CollectionNotFound(f"Collection '{reference}' not found.")
    return found


def _resolve_styles(session: Session, references: list[str]) -> tuple[list[Style], str]:
    """The styles named (ids or names), which must all be of one kind."""
    found: list[Style] = []
    for reference in dict.fromkeys(references):
        style = session.get(Style, reference) if len(reference) == 36 else None
        style = style or styles.find_by_name(session, reference)
        if style is None:
            raise errors.StyleNotFound(f"Style '{reference}' not found.")
        found.append(style)
    kinds = {s.kind for s in found}
    if len(kinds) != 1:  # StyleMismatch upstream, sent as BadRequest
        raise errors.BadRequest("A collection holds styles of one kind only (image or text).")
    return found, kinds.pop()


def _check_name(session: Session, owner_id: int, name: str, except_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise errors.ValidationFailed(errors={"name": "a collection needs a name"})
    query = select(Collection.id).where(Collection.user_id == owner_id, Collection.name == name)
    if except_id:
        query = query.where(Collection.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise errors.BadRequest(f"You already have a collection named '{name}'.")
    return name


def _set_styles(session: Session, collection: Collection, members: list[Style]) -> None:
    session.execute(sql_delete(CollectionStyle).where(CollectionStyle.collection_id == collection.id))
    session.add_all(CollectionStyle(collection_id=collection.id, style_id=s.id, position=i) for i, s in enumerate(members))


def create(session: Session, actor: User, body: dict[str, Any], now: dt.datetime) -> Collection:
    if actor.is_anonymous:
        raise errors.StylesAnonForbidden()
    if actor.deleted:
        raise errors.DeletedUser()
    owned = session.scalar(select(func.count()).select_from(Collection).where(Collection.user_id == actor.id)) or 0
    if owned >= COLLECTIONS_PER_USER and not actor.moderator:
        raise errors.Forbidden(f"You cannot have more than {COLLECTIONS_PER_USER} collections.")
    members, kind = _resolve_styles(session, body["styles"])
    collection = Collection(
        id=str(uuid.uuid4()), kind=kind, user_id=actor.id, name=_check_name(session, actor.id, body["name"]),
        info=body.get("info"), public=body.get("public", True), use_count=0, created=now, updated=now,
    )
    session.add(collection)
    session.flush()
    _set_styles(session, collection, members)
    session.flush()
    return collection


def _check_owner(actor: User, collection: Collection, moderator_too: bool) -> None:
    if actor.is_anonymous:
        raise errors.StylesAnonForbidden()
    if actor.id != collection.user_id and not (moderator_too and actor.moderator):
        raise errors.NotOwner("Only the owner of this collection can change it." if not moderator_too
                              else "Only the owner of this collection or a moderator can do this.")


def modify(session: Session, actor: User, collection: Collection, body: dict[str, Any], now: dt.datetime) -> None:
    _check_owner(actor, collection, moderator_too=False)
    changes = {k: v for k, v in body.items() if k in FIELDS and v is not None}
    if not changes:
        raise errors.NoValidActions("No collection modification selected!")
    if "name" in changes:
        collection.name = _check_name(session, collection.user_id, changes["name"], except_id=collection.id)
    for field in ("info", "public"):
        if field in changes:
            setattr(collection, field, changes[field])
    if "styles" in changes:
        members, kind = _resolve_styles(session, changes["styles"])
        if kind != collection.kind:
            raise errors.BadRequest(f"This collection holds {collection.kind} styles.")
        _set_styles(session, collection, members)
    collection.updated = now
    session.flush()


def delete(session: Session, actor: User, collection: Collection) -> None:
    _check_owner(actor, collection, moderator_too=True)
    session.delete(collection)
    session.flush()


def view(session: Session, collection: Collection) -> dict[str, Any]:
    """`ResponseModelCollection`."""
    members = session.execute(
        select(Style.name, Style.id).join(CollectionStyle, CollectionStyle.style_id == Style.id)
        .where(CollectionStyle.collection_id == collection.id).order_by(CollectionStyle.position)
    ).all()
    return {
        "id": collection.id, "name": collection.name, "type": collection.kind, "info": collection.info,
        "public": collection.public, "styles": [{"name": name, "id": style_id} for name, style_id in members],
        "use_count": collection.use_count,
    }


def listing(session: Session, *, page: int, sort: str, kind: str) -> list[Collection]:
    """Public collections, 25 a page, most used first (`popular`) or oldest first (`age`)."""
    if page > styles.MAX_PAGE:
        return []
    query = select(Collection).where(Collection.public.is_(True))
    if kind in styles.KINDS:
        query = query.where(Collection.kind == kind)
    order = (Collection.created, Collection.id) if sort == "age" else (Collection.use_count.desc(), Collection.created, Collection.id)
    return list(session.scalars(query.order_by(*order).offset((page - 1) * styles.PAGE_SIZE).limit(styles.PAGE_SIZE)))
