"""Worker check-in on pop: registration, ownership, admission rules, bookkeeping, uptime."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from horde.domain import aliases, errors, profanity
from horde.domain import model_reference as ref
from horde.domain.accounts import ledger
from horde.domain.workers import bridges
from horde.domain.workers.matching import IMAGE_FAST_SPEED, WorkerProfile
from horde.models import User, Worker

CHECK_IN_DEBOUNCE = dt.timedelta(seconds=30)
ONLINE_WINDOW = dt.timedelta(seconds=300)
UPTIME_REWARD_EVERY = 600
FORBIDDEN_NAME_PARTS = ("colab", "tpu", "google")
_TAGS = re.compile(r"<[^>]*>")
MAX_IMAGE_MODELS, MAX_TEXT_MODELS = 300, 200
NAME_MAX = 100
# What a worker may declare it can do: at least 1, at most a sane maximum (a text worker
# with max_length -1 or 10^12 is a bug or a probe, not a worker).
MAX_PIXELS = 16384 * 16384
MAX_LENGTH = 65536  # tokens per generation
MAX_CONTEXT_LENGTH = 4 * 1024 * 1024  # tokens of context
MAX_BLACKLIST, MAX_SOFTPROMPTS = 200, 200


def clean_name(name: str) -> str:
    cleaned = _TAGS.sub("", name or "").strip()
    if not cleaned:
        raise errors.BadRequest("A worker needs a name.")
    return cleaned


def priority_user_ids(names: list[str]) -> tuple[int, ...]:
    ids = []
    for alias in names:
        user_id = aliases.alias_id(alias)
        if user_id is None:
            raise errors.InvalidPriorityUsername(f"Priority username '{alias[:100]}' must be an alias such as name#1.")
        ids.append(user_id)
    return tuple(ids)


def accepted_image_models(declared: list[str], owner: User) -> list[str]:
    models = []
    for name in declared[:MAX_IMAGE_MODELS]:
        if "::" in name:
            if not owner.special or name.split("::", 1)[1] != owner.alias:
                raise errors.BadRequest(f"Model '{name}' can only be served by {name.split('::', 1)[1]}.")
            models.append(name)
        elif ref.is_known_image_model(name) or owner.customizer:
            models.append(name)
    if not models:
        raise errors.BadRequest(
            "This horde cannot accept workers serving unrecognised models. Known models are listed in the model reference."
        )
    return models


def accepted_text_models(declared: list[str], owner: User) -> list[str]:
    models = []
    for name in declared[:MAX_TEXT_MODELS]:
        name = _TAGS.sub("", name).strip()[:100]
        if "::" in name and name.split("::", 1)[1] != owner.alias:
            raise errors.BadRequest(f"Model '{name}' can only be served by {name.split('::', 1)[1]}.")
        if name:
            models.append(name)
    if not models:
        raise errors.BadRequest("A text worker must declare at least one model.")
    return models


MAX_ALCHEMY_FORMS = 100
ALCHEMY_FAST_SPEED = 0.1  # forms per second: an alchemist is fast under 10 s a form (§4.4)
ALCHEMY_UPTIME_REWARD = 40


def accepted_forms(declared: list[str]) -> list[str]:
    """The forms an alchemist can do; none declared means caption (behaviour §4.3)."""
    forms = list(dict.fromkeys(f.strip()[:100] for f in declared[:MAX_ALCHEMY_FORMS] if f and f.strip()))
    return forms or ["caption"]


def _accepted_models(declared: list[str], owner: User, kind: str) -> list[str]:
    if kind == "image":
        return accepted_image_models(declared, owner)
    if kind == "interrogation":
        return accepted_forms(declared)
    return accepted_text_models(declared, owner)


def _own_worker(session: Session, owner: User, name: str, kind: str) -> Worker | None:
    """The worker called `name` (ignoring case), if it is `owner`'s and of this kind."""
    worker = session.scalar(select(Worker).where(Worker.name_lower == name.lower()))
    if worker is not None and worker.worker_type != kind:
        raise errors.PolymorphicNameConflict()
    if worker is not None and worker.owner_id != owner.id:
        raise errors.WrongCredentials()
    return worker


def _admit_new_worker(session: Session, owner: User, name: str, bridge_agent: str, ipaddr: str, modes) -> None:
    lowered = name.lower()
    if any(part in lowered for part in FORBIDDEN_NAME_PARTS):
        raise errors.BadRequest("Worker names may not contain 'colab', 'tpu' or 'google'.")
    if profanity.is_profane(name):
        raise errors.ProfaneWorkerName()
    if profanity.is_profane(bridge_agent):
        raise errors.ProfaneBridgeAgent()
    count = session.scalar(select(func.count()).select_from(Worker).where(Worker.owner_id == owner.id)) or 0
    if modes.invite_only_mode and count >= owner.worker_invited:
        raise errors.WorkerInviteOnly()
    if not owner.trusted and count > 3:
        raise errors.TooManyWorkers()
    if count > 20 and count > owner.worker_invited:
        raise errors.TooManyWorkersTrusted()
    same_ip = session.scalar(
        select(func.count()).select_from(Worker).where(Worker.owner_id == owner.id, Worker.ipaddr == ipaddr)
    ) or 0
    if same_ip > (20 if owner.trusted else 3) and same_ip > owner.worker_invited:
        raise errors.TooManySameIPs()


def check_in(
    session: Session, owner: User, body: dict, kind: str, ipaddr: str, modes, now: dt.datetime
) -> tuple[Worker, list[str], bool]:
    """Find or register the popping worker and record its check-in.

    Returns the worker, the models this pop may serve, and whether the worker just came
    online (so uptime restarts). Raises the admission errors of spec/api.md §3.4.
    """
    if owner.is_anonymous:
        raise errors.AnonForbiddenWorker()
    if owner.deleted:
        raise errors.DeletedUser()
    if owner.flagged:
        raise errors.WorkerFlaggedMaintenance()
    name = clean_name(body["name"])[:NAME_MAX]
    bridge_agent = _TAGS.sub("", body.get("bridge_agent") or "unknown:0:unknown")[:1000]
    worker = _own_worker(session, owner, name, kind)
    declared = list(body.get("forms" if kind == "interrogation" else "models") or [])
    models = _accepted_models(declared, owner, kind)
    if worker is None:
        _admit_new_worker(session, owner, name, bridge_agent, ipaddr, modes)
        worker = Worker(
            id=str(uuid.uuid4()), name=name, name_lower=name.lower(), worker_type=kind, owner_id=owner.id,
            created=now, last_check_in=now, models=[], blacklist=[], softprompts=[],
        )
        session.add(worker)
        try:
            session.flush()  # column defaults (counters) are filled in
        except IntegrityError:
            # The same name registered by a concurrent first pop: nothing else was written yet.
            session.rollback()
            worker = _own_worker(session, owner, name, kind)
            if worker is None:
                raise errors.WorkerNameAlreadyExists() from None
        fresh = True
    else:
        fresh = now - worker.last_check_in >= CHECK_IN_DEBOUNCE
    if fresh:
        _record_check_in(session, worker, owner, body, models, bridge_agent, ipaddr, now)
    return worker, models, fresh


def _record_check_in(session, worker: Worker, owner: User, body: dict, models, bridge_agent, ipaddr, now) -> None:
    was_online = now - worker.last_check_in < ONLINE_WINDOW
    if was_online and not worker.paused and not worker.maintenance:
        worker.uptime += int((now - worker.last_check_in).total_seconds())
        if worker.uptime - worker.last_reward_uptime > UPTIME_REWARD_EVERY:
            reward_uptime(session, worker, owner, models, body)
            worker.last_reward_uptime = worker.uptime
    else:
        worker.last_reward_uptime = worker.uptime
    worker.last_check_in = now
    worker.ipaddr = ipaddr
    worker.bridge_agent = bridge_agent
    worker.threads = int(body.get("threads", 1))
    worker.models = models
    worker.nsfw = bool(body.get("nsfw", True))
    worker.blacklist = [w[:15] for w in (body.get("blacklist") or [])[:MAX_BLACKLIST]]
    worker.extra_slow = bool(body.get("extra_slow_worker", False))
    if worker.worker_type == "image":
        worker.max_pixels = int(body.get("max_pixels", 262144))
        for flag, default in (
            ("allow_img2img", True), ("allow_painting", True), ("allow_unsafe_ipaddr", True),
            ("allow_post_processing", True), ("allow_controlnet", False), ("allow_sdxl_controlnet", False),
            ("allow_lora", False), ("limit_max_steps", False),
        ):
            setattr(worker, flag, bool(body.get(flag, default)))
    elif worker.worker_type == "interrogation":
        worker.max_tiles = int(body.get("max_tiles", 80))
    else:
        worker.max_length = int(body.get("max_length", 512))
        worker.max_context_length = int(body.get("max_context_length", 2048))
        worker.softprompts = [s[:100] for s in (body.get("softprompts") or [])[:MAX_SOFTPROMPTS]]


def reward_uptime(session: Session, worker: Worker, owner: User, models: list[str], body: dict) -> None:
    """Kudos for each 10 minutes online (behaviour §2.9)."""
    if worker.worker_type == "image":
        reward = 50 + 2 * len(models) + (30 if body.get("allow_lora") else 0)
    elif worker.worker_type == "interrogation":
        reward = ALCHEMY_UPTIME_REWARD
    else:
        context = min(int(body.get("max_context_length", 2048)), 262144)
        base = 25 + 15 * context / 1024
        parameters = ref.text_model_parameters(models[0]) if models else None
        if parameters is None:
            reward = round(base * 0.5, 2)
        else:
            if not bridges.is_validated_text_backend(worker.bridge_agent):
                base *= 0.3
            reward = round(base * max(parameters / 7, 0.25), 2)
    worker.kudos_uptime += reward
    if owner.trusted or owner.is_anonymous or worker.worker_type == "interrogation":
        ledger.move_kudos(session, owner, reward, bucket="accumulated", reason="uptime")
    else:  # untrusted owners earn uptime into escrow (alchemists' owners excepted, §2.9)
        session.execute(
            update(User).where(User.id == owner.id).values(evaluating_kudos=User.evaluating_kudos + reward)
            .execution_options(synchronize_session=False)
        )


def profile(worker: Worker, owner_id: int, owner_trusted: bool, models: list[str], body: dict, kind: str) -> WorkerProfile:
    """The matching profile for this pop (what the worker declared now, plus stored state)."""
    bridge = bridges.parse(worker.bridge_agent if body.get("bridge_agent") is None else body.get("bridge_agent"))
    if kind == "image" and "flux" not in bridge.capabilities:
        models = [m for m in models if ref.image_baseline(m) != ref.FLUX]
    speed = worker.speed
    if kind == "image":
        fast = speed is None or speed >= IMAGE_FAST_SPEED
    elif kind == "interrogation":
        fast = speed is None or speed >= ALCHEMY_FAST_SPEED
    else:
        fast = speed is None or speed >= text_fast_threshold(models)
    common = dict(
        id=worker.id, name=worker.name, kind=kind, owner_id=owner_id, owner_trusted=owner_trusted,
        models=tuple(models), bridge=bridge, nsfw=bool(body.get("nsfw", True)),
        blacklist=tuple(w.lower() for w in (body.get("blacklist") or [])[:200] if w),
        extra_slow=bool(body.get("extra_slow_worker", False)), fast=fast, maintenance=worker.maintenance,
        paused=worker.paused, require_upfront_kudos=bool(body.get("require_upfront_kudos", False)),
        priority_user_ids=(owner_id, *priority_user_ids(body.get("priority_usernames") or [])),
        threads=int(body.get("threads", 1)),
    )
    if kind == "image":
        return WorkerProfile(
            **common, max_pixels=int(body.get("max_pixels", 262144)),
            allow_img2img=bool(body.get("allow_img2img", True)) and "img2img" in bridge.capabilities,
            allow_painting=bool(body.get("allow_painting", True)) and "inpainting" in bridge.capabilities,
            allow_unsafe_ipaddr=bool(body.get("allow_unsafe_ipaddr", True)),
            allow_post_processing=bool(body.get("allow_post_processing", True)),
            allow_controlnet=bool(body.get("allow_controlnet", False)),
            allow_sdxl_controlnet=bool(body.get("allow_sdxl_controlnet", False)),
            allow_lora=bool(body.get("allow_lora", False)),
            limit_max_steps=bool(body.get("limit_max_steps", False)),
        )
    if kind == "interrogation":
        return WorkerProfile(**common, max_tiles=int(body.get("max_tiles", 80)))
    return WorkerProfile(
        **common, max_length=int(body.get("max_length", 512)),
        max_context_length=int(body.get("max_context_length", 2048)),
        validated_backend=bridges.is_validated_text_backend(body.get("bridge_agent") or worker.bridge_agent),
        softprompts=tuple(body.get("softprompts") or ()),
    )


def text_fast_threshold(models: list[str]) -> float:
    """Tokens per second a text worker needs to count as fast, by its first model's size."""
    if not models:
        return 3.0
    parameters = ref.text_model_parameters(models[0]) or 0
    return 3.0 if parameters >= 20 else 4.0 if parameters >= 13 else 5.0


def stored_profile(worker: Worker, owner_trusted: bool) -> WorkerProfile:
    """A profile from what the worker declared at its last check-in (for is_possible)."""
    body = {
        "nsfw": worker.nsfw, "blacklist": worker.blacklist, "extra_slow_worker": worker.extra_slow,
        "bridge_agent": worker.bridge_agent, "threads": worker.threads, "max_pixels": worker.max_pixels,
        "allow_img2img": worker.allow_img2img, "allow_painting": worker.allow_painting,
        "allow_unsafe_ipaddr": worker.allow_unsafe_ipaddr, "allow_post_processing": worker.allow_post_processing,
        "allow_controlnet": worker.allow_controlnet, "allow_sdxl_controlnet": worker.allow_sdxl_controlnet,
        "allow_lora": worker.allow_lora, "limit_max_steps": worker.limit_max_steps,
        "max_length": worker.max_length, "max_context_length": worker.max_context_length,
        "softprompts": worker.softprompts, "max_tiles": worker.max_tiles,
    }
    return profile(worker, worker.owner_id, owner_trusted, list(worker.models or []), body, worker.worker_type)
