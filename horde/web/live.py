"""The live pages' server side: /dashboard (public) and the account page's requests in flight.

Both are fed by event streams (horde/api/streams.py). The dashboard's figures come from the
cache, where the scheduler's leader puts them every few seconds and announces them on the
events hub; each process keeps the last one read, formatted once, for all its viewers.
"""

from __future__ import annotations

import threading
import time

from flask import Blueprint, current_app, jsonify, make_response, render_template

from horde import serving
from horde.api import streams
from horde.db import utcnow
from horde.domain.queue import generation
from horde.domain.status import dashboard
from horde.services import Services

bp = Blueprint("live", __name__)
FRESH_SECONDS = 1.0  # a process re-reads the cached figures at most this often


class FiguresFeed:
    """One per process: the figures as last read, with their formatted event."""

    def __init__(self) -> None:
        self._computing = threading.Lock()
        self._dashboard = dashboard.Dashboard()
        self._value: tuple[str, str, dict] | None = None
        self._at = 0.0

    def current(self, svc: Services) -> tuple[str, str, dict]:
        """Call holding no core slot: reading them may take it (when no scheduler has
        published figures yet)."""
        value = self._value
        if value is not None and time.monotonic() - self._at < FRESH_SECONDS:
            return value
        figures = dashboard.cached(svc)
        if figures is None:
            with self._computing:
                figures = dashboard.cached(svc)
                if figures is None:
                    with serving.working():
                        figures = streams.with_session(svc, lambda s: self._dashboard.compute(s, svc, utcnow()))
                    svc.cache.set(dashboard.CACHE_KEY.format(kind=figures["kind"]), figures, dashboard.REFRESH_SECONDS)
        ident, chunk = streams.formatted("figures", figures)
        self._value, self._at = (ident, chunk, figures), time.monotonic()
        return self._value


def services() -> Services:
    return current_app.extensions["horde"]


def feed() -> FiguresFeed:
    return current_app.extensions.setdefault("horde_figures", FiguresFeed())


def figures() -> dict:
    """For a route (which holds the slot): read them without it."""
    with serving.waiting():
        return feed().current(services())[2]


@bp.get("/dashboard/figures")
def dashboard_figures():
    return jsonify(figures())


@bp.get("/dashboard/events")
def dashboard_events():
    svc, figures_feed = services(), feed()
    listener = svc.events.listen(dashboard.TOPIC)
    return streams.stream_response(streams.feed_events(svc, listener, lambda: figures_feed.current(svc)[:2]))


def requests_in_flight(svc: Services, user_id: int) -> list[dict]:
    return streams.with_session(svc, lambda s: generation.in_flight(s, svc, user_id, utcnow()))


def account_events(svc: Services, user_id: int):
    """The account page's stream: the user's requests in flight, re-read when one changes."""
    listener = svc.events.listen(f"user:{user_id}")

    def read() -> tuple[str, str]:
        with serving.working():
            return streams.formatted("requests", requests_in_flight(svc, user_id))

    return streams.stream_response(streams.feed_events(svc, listener, read))


@bp.get("/dashboard")
def dashboard_page():
    return make_response(render_template("dashboard.html", figures=figures()))
