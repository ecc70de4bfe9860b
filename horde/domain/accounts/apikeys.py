"""API keys: generated, stored only as a keyed hash, and looked up (with a short per-process cache)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.models import ANONYMOUS_USER_ID, User

ANONYMOUS_API_KEY = "0000000000"
API_KEY_LENGTH = 22


@dataclass(frozen=True)
class KeyHasher:
    """Keyed hash of API keys: the database never holds a usable key."""

    secret: str

    def hash(self, api_key: str) -> str:
        return hmac.new(self.secret.encode(), api_key.encode(), hashlib.sha256).hexdigest()


def new_api_key() -> str:
    # 16 random bytes, URL-safe base64: 22 characters, what clients expect.
    return secrets.token_urlsafe(16)


def find_by_api_key(session: Session, hasher: KeyHasher, api_key: str | None) -> User:
    """The user owning `api_key`, or InvalidAPIKey (missing, malformed or unknown)."""
    if not api_key:
        raise errors.InvalidAPIKey()
    if api_key == ANONYMOUS_API_KEY:
        user = session.get(User, ANONYMOUS_USER_ID)
    elif len(api_key) > 128:
        user = None
    else:
        user = session.scalar(select(User).where(User.api_key_hash == hasher.hash(api_key)))
    if user is None:
        raise errors.InvalidAPIKey()
    return user


class CallerCache:
    """API key → user, kept a few seconds per process for the hot generation routes.

    The user is a detached snapshot: fine for flags, limits and the kudos priority snapshot
    (the public horde caches the same lookup for 30 s). Balances always move with atomic SQL,
    never from this copy. Routes that show or change a user read it fresh.

    With a `shared` cache (Redis), forgetting a user empties every process's copy within a
    second: a deleted, flagged or re-keyed account stops working everywhere at once.
    """

    EPOCH_KEY = "callers:epoch"
    EPOCH_POLL_SECONDS = 1.0

    def __init__(self, ttl: float = 5.0, size: int = 10000, shared=None):
        self.ttl, self.size, self.shared = ttl, size, shared
        self._entries: dict[str, tuple[float, User]] = {}
        self._lock = threading.Lock()
        self._epoch = None
        self._next_epoch_check = 0.0

    def _follow_epoch(self, now: float) -> None:
        if self.shared is None or now < self._next_epoch_check:
            return
        self._next_epoch_check = now + self.EPOCH_POLL_SECONDS
        try:
            epoch = self.shared.get(self.EPOCH_KEY)
        except Exception:  # the shared cache is down: the local ttl still bounds staleness
            return
        if epoch != self._epoch:
            with self._lock:
                self._entries.clear()
            self._epoch = epoch

    def find(self, session: Session, hasher: KeyHasher, api_key: str | None) -> User:
        now = time.monotonic()
        self._follow_epoch(now)
        with self._lock:
            entry = self._entries.get(api_key or "")
        if entry and entry[0] > now:
            return entry[1]
        user = find_by_api_key(session, hasher, api_key)
        session.expunge(user)
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries.clear()
            self._entries[api_key] = (now + self.ttl, user)
        return user

    def forget(self, user_id: int | None = None) -> None:
        with self._lock:
            if user_id is None:
                self._entries.clear()
            else:
                self._entries = {k: v for k, v in self._entries.items() if v[1].id != user_id}
        if user_id is not None and self.shared is not None:
            try:
                self.shared.set(self.EPOCH_KEY, secrets.token_hex(8), 86400)
            except Exception:
                pass
