"""The HTTP API: a flask-restx Api on /api whose namespaces depend on the mode."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, url_for
from flask_restx import Api

from horde import __version__
from horde.api import errors as api_errors
from horde.api.common import (
    collections,
    documents,
    filters,
    kudos,
    models_status,
    operations,
    sharedkeys,
    status,
    teams,
    users,
    worker_messages,
    workers,
)
from horde.modes import Mode
from horde.settings import Settings

API_VERSION = "2.5"

COMMON_NAMESPACES = (
    users.ns, status.ns, models_status.ns, worker_messages.ns, workers.ns, kudos.ns, teams.ns,
    filters.ns, operations.ns, documents.ns, sharedkeys.ns, collections.ns,
)


def mode_namespaces(mode: Mode) -> tuple:
    if mode is Mode.IMAGE:
        from horde.api.image import NAMESPACES
    else:
        from horde.api.text import NAMESPACES
    return NAMESPACES


def install(app: Flask, settings: Settings) -> Api:
    blueprint = Blueprint("api", __name__, url_prefix="/api")
    api = Api(
        blueprint,
        version=API_VERSION,
        title=f"{settings.name} API",
        description=(
            f"{settings.name} serves {settings.mode.description} through the AI Horde API v2. "
            f"Horde server version {__version__}."
        ),
        doc="/",
        catch_all_404s=False,
    )

    @api.documentation
    def documentation():
        # Swagger UI from a template of the web pages: no inline script or style (their CSP).
        return render_template("api_docs.html", title=api.title, specs_url=url_for(api.endpoint("specs")))

    for namespace in COMMON_NAMESPACES + mode_namespaces(settings.mode):
        api.add_namespace(namespace, path="/v2")
    api_errors.install(app, api, settings.mode)
    app.register_blueprint(blueprint)
    return api
