"""The filters and IP timeouts requests are checked against, kept in memory per process.

Compiled once per change, never per request: each process looks at the two versions in
`horde_state` at most once a second (through the shared cache, which keeps them for two
seconds, so a horde of many processes reads the database about once every two seconds),
and reloads only what moved. A change is seen by every node within `PROPAGATION_SECONDS`;
the node that made it sees it at once. Without Redis, or while it is down, the versions
come from the database.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import select

from horde.db import Database, utcnow
from horde.domain import errors
from horde.domain.moderation import ip_timeouts, prompt_check
from horde.models import HORDE_STATE_ID, HordeState, PromptFilter

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
VERSIONS_KEY = "moderation:versions"
VERSIONS_TTL = 2.0
PROPAGATION_SECONDS = POLL_SECONDS + VERSIONS_TTL  # the promise: every node within 3 s

_VERSIONS = select(HordeState.filters_version, HordeState.ip_timeouts_version).where(HordeState.id == HORDE_STATE_ID)


class LiveRules:
    def __init__(self) -> None:
        self._filters = prompt_check.FilterSet(version=-1)
        self._timeouts = ip_timeouts.TimeoutSet(version=-1)
        self._next_check = 0.0
        self._skip_cached_versions = False  # right after a change made here
        self._lock = threading.Lock()

    def filters(self, db: Database, cache) -> prompt_check.FilterSet:
        self._refresh(db, cache)
        return self._filters

    def timeouts(self, db: Database, cache) -> ip_timeouts.TimeoutSet:
        self._refresh(db, cache)
        return self._timeouts

    def changed(self, cache) -> None:
        """After this process committed a change: reload here now, elsewhere within seconds."""
        try:
            cache.delete(VERSIONS_KEY)
        except Exception:  # Redis down: other nodes see the change when their cached copy expires
            log.warning("could not clear the cached moderation versions", exc_info=True)
        self._next_check = 0.0
        self._skip_cached_versions = True

    def forget(self) -> None:
        """Reload everything on next use (tests, and a database that was reset)."""
        with self._lock:
            self._filters = prompt_check.FilterSet(version=-1)
            self._timeouts = ip_timeouts.TimeoutSet(version=-1)
            self._next_check = 0.0

    def _refresh(self, db: Database, cache) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._lock:
            if now < self._next_check:
                return
            skip_cache, self._skip_cached_versions = self._skip_cached_versions, False
            filters_version, timeouts_version = self._versions(db, cache, skip_cache)
            if filters_version != self._filters.version:
                self._filters = _load_filters(db, filters_version)
            if timeouts_version != self._timeouts.version:
                self._timeouts = _load_timeouts(db, timeouts_version)
            self._next_check = time.monotonic() + POLL_SECONDS

    @staticmethod
    def _versions(db: Database, cache, skip_cache: bool) -> tuple[int, int]:
        if not skip_cache:
            try:
                found = cache.get(VERSIONS_KEY)
                if found is not None:
                    return int(found[0]), int(found[1])
            except Exception as exc:
                log.warning("moderation versions: cache unavailable (%s), reading the database", exc)
        row = db.read_one(_VERSIONS)
        versions = (int(row[0]), int(row[1])) if row is not None else (0, 0)
        try:
            cache.set(VERSIONS_KEY, list(versions), VERSIONS_TTL)
        except Exception:
            pass
        return versions


def _load_filters(db: Database, version: int) -> prompt_check.FilterSet:
    with db.session_factory() as session:
        rows = session.execute(
            select(PromptFilter.id, PromptFilter.regex, PromptFilter.filter_type, PromptFilter.replacement).order_by(PromptFilter.id)
        ).all()
    rules = []
    for row in rows:
        try:
            prompt_check.compile_regex(row.regex)
        except errors.InvalidFilterRegex:  # written past the API (a database edit): skipped, not fatal
            log.error("prompt filter %s has an invalid regex and is ignored", row.id)
            continue
        rules.append(prompt_check.FilterRule(row.id, row.regex, row.filter_type, row.replacement or ""))
    return prompt_check.FilterSet.build(version, rules)


def _load_timeouts(db: Database, version: int) -> ip_timeouts.TimeoutSet:
    with db.session_factory() as session:
        return ip_timeouts.TimeoutSet.build(version, ip_timeouts.live_rows(session, utcnow()))
