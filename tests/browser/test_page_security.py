"""The pages under their Content-Security-Policy in a real browser: nothing they need is
blocked (the account pages, the API documentation), and the forms cannot be framed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["/", "/register", "/transfer", "/privacy", "/api/"])
def test_pages_work_with_nothing_blocked(page, server, path):
    problems: list[str] = []
    page.on("console", lambda message: message.type in ("error", "warning") and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    response = page.goto(f"{server.url}{path}", wait_until="networkidle")
    assert response.status == 200
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    if path == "/api/":
        page.wait_for_selector(".opblock-tag", timeout=15000)  # Swagger UI rendered the spec
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


@pytest.mark.parametrize("path", ["/transfer", "/register"])
def test_forms_cannot_be_framed(page, server, path):
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    page.set_content(f'<iframe id="victim" src="{server.url}{path}" width="600" height="400"></iframe>')
    frame = page.frame_locator("#victim")
    page.wait_for_function(
        "() => document.getElementById('victim') && document.getElementById('victim').contentWindow !== null"
    )
    page.wait_for_load_state("networkidle")
    assert frame.locator("form").count() == 0
    assert any("frame" in text and ("ancestors" in text or "X-Frame-Options" in text) for text in blocked), blocked
