"""GET/POST /collections, GET/PATCH/DELETE /collections/{id}, GET /collection_by_name/{name}."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.context import APIKEY_HELP, caller, session
from horde.api.shared_fields import nullable
from horde.db import utcnow
from horde.domain.community import collections, styles

ns = Namespace("collections", description="Collections of styles", path="/v2")
style_short = ns.model("ResponseModelStylesShort", {"name": fields.String, "id": fields.String})
collection_view = ns.model(
    "ResponseModelCollection",
    {
        "id": fields.String, "name": fields.String, "type": fields.String(enum=list(styles.KINDS)), "info": nullable(fields.String()),
        "public": fields.Boolean, "styles": fields.List(fields.Nested(style_short)), "use_count": fields.Integer,
    },
)


def _input(creating: bool):
    return {
        "name": fields.String(required=creating, min_length=1, max_length=100),
        "info": fields.String(min_length=1, max_length=1000),
        "public": fields.Boolean(default=True),
        "styles": fields.List(
            fields.String(min_length=1, max_length=1024), required=creating, min_items=1, max_items=collections.MAX_STYLES,
            description="Style ids or names, all of one kind",
        ),
    }


create_input = ns.model("InputCollectionCreate", _input(True))
patch_input = ns.model("InputCollectionPatch", _input(False))
modify = ns.model("StyleModify", {"id": fields.String, "message": fields.String(example="OK")})
simple = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
apikey = ns.parser()
apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
listing = ns.parser()
listing.add_argument("page", type=int, location="args", default=1, help="25 collections a page")
listing.add_argument("sort", type=str, location="args", default="popular", help="popular or age")
listing.add_argument("type", type=str, location="args", default="all", help="all, image or text")


def _render(db, collection) -> dict:
    return marshal(collections.view(db, collection), collection_view)


@ns.route("/collections", endpoint="collections_list")
class CollectionList(Resource):
    @ns.expect(listing)
    @ns.response(200, "Success", [collection_view])
    def get(self):
        """Public collections, most used first."""
        page = validation.query_int("page", 1, minimum=1, maximum=styles.MAX_PAGE)
        db = session()
        found = collections.listing(db, page=page, sort=request.args.get("sort", "popular"), kind=request.args.get("type", "all"))
        return [_render(db, c) for c in found]

    @ns.expect(apikey, create_input)
    @ns.response(200, "Created", modify)
    def post(self):
        """Create a collection of styles of one kind (registered users)."""
        body = validation.body(create_input)
        actor = caller()
        db = session()
        collection = collections.create(db, actor, body, utcnow())
        db.commit()
        return {"id": collection.id, "message": "OK"}


@ns.route("/collections/<string:collection_id>", endpoint="collection_single")
class CollectionSingle(Resource):
    @ns.response(200, "Success", collection_view)
    def get(self, collection_id: str):
        """One collection (public or not)."""
        db = session()
        return _render(db, collections.get(db, collection_id))

    @ns.expect(apikey, patch_input)
    @ns.response(200, "Changed", modify)
    def patch(self, collection_id: str):
        """Change a collection (its owner)."""
        body = validation.body(patch_input)
        actor = caller()
        db = session()
        collections.modify(db, actor, collections.get(db, collection_id), body, utcnow())
        db.commit()
        return {"id": collection_id, "message": "OK"}

    @ns.expect(apikey)
    @ns.response(200, "Deleted", simple)
    def delete(self, collection_id: str):
        """Delete a collection (its owner or a moderator); its styles stay."""
        actor = caller()
        db = session()
        collections.delete(db, actor, collections.get(db, collection_id))
        db.commit()
        return {"message": "OK"}


@ns.route("/collection_by_name/<string:collection_name>", endpoint="collection_by_name")
class CollectionByName(Resource):
    @ns.response(200, "Success", collection_view)
    def get(self, collection_name: str):
        """One collection by name (`alias::name` or the name alone)."""
        db = session()
        return _render(db, collections.by_name(db, collection_name))
