"""The static pages: home, privacy, terms, the stylesheet; and the headers every page carries."""

from __future__ import annotations

from urllib.parse import urlsplit

from tests.conftest import build_app, make_settings
from tests.web.conftest import Browserless


def test_privacy_and_terms_pages(plain):
    for path, title in (("/privacy", "Privacy policy"), ("/terms", "Terms of service")):
        page = plain.get(path)
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and page.mimetype == "text/html"
        assert f"<h1>{title}</h1>" in html and "Stable Horde" in html
    assert "e-mail address" in plain.get("/privacy").get_data(as_text=True)


def test_an_operator_can_replace_the_documents(tmp_path):
    terms = tmp_path / "terms.html"
    terms.write_text("<p>Our own rules: be kind.</p>")
    app = build_app(make_settings(tmp_path, terms_file=str(terms), horde_name="Kind Horde"))
    html = Browserless(app).get("/terms").get_data(as_text=True)
    assert "Our own rules: be kind." in html and "Kind Horde" in html
    app.extensions["horde"].db.dispose()


def test_home_page_for_browsers_and_json_for_clients(plain):
    browser = plain.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.mimetype == "text/html"
    assert 'href="/register"' in browser.get_data(as_text=True) and 'href="/api/"' in browser.get_data(as_text=True)
    client = plain.get("/", headers={"Accept": "*/*"})
    assert client.mimetype == "application/json" and client.get_json()["api"].endswith("/api/")


def test_stylesheet_is_served(plain):
    answer = plain.get("/static/horde.css")
    assert answer.status_code == 200 and answer.mimetype == "text/css"
    assert "@media" in answer.get_data(as_text=True) or "max-width" in answer.get_data(as_text=True)


def test_pages_carry_the_cors_headers_too(plain):
    answer = plain.get("/register", headers={"Origin": "https://lite.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_pages_are_json_404s_like_the_api(plain):
    answer = plain.get("/no-such-page")
    assert answer.status_code == 404 and answer.get_json()["rc"] == "NotFound"


def test_api_answers_never_open_or_set_a_session(plain):
    page = plain.get("/register")
    assert "Set-Cookie" in page.headers  # the pages have their session...
    for path in ("/api/v2/status/heartbeat", "/api/v2/status/modes", "/api/v2/users/0"):
        answer = plain.get(path)
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers, path


def test_the_service_info_logo_is_served(plain):
    logo = plain.get("/.well-known/serviceinfo").get_json()["software"]["logo"]
    assert logo == "http://127.0.0.1:7001/static/logo.png"  # the host the request came to
    answer = plain.get(urlsplit(logo).path)
    assert answer.status_code == 200 and answer.mimetype == "image/png"
