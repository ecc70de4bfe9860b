"""GET /stats/img/totals, /stats/img/models, /stats/text/totals, /stats/text/models (every mode)."""

from __future__ import annotations

from flask import request
from flask_restx import Namespace, Resource, fields

from horde.api.context import services, session, sibling_answer
from horde.db import utcnow
from horde.domain import errors
from horde.domain.queue import stats
from horde.domain.status import model_status

image_ns = Namespace("stats_img", description="Image statistics", path="/v2")
text_ns = Namespace("stats_text", description="Text statistics", path="/v2")

img_period = image_ns.model("SinglePeriodImgStat", {"images": fields.Integer, "ps": fields.Integer})
img_totals = image_ns.model("StatsImgTotals", {w: fields.Nested(img_period) for w in ("minute", "hour", "day", "month", "total")})
txt_period = text_ns.model("SinglePeriodTxtStat", {"requests": fields.Integer, "tokens": fields.Integer})
txt_totals = text_ns.model("StatsTxtTotals", {w: fields.Nested(txt_period) for w in ("minute", "hour", "day", "month", "total")})
models_model = image_ns.model("ImgModelStats", {w: fields.Raw for w in ("day", "month", "total")})
text_models_model = text_ns.model("TxtModelStats", {w: fields.Raw for w in ("day", "month", "total")})


def _snapshot(kind: str) -> dict:
    svc = services()
    return stats.snapshot(session(), svc.cache, kind, utcnow())


@image_ns.route("/stats/img/totals", endpoint="stats_img_totals")
class ImageTotals(Resource):
    @image_ns.response(200, "Success", img_totals)
    def get(self):
        """Images and pixelsteps per period."""
        answer = sibling_answer("image", "/v2/stats/img/totals")
        if isinstance(answer, dict):
            return answer
        return stats.totals(_snapshot("image"), "images", "ps")


@image_ns.route("/stats/img/models", endpoint="stats_img_models")
class ImageModels(Resource):
    @image_ns.response(200, "Success", models_model)
    def get(self):
        """Images per model per period (model_state: known (default), custom or all)."""
        state = request.args.get("model_state") or "known"
        if state not in ("known", "custom", "all"):
            raise errors.BadRequest("model_state must be 'known', 'custom' or 'all'.")
        answer = sibling_answer("image", "/v2/stats/img/models", model_state=state)
        if isinstance(answer, dict):
            return answer

        def keep(model: str) -> bool:
            known = model_status.is_known("image", model)
            return state == "all" or (state == "known") == known

        return stats.per_model(_snapshot("image"), keep)


@text_ns.route("/stats/text/totals", endpoint="stats_text_totals")
class TextTotals(Resource):
    @text_ns.response(200, "Success", txt_totals)
    def get(self):
        """Text requests and tokens per period."""
        answer = sibling_answer("text", "/v2/stats/text/totals")
        if isinstance(answer, dict):
            return answer
        return stats.totals(_snapshot("text"), "requests", "tokens")


@text_ns.route("/stats/text/models", endpoint="stats_text_models")
class TextModels(Resource):
    @text_ns.response(200, "Success", text_models_model)
    def get(self):
        """Text requests per model per period."""
        answer = sibling_answer("text", "/v2/stats/text/models")
        if isinstance(answer, dict):
            return answer
        return stats.per_model(_snapshot("text"), lambda model: True)
