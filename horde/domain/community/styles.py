"""Styles (spec/api.md §6.8, behaviour §2.11): named prompt templates with params and models,
image or text, with example images (image). Created by customizers and trusted users,
changed by their owner, deleted by the owner or a moderator; `apply` puts one on a request.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from horde.domain import aliases, errors
from horde.domain.accounts import sharedkeys
from horde.domain.queue.generation import StyleUse
from horde.models import Collection, CollectionStyle, SharedKey, Style, StyleExample, User

KINDS = ("image", "text")
PAGE_SIZE = 25
MAX_PAGE = 10000
STYLES_PER_USER = 50  # of each kind; moderators have no limit
MAX_EXAMPLES = 4
# Request params a style never sets (spec/api.md §6.8), and those the request keeps.
NOT_STYLE_PARAMS = {
    "image": ("n", "seed", "seed_variation", "control_type", "image_is_control", "return_control_map", "extra_texts"),
    "text": ("n", "max_length", "max_context_length"),
}
KEPT_FROM_REQUEST = {"image": ("n",), "text": ("n", "max_length", "max_context_length")}
SIZE_PARAMS = ("width", "height")  # the request's, when the style has none
PROMPT_VARIABLES = {"image": ("{p}", "{np}"), "text": ("{p}",)}
DEFAULT_PROMPT = {"image": "{p}{np}", "text": "{p}"}
NAME_SEPARATOR = "::"


# --- lookups -------------------------------------------------------------------------------
def _csv(values: list[str]) -> str:
    return f",{','.join(values)}," if values else ""


def get(session: Session, style_id: str, kind: str | None = None) -> Style:
    """A style by id; of another kind than the route's: BadRequest (StyleGetMistmatch upstream)."""
    style = session.get(Style, style_id) if len(style_id) == 36 else None
    if style is None:
        raise errors.StyleNotFound(f"Style with ID '{style_id}' not found.")
    if kind is not None and style.kind != kind:
        raise errors.BadRequest(f"Style '{style_id}' is a {style.kind} style, not a {kind} style.")
    return style


def split_name(reference: str) -> tuple[int | None, str]:
    """`alias::style::name`, `style::name`, `alias::name` or a bare name -> (owner id, name)."""
    parts = reference.split(NAME_SEPARATOR)
    if len(parts) >= 3 and parts[1] == "style":
        return aliases.alias_id(parts[0]), NAME_SEPARATOR.join(parts[2:])
    if len(parts) == 2:
        if parts[0] == "style":
            return None, parts[1]
        owner = aliases.alias_id(parts[0])
        if owner is not None:
            return owner, parts[1]
    return None, reference


def find_by_name(session: Session, reference: str, kind: str | None = None) -> Style | None:
    owner_id, name = split_name(reference)
    query = select(Style).where(Style.name == name)
    if owner_id is not None:
        query = query.where(Style.user_id == owner_id)
    if kind is not None:
        query = query.where(Style.kind == kind)
    # A bare name may be several users' style: the public one used most, then the oldest.
    return session.scalars(query.order_by(Style.public.desc(), Style.use_count.desc(), Style.created).limit(1)).first()


def by_name(session: Session, reference: str, kind: str) -> Style:
    style = find_by_name(session, reference)
    if style is None:
        raise errors.StyleNotFound(f"Style '{reference}' not found.")
    if style.kind != kind:
        raise errors.BadRequest(f"Style '{reference}' is a {style.kind} style, not a {kind} style.")
    return style


# --- applying a style to a request ---------------------------------------------------------
def render_prompt(template: str, prompt: str, kind: str) -> str:
    """The style's template with the request's prompt (`{p}`) and negative prompt (`{np}`)."""
    if kind == "text":
        return template.replace("{p}", prompt)
    positive, _, negative = prompt.partition("###")
    if negative and "###" not in template:
        negative = f"###{negative}"
    result = template.replace("{p}", positive).replace("{np}", negative).strip()
    return result[:-3].rstrip() if result.endswith("###") else result


def _pick(session: Session, reference: str, kind: str, rng: random.Random) -> tuple[Style | None, str | None]:
    """The style a request names: a style by id or name, or a random style of a collection."""
    if len(reference) == 36:
        style = session.get(Style, reference)
        if style is not None:
            return style, None
        collection = session.get(Collection, reference)
    else:
        style = find_by_name(session, reference, kind) or find_by_name(session, reference)
        if style is not None:
            return style, None
        collection = find_collection_by_name(session, reference)
    if collection is None:
        return None, None
    members = list(session.scalars(
        select(Style).join(CollectionStyle, CollectionStyle.style_id == Style.id)
        .where(CollectionStyle.collection_id == collection.id).order_by(CollectionStyle.position)
    ))
    return (rng.choice(members) if members else None), collection.id


def find_collection_by_name(session: Session, reference: str) -> Collection | None:
    owner_id, name = split_name(reference)
    query = select(Collection).where(Collection.name == name)
    if owner_id is not None:
        query = query.where(Collection.user_id == owner_id)
    return session.scalars(query.order_by(Collection.public.desc(), Collection.created).limit(1)).first()


def apply(session: Session, kind: str, body: dict, rng: random.Random | None = None) -> StyleUse | None:
    """Put the style (or a collection's random style) named by `body["style"]` on the request
    body: its prompt template, params (the request keeps `n`, and its size where the style
    has none) and models. None when the request names no style."""
    reference = body.get("style")
    if not reference:
        return None
    style, collection_id = _pick(session, reference, kind, rng or random.Random())
    if style is None:
        raise errors.StyleNotFound(f"Style '{reference}' not found.")
    if style.kind != kind:
        raise errors.BadRequest(f"Style '{reference}' is a {style.kind} style; this horde serves {kind} requests.")
    requested = dict(body.get("params") or {})
    params = dict(style.params or {})
    for name in KEPT_FROM_REQUEST[kind]:
        if name in requested:
            params[name] = requested[name]
    if kind == "image":
        for name in SIZE_PARAMS:
            if name not in params and name in requested:
                params[name] = requested[name]
    body["params"] = params
    body["prompt"] = render_prompt(style.prompt, body.get("prompt") or "", kind)
    body["models"] = list(style.models or [])
    return StyleUse(style_id=style.id, owner_id=style.user_id, sharedkey_id=style.sharedkey_id, collection_id=collection_id)


# --- creating and changing ------------------------------------------------------------------
def check_may_create(actor: User) -> None:
    if actor.is_anonymous:
        raise errors.StylesAnonForbidden()
    if actor.deleted:
        raise errors.DeletedUser()
    if not (actor.customizer or actor.trusted or actor.moderator):
        raise errors.StylesRequiresCustomizer()


def _check_owner(actor: User, owner_id: int, moderator_too: bool) -> None:
    if actor.is_anonymous:
        raise errors.StylesAnonForbidden()
    if actor.id != owner_id and not (moderator_too and actor.moderator):
        raise errors.NotOwner("Only the owner of this style can change it." if not moderator_too
                              else "Only the owner of this style or a moderator can do this.")


def _clean_params(kind: str, params: dict) -> dict:
    return {k: v for k, v in params.items() if k not in NOT_STYLE_PARAMS[kind] and v is not None}


def _check_prompt(kind: str, prompt: str) -> None:
    missing = [v for v in PROMPT_VARIABLES[kind] if v not in prompt]
    if missing:  # StylePromptMissingVars upstream, sent as BadRequest (spec/api.md §11.2)
        raise errors.BadRequest(f"The style prompt must contain {' and '.join(PROMPT_VARIABLES[kind])}; it lacks {', '.join(missing)}.")


def _check_name(session: Session, owner_id: int, kind: str, name: str, except_id: str | None = None) -> str:
    name = name.strip()
    if not name:
        raise errors.ValidationFailed(errors={"name": "a style needs a name"})
    query = select(Style.id).where(Style.user_id == owner_id, Style.kind == kind, Style.name == name)
    if except_id:
        query = query.where(Style.id != except_id)
    if session.scalar(query.limit(1)) is not None:
        raise errors.BadRequest(f"You already have a {kind} style named '{name}'.")
    return name


def _shared_key(session: Session, owner_id: int, key_id: str | None) -> str | None:
    if not key_id:
        return None
    valid = isinstance(key_id, str) and sharedkeys.is_shared_key_id(key_id)
    key = session.get(SharedKey, key_id.lower()) if valid else None
    if key is None or key.user_id != owner_id:  # SharedKeyInvalid upstream, sent as BadRequest
        raise errors.BadRequest("The shared key of a style must be one of your own shared keys.")
    return key.id


def _set_fields(session: Session, style: Style, body: dict[str, Any], kind: str) -> None:
    if "name" in body:
        style.name = _check_name(session, style.user_id, kind, body["name"], except_id=style.id)
    if "prompt" in body:
        _check_prompt(kind, body["prompt"])
        style.prompt = body["prompt"]
    if "params" in body:
        style.params = _clean_params(kind, dict(body["params"] or {}))
    if "models" in body:
        style.models = list(dict.fromkeys(body["models"]))
        style.models_csv = _csv(style.models)
    if "tags" in body:
        style.tags = list(dict.fromkeys(t.strip() for t in body["tags"]))
        style.tags_csv = _csv(style.tags)
    for flag in ("info", "public", "nsfw"):
        if flag in body:
            setattr(style, flag, body[flag])
    if "sharedkey" in body:
        style.sharedkey_id = _shared_key(session, style.user_id, body["sharedkey"])


def create(session: Session, actor: User, kind: str, body: dict[str, Any], now: dt.datetime) -> tuple[Style, list[dict]]:
    check_may_create(actor)
    owned = session.scalar(select(func.count()).select_from(Style).where(Style.user_id == actor.id, Style.kind == kind)) or 0
    if owned >= STYLES_PER_USER and not actor.moderator:
        raise errors.Forbidden(f"You cannot have more than {STYLES_PER_USER} {kind} styles.")
    body = {**body, "prompt": body.get("prompt") or DEFAULT_PROMPT[kind]}
    style = Style(
        id=str(uuid.uuid4()), kind=kind, user_id=actor.id, name="", prompt="", params={}, models=[], tags=[],
        models_csv="", tags_csv="", public=True, nsfw=False, use_count=0, created=now, updated=now,
    )
    _set_fields(session, style, body, kind)
    session.add(style)
    session.flush()
    return style, warnings(style)


def modify(session: Session, actor: User, style: Style, body: dict[str, Any], now: dt.datetime) -> list[dict]:
    _check_owner(actor, style.user_id, moderator_too=False)
    changes = {k: v for k, v in body.items() if k in STYLE_FIELDS and v is not None}
    if not changes:
        raise errors.NoValidActions("No style modification selected!")
    _set_fields(session, style, changes, style.kind)
    style.updated = now
    session.flush()
    return warnings(style)


STYLE_FIELDS = ("name", "info", "prompt", "params", "public", "nsfw", "tags", "models", "sharedkey")


def delete(session: Session, actor: User, style: Style) -> None:
    """Requests already queued with the style keep what it gave them."""
    _check_owner(actor, style.user_id, moderator_too=True)
    session.delete(style)
    session.flush()


def warnings(style: Style) -> list[dict]:
    """Hints that never refuse a style (the public horde's are model-reference checks)."""
    found = []
    if style.kind == "image" and not style.models:
        found.append({"code": "NoModels", "message": "This style names no model: requests will use any model."})
    return found


# --- views ----------------------------------------------------------------------------------
def view(session: Session, style: Style, viewer: User | None) -> dict[str, Any]:
    """`StyleStable` / `StyleKobold`; the shared key only for its owner (its id is a key)."""
    creator = session.get(User, style.user_id)
    data: dict[str, Any] = {
        "id": style.id, "name": style.name, "info": style.info, "prompt": style.prompt, "params": style.params or {},
        "public": style.public, "nsfw": style.nsfw, "tags": style.tags or [], "models": style.models or [],
        "creator": creator.alias if creator else None, "use_count": style.use_count,
    }
    if style.kind == "image":
        data["examples"] = [
            {"id": e.id, "url": e.url, "primary": e.primary}
            for e in session.scalars(select(StyleExample).where(StyleExample.style_id == style.id).order_by(StyleExample.created))
        ]
    if viewer is not None and viewer.id == style.user_id and style.sharedkey_id:
        key = session.get(SharedKey, style.sharedkey_id)
        if key is not None:
            data["sharedkey"] = key.id
            data["shared_key"] = sharedkeys.details(key, creator.alias if creator else "")
    return data


def listing(session: Session, kind: str, *, page: int, sort: str, tag: str | None, model: str | None) -> list[Style]:
    """Public styles, 25 a page, most used first (`popular`) or oldest first (`age`)."""
    if page > MAX_PAGE:
        return []
    query = select(Style).where(Style.kind == kind, Style.public.is_(True))
    if tag:
        query = query.where(Style.tags_csv.contains(f",{tag},", autoescape=True))
    if model:
        query = query.where(Style.models_csv.contains(f",{model},", autoescape=True))
    order = (Style.created, Style.id) if sort == "age" else (Style.use_count.desc(), Style.created, Style.id)
    return list(session.scalars(query.order_by(*order).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)))


# --- examples (image styles) ------------------------------------------------------------------
def get_example(session: Session, style: Style, example_id: str) -> StyleExample:
    example = session.get(StyleExample, example_id) if len(example_id) == 36 else None
    if example is None or example.style_id != style.id:
        raise errors.StyleExampleNotFound(f"Style example with ID '{example_id}' not found.")
    return example


def _check_example_url(session: Session, style: Style, url: str, except_id: str | None = None) -> None:
    if not url.startswith("https://"):
        raise errors.BadRequest("Example images must be https:// URLs.")
    query = select(StyleExample.id).where(StyleExample.style_id == style.id, StyleExample.url == url)
    if except_id:
        query = query.where(StyleExample.id != except_id)
    if session.scalar(query.limit(1)) is not None:  # ExampleURLAlreadyInUse upstream, sent as BadRequest
        raise errors.BadRequest("This style already has an example with this URL.")


def _make_primary(session: Session, style: Style, example: StyleExample) -> None:
    for other in session.scalars(select(StyleExample).where(StyleExample.style_id == style.id, StyleExample.id != example.id)):
        other.primary = False
    example.primary = True


def add_example(session: Session, actor: User, style: Style, url: str, primary: bool, now: dt.datetime) -> StyleExample:
    _check_owner(actor, style.user_id, moderator_too=True)
    if style.kind != "image":
        raise errors.BadRequest("Only image styles have examples.")
    count = session.scalar(select(func.count()).select_from(StyleExample).where(StyleExample.style_id == style.id)) or 0
    if count >= MAX_EXAMPLES:  # TooManyStyleExamples upstream, sent as Forbidden
        raise errors.Forbidden(f"A style has at most {MAX_EXAMPLES} examples.")
    _check_example_url(session, style, url)
    example = StyleExample(id=str(uuid.uuid4()), style_id=style.id, url=url, primary=False, created=now)
    session.add(example)
    session.flush()
    if primary:
        _make_primary(session, style, example)
    session.flush()
    return example


def modify_example(session: Session, actor: User, style: Style, example: StyleExample, url: str | None, primary: bool | None) -> None:
    _check_owner(actor, style.user_id, moderator_too=True)
    if url is None and primary is None:
        raise errors.NoValidActions("No example modification selected!")
    if url is not None:
        _check_example_url(session, style, url, except_id=example.id)
        example.url = url
    if primary:
        _make_primary(session, style, example)
    elif primary is False:
        example.primary = False
    session.flush()


def delete_example(session: Session, actor: User, style: Style, example: StyleExample) -> None:
    _check_owner(actor, style.user_id, moderator_too=True)
    session.delete(example)
    session.flush()
