"""OpenAI request bodies mapped onto native horde requests (docs/design.md, "OpenAI-compatible API").

The OpenAI routes never queue anything themselves: they turn the body into the body of
`POST /v2/generate/text/async` or `/v2/generate/async` (this module), and that native body
goes through the native validation and admission, so kudos, limits and filters are the
native route's. What has no native meaning is refused (a 400) or documented as ignored
(docs/compatibility.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from horde.domain import errors
from horde.domain.openai import chat_templates

# Names OpenAI clients send by default for images: any model the horde serves will do.
OPENAI_IMAGE_MODELS = ("dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini")
DEFAULT_IMAGE_SIZE = (512, 512)  # the native default: free for every user (OpenAI's is 1024x1024)
IMAGE_SIDE = (64, 3072)
# quality -> steps; style -> cfg_scale (how closely the image follows the prompt).
QUALITY_STEPS = {"low": 20, "standard": 30, "medium": 30, "auto": 30, "high": 50, "hd": 50}
STYLE_CFG = {"natural": 5.0, "vivid": 9.0}
MAX_STOP = 16
NATIVE_MAX_LENGTH = 80  # the native text request's default max_length, used when max_tokens is absent


@dataclass
class TextCall:
    """A chat or completion request as the native text request it becomes."""

    model: str
    prompt: str
    native: dict
    max_tokens: int
    stream: bool
    include_usage: bool
    template: str | None = None  # the chat template's name (chat only)


@dataclass
class ImageCall:
    model: str | None
    native: dict
    response_format: str  # "url" or "b64_json"
    extra: dict = field(default_factory=dict)


_TOKEN = re.compile(r"\w{1,6}|[^\w\s]")


def count_tokens(text: str) -> int:
    """An estimate of a text's tokens (the horde does not know each model's tokenizer): word
    pieces of up to six letters and each punctuation mark, about what BPE tokenizers give
    English text."""
    return len(_TOKEN.findall(text))


def finish_reason(text: str, max_tokens: int) -> str:
    """'length' when the answer used its whole budget (by our estimate), else 'stop'."""
    return "length" if count_tokens(text) >= max_tokens else "stop"


def _invalid(field_name: str, detail: str) -> errors.ValidationFailed:
    return errors.ValidationFailed(errors={field_name: detail})


def _number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise _invalid(name, f"a number from {low:g} to {high:g}")
    return value


def _integer(body: dict, name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _invalid(name, f"an integer from {low} to {high}")
    return value


def _model(body: dict) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip() or len(model) > 255:
        raise _invalid("model", "the name of a model (a string of 1 to 255 characters) is required")
    return model


def _stop(body: dict) -> list[str]:
    stop = body.get("stop")
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or len(stop) > MAX_STOP or not all(isinstance(s, str) and s for s in stop):
        raise _invalid("stop", f"a string or a list of at most {MAX_STOP} non-empty strings")
    return stop


def _stream_options(body: dict) -> tuple[bool, bool]:
    stream = body.get("stream", False)
    if not isinstance(stream, bool) and stream is not None:
        raise _invalid("stream", "true or false")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise _invalid("stream_options", "an object")
    return bool(stream), bool(options.get("include_usage"))


def text_call(body: dict, chat: bool) -> TextCall:
    """`/v1/chat/completions` (chat) or `/v1/completions` as a native text request body."""
    model = _model(body)
    template = None
    if chat:
        messages = chat_templates.read_messages(body.get("messages"))
        chosen = chat_templates.choose(model, body.get("chat_template"))
        prompt, template, stops = chosen.render(messages), chosen.name, list(chosen.stop)
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
            prompt = prompt[0]  # the client's one-prompt batch
        if not isinstance(prompt, str) or not prompt:
            raise _invalid("prompt", "one non-empty string (batches of prompts are not supported)")
        stops = []
    # max_completion_tokens is the newer name of max_tokens in the chat API.
    max_tokens = _integer(body, "max_completion_tokens", 1, 1 << 20)
    if max_tokens is None:
        max_tokens = _integer(body, "max_tokens", 1, 1 << 20)
    params: dict = {"n": _integer(body, "n", 1, 20) or 1}
    if max_tokens is not None:
        params["max_length"] = max_tokens
    temperature = _number(body, "temperature", 0, 2)
    if temperature is not None:
        params["temperature"] = temperature
    top_p = _number(body, "top_p", 0, 1)
    if top_p is not None:
        params["top_p"] = max(top_p, 0.001)  # the native minimum; 0 means "only the likeliest"
    asked = _stop(body)
    stop = [*asked, *(s for s in stops if s not in asked)]
    if stop:
        params["stop_sequence"] = stop
    if body.get("max_context_length") is not None:  # an extension: the native field of that name
        params["max_context_length"] = body["max_context_length"]
    _integer(body, "seed", -(1 << 63), (1 << 63) - 1)  # accepted; text workers choose their own seeds
    stream, include_usage = _stream_options(body)
    native = {"prompt": prompt, "params": params, "models": [model]}
    return TextCall(model=model, prompt=prompt, native=native, max_tokens=max_tokens or NATIVE_MAX_LENGTH, stream=stream,
                    include_usage=include_usage, template=template)


_SIZE = re.compile(r"^(\d{2,4})x(\d{2,4})$")


def image_size(value) -> tuple[int, int]:
    """OpenAI's `size` ("1024x1024"; "auto" or none: the native default) as width and height."""
    if value is None or value == "auto":
        return DEFAULT_IMAGE_SIZE
    found = _SIZE.match(value) if isinstance(value, str) else None
    if found is None:
        raise _invalid("size", "WIDTHxHEIGHT, e.g. 512x512, or auto")
    width, height = int(found.group(1)), int(found.group(2))
    low, high = IMAGE_SIDE
    if not (low <= width <= high and low <= height <= high) or width % 64 or height % 64:
        raise _invalid("size", f"each side a multiple of 64 from {low} to {high}")
    return width, height


def image_call(body: dict) -> ImageCall:
    """`/v1/images/generations` as a native image request body."""
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise _invalid("prompt", "a non-empty string is required")
    model = body.get("model")
    if model is not None and (not isinstance(model, str) or not model or len(model) > 255):
        raise _invalid("model", "a string of 1 to 255 characters")
    width, height = image_size(body.get("size"))
    params: dict = {"width": width, "height": height, "n": _integer(body, "n", 1, 10) or 1}
    quality = body.get("quality")
    if quality is not None:
        if quality not in QUALITY_STEPS:
            raise _invalid("quality", f"one of {', '.join(QUALITY_STEPS)}")
        params["steps"] = QUALITY_STEPS[quality]
    style = body.get("style")
    if style is not None:
        if style not in STYLE_CFG:
            raise _invalid("style", f"one of {', '.join(STYLE_CFG)}")
        params["cfg_scale"] = STYLE_CFG[style]
    response_format = body.get("response_format") or "url"
    if response_format not in ("url", "b64_json"):
        raise _invalid("response_format", "url or b64_json")
    native: dict = {"prompt": prompt, "params": params, "r2": response_format == "url"}
    named = model if model and model.lower() not in OPENAI_IMAGE_MODELS else None
    if named:
        native["models"] = [named]
    return ImageCall(model=named, native=native, response_format=response_format)


def split_for_stream(text: str) -> list[str]:
    """A finished text as the pieces a stream sends (word by word; joined, they are the text)."""
    pieces = [piece for piece in re.split(r"(?<=\s)(?=\S)", text) if piece]
    return pieces or [""]
