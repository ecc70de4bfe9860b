"""No secret is built in: development servers make their own, others must be given one."""

from __future__ import annotations

import ast
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from horde import secret_key
from horde.settings import Settings, SettingsError

HORDE = Path(__file__).resolve().parents[2] / "horde"


def test_a_configured_secret_is_used_as_given(tmp_path):
    settings = secret_key.resolve(Settings(data_dir=str(tmp_path), secret_key="given-secret"))
    assert settings.secret_key == "given-secret"
    assert not (tmp_path / secret_key.SECRET_FILE).exists()


def test_development_generates_a_private_secret_once(tmp_path):
    data_dir = tmp_path / "data"
    first = secret_key.resolve(Settings(data_dir=str(data_dir))).secret_key
    second = secret_key.resolve(Settings(data_dir=str(data_dir))).secret_key
    assert first == second and len(first) >= 40
    mode = stat.S_IMODE(os.stat(data_dir / secret_key.SECRET_FILE).st_mode)
    assert mode == 0o600
    assert secret_key.resolve(Settings(data_dir=str(tmp_path / "other"))).secret_key != first


def test_processes_starting_together_agree_on_one_secret(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        secrets = set(pool.map(lambda _: secret_key.development_secret(tmp_path), range(32)))
    assert len(secrets) == 1
    assert [p.name for p in tmp_path.iterdir()] == [secret_key.SECRET_FILE]  # no temporary left


@pytest.mark.parametrize(
    "settings",
    [Settings(environment="production"), Settings(host="0.0.0.0"), Settings(host="192.168.1.20")],
    ids=["production", "all-interfaces", "lan-address"],
)
def test_outside_development_a_missing_secret_is_refused(tmp_path, settings):
    with pytest.raises(SettingsError, match="HORDE_SECRET_KEY"):
        secret_key.resolve(settings.with_(data_dir=str(tmp_path)))
    assert not (tmp_path / secret_key.SECRET_FILE).exists()


def test_no_secret_literal_is_left_in_the_code():
    """Every string default of a secret-like setting is empty, and no known default is anywhere."""
    for path in HORDE.rglob("*.py"):
        source = path.read_text()
        for known in ("change-me", "s0m3s3cr3t", "development-secret"):
            assert known not in source, f"{path} holds {known!r}"
    for field in Settings.__dataclass_fields__.values():
        if "secret" in field.name:
            assert field.default == "", field.name
    tree = ast.parse((HORDE / "settings.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any("SECRET" in getattr(t, "id", "") for t in node.targets):
            raise AssertionError(f"a secret constant is defined in settings.py line {node.lineno}")
