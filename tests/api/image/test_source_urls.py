"""Source images given as URLs: fetched safely, or refused with nothing queued, charged or stored."""

from __future__ import annotations

import threading
import time

import pytest

from horde import fetch
from tests.api.unchanged import assert_unchanged, snapshot
from tests.fetch_targets import FetchTargets


@pytest.fixture
def targets():
    with FetchTargets(drip_interval=0.2) as running:
        yield running


@pytest.fixture
def private_allowed(app, monkeypatch):
    """HORDE_FETCH_ALLOW_PRIVATE=1 with a short deadline, as for development and tests."""
    fetcher = fetch.Fetcher(allow_private=True, deadline=1.0, concurrency=2)
    monkeypatch.setattr(app.extensions["horde"], "fetcher", fetcher)
    return fetcher


def refused(app, loop, status, rc, **body) -> float:
    """Refused with this status and rc, nothing changed; returns how long the answer took."""
    before = snapshot(app)
    started = time.monotonic()
    response = loop.request(expect=None, **body)
    took = time.monotonic() - started
    assert response.status_code == status and response.get_json()["rc"] == rc, response.get_json()
    assert_unchanged(app, before)
    return took


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_loopback_urls_are_refused_without_a_connection(app, loop, targets, host):
    refused(app, loop, 400, "SourceImageUrlInvalid", source_image=targets.url("/image.png", host=host))
    message = loop.request(expect=400, source_image=targets.url("/image.png", host=host)).get_json()["message"]
    assert "address" in message
    refused(app, loop, 400, "SourceImageUrlInvalid", source_image=targets.url("/image.png", host=host), source_processing="inpainting")
    assert targets.connections == 0


def test_a_mask_and_extra_source_images_are_checked_the_same_way(app, loop, users, targets):
    from tests.imaging import png_b64

    refused(app, loop, 400, "SourceImageUrlInvalid", source_image=png_b64(), source_mask=targets.url("/image.png"))
    _, trusted = users.create("trusted", trusted=True, kudos=100)
    before = snapshot(app)
    response = loop.request(
        trusted, expect=None, source_image=png_b64(), source_processing="remix", models=["Stable Cascade 1.0"],
        extra_source_images=[{"image": png_b64()}, {"image": targets.url("/image.png")}],
    )
    assert response.status_code == 400 and response.get_json()["rc"] == "SourceImageUrlInvalid"
    assert_unchanged(app, before)  # the first images, already stored, were removed again
    assert targets.connections == 0


class _StandInForAPublicHost(fetch.Fetcher):
    def address_allowed(self, address):
        return str(address) == "127.0.0.2" or super().address_allowed(address)


def test_a_url_that_redirects_to_loopback_is_refused(app, loop, targets, monkeypatch):
    monkeypatch.setattr(app.extensions["horde"], "fetcher", _StandInForAPublicHost())
    with FetchTargets(host="127.0.0.2") as public:
        refused(app, loop, 400, "SourceImageUrlInvalid", source_image=public.url(f"/redirect?to={targets.url('/image.png')}"))
        assert public.connections == 1
    assert targets.connections == 0


def test_a_fetched_source_image_reaches_the_worker(app, loop, worker_key, targets, private_allowed):
    loop.request(source_image=targets.url("/image.png"))
    job = loop.pop(worker_key)
    assert job["source_image"] and job["source_processing"] == "img2img"
    assert targets.hosts == [f"127.0.0.1:{targets.port}"]


@pytest.mark.parametrize(
    "path,rc",
    [("/drip", "SourceImageUrlInvalid"), ("/drip-headers", "SourceImageUrlInvalid"), ("/huge", "SourceImageSizeExceeded"),
     ("/huge-unsized", "SourceImageSizeExceeded"), ("/status/404", "SourceImageUrlInvalid"), ("/hops/4", "SourceImageUrlInvalid")],
)
def test_slow_huge_and_broken_urls_are_refused_within_the_deadline(app, loop, targets, private_allowed, path, rc):
    assert refused(app, loop, 400, rc, source_image=targets.url(path)) < private_allowed.deadline + 1.5


def test_a_full_fetch_pool_answers_busy_at_once(app, loop, targets, private_allowed):
    # Fill the pool with fetches that drip, straight through the fetcher (the test client
    # runs one request at a time), then ask for one more through the API.
    holders = [
        threading.Thread(target=lambda: pytest.raises(fetch.FetchTimeout, private_allowed.get, targets.url("/drip"), max_bytes=10**7))
        for _ in range(2)
    ]
    for holder in holders:
        holder.start()
    deadline = time.monotonic() + 5
    while targets.connections < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert refused(app, loop, 503, "SourceImageFetchBusy", source_image=targets.url("/image.png")) < 0.5  # not after a deadline
    for holder in holders:
        holder.join(5)
    loop.request(source_image=targets.url("/image.png"))  # room again


def test_no_database_connection_is_held_while_a_url_downloads(app, loop, targets, private_allowed):
    engine = app.extensions["horde"].db.engine
    answers = []
    request = threading.Thread(target=lambda: answers.append(loop.request(expect=None, source_image=targets.url("/drip"))))
    request.start()
    deadline = time.monotonic() + 5
    while targets.connections < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert engine.pool.checkedout() == 0, "a connection is held across the download"
    request.join(10)
    assert answers[0].status_code == 400


def test_admission_is_checked_again_after_the_download(app, loop, users, monkeypatch):
    """The concurrency limit is checked before the download and again after it: requests
    queued meanwhile count, and the downloaded image is not left behind."""
    from tests.imaging import png_b64

    monkeypatch.setattr(app.extensions["horde"], "fetcher", fetch.Fetcher(allow_private=True, deadline=10))
    _, key = users.create("one-at-a-time", concurrency=1)
    answers = []
    targets = FetchTargets(drip_interval=2.0).start()  # the download takes two seconds
    stored_before = set(snapshot(app)["stored images"])
    slow = threading.Thread(target=lambda: answers.append(loop.request(key, expect=None, source_image=targets.url("/slow-image.png"))))
    slow.start()
    deadline = time.monotonic() + 5
    while targets.connections < 1:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    queued = loop.request(key, source_image=png_b64()).get_json()["id"]  # takes the only slot meanwhile
    slow.join(10)
    assert (answers[0].status_code, answers[0].get_json()["rc"]) == (429, "TooManyPrompts")
    targets.stop()
    state = snapshot(app)
    assert state["requests"] == 1 and set(state["stored images"]) - stored_before == {f"{queued}_src.webp"}
