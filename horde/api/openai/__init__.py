"""The OpenAI-compatible API on /v1 (issue 19; docs/design.md, "OpenAI-compatible API").

Any OpenAI client works with `base_url=<horde>/v1` and its horde API key as the bearer
token (none: the anonymous key). Each call becomes the native request of the same
parameters (horde.domain.openai.mapping), queued through the native route's own code
(`queue`), so kudos, limits, filters and priorities are the native ones; the route then
waits for it without a core slot or a database connection (waiting.py) and answers in
OpenAI's shapes, or streams OpenAI's chunks. Errors use OpenAI's shape
`{"error": {"message", "type", "param", "code"}}`.
"""

from __future__ import annotations

import json
import time
from typing import Iterator

from flask import Blueprint, Flask, g, request
from werkzeug.exceptions import HTTPException

from horde import serving
from horde.api import errors as api_errors
from horde.api import streams, validation
from horde.api.context import caller, services, session
from horde.api.image.generate import M as IMAGE_MODELS
from horde.api.image.generate import queue
from horde.api.openai import document, waiting
from horde.api.text.generate import M as TEXT_MODELS
from horde.db import utcnow
from horde.domain import errors
from horde.domain.accounts.apikeys import ANONYMOUS_API_KEY
from horde.domain.openai import mapping
from horde.domain.openai import models as openai_models
from horde.domain.queue import generation
from horde.modes import Mode

bp = Blueprint("openai", __name__, url_prefix="/v1")

# HTTP status -> OpenAI's error type; a few rcs have OpenAI's own codes (clients test them).
ERROR_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
    408: "timeout_error", 413: "invalid_request_error", 429: "rate_limit_error",
}
OPENAI_CODES = {"InvalidAPIKey": "invalid_api_key", "UnknownModel": "model_not_found"}


def error_response(exc: Exception):
    """Any error of a /v1 route in OpenAI's shape, with the status and rc the native
    rendering (horde.api.errors, the one place errors are mapped) gives it."""
    native = api_errors.render(exc, services().settings.mode)
    body = native.get_json()
    status = native.status_code
    fields = body.get("errors") or {}
    message = body.get("message", "")
    if fields:
        message = f"{message}: " + "; ".join(f"{name or 'body'}: {detail}" for name, detail in fields.items())
    error = {
        "message": message, "type": ERROR_TYPES.get(status, "server_error"),
        "param": next(iter(fields), None), "code": OPENAI_CODES.get(body.get("rc"), body.get("rc")),
    }
    response = api_errors.json_response({"error": error}, status)
    for key, value in native.headers.items():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


@bp.errorhandler(Exception)
def _openai_error(exc: Exception):
    return error_response(exc)


@bp.before_request
def _bearer_key() -> None:
    """`Authorization: Bearer <horde API key>`; without it, the `apikey` header or anonymous."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise errors.InvalidAPIKey("Send your horde API key as 'Authorization: Bearer <key>'.")
        g.apikey = key.strip()
    else:
        g.apikey = request.headers.get("apikey") or ANONYMOUS_API_KEY


def _served(mode: Mode) -> None:
    served = services().settings.mode
    if served is not mode:
        raise api_errors.mode_not_served(served, mode)


def _kind() -> str:
    return "image" if services().settings.mode is Mode.IMAGE else "text"


def _model_entry(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "horde"}


@bp.get("/models", endpoint="models")
def list_models():
    caller(recent=True)  # a wrong key is a 401 here too
    names = openai_models.online_models(session(), services(), _kind(), utcnow())
    return {"object": "list", "data": [_model_entry(name) for name in names]}


@bp.get("/models/<path:model>", endpoint="model")
def one_model(model: str):
    caller(recent=True)
    openai_models.ensure_served(session(), services(), _kind(), model, utcnow())
    return _model_entry(model)


@bp.get("/openapi.json", endpoint="openapi")
def openapi():
    return document.build(services().settings)


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], endpoint="unknown")
def unknown(rest: str):
    raise errors.NotFound(f"No OpenAI-compatible route /v1/{rest[:200]} here: see /v1/openapi.json.")


# --- text ------------------------------------------------------------------------------------
def _queue_native(kind: str, native: dict) -> str:
    """Queue the native request; refuse (and cancel) it at once if no online worker can serve it."""
    queued = queue(kind, native)
    if queued.message:  # the native answer's "no available workers" warning
        waiting.cancel(services(), queued.request_id, kind)
        raise errors.NoWorkerForModel("No online worker can serve this request (its model, size or length) now.")
    return queued.request_id


def _text(chat: bool):
    _served(Mode.TEXT)
    svc = services()
    caller(recent=True)
    call = mapping.text_call(validation.json_body(), chat)
    native = validation.checked(TEXT_MODELS["input"], call.native)
    openai_models.ensure_served(session(), svc, "text", call.model, utcnow())
    request_id = _queue_native("text", native)
    answer = TextAnswer(call, request_id, chat)
    client = request.environ.get("gunicorn.socket")
    if call.stream:
        return _open_text_stream(svc, answer, request_id, client)
    texts = waiting.wait_in_request(
        svc, request_id, "text", client, lambda: [g["text"] for g in generation.text_generations(session(), request_id)]
    )
    return answer.whole(texts)


@bp.post("/chat/completions", endpoint="chat_completions")
def chat_completions():
    return _text(chat=True)


@bp.post("/completions", endpoint="completions")
def completions():
    return _text(chat=False)


class TextAnswer:
    """OpenAI's chat.completion / text_completion bodies and stream chunks for one request."""

    def __init__(self, call: mapping.TextCall, request_id: str, chat: bool):
        self.call, self.chat = call, chat
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{request_id}"
        self.created = int(time.time())
        self.object = "chat.completion" if chat else "text_completion"

    def _head(self, object_name: str) -> dict:
        return {"id": self.id, "object": object_name, "created": self.created, "model": self.call.model}

    def usage(self, texts: list[str]) -> dict:
        prompt = mapping.count_tokens(self.call.prompt)
        completion = sum(mapping.count_tokens(text) for text in texts)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def whole(self, texts: list[str]) -> dict:
        choices = []
        for index, text in enumerate(texts):
            reason = mapping.finish_reason(text, self.call.max_tokens)
            if self.chat:
                choices.append({"index": index, "message": {"role": "assistant", "content": text, "refusal": None},
                                "logprobs": None, "finish_reason": reason})
            else:
                choices.append({"index": index, "text": text, "logprobs": None, "finish_reason": reason})
        return {**self._head(self.object), "choices": choices, "usage": self.usage(texts), "system_fingerprint": None}

    def _chunk(self, index: int, piece: str | None = None, reason: str | None = None, role: bool = False) -> str:
        if self.chat:
            delta: dict = {"role": "assistant", "content": ""} if role else ({"content": piece} if piece is not None else {})
            choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": reason}
            body = {**self._head("chat.completion.chunk"), "choices": [choice], "system_fingerprint": None}
        else:
            choice = {"index": index, "text": piece or "", "logprobs": None, "finish_reason": reason}
            body = {**self._head("text_completion"), "choices": [choice]}
        return _data(body)

    def opening(self) -> Iterator[str]:
        if self.chat:
            for index in range(self.call.native["params"]["n"]):
                yield self._chunk(index, role=True)

    def chunks(self, texts: list[str]) -> Iterator[str]:
        for index, text in enumerate(texts):
            for piece in mapping.split_for_stream(text):
                yield self._chunk(index, piece)
            yield self._chunk(index, reason=mapping.finish_reason(text, self.call.max_tokens))
        if self.call.include_usage:
            head = self._head("chat.completion.chunk" if self.chat else "text_completion")
            yield _data({**head, "choices": [], "usage": self.usage(texts)})
        yield "data: [DONE]\n\n"


def _data(body: dict) -> str:
    return f"data: {json.dumps(body, separators=(',', ':'))}\n\n"


def _open_text_stream(svc, answer: TextAnswer, request_id: str, client_socket):
    """Subscribe and read while holding the slot (as the event streams do), then stream:
    keep-alive comments while the request waits, the text as chunks once it is done."""
    listener = svc.events.listen(f"req:{request_id}")
    try:
        first = streams.with_session(svc, lambda db: generation.check(db, svc, request_id, "text", utcnow()))
    except Exception:
        listener.close()
        waiting.cancel(svc, request_id, "text")
        raise
    svc.db.remove()

    def body() -> Iterator[str]:
        ended = False
        try:
            yield from answer.opening()
            last = waiting.Watched(waiting.GONE)
            for last in waiting.watch(
                svc, listener, request_id, "text", first, deadline=time.monotonic() + svc.settings.openai_wait_seconds,
                keepalive=svc.settings.stream_keepalive, client_socket=client_socket,
            ):
                if last.kind == waiting.TICK:
                    yield ": keep-alive\n\n"
            if last.kind == waiting.DONE and last.fields.get("finished") and not last.fields.get("faulted"):
                with serving.working():
                    texts = streams.with_session(svc, lambda db: [g["text"] for g in generation.text_generations(db, request_id)])
                ended = True
                yield from answer.chunks(texts)
                return
            if last.kind in (waiting.DONE, waiting.GONE):
                failure = errors.GenerationFailed("The workers could not generate this request.")
            else:
                waiting.cancel(svc, request_id, "text")  # before the client hears of it
                failure = waiting.outcome_error(last.kind, svc.settings.openai_wait_seconds)
            ended = True
            yield _data(_stream_error(failure))
        finally:
            listener.close()
            if not ended:  # timed out, hung up, stopping, or the client stopped reading
                waiting.cancel(svc, request_id, "text")

    return streams.stream_response(body())


def _stream_error(exc: errors.HordeError) -> dict:
    """An error after the stream's headers went out: OpenAI sends it as a data event."""
    return {"error": {"message": exc.message, "type": ERROR_TYPES.get(exc.status, "server_error"), "param": None,
                      "code": OPENAI_CODES.get(exc.rc, exc.rc)}}


# --- images ----------------------------------------------------------------------------------
@bp.post("/images/generations", endpoint="image_generations")
def image_generations():
    _served(Mode.IMAGE)
    svc = services()
    caller(recent=True)
    call = mapping.image_call(validation.json_body())
    native = validation.checked(IMAGE_MODELS["input"], call.native)
    if call.model:
        openai_models.ensure_served(session(), svc, "image", call.model, utcnow())
    request_id = _queue_native("image", native)

    def images() -> list[dict]:
        db = session()
        found, _fields = generation.status(db, svc, request_id, "image", utcnow())
        return generation.image_generations(db, svc, found)

    done = waiting.wait_in_request(svc, request_id, "image", request.environ.get("gunicorn.socket"), images)
    key = "url" if call.response_format == "url" else "b64_json"
    return {"created": int(time.time()), "data": [{key: item["img"], "revised_prompt": None} for item in done]}


def install(app: Flask) -> None:
    app.register_blueprint(bp)
