"""The safe fetcher (horde/fetch.py) against local servers playing slow, huge, redirecting
and internal URLs. No test here connects anywhere but loopback."""

from __future__ import annotations

import ipaddress
import ssl
import threading
import time

import pytest

from horde import fetch, serving
from tests.fetch_targets import HUGE_BYTES, FetchTargets

MAX = 5 * 1024 * 1024


@pytest.fixture
def targets():
    with FetchTargets(drip_interval=0.2) as running:
        yield running


def local_fetcher(**options) -> fetch.Fetcher:
    """Private addresses allowed, as HORDE_FETCH_ALLOW_PRIVATE=1 does for tests."""
    return fetch.Fetcher(allow_private=True, **options)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
        "100.64.0.1", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
        "192.0.2.1", "198.18.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "fec0::1",
        "2001:db8::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
        "::10.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:1", "2002:7f00:1::1",
        "2002:c0a8:101::1", "100::1",
    ],
)
def test_non_public_addresses_are_refused(address):
    assert not fetch.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1"]
)
def test_public_addresses_are_allowed(address):
    assert fetch.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/image.png",
        "http://localhost:{port}/image.png",  # a name that resolves to loopback
        "http://0x7f.1:{port}/image.png",  # another spelling of 127.0.0.1
        "http://2130706433:{port}/image.png",
        "http://[::ffff:127.0.0.1]:{port}/image.png",
    ],
)
def test_loopback_is_refused_without_a_connection(targets, url):
    with pytest.raises(fetch.FetchRefused):
        fetch.Fetcher().get(url.format(port=targets.port), max_bytes=MAX)
    assert targets.connections == 0


@pytest.mark.parametrize(
    "url", ["ftp://example.org/a.png", "file:///etc/passwd", "gopher://x/", "http://user:secret@example.org/a.png", "http:///nohost", "http://[::1/"]
)
def test_only_plain_http_urls_are_fetched(url):
    with pytest.raises(fetch.FetchRefused):
        fetch.Fetcher(resolver=_no_lookups).get(url, max_bytes=MAX)


def _no_lookups(host, port):
    raise AssertionError(f"looked up {host}: the URL should have been refused first")


class _AllowsOneAddress(fetch.Fetcher):
    """Stands in for a public host (tests may only reach loopback): 127.0.0.2 counts as
    public, every other address is checked as usual."""

    def address_allowed(self, address):
        return str(address) == "127.0.0.2" or super().address_allowed(address)


def test_a_redirect_to_loopback_is_refused_without_a_connection(targets):
    with FetchTargets(host="127.0.0.2") as public:
        fetcher = _AllowsOneAddress()
        assert fetcher.get(public.url("/image.png"), max_bytes=MAX).body == public.image  # the stand-in works
        with pytest.raises(fetch.FetchRefused):
            fetcher.get(public.url(f"/redirect?to={targets.url('/image.png')}"), max_bytes=MAX)
        with pytest.raises(fetch.FetchRefused):  # and a name that resolves there
            fetcher.get(public.url(f"/redirect?to={targets.url('/image.png', host='localhost')}"), max_bytes=MAX)
    assert targets.connections == 0


def test_any_non_public_address_of_a_name_refuses_it():
    resolver = lambda host, port: ["8.8.8.8", "10.0.0.7"]  # noqa: E731
    with pytest.raises(fetch.FetchRefused):
        fetch.Fetcher(resolver=resolver).get("http://images.example/a.png", max_bytes=MAX)


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(targets):
    """No DNS rebinding: a second lookup would answer an address nobody checked."""
    answers = iter([["127.0.0.1"], ["10.9.9.9"]])
    calls = []

    def rebinding(host, port):
        calls.append(host)
        return next(answers)

    answer = local_fetcher(resolver=rebinding).get(f"http://images.example:{targets.port}/image.png", max_bytes=MAX)
    assert answer.ok and answer.body == targets.image
    assert calls == ["images.example"]
    assert targets.hosts == [f"images.example:{targets.port}"]  # the real name goes in Host


def test_redirects_are_followed_three_times_at_most(targets):
    fetcher = local_fetcher()
    assert fetcher.get(targets.url("/hops/3"), max_bytes=MAX).body == targets.image
    with pytest.raises(fetch.FetchRefused, match="redirects"):
        fetcher.get(targets.url("/hops/4"), max_bytes=MAX)


def test_error_statuses_are_returned_not_raised(targets):
    answer = local_fetcher().get(targets.url("/status/404"), max_bytes=MAX)
    assert answer.status == 404 and not answer.ok


@pytest.mark.parametrize("path", ["/drip", "/drip-headers"])
def test_a_dripping_url_is_cut_off_at_the_deadline(targets, path):
    started = time.monotonic()
    with pytest.raises(fetch.FetchTimeout):
        local_fetcher(deadline=1.0).get(targets.url(path), max_bytes=MAX)
    assert 0.9 <= time.monotonic() - started < 2.5  # the deadline, not a read timeout


@pytest.mark.parametrize("path", ["/huge", "/huge-unsized"])
def test_a_huge_answer_is_cut_off_at_the_size_cap(targets, path):
    with pytest.raises(fetch.FetchTooLarge):
        local_fetcher().get(targets.url(path), max_bytes=MAX)
    assert local_fetcher().get(targets.url(path), max_bytes=HUGE_BYTES).body == b"\0" * HUGE_BYTES


def test_a_slow_name_lookup_is_bounded_and_keeps_its_permit():
    release = threading.Event()

    def stuck(host, port):
        release.wait(10)
        return ["127.0.0.1"]

    fetcher = local_fetcher(resolver=stuck, concurrency=1, deadline=0.5)
    started = time.monotonic()
    with pytest.raises(fetch.FetchTimeout):
        fetcher.get("http://slow-dns.example/a.png", max_bytes=MAX)
    assert time.monotonic() - started < 1.5
    with pytest.raises(fetch.FetchBusy):  # the lookup still runs: its permit is not free
        fetcher.get("http://slow-dns.example/a.png", max_bytes=MAX)
    release.set()
    deadline = time.monotonic() + 5
    while not fetcher._permits.acquire(blocking=False):
        assert time.monotonic() < deadline, "the permit never came back"
        time.sleep(0.01)
    fetcher._permits.release()


def test_a_full_pool_refuses_at_once_and_frees_up(targets):
    fetcher = local_fetcher(concurrency=1, deadline=1.0)
    inside = threading.Thread(target=lambda: pytest.raises(fetch.FetchTimeout, fetcher.get, targets.url("/drip"), max_bytes=MAX))
    inside.start()
    wait_for(lambda: targets.connections == 1)
    started = time.monotonic()
    with pytest.raises(fetch.FetchBusy):
        fetcher.get(targets.url("/image.png"), max_bytes=MAX)
    assert time.monotonic() - started < 0.5  # at once: not after the other fetch's deadline
    inside.join(5)
    assert fetcher.get(targets.url("/image.png"), max_bytes=MAX).ok


def test_a_fetch_gives_the_core_slot_back_while_it_waits(targets):
    """The process serves other requests while one of its threads downloads."""
    serving.configure(1)
    downloading = threading.Event()

    def slow_request(environ, start_response):
        downloading.set()
        with pytest.raises(fetch.FetchTimeout):
            local_fetcher(deadline=2.0).get(targets.url("/drip"), max_bytes=MAX)
        start_response("200 OK", [])
        return [b"slow"]

    def quick_request(environ, start_response):
        start_response("200 OK", [])
        return [b"quick"]

    slow = threading.Thread(target=lambda: serving.CoreSlotMiddleware(slow_request)({}, lambda *a: None))
    slow.start()
    assert downloading.wait(5)
    wait_for(lambda: targets.connections == 1)
    started = time.monotonic()
    assert serving.CoreSlotMiddleware(quick_request)({}, lambda *a: None) == [b"quick"]
    assert time.monotonic() - started < 0.5, "a download held the process's core slot"
    slow.join(5)


def test_tls_is_verified_for_the_real_host_name(tmp_path):
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    to_loopback = lambda host, port: ["127.0.0.1"]  # noqa: E731

    def server(name: str) -> FetchTargets:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        authority.issue_cert(name).configure_cert(context)
        return FetchTargets(tls=context).start()

    good = server("images.example")
    try:
        fetcher = local_fetcher(resolver=to_loopback, ca_certs=str(ca_file))
        answer = fetcher.get(good.url("/image.png", host="images.example"), max_bytes=MAX)
        assert answer.body == good.image
        assert good.server_names == ["images.example"]  # SNI names the host, not the address
        with pytest.raises(fetch.FetchFailed):  # without our test authority: not trusted
            local_fetcher(resolver=to_loopback).get(good.url("/image.png", host="images.example"), max_bytes=MAX)
    finally:
        good.stop()
    wrong = server("elsewhere.example")
    try:
        with pytest.raises(fetch.FetchFailed):  # a certificate for another name
            fetcher.get(wrong.url("/image.png", host="images.example"), max_bytes=MAX)
    finally:
        wrong.stop()


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def test_has_room_tells_whether_a_fetch_could_start(targets):
    fetcher = local_fetcher(concurrency=1, deadline=1.0)
    assert fetcher.has_room()
    inside = threading.Thread(target=lambda: pytest.raises(fetch.FetchTimeout, fetcher.get, targets.url("/drip"), max_bytes=MAX))
    inside.start()
    wait_for(lambda: targets.connections == 1)
    assert not fetcher.has_room()
    inside.join(5)
    assert fetcher.has_room()
