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
    stats,
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
    # Both kinds of statistics on every horde, as the public server and its clients expect: the
    # kind this horde does not serve reads empty.
    stats.image_ns, stats.text_ns,
)


def mode_namespaces(mode: Mode) -> tuple:
    if mode is Mode.IMAGE:
        from horde.api.image import NAMESPACES
    else:
        from horde.api.text import NAMESPACES
    return NAMESPACES


# Swagger's title, as the public server's document has it (clients check it); the horde's own
# name is in the description.
SWAGGER_TITLE = "AI Horde"
# Keywords our models' schemas enforce that the public server's document never carries:
# horde-sdk's strict Swagger reader refuses them, so the document says them in words instead.
UNDOCUMENTED_KEYWORDS = {"maxItems": "At most {} items.", "minItems": "At least {} items."}


def _public_schema(schema: dict) -> dict:
    """A copy of a schema object with the list limits moved into its description."""
    copy = {}
    notes = []
    for key, value in schema.items():
        if key in UNDOCUMENTED_KEYWORDS:
            notes.append(UNDOCUMENTED_KEYWORDS[key].format(value))
        elif isinstance(value, dict):
            copy[key] = _public_schema(value)
        else:
            copy[key] = value
    if notes:
        copy["description"] = " ".join(filter(None, [copy.get("description"), *notes]))
    return copy


class HordeApi(Api):
    """The API whose Swagger document reads like the public server's (the schemas still validate
    with every limit: `horde.api.validation` compiles them from the models)."""

    @property
    def __schema__(self):
        if self._public_document is None:
            document = super().__schema__
            if "definitions" not in document:  # flask-restx's "Unable to render schema"
                return document
            self._public_document = {**document, "definitions": _public_schema(document["definitions"])}
        return self._public_document

    _public_document: dict | None = None


def install(app: Flask, settings: Settings) -> Api:
    blueprint = Blueprint("api", __name__, url_prefix="/api")
    api = HordeApi(
        blueprint,
        version=API_VERSION,
        title=SWAGGER_TITLE,
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
        return render_template("api_docs.html", title=f"{settings.name} API", specs_url=url_for(api.endpoint("specs")))

    for namespace in COMMON_NAMESPACES + mode_namespaces(settings.mode):
        api.add_namespace(namespace, path="/v2")
    api_errors.install(app, api, settings.mode)
    app.register_blueprint(blueprint)
    from horde.api import openai  # the OpenAI-compatible routes on /v1 (their own error shape)

    openai.install(app)
    return api
