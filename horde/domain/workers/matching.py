"""Which queued requests a worker may take (spec/behaviour.md §1.10.4).

Each rule is a (skipped-reason, violation) pair: a condition over a request that is true
when this worker must not take it. Rules are written once, against an accessor `r` and a
set of operators `ops`, and evaluated two ways:

* as SQL (`r` = the GenerationRequest table, `SQL` operators): pop selects requests with
  no violation, and when nothing is found the same conditions count `skipped` reasons;
* in Python (`r` = a request's column values, `PY` operators): whether any live worker
  can serve a request (`is_possible`), without a query per worker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from horde.domain.accounts.ledger import sql_available
from horde.domain.workers import bridges
from horde.models import GenerationRequest, Job, QueuedModel, User

R = GenerationRequest
IMAGE_FAST_SPEED = 500_000  # pixelsteps per second
ANY_MODEL = ""  # the request_models entry of requests that accept any model


class _SqlOps:
    and_ = staticmethod(and_)
    or_ = staticmethod(or_)
    not_ = staticmethod(not_)

    @staticmethod
    def contains(value, part: str):
        return value.contains(part, autoescape=True)

    @staticmethod
    def in_(value, options):
        return value.in_(sorted(options))

    @staticmethod
    def has_bits(value, mask: int):
        return value.op("&")(mask) != 0

    @staticmethod
    def lower(value):
        return func.lower(value)

    @staticmethod
    def is_set(value):
        return value.is_not(None)


class _PyOps:
    @staticmethod
    def and_(*parts):
        return all(parts)

    @staticmethod
    def or_(*parts):
        return any(parts)

    @staticmethod
    def not_(part):
        return not part

    @staticmethod
    def contains(value, part: str):
        return part in (value or "")

    @staticmethod
    def in_(value, options):
        return value in options

    @staticmethod
    def has_bits(value, mask: int):
        return bool(value & mask)

    @staticmethod
    def lower(value):
        return (value or "").lower()

    @staticmethod
    def is_set(value):
        return value is not None


SQL, PY = _SqlOps(), _PyOps()


@dataclass(frozen=True)
class WorkerProfile:
    """What one pop tells us about the worker, plus its stored state."""

    id: str
    name: str
    kind: str
    owner_id: int
    owner_trusted: bool
    models: tuple[str, ...]
    bridge: bridges.Bridge
    nsfw: bool = True
    blacklist: tuple[str, ...] = ()
    extra_slow: bool = False
    fast: bool = True
    maintenance: bool = False
    paused: bool = False
    require_upfront_kudos: bool = False
    priority_user_ids: tuple[int, ...] = ()
    threads: int = 1
    # image
    max_pixels: int = 262144
    allow_img2img: bool = True
    allow_painting: bool = True
    allow_unsafe_ipaddr: bool = True
    allow_post_processing: bool = True
    allow_controlnet: bool = False
    allow_sdxl_controlnet: bool = False
    allow_lora: bool = False
    limit_max_steps: bool = False
    # text
    max_length: int = 512
    max_context_length: int = 2048
    validated_backend: bool = False
    softprompts: tuple[str, ...] = field(default_factory=tuple)
    # interrogation (alchemy)
    max_tiles: int = 80

    @property
    def queue_models(self) -> list[str]:
        return [*self.models, ANY_MODEL]


def _common(p: WorkerProfile, r, ops) -> list[tuple[str, Any]]:
    listed = ops.contains(r.workers_csv, f",{p.id},")
    rules: list[tuple[str, Any]] = [
        (
            "worker_id",
            ops.and_(
                r.workers_csv != "",
                ops.or_(ops.and_(r.worker_blacklist, listed), ops.and_(ops.not_(r.worker_blacklist), ops.not_(listed))),
            ),
        )
    ]
    if not p.nsfw:
        rules.append(("nsfw", r.nsfw))
    if not p.owner_trusted:
        rules.append(("untrusted", r.trusted_workers))
    if p.blacklist:
        prompt = ops.lower(r.prompt)
        rules.append(("blacklist", ops.or_(*[ops.contains(prompt, word) for word in p.blacklist])))
    if p.extra_slow:
        rules.append(("performance", ops.not_(r.extra_slow_workers)))
    if not p.fast:
        rules.append(("performance", ops.not_(r.slow_workers)))
    return rules


def image_rules(p: WorkerProfile, r, ops) -> list[tuple[str, Any]]:
    rules = _common(p, r, ops)
    rules.append(("max_pixels", r.pixels > p.max_pixels))
    for allowed, reason, needed in (
        (p.allow_img2img, "img2img", r.has_source_image),
        (p.allow_painting, "painting", r.painting),
        (p.allow_lora, "lora", r.has_loras),
        (p.allow_post_processing, "post-processing", r.has_post_processing),
        (p.allow_controlnet, "controlnet", r.has_controlnet),
        (p.allow_sdxl_controlnet, "controlnet", r.sdxl_controlnet),
    ):
        if not allowed:
            rules.append((reason, needed))
    if not p.allow_unsafe_ipaddr:
        rules.append(("unsafe_ip", ops.not_(r.safe_ip)))
    sampler_ok = ops.or_(
        ops.in_(r.sampler_name, p.bridge.karras_samplers),
        ops.and_(ops.not_(r.karras), ops.in_(r.sampler_name, p.bridge.other_samplers)),
    )
    lacks_capability = ops.has_bits(r.needs_mask, bridges.missing_mask(p.bridge))
    rules.append(("bridge_version", ops.or_(lacks_capability, ops.not_(sampler_ok))))
    if p.limit_max_steps:
        rules.append(("step_count", r.steps > r.step_cap))
    return rules


def text_rules(p: WorkerProfile, r, ops) -> list[tuple[str, Any]]:
    rules = _common(p, r, ops)
    rules.append(("max_length", r.max_length > p.max_length))
    rules.append(("max_context_length", r.max_context_length > p.max_context_length))
    if not p.validated_backend:
        rules.append(("bridge_version", r.validated_backends))
    wants_softprompt = ops.is_set(r.softprompt)
    if p.softprompts:
        wants_softprompt = ops.and_(wants_softprompt, ops.not_(ops.in_(r.softprompt, set(p.softprompts))))
    rules.append(("matching_softprompt", wants_softprompt))
    return rules


def alchemy_rules(p: WorkerProfile, r, ops) -> list[tuple[str, Any]]:
    """Alchemy forms (behaviour §1.16): trusted-only requests and unsafe requester IPs need a
    trusted owner; the source image must fit the worker's max_tiles; slow workers only
    take forms that accept them."""
    rules: list[tuple[str, Any]] = [("max_tiles", r.tiles > p.max_tiles)]
    if not p.owner_trusted:
        rules.append(("untrusted", ops.or_(r.trusted_workers, ops.not_(r.safe_ip))))
    if not p.fast:
        rules.append(("performance", ops.not_(r.slow_workers)))
    return rules


KIND_RULES = {"image": image_rules, "text": text_rules, "interrogation": alchemy_rules}


def _kudos_short(kind: str) -> ColumnElement[bool]:
    """The (untrusted) requester has less available kudos than one job costs (an alchemy
    form costs its price + 1, + 1 more with slow workers)."""
    available = sql_available()  # less what is held for forms at other alchemists
    needed = R.kudos + 1 + case((R.slow_workers, 1), else_=0) if kind == "interrogation" else R.kudos
    return exists(select(literal(1)).where(User.id == R.user_id, User.trusted.is_(False), available < needed))


def sql_rules(p: WorkerProfile) -> list[tuple[str, ColumnElement[bool]]]:
    rules = KIND_RULES[p.kind](p, R, SQL)
    # These two depend on other rows, so they exist only in SQL (is_possible ignores them).
    if p.require_upfront_kudos:
        rules.append(("kudos", _kudos_short(p.kind)))
    if p.paused:  # never offered again a request it was given a fake job for
        rules.append(("secret", exists(select(literal(1)).where(Job.request_id == R.id, Job.worker_id == p.id, Job.fake))))
    return rules


@lru_cache(maxsize=4096)
def eligible(p: WorkerProfile) -> ColumnElement[bool]:
    """All rules as one SQL condition. Cached: a worker polling with the same declaration
    gets the same (immutable) expression back instead of building it every second."""
    return and_(true(), *[not_(violation) for _, violation in sql_rules(p)])


def can_serve(p: WorkerProfile, request: SimpleNamespace, models: list[str]) -> bool:
    """Python evaluation of the same rules, for one request's column values."""
    if models and not set(models) & set(p.models):
        return False
    if p.maintenance or p.paused:
        return False
    rules = KIND_RULES[p.kind](p, request, PY)
    return not any(violation for _, violation in rules)


def queued(kind: str) -> ColumnElement[bool]:
    # Written exactly as the partial indexes' predicate, so the planner can use them.
    return and_(R.kind == kind, R.n > 0, R.active, not_(R.faulted))


def serves_models(p: WorkerProfile) -> ColumnElement[bool]:
    return exists(select(literal(1)).where(QueuedModel.request_id == R.id, QueuedModel.model.in_(p.queue_models)))


# Reasons reported in `skipped` (others, such as "secret", stay silent).
IMAGE_SKIP_KEYS = (
    "worker_id", "performance", "nsfw", "blacklist", "untrusted", "models", "bridge_version", "kudos",
    "max_pixels", "step_count", "unsafe_ip", "img2img", "painting", "post-processing", "lora", "controlnet",
)
TEXT_SKIP_KEYS = (
    "worker_id", "performance", "nsfw", "blacklist", "untrusted", "models", "bridge_version", "kudos",
    "max_context_length", "max_length", "matching_softprompt",
)
# What horde-sdk's NoValidAlchemyFound knows (strict clients refuse any other key).
ALCHEMY_SKIP_KEYS = ("worker_id", "untrusted", "bridge_version")
SKIP_KEYS = {"image": IMAGE_SKIP_KEYS, "text": TEXT_SKIP_KEYS, "interrogation": ALCHEMY_SKIP_KEYS}


@lru_cache(maxsize=2048)
def skipped_query(p: WorkerProfile):
    """One aggregate over the live queue: how many requests each rule keeps from this worker.
    Cached per declaration, like `eligible`: building it costs more than an empty queue's count."""
    reasons: dict[str, list[ColumnElement[bool]]] = {}
    for reason, violation in sql_rules(p):
        reasons.setdefault(reason, []).append(violation)
    reasons["models"] = [not_(serves_models(p))]
    keys = [k for k in SKIP_KEYS[p.kind] if k in reasons]
    columns = [func.coalesce(func.sum(case((or_(*reasons[k]), 1), else_=0)), 0) for k in keys]
    where = [queued(p.kind)]
    if p.maintenance:
        where.append(R.user_id == p.owner_id)
    return select(*columns).where(*where), keys
