"""Our own object store endpoints (used when no S3 bucket is configured).

Workers PUT result images to the signed upload URL of their pop; clients GET them from the
signed download URL of a status answer. Signatures expire after 30 minutes.
"""

from __future__ import annotations

from flask import Response, request
from flask_restx import Namespace, Resource

from horde.api.context import services
from horde.domain import errors
from horde.domain.queue import images
from horde.storage import LocalStore

ns = Namespace("results", description="Result image upload and download", path="/v2")


def _local_store() -> LocalStore:
    store = services().store
    if not isinstance(store, LocalStore):
        raise errors.NotFound("This horde stores images in an S3 bucket.")
    return store


def _verify(store: LocalStore, action: str, key: str) -> None:
    if not store.verify(action, key, request.args.get("expires", ""), request.args.get("signature", "")):
        raise errors.Forbidden("This link is invalid or has expired.")


@ns.route("/results/upload/<string:key>", endpoint="upload_result")
class UploadResult(Resource):
    def put(self, key: str):
        """Upload a result (raw bytes, any or no Content-Type; stored as they came, like a bucket)."""
        store = _local_store()
        _verify(store, "upload", key)
        data = request.get_data(cache=False)
        images.check_upload(data, services().settings.max_upload_bytes)
        store.put(key, data)
        return {"message": "OK"}


@ns.route("/results/download/<string:key>", endpoint="download_result")
class DownloadResult(Resource):
    def get(self, key: str):
        """Download a result or source image (the bytes the worker uploaded)."""
        store = _local_store()
        _verify(store, "download", key)
        data = store.get(key)
        if data is None:
            raise errors.NotFound("This image no longer exists.")
        return Response(data, mimetype=images.content_type(data), headers={"Cache-Control": "private, max-age=1800"})
