"""GET /documents/terms, /privacy, /sponsors: html or markdown, from the same files as the pages."""

from __future__ import annotations

import pytest

from tests.conftest import build_app, make_settings


@pytest.mark.parametrize("name, heading", [("terms", "Using the horde"), ("privacy", "What we store"), ("sponsors", "sponsors")])
def test_documents_in_both_formats(client, name, heading):
    html = client.get(f"/api/v2/documents/{name}")
    assert html.status_code == 200 and set(html.get_json()) == {"html"}
    assert heading in html.get_json()["html"] and "<p>" in html.get_json()["html"]
    markdown = client.get(f"/api/v2/documents/{name}?format=markdown").get_json()
    assert set(markdown) == {"markdown"} and heading in markdown["markdown"] and "<p>" not in markdown["markdown"]
    page = client.get(f"/{name}").get_data(as_text=True)
    assert html.get_json()["html"] in page  # the page shows the very same document


def test_unknown_format(client):
    answer = client.get("/api/v2/documents/terms?format=pdf")
    assert answer.status_code == 400 and answer.get_json()["rc"] == "BadRequest"


def test_the_operators_files(tmp_path):
    terms = tmp_path / "terms.md"
    terms.write_text("# Our rules\n\nBe **kind**.\n")
    sponsors = tmp_path / "sponsors.html"
    sponsors.write_text("<p>Thanks to <a href=\"https://example.org\">Example</a>.</p>\n")
    app = build_app(make_settings(tmp_path, terms_file=str(terms), sponsors_file=str(sponsors)))
    client = app.test_client()
    assert client.get("/api/v2/documents/terms").get_json()["html"] == "<h1>Our rules</h1>\n<p>Be <strong>kind</strong>.</p>"
    assert client.get("/api/v2/documents/terms?format=markdown").get_json()["markdown"] == "# Our rules\n\nBe **kind**.\n"
    assert 'href="https://example.org"' in client.get("/api/v2/documents/sponsors").get_json()["html"]
    assert "Our rules" in client.get("/terms").get_data(as_text=True)
    app.extensions["horde"].db.dispose()
