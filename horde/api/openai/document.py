"""GET /v1/openapi.json: the OpenAI-compatible routes described (OpenAPI 3.1), with what they
map onto (docs/design.md, "OpenAI-compatible API"; differences in docs/compatibility.md)."""

from __future__ import annotations

from horde import __version__
from horde.domain.openai import chat_templates, mapping
from horde.settings import Settings

_ERROR = {
    "type": "object",
    "properties": {"error": {"type": "object", "properties": {
        "message": {"type": "string"}, "type": {"type": "string"}, "param": {"type": ["string", "null"]},
        "code": {"type": ["string", "null"], "description": "OpenAI's code where it has one (invalid_api_key, model_not_found), else the horde rc"},
    }}},
}
_ERRORS = {
    str(status): {"description": text, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    for status, text in (
        (400, "Invalid body (the native validation's too)"), (401, "Unknown API key"),
        (403, "Refused by a native rule (kudos up front, a filter, an IP timeout)"),
        (404, "Unknown model, or a route of the other mode"), (408, "Not finished within HORDE_OPENAI_WAIT_SECONDS: cancelled"),
        (429, "Too many requests (native limits)"), (502, "The workers failed the request"),
        (503, "No online worker can serve the request"),
    )
}
_MESSAGE = {"type": "object", "required": ["role", "content"], "properties": {
    "role": {"enum": list(chat_templates.ROLES)},
    "content": {"description": "a string, or a list of {type: text, text} parts"},
}}
_TEXT_COMMON = {
    "model": {"type": "string", "description": "a model of GET /v1/models"},
    "max_tokens": {"type": "integer", "description": f"native max_length (default {mapping.NATIVE_MAX_LENGTH})"},
    "temperature": {"type": "number"}, "top_p": {"type": "number"},
    "stop": {"description": "native stop_sequence (string or list)"}, "n": {"type": "integer", "maximum": 20},
    "seed": {"type": "integer", "description": "accepted, not used (text workers choose their seeds)"},
    "user": {"type": "string", "description": "accepted, not used"},
    "stream": {"type": "boolean", "description": "Server-Sent Events of OpenAI's chunks, `: keep-alive` comments while queued, then `data: [DONE]`"},
    "stream_options": {"type": "object", "properties": {"include_usage": {"type": "boolean"}}},
    "max_context_length": {"type": "integer", "description": "extension: the native max_context_length"},
}


def _post(summary: str, description: str, schema: dict, answer: str) -> dict:
    return {"post": {
        "summary": summary, "description": description, "security": [{"bearer": []}, {}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
        "responses": {"200": {"description": answer}, **_ERRORS},
    }}


def build(settings: Settings) -> dict:
    templates = "; ".join(f"`{t.name}`: {t.description}" for t in chat_templates.TEMPLATES.values())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{settings.name} OpenAI-compatible API", "version": __version__,
            "description": (
                "Point an OpenAI client's base_url at this /v1 and use your horde API key as the key "
                "(no key: anonymous). Every call is the native request of the same parameters, with its "
                f"kudos, limits and filters; it waits at most {settings.openai_wait_seconds:g} seconds. "
                f"This horde serves {settings.mode.description}: the other mode's routes answer 404."
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "your horde API key"}},
            "schemas": {"Error": _ERROR},
        },
        "paths": {
            "/v1/models": {"get": {"summary": "Models with workers online", "security": [{"bearer": []}, {}],
                                   "responses": {"200": {"description": "OpenAI's model list"}, **_ERRORS}}},
            "/v1/models/{model}": {"get": {"summary": "One model with workers online",
                                           "parameters": [{"name": "model", "in": "path", "required": True, "schema": {"type": "string"}}],
                                           "responses": {"200": {"description": "OpenAI's model object"}, **_ERRORS}}},
            "/v1/chat/completions": _post(
                "Chat completion (text mode)",
                "The messages become one prompt in the model's chat template, chosen from its name or by "
                f"the `chat_template` extension field: {templates}. The template's stop sequences are added.",
                {"type": "object", "required": ["model", "messages"], "properties": {
                    **_TEXT_COMMON, "messages": {"type": "array", "items": _MESSAGE},
                    "max_completion_tokens": {"type": "integer", "description": "same as max_tokens"},
                    "chat_template": {"enum": list(chat_templates.TEMPLATES), "description": "extension: the chat template"},
                }},
                "chat.completion (or its chunks when streaming); usage counts are estimates",
            ),
            "/v1/completions": _post(
                "Completion (text mode)", "The prompt is the native prompt, unchanged.",
                {"type": "object", "required": ["model", "prompt"], "properties": {
                    **_TEXT_COMMON, "prompt": {"type": "string"}}},
                "text_completion (or its chunks when streaming)",
            ),
            "/v1/images/generations": _post(
                "Image generation (image mode)",
                "size WxH -> width/height (multiples of 64; default 512x512), quality -> steps "
                f"{mapping.QUALITY_STEPS}, style -> cfg_scale {mapping.STYLE_CFG}; the model dall-e-2, "
                "dall-e-3 or gpt-image-1 (or none) means any model the workers serve.",
                {"type": "object", "required": ["prompt"], "properties": {
                    "prompt": {"type": "string"}, "model": {"type": "string"}, "n": {"type": "integer", "maximum": 10},
                    "size": {"type": "string"}, "quality": {"enum": list(mapping.QUALITY_STEPS)},
                    "style": {"enum": list(mapping.STYLE_CFG)}, "response_format": {"enum": ["url", "b64_json"]},
                    "user": {"type": "string", "description": "accepted, not used"},
                }},
                "{created, data: [{url | b64_json}]}; the images are WebP",
            ),
        },
    }
