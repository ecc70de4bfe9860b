"""Every response is JSON with message and rc; CORS on every route; the mode switch."""

import pytest

from horde.modes import Mode
from tests.conftest import build_app, make_settings

SPEC_ALLOW_HEADERS = (
    "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, apikey, Client-Agent, "
    "X-Fields, X-Forwarded-For, Proxied-For, Proxy-Authorization"
)


def assert_json_error(response, status, rc):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["rc"] == rc
    assert isinstance(body["message"], str) and body["message"]
    return body


def test_unknown_route_is_a_json_404(client):
    assert_json_error(client.get("/api/v2/no/such/route"), 404, "NotFound")
    assert_json_error(client.get("/nowhere"), 404, "NotFound")


def test_wrong_method_is_a_json_405_with_allow(client):
    response = client.delete("/api/v2/status/news")
    assert_json_error(response, 405, "MethodNotAllowed")
    assert "GET" in response.headers["Allow"]


def test_oversized_body_is_a_json_413(app):
    client = app.test_client()
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.put("/api/v2/users/1", data=b"x" * (limit + 1), headers={"apikey": "0000000000"})
    assert_json_error(response, 413, "PayloadTooLarge")


def test_malformed_json_is_a_400(client, users):
    _, key = users.create("alice")
    response = client.put("/api/v2/users/1", data='{"contact": ', headers={"apikey": key})
    body = assert_json_error(response, 400, "BadRequest")
    assert "could not understand" in body["message"]


def test_wrong_types_are_validation_errors_naming_the_field(client, users):
    _, key = users.create("alice")
    response = client.put("/api/v2/users/1", json={"concurrency": "many", "trusted": 3}, headers={"apikey": key})
    body = assert_json_error(response, 400, "ValidationError")
    assert body["message"] == "Input payload validation failed"
    assert "concurrency" in body["errors"] and "trusted" in body["errors"]


def test_nul_bytes_are_refused(client, users):
    _, key = users.create("alice")
    response = client.put("/api/v2/users/1", json={"contact": "a\x00bcdef"}, headers={"apikey": key})
    assert_json_error(response, 400, "NulByteInPayload")


def test_server_error_is_json(app):
    from horde.app import create_app

    fresh = create_app(app.extensions["horde"].settings)
    fresh.add_url_rule("/boom", "boom", lambda: 1 / 0)
    response = fresh.test_client().get("/boom")
    assert_json_error(response, 500, "InternalServerError")


@pytest.mark.parametrize(
    "method,path",
    [("get", "/api/v2/status/heartbeat"), ("get", "/api/v2/users"), ("get", "/api/v2/no/such"), ("get", "/api/swagger.json"),
     ("get", "/api/v2/styles/image"), ("get", "/api/v2/collections"), ("get", "/api/v2/sharedkeys/00000000-0000-0000-0000-000000000000"),
     ("put", "/api/v2/sharedkeys")],
)
def test_cors_headers_on_every_response(client, method, path):
    response = getattr(client, method)(path, headers={"Origin": "https://lite.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Methods"] == "POST, GET, OPTIONS, PUT, DELETE, PATCH"
    assert response.headers["Access-Control-Allow-Headers"] == SPEC_ALLOW_HEADERS
    assert response.headers["Horde-Node"].endswith(":0.1.0")


@pytest.mark.parametrize("path", ["/api/v2/status/heartbeat", "/api/v2/no/such", "/"])
def test_server_timing_tells_the_time_spent_in_the_application(client, path):
    timing = client.get(path).headers["Server-Timing"]
    name, duration = timing.split(";dur=")
    assert name == "app" and 0 < float(duration) < 5000


@pytest.mark.parametrize(
    "path",
    ["/api/v2/users/1", "/api/v2/find_user", "/api/v2/status/modes", "/api/v2/sharedkeys", "/api/v2/styles/image",
     "/api/v2/collections/00000000-0000-0000-0000-000000000000"],
)
def test_preflight_is_answered(client, path):
    response = client.options(
        path,
        headers={
            "Origin": "https://lite.example",
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "apikey, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]
    assert "apikey" in response.headers["Access-Control-Allow-Headers"]
    assert response.mimetype == "application/json"


@pytest.fixture(scope="module")
def text_app(tmp_path_factory):
    app = build_app(make_settings(tmp_path_factory.mktemp("text"), mode=Mode.TEXT))
    yield app
    app.extensions["horde"].db.dispose()


def test_image_mode_refuses_text_routes_naming_its_mode(client):
    body = assert_json_error(client.post("/api/v2/generate/text/async", json={}), 404, "ModeNotServed")
    assert "image" in body["message"]


def test_text_mode_refuses_image_routes_naming_its_mode(text_app):
    client = text_app.test_client()
    body = assert_json_error(client.post("/api/v2/generate/async", json={}), 404, "ModeNotServed")
    assert "text" in body["message"]
    assert client.get("/api/v2/status/heartbeat").status_code == 200


def test_the_two_modes_document_different_routes(app, text_app):
    image_paths = set(app.test_client().get("/api/swagger.json").get_json()["paths"])
    text_paths = set(text_app.test_client().get("/api/swagger.json").get_json()["paths"])
    common = {"/v2/status/heartbeat", "/v2/find_user", "/v2/users", "/v2/users/{user_id}", "/v2/status/modes", "/v2/status/news"}
    assert common <= image_paths and common <= text_paths
    assert image_paths != text_paths
    assert not any(p.startswith("/v2/generate/text") for p in image_paths)
    assert not any(p.startswith("/v2/generate/async") for p in text_paths)


@pytest.mark.parametrize("path", ["/", "/register", "/transfer", "/terms", "/api/"])
def test_html_pages_carry_the_security_headers(client, path):
    response = client.get(path, headers={"Accept": "text/html"})
    assert response.mimetype == "text/html"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Strict-Transport-Security" not in response.headers  # plain http here
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "<style" not in body and " style=" not in body and "onload=" not in body


def test_api_answers_keep_cors_and_get_no_page_policy(client):
    response = client.get("/api/v2/status/heartbeat")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response.headers


def test_https_public_url_adds_hsts_and_secure_cookies(tmp_path):
    app = build_app(make_settings(tmp_path, public_url="https://horde.example"))
    client = app.test_client()
    for path in ("/register", "/api/v2/status/heartbeat"):
        assert client.get(path).headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Secure" in app.test_client().get("/register").headers["Set-Cookie"]
    app.extensions["horde"].db.dispose()
