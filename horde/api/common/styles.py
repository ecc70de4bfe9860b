"""Styles: /styles/image (image mode, with examples) and /styles/text (text mode).

One namespace per kind, built by `style_namespace` from that kind's request params (a
style's params are the request's, minus those a style never sets, with no defaults)."""

from __future__ import annotations

import copy

from flask import request
from flask_restx import Model, Namespace, Resource, fields, marshal

from horde.api import validation
from horde.api.common.sharedkeys import key_details
from horde.api.context import APIKEY_HELP, caller, session
from horde.api.shared_fields import nullable
from horde.db import utcnow
from horde.domain.community import styles

MAX_TAGS, MAX_MODELS = 10, 5


def _style_params(ns: Namespace, name: str, request_params: Model, kind: str) -> Model:
    kept = {}
    for key, field in request_params.items():
        if key in styles.NOT_STYLE_PARAMS[kind]:
            continue
        field = copy.copy(field)
        field.default = None
        kept[key] = field
    return ns.model(name, kept)


def _input_fields(kind: str, params: Model, creating: bool) -> dict:
    fields_of = {
        "name": fields.String(required=creating, min_length=1, max_length=100),
        "info": fields.String(min_length=10 if creating else 1, max_length=1000),
        "prompt": fields.String(
            min_length=7 if kind == "image" else 3, max_length=10000, default=styles.DEFAULT_PROMPT[kind],
            description="Template: {p} is the request's prompt" + (", {np} its negative prompt" if kind == "image" else ""),
        ),
        "params": fields.Nested(params),
        "public": fields.Boolean(default=True),
        "nsfw": fields.Boolean(default=False),
        "tags": fields.List(fields.String(min_length=1, max_length=25), max_items=MAX_TAGS),
        "models": fields.List(fields.String(min_length=1, max_length=255), min_items=1 if creating else 0, max_items=MAX_MODELS, required=creating),
    }
    if kind == "image":  # text styles read it too, but horde-sdk's strict text style models have no such field
        fields_of["sharedkey"] = fields.String(
            min_length=36 if creating else 0, max_length=36,
            description="A shared key of yours that pays for the style's users" + ("" if creating else "; \"\" removes it"),
        )
    return fields_of


def style_namespace(kind: str, request_params: Model, endpoint_prefix: str) -> tuple[Namespace, dict]:
    label = "Image" if kind == "image" else "Text"
    suffix = "Stable" if kind == "image" else "Kobold"
    ns = Namespace(f"styles_{kind}", description=f"{label} styles", path="/v2")
    m: dict = {}
    m["params"] = _style_params(ns, f"ModelStyleInputParams{suffix}", request_params, kind)
    m["input"] = ns.model(f"ModelStyleInput{suffix}", _input_fields(kind, m["params"], creating=True))
    m["patch"] = ns.model(f"ModelStylePatch{suffix}", _input_fields(kind, m["params"], creating=False))
    warning = ns.model("ResponseModelWarning", {"code": fields.String, "message": fields.String})
    m["modify"] = ns.model("StyleModify", {"id": fields.String, "message": fields.String(example="OK"),
                                           "warnings": fields.List(fields.Nested(warning))})
    example = ns.model("StyleExample", {"id": fields.String, "url": fields.String, "primary": fields.Boolean})
    view = {
        "id": fields.String, "name": fields.String, "info": nullable(fields.String()), "prompt": fields.String,
        "params": fields.Nested(m["params"], skip_none=True), "public": fields.Boolean, "nsfw": fields.Boolean,
        "tags": fields.List(fields.String), "models": fields.List(fields.String), "creator": fields.String,
        "use_count": fields.Integer,
        "sharedkey": fields.String(description="Only for the style's owner"),
        "shared_key": fields.Nested(key_details, skip_none=True, description="Only for the style's owner"),
    }
    if kind == "image":
        view["examples"] = fields.List(fields.Nested(example))
    m["view"] = ns.model(f"Style{suffix}", view)
    m["simple"] = ns.model("SimpleResponse", {"message": fields.String(example="OK")})
    m["example_input"] = ns.model("InputStyleExamplePost", {
        "url": fields.String(required=True, min_length=10, max_length=1024, description="https:// only"),
        "primary": fields.Boolean(default=False, description="Make it the style's primary example"),
    })
    apikey = ns.parser()
    apikey.add_argument("apikey", location="headers", required=True, help=APIKEY_HELP)
    optional_apikey = ns.parser()
    optional_apikey.add_argument("apikey", location="headers", required=False, help="The owner's, to see the style's shared key")
    listing = ns.parser()
    listing.add_argument("page", type=int, location="args", default=1, help="25 styles a page")
    listing.add_argument("sort", type=str, location="args", default="popular", help="popular (most used first) or age (oldest first)")
    listing.add_argument("tag", type=str, location="args", help="only styles with this tag")
    listing.add_argument("model", type=str, location="args", help="only styles using this model")

    def render(db, style, viewer) -> dict:
        return marshal(styles.view(db, style, viewer), m["view"], skip_none=True)

    @ns.route(f"/styles/{kind}", endpoint=f"{endpoint_prefix}_list")
    class StyleList(Resource):
        @ns.expect(listing)
        @ns.response(200, "Success", [m["view"]])
        def get(self):
            """Public styles, most used first."""
            page = validation.query_int("page", 1, minimum=1, maximum=styles.MAX_PAGE)
            db = session()
            found = styles.listing(db, kind, page=page, sort=request.args.get("sort", "popular"),
                                   tag=request.args.get("tag"), model=request.args.get("model"))
            return [render(db, style, None) for style in found]

        @ns.expect(apikey, m["input"])
        @ns.response(200, "Created", m["modify"])
        def post(self):
            """Create a style (customizers and trusted users)."""
            body = validation.body(m["input"])
            actor = caller()
            db = session()
            style, warnings = styles.create(db, actor, kind, body, utcnow())
            db.commit()
            return marshal({"id": style.id, "message": "OK", "warnings": warnings or None}, m["modify"], skip_none=True)

    @ns.route(f"/styles/{kind}/<string:style_id>", endpoint=f"{endpoint_prefix}_single")
    class StyleSingle(Resource):
        @ns.expect(optional_apikey)
        @ns.response(200, "Success", m["view"])
        def get(self, style_id: str):
            """One style (public or not)."""
            db = session()
            return render(db, styles.get(db, style_id, kind), caller(required=False))

        @ns.expect(apikey, m["patch"])
        @ns.response(200, "Changed", m["modify"])
        def patch(self, style_id: str):
            """Change a style (its owner)."""
            body = validation.body(m["patch"])
            actor = caller()
            db = session()
            warnings = styles.modify(db, actor, styles.get(db, style_id, kind), body, utcnow())
            db.commit()
            return marshal({"id": style_id, "message": "OK", "warnings": warnings or None}, m["modify"], skip_none=True)

        @ns.expect(apikey)
        @ns.response(200, "Deleted", m["simple"])
        def delete(self, style_id: str):
            """Delete a style (its owner or a moderator). Requests already queued keep it."""
            actor = caller()
            db = session()
            styles.delete(db, actor, styles.get(db, style_id, kind))
            db.commit()
            return {"message": "OK"}

    @ns.route(f"/styles/{kind}_by_name/<string:style_name>", endpoint=f"{endpoint_prefix}_by_name")
    class StyleByName(Resource):
        @ns.expect(optional_apikey)
        @ns.response(200, "Success", m["view"])
        def get(self, style_name: str):
            """One style by name: `alias::style::name`, `alias::name` or the name alone."""
            db = session()
            return render(db, styles.by_name(db, style_name, kind), caller(required=False))

    if kind == "image":
        _example_routes(ns, m, apikey, endpoint_prefix)
    return ns, m


def _example_routes(ns: Namespace, m: dict, apikey, endpoint_prefix: str) -> None:
    @ns.route("/styles/image/<string:style_id>/example", endpoint=f"{endpoint_prefix}_examples")
    class StyleExamples(Resource):
        @ns.expect(apikey, m["example_input"])
        @ns.response(200, "Added", m["modify"])
        def post(self, style_id: str):
            """Add an example image (https URL) to a style (owner or moderator; at most 4)."""
            body = validation.body(m["example_input"])
            actor = caller()
            db = session()
            example = styles.add_example(db, actor, styles.get(db, style_id, "image"), body["url"], bool(body.get("primary")), utcnow())
            db.commit()
            return marshal({"id": example.id, "message": "OK"}, m["modify"], skip_none=True)

    @ns.route("/styles/image/<string:style_id>/example/<string:example_id>", endpoint=f"{endpoint_prefix}_example")
    class StyleExample(Resource):
        @ns.expect(apikey, m["example_input"])
        @ns.response(200, "Changed", m["modify"])
        def patch(self, style_id: str, example_id: str):
            """Change an example's URL or make it the primary one (owner or moderator)."""
            body = validation.body(m["example_input"])
            actor = caller()
            db = session()
            style = styles.get(db, style_id, "image")
            example = styles.get_example(db, style, example_id)
            styles.modify_example(db, actor, style, example, body.get("url"), body.get("primary"))
            db.commit()
            return marshal({"id": example_id, "message": "OK"}, m["modify"], skip_none=True)

        @ns.expect(apikey)
        @ns.response(200, "Deleted", m["simple"])
        def delete(self, style_id: str, example_id: str):
            """Delete an example (owner or moderator)."""
            actor = caller()
            db = session()
            style = styles.get(db, style_id, "image")
            styles.delete_example(db, actor, style, styles.get_example(db, style, example_id))
            db.commit()
            return {"message": "OK"}


def image_namespace() -> Namespace:
    from horde.api.image.generate import M

    return style_namespace("image", M["params"], "styles_image")[0]


def text_namespace() -> Namespace:
    from horde.api.text.generate import M

    return style_namespace("text", M["params"], "styles_text")[0]
