"""Image bytes: validating worker uploads, reading and storing request source images.

CPU-heavy (decoding): callers do this outside database transactions.
"""

from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from horde import fetch
from horde.domain import errors

MAX_SOURCE_SIDE = 3072
MAX_RESULT_SIDE = 16384  # results may be upscaled x4 from the largest generation
MAX_URL_BYTES = 5 * 1024 * 1024
Image.MAX_IMAGE_PIXELS = MAX_RESULT_SIDE * MAX_RESULT_SIDE


def _check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise errors.ImageValidationFailed("The upload is empty.")
    if len(data) > max_bytes:
        raise errors.ImageValidationFailed(f"The upload is larger than {max_bytes} bytes.")


def check_result(data: bytes, max_bytes: int) -> None:
    """A base64 result must be a bounded image that decodes (it is stored as WebP)."""
    _check_size(data, max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width > MAX_RESULT_SIDE or height > MAX_RESULT_SIDE:
                raise errors.ImageValidationFailed("The uploaded image is too large.")
            image.verify()
    except errors.HordeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise errors.ImageValidationFailed("The upload is not a readable image.") from None


def check_upload(data: bytes, max_bytes: int) -> None:
    """What a worker PUTs to its upload URL is stored as it came, like an object in a bucket:
    any bytes, bounded in size; when they decode as an image, its dimensions are checked."""
    _check_size(data, max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        raise errors.ImageValidationFailed("The uploaded image is too large.") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return  # not an image we can read: kept as bytes
    if width > MAX_RESULT_SIDE or height > MAX_RESULT_SIDE:
        raise errors.ImageValidationFailed("The uploaded image is too large.")


# What a download says it holds: the image formats workers upload, by their first bytes.
_SIGNATURES = ((b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"))


def content_type(data: bytes) -> str:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, mimetype in _SIGNATURES:
        if data.startswith(signature):
            return mimetype
    return "application/octet-stream"


def to_webp(data: bytes, quality: int = 95) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        out = io.BytesIO()
        mode = "RGBA" if image.mode in ("RGBA", "LA", "P") else "RGB"
        image.convert(mode).save(out, format="WEBP", quality=quality)
        return out.getvalue()


def decode_base64(text: str) -> bytes:
    if "," in text[:100] and text.startswith("data:"):
        text = text.split(",", 1)[1]
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        raise errors.SourceImageUnreadable() from None


def _download(fetcher: fetch.Fetcher, url: str) -> bytes:
    """A source image URL's bytes (horde/fetch.py: public addresses only, bounded in time
    and size, without holding the process). The caller holds no database connection."""
    try:
        answer = fetcher.get(url, max_bytes=MAX_URL_BYTES, headers={"Accept": "image/*, */*;q=0.5"})
    except fetch.FetchBusy:
        raise errors.SourceImageFetchBusy() from None
    except fetch.FetchTooLarge:
        raise errors.SourceImageSizeExceeded(f"The source image URL answers more than {MAX_URL_BYTES} bytes.") from None
    except fetch.FetchError as exc:
        raise errors.SourceImageUrlInvalid(f"The source image URL could not be fetched: {exc}") from None
    if not answer.ok:
        raise errors.SourceImageUrlInvalid(f"The source image URL answered HTTP {answer.status}.")
    return answer.body


def is_url(value: str) -> bool:
    return value.startswith(("http://", "https://"))


def read_source(value: str, fetcher: fetch.Fetcher, *, require_alpha: bool = False) -> bytes:
    """A request's source image (base64 or http(s) URL) as WebP bytes, checked."""
    if is_url(value):
        raw = _download(fetcher, value)
    else:
        raw = decode_base64(value)
    try:
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            width, height = image.size
            if width > MAX_SOURCE_SIDE or height > MAX_SOURCE_SIDE:
                raise errors.SourceImageResolutionExceeded()
            if require_alpha and "A" not in image.getbands():
                raise errors.InpaintingMissingMask()
    except errors.HordeError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise errors.SourceImageUnreadable() from None
    return to_webp(raw, quality=90)


def image_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def read_alchemy_source(value: str, fetcher: fetch.Fetcher, check_size) -> tuple[bytes | None, int, int]:
    """An alchemy source image, checked: (bytes to store, width, height) for base64; (None,
    width, height) for a URL, which workers download themselves (behaviour §8.3).
    `check_size(width, height)` raises for an image too large. The image is verified, not
    decoded nor re-encoded: alchemy takes up to 255 tiles (about 60 megapixels), and
    re-encoding that would cost seconds of CPU for a request of a few kilobytes."""
    raw = _download(fetcher, value) if is_url(value) else decode_base64(value)
    try:
        with Image.open(io.BytesIO(raw)) as image:
            width, height = image.size
            check_size(width, height)
            image.verify()
    except errors.HordeError:
        raise
    except Exception:  # a damaged file makes Pillow's checkers raise almost anything
        raise errors.SourceImageUnreadable() from None
    return (None if is_url(value) else raw), width, height
