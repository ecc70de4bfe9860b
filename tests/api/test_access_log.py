"""The access log as JSON lines (HORDE_ACCESS_LOG=json): one object per request, with its id
and the time spent in the application."""

from __future__ import annotations

import json
import logging

from tests.conftest import build_app, make_settings


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_json_lines(tmp_path):
    app = build_app(make_settings(tmp_path, access_log="json"))
    lines = Lines()
    logging.getLogger("horde.access").addHandler(lines)
    try:
        answer = app.test_client().get("/api/v2/users/987654", headers={"X-Request-Id": "json-1"})
    finally:
        logging.getLogger("horde.access").removeHandler(lines)
        app.extensions["horde"].db.dispose()
    assert answer.status_code == 404 and answer.headers["X-Request-Id"] == "json-1"
    entry = json.loads(lines.lines[-1])
    assert entry["request_id"] == "json-1" and entry["status"] == 404
    assert entry["route"] == "/api/v2/users/<string:user_id>" and entry["path"] == "/api/v2/users/987654"
    assert entry["method"] == "GET" and entry["app_ms"] >= 0


def test_a_bad_access_log_setting_is_refused():
    import pytest

    from horde.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="HORDE_ACCESS_LOG"):
        Settings.from_env({"HORDE_ACCESS_LOG": "yes"})
