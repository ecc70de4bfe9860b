"""What a worker may PUT to its upload URL, and what the download then says it is."""

import io

import pytest
from PIL import Image

from horde.domain import errors
from horde.domain.queue import images
from tests.imaging import webp_bytes


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "data", [b"raw pixels \x00\xff" * 10, webp_bytes(), png(64, 32), b"RIFF\x00\x00\x00\x00WEBPtruncated"],
    ids=["raw", "webp", "png", "broken-webp"],
)
def test_any_bytes_within_the_limit_are_accepted(data):
    images.check_upload(data, max_bytes=10_000)


@pytest.mark.parametrize(
    ("data", "message"), ids=["empty", "too-large", "too-wide"], argvalues=
    [
        (b"", "The upload is empty."),
        (b"x" * 10_001, "The upload is larger than 10000 bytes."),
        (png(16385, 8), "The uploaded image is too large."),
    ],
)
def test_refused_uploads(data, message):
    with pytest.raises(errors.ImageValidationFailed) as info:
        images.check_upload(data, max_bytes=10_000)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("data", "mimetype"), ids=["webp", "png", "jpeg", "raw", "wave"], argvalues=
    [(webp_bytes(), "image/webp"), (png(8, 8), "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
     (b"raw pixels", "application/octet-stream"), (b"RIFF1234WAVE", "application/octet-stream")],
)
def test_downloads_name_what_they_hold(data, mimetype):
    assert images.content_type(data) == mimetype
