"""create_app(settings): the one place where the parts are wired together."""

from __future__ import annotations

import logging
import socket
import time

from flask import Flask, g, jsonify, request
from flask.sessions import SecureCookieSessionInterface
from flask_cors import CORS
from flask_migrate import Migrate
from werkzeug.middleware.proxy_fix import ProxyFix

from horde import __version__, metrics, public_url, secret_key, serving
from horde.api import API_VERSION, limits, request_guard
from horde.api import install as install_api
from horde.cache import make_cache
from horde.cache_db import DatabaseCache
from horde.db import MIGRATIONS_DIR, Database
from horde.events import make_hub
from horde.domain.accounts.apikeys import CallerCache, KeyHasher
from horde.domain.moderation.live_rules import LiveRules
from horde.domain.workers.live import LiveWorkers
from horde.services import Services, make_fetcher, make_store
from horde.sibling import make_sibling
from horde.settings import Settings
from horde.web import install as install_web

log = logging.getLogger(__name__)

# spec/api.md §1.2: what browser clients on other origins may send.
CORS_ALLOW_HEADERS = [
    "Accept",
    "Content-Type",
    "Content-Length",
    "Accept-Encoding",
    "X-CSRF-Token",
    "apikey",
    "Client-Agent",
    "X-Fields",
    "X-Forwarded-For",
    "Proxied-For",
    "Proxy-Authorization",
]
CORS_METHODS = ["POST", "GET", "OPTIONS", "PUT", "DELETE", "PATCH"]
# HTML pages load nothing but our own files (no inline script or style anywhere), cannot be
# framed (the key-reset and transfer forms), and send no referrer (a key page's URL is nobody's).
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
HSTS = "max-age=31536000"

migrate = Migrate(directory=str(MIGRATIONS_DIR))


def create_app(settings: Settings | None = None) -> Flask:
    settings = secret_key.resolve(settings or Settings.from_env())
    if settings.fetch_allow_private and not settings.development:
        log.warning("HORDE_FETCH_ALLOW_PRIVATE is on: clients can make this server fetch from private addresses")

    app = Flask("horde", static_folder=None)  # the web blueprint serves /static
    app.session_interface = PagesOnlySessionInterface()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RESTX_ERROR_404_HELP=False,
        RESTX_MASK_SWAGGER=False,
        PROPAGATE_EXCEPTIONS=False,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session cookie
    )
    if settings.trusted_proxies:
        # Only the hops we were told about may say who the client is (X-Forwarded-For) and how
        # it reached them; without them a client could pick its own address and pass every
        # per-IP limit.
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    serving.configure(settings.core_slots)
    app.wsgi_app = serving.CoreSlotMiddleware(app.wsgi_app)

    db = Database(settings.effective_database_url)
    cache = make_cache(settings.redis_url, prefix=settings.key_prefix, fallback=DatabaseCache.for_database(db))
    app.extensions["horde"] = Services(
        settings=settings, db=db, cache=cache, hasher=KeyHasher(settings.secret_key), store=make_store(settings),
        live=LiveWorkers(), callers=CallerCache(shared=cache), fetcher=make_fetcher(settings), rules=LiveRules(),
        events=make_hub(settings.redis_url, settings.key_prefix, db.engine), sibling=make_sibling(settings, cache),
    )
    app.extensions["horde"].events.install(db.session_factory)
    serving.on_stop(app.extensions["horde"].events.wake_all)  # open streams end at shutdown
    migrate.init_app(app, db)

    CORS(
        app,
        resources={r"/*": {"origins": "*"}},
        methods=CORS_METHODS,
        allow_headers=CORS_ALLOW_HEADERS,
        send_wildcard=True,
        vary_header=False,
    )
    request_guard.install(app)
    install_api(app, settings)
    install_web(app, settings)
    _install_service_info(app, settings)
    metrics.install(app, settings)
    app.extensions["horde_limiter"] = limits.install(app, settings)

    node = f"{socket.gethostname()}:{settings.port}:{__version__}"

    allow_methods = ", ".join(CORS_METHODS)
    allow_headers = ", ".join(CORS_ALLOW_HEADERS)
    # OpenAI clients in browsers send their key as Authorization (the public horde's list has no such header).
    openai_allow_headers = f"{allow_headers}, Authorization"

    def _start_timer():
        g.started = time.perf_counter()

    # First of the request hooks, so the figure covers them all.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.after_request
    def _common_headers(response):
        # flask-cors answers preflights; the header values are the exact ones browser
        # clients of the public horde see, on every response (spec/api.md §1.2).
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Allow-Methods"] = allow_methods
        response.headers["Access-Control-Allow-Headers"] = openai_allow_headers if request.path.startswith("/v1/") else allow_headers
        response.headers["Horde-Node"] = node
        response.headers["X-Content-Type-Options"] = "nosniff"
        if response.mimetype == "text/html":
            response.headers.update(PAGE_HEADERS)
        if settings.https:
            response.headers["Strict-Transport-Security"] = HSTS
        if "started" in g:  # time in the application; the rest of a client's wait is elsewhere
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - g.started) * 1000:.2f}"
        if request.method == "OPTIONS" and not response.get_data():
            response.set_data("{}\n")
            response.mimetype = "application/json"
        return response

    @app.teardown_appcontext
    def _close_session(_exc):
        db.remove()

    return app


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """Cookie sessions for the web pages only: API calls carry their key in a header, and
    opening (verifying) a session cookie on every API request costs time for nothing."""

    def open_session(self, app, request):
        if request.path.startswith(("/api/", "/v1/")):
            return None  # Flask then uses a null session
        return super().open_session(app, request)


def _install_service_info(app: Flask, settings: Settings) -> None:
    @app.get("/.well-known/serviceinfo")
    def service_info():
        base = public_url.current(settings)
        return jsonify(
            {
                "version": "0.2",
                "software": {
                    "name": "Horde",
                    "version": __version__,
                    "repository": "https://github.com/horde-server/horde",
                    "homepage": base,
                    "logo": f"{base}/static/logo.png",
                },
                "api": {
                    "aihorde": {
                        "name": "AI Horde API",
                        "version": API_VERSION,
                        "base_url": f"{base}/api/v2",
                        "rel_url": "/api/v2",
                        "documentation": f"{base}/api",
                    }
                },
            }
        )

