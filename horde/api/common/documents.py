"""GET /documents/terms, /documents/privacy, /documents/sponsors: the pages' own files."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from horde import documents
from horde.api.context import services
from horde.domain import errors

ns = Namespace("documents", description="The horde's terms, privacy policy and sponsors", path="/v2")
document_model = ns.model("HordeDocument", {"html": fields.String, "markdown": fields.String})
format_query = ns.parser()
format_query.add_argument("format", location="args", default="html", help="html (default) or markdown")
FORMATS = ("html", "markdown")


def _document(name: str) -> dict:
    wanted = request.args.get("format", "html")
    if wanted not in FORMATS:
        raise errors.BadRequest(f"format must be 'html' or 'markdown', not '{wanted[:20]}'.")
    document = documents.load(services().settings, name)
    return marshal({wanted: getattr(document, wanted)}, document_model, skip_none=True)


@ns.route("/documents/terms", endpoint="document_terms")
class Terms(Resource):
    @ns.expect(format_query)
    @ns.response(200, "Success", document_model)
    def get(self):
        """The terms of service."""
        return _document("terms")


@ns.route("/documents/privacy", endpoint="document_privacy")
class Privacy(Resource):
    @ns.expect(format_query)
    @ns.response(200, "Success", document_model)
    def get(self):
        """The privacy policy."""
        return _document("privacy")


@ns.route("/documents/sponsors", endpoint="document_sponsors")
class Sponsors(Resource):
    @ns.expect(format_query)
    @ns.response(200, "Success", document_model)
    def get(self):
        """Who keeps this horde running."""
        return _document("sponsors")
