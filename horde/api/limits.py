"""Rate limits (spec/api.md §8), in one table, applied with flask-limiter.

The default is 90 per minute per client IP, counted per route. Routes listed here replace
the default with their own limits and keys. Counters live in the horde's cache
(`CacheStorage`): Redis when configured, the shared database cache without it or while
Redis is unreachable, so every server process counts against the same numbers.
"""

from __future__ import annotations

import hashlib

import time

from flask import Flask, g, request
from flask_limiter import Limiter
from limits.storage import Storage

from horde.cache import Cache

from horde.settings import Settings

DEFAULT_LIMIT = "90 per minute"


def ip_key() -> str:
    return request.remote_addr or "0.0.0.0"


def ip_method_path_key() -> str:
    return f"{ip_key()}|{request.method}|{request.path}"


def apikey_method_path_key() -> str:
    # g.apikey: a key read from elsewhere than the header (the OpenAI routes' bearer token).
    key = g.get("apikey") or request.headers.get("apikey", "")
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}|{request.method}|{request.path}"


# endpoint -> [(limit, key function[, methods])]; without methods a limit counts every method.
ROUTE_LIMITS: dict[str, list[tuple]] = {
    "users_list": [("90 per minute", ip_key)],
    "user_single": [("60 per minute", ip_method_path_key)],
    "horde_modes": [("30 per minute", ip_key)],
    "worker_single": [("30 per minute", ip_method_path_key)],
    "teams_list": [("30 per minute", ip_method_path_key)],
    "team_single": [("30 per minute", ip_method_path_key)],
    "kudos_transfer": [("1 per second", apikey_method_path_key), ("90 per hour", apikey_method_path_key)],
    "image_async": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key), ("2 per second", apikey_method_path_key)],
    "image_check": [("10 per second", ip_method_path_key)],
    "image_status": [("10 per minute", ip_method_path_key)],
    "image_pop": [("60 per second", ip_key)],
    "image_rate": [("5 per minute", ip_method_path_key)],
    "image_submit": [("60 per second", ip_key)],
    "interrogate_status": [("10 per second", ip_method_path_key)],
    "interrogate_pop": [("60 per second", ip_key)],
    "interrogate_submit": [("60 per second", ip_key)],
    "text_async": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key), ("2 per second", apikey_method_path_key)],
    "text_status": [("60 per minute", ip_method_path_key)],
    "text_pop": [("60 per second", ip_key)],
    "text_submit": [("60 per second", ip_key)],
    # The OpenAI routes queue a native request each, under the native async limits.
    "openai.chat_completions": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key), ("2 per second", apikey_method_path_key)],
    "openai.completions": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key), ("2 per second", apikey_method_path_key)],
    "openai.image_generations": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key), ("2 per second", apikey_method_path_key)],
    "sharedkeys": [("5 per minute", ip_method_path_key, ["PUT"])],
    "styles_image_list": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "styles_image_examples": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "styles_image_single": [("20 per hour", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "styles_text_list": [("20 per hour", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "styles_text_single": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "collections_list": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key)],
    "collection_single": [("90 per minute", ip_method_path_key), ("2 per second", ip_method_path_key)],
    # New accounts and new keys from the web pages: plenty for people, little for scripts.
    "web.register": [("5 per minute", ip_key, ["POST"]), ("30 per hour", ip_key, ["POST"])],
    "web.reset_key": [("5 per minute", ip_key), ("30 per hour", ip_key)],
    "web.transfer": [("1 per second", ip_key, ["POST"]), ("90 per hour", ip_key, ["POST"])],
}
EXEMPT = ("heartbeat", "readiness", "upload_result", "download_result")


class CacheStorage(Storage):
    """A `limits` storage (fixed windows) over the horde's cache, so rate limits fail over
    with it: `horde-cache://`, with the cache passed as the `cache` option. Windows are
    decided by this module's `time` (tests move it)."""

    STORAGE_SCHEME = ["horde-cache"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, cache: Cache | None = None, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        if cache is None:
            raise ValueError("CacheStorage needs the horde's cache (storage option `cache`)")
        self.cache = cache

    @property
    def base_exceptions(self):
        return Exception

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self.cache.incr(f"limit:{key}", amount, float(expiry), now=time.time())[0]

    def get(self, key: str) -> int:
        found = self.cache.counter(f"limit:{key}", now=time.time())
        return 0 if found is None else found[0]

    def get_expiry(self, key: str) -> float:
        now = time.time()
        found = self.cache.counter(f"limit:{key}", now=now)
        return now if found is None else found[1]

    def check(self) -> bool:
        return self.cache.ping()

    def reset(self) -> int | None:
        self.cache.delete_prefix("limit:")
        return None

    def clear(self, key: str) -> None:
        self.cache.delete(f"limit:{key}")


def install(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(
        key_func=ip_key,
        app=app,
        default_limits=[DEFAULT_LIMIT],
        storage_uri="horde-cache://",
        storage_options={"cache": app.extensions["horde"].cache},
        headers_enabled=True,
        enabled=settings.rate_limits,
        key_prefix=f"{settings.key_prefix}limits",
        swallow_errors=True,  # a Redis hiccup must not take the API down
    )
    if not settings.rate_limits:
        return limiter  # switched off: no per-route wrappers to run on every request
    for endpoint, limits in ROUTE_LIMITS.items():
        endpoint = _registered(app, endpoint)
        if endpoint is None:
            continue
        view = app.view_functions[endpoint]
        for limit, key_func, *methods in limits:
            view = limiter.limit(limit, key_func=key_func, override_defaults=True, methods=methods[0] if methods else None)(view)
        app.view_functions[endpoint] = view
    for endpoint in EXEMPT:
        endpoint = _registered(app, endpoint)
        if endpoint is not None:
            app.view_functions[endpoint] = limiter.exempt(app.view_functions[endpoint])
    return limiter


def _registered(app: Flask, endpoint: str) -> str | None:
    """API endpoints carry their blueprint's prefix; plain routes do not."""
    for name in (f"api.{endpoint}", endpoint):
        if name in app.view_functions:
            return name
    return None
