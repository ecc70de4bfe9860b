"""The parts one application is wired from, built once by `create_app`."""

from __future__ import annotations

from dataclasses import dataclass, field

from horde.cache import Cache
from horde.db import Database
from horde.events import Hub
from horde.domain.accounts.apikeys import CallerCache, KeyHasher
from horde.domain.moderation.live_rules import LiveRules
from horde.domain.workers.live import LiveWorkers
from horde.fetch import Fetcher
from horde.sibling import SiblingHorde
from horde.settings import Settings
from horde.storage import LocalStore, ResultStore, S3Store


@dataclass
class Services:
    settings: Settings
    db: Database
    cache: Cache
    hasher: KeyHasher
    store: ResultStore
    live: LiveWorkers
    callers: CallerCache
    fetcher: Fetcher
    rules: LiveRules
    events: Hub = field(default_factory=Hub)  # what wakes event streams (horde/events.py)
    sibling: SiblingHorde | None = None  # the other mode's horde, when HORDE_SIBLING_URL names one


def make_store(settings: Settings) -> ResultStore:
    if settings.s3_bucket:
        return S3Store(
            settings.s3_bucket, settings.s3_endpoint_url, settings.s3_region, settings.s3_access_key, settings.s3_secret_key,
            settings.s3_public_endpoint_url,
        )
    from functools import partial
    from pathlib import Path

    from horde import public_url

    return LocalStore(Path(settings.data_dir) / "images", partial(public_url.current, settings), settings.secret_key)


def make_fetcher(settings: Settings) -> Fetcher:
    from horde import __version__

    return Fetcher(
        allow_private=settings.fetch_allow_private, concurrency=settings.fetch_concurrency,
        deadline=settings.fetch_deadline, user_agent=f"Horde/{__version__} (+{settings.effective_public_url})",
    )
