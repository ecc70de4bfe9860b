"""The Dockerfile and docker-compose.yml, read as files (no Docker daemon here): every service
and volume they name exists, every HORDE_* variable they set is a setting, every file they copy
or mount is in the repository, and the image's parts fit together (user, volume, port, health
check, entrypoint). tests/e2e/test_deploy.py runs what the image runs."""

from __future__ import annotations

import os
import re
import shlex

import pytest
import yaml

from horde.settings import Settings
from tests.support import ROOT

HORDE_SERVICES = ("horde-image", "horde-text")


class _Recorder(dict):
    def __init__(self):
        super().__init__()
        self.asked: set[str] = set()

    def __contains__(self, name):
        self.asked.add(name)
        return False


def setting_names() -> set[str]:
    """Every variable Settings.from_env reads."""
    recorder = _Recorder()
    Settings.from_env(recorder)
    return recorder.asked


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def dockerfile() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_settings_know_every_variable():
    names = setting_names()
    assert {"HORDE_DATABASE_URL", "HORDE_S3_PUBLIC_ENDPOINT_URL", "HORDE_PUBLIC_URL"} <= names


def test_compose_names_only_real_services_volumes_files_and_settings(compose):
    services = compose["services"]
    assert set(HORDE_SERVICES) | {"postgres", "redis", "minio"} <= set(services)
    declared_volumes = set(compose.get("volumes") or {})
    known = setting_names()
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        for needed in service.get("depends_on") or {}:
            assert needed in services, f"{name} depends on {needed}, which is not a service"
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
            else:
                assert source in declared_volumes, f"{name} uses volume {source}, not declared"
        assert "healthcheck" in service or name == "minio-init", f"{name} has no health check"
        for variable in service.get("environment") or {}:
            if variable.startswith("HORDE_") and name in HORDE_SERVICES:
                assert variable in known, f"{name} sets {variable}, which no setting reads"


def test_compose_hordes_are_production_nodes_on_shared_services(compose):
    for name in HORDE_SERVICES:
        service = compose["services"][name]
        env = service["environment"]
        assert service.get("build") == "." and (ROOT / "Dockerfile").exists()
        # A plain postgresql:// URL (mapped to psycopg2), one database per mode on the one server.
        assert env["HORDE_DATABASE_URL"].startswith("postgresql://") and "@postgres:5432/" in env["HORDE_DATABASE_URL"]
        assert env["HORDE_REDIS_URL"].startswith("redis://redis:6379/")
        assert "?" in env["HORDE_SECRET_KEY"], "the secret must be required, never defaulted"
        assert any(v.endswith(":/var/lib/horde") for v in service["volumes"])  # the image's data folder
        assert service["healthcheck"]["test"][:3] == ["CMD", "horde", "healthcheck"]
        assert {"postgres", "redis"} <= set(service["depends_on"])
    image = compose["services"]["horde-image"]["environment"]
    assert image["HORDE_S3_ENDPOINT_URL"] == "http://minio:9000" and image["HORDE_S3_BUCKET"]
    databases = {compose["services"][n]["environment"]["HORDE_DATABASE_URL"].rsplit("/", 1)[1] for n in HORDE_SERVICES}
    assert databases == {"horde_image", "horde_text"}
    created = (ROOT / "config" / "postgres-init.sql").read_text()
    assert "CREATE DATABASE horde_text" in created and compose["services"]["postgres"]["environment"]["POSTGRES_DB"] == "horde_image"


def test_dockerfile_builds_in_stages_and_runs_unprivileged():
    steps = dockerfile()
    stages = [arg for op, arg in steps if op == "FROM"]
    assert len(stages) >= 2 and " AS " in stages[0].upper()
    final = steps[max(i for i, (op, _) in enumerate(steps) if op == "FROM"):]
    for op, arg in steps:
        if op == "COPY" and "--from" not in arg:
            for source in shlex.split(arg)[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    env = dict(re.findall(r"(HORDE_\w+)=(\S+)", " ".join(arg for op, arg in final if op == "ENV")))
    assert set(env) <= setting_names()
    users = [arg for op, arg in final if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert [arg for op, arg in final if op == "VOLUME"] == [env["HORDE_DATA_DIR"]]
    assert [arg for op, arg in final if op == "EXPOSE"] == [env["HORDE_PORT"]]
    assert env["HORDE_HOST"] == "0.0.0.0" and env["HORDE_ENV"] == "production"
    healthcheck = [arg for op, arg in final if op == "HEALTHCHECK"]
    assert healthcheck and '["horde", "healthcheck"]' in healthcheck[0]
    entry = [arg for op, arg in final if op == "ENTRYPOINT"]
    assert entry == ['["horde-entrypoint"]']
    assert any(op == "COPY" and "config/docker-entrypoint.sh /usr/local/bin/horde-entrypoint" in arg for op, arg in final)
    assert os.access(ROOT / "config" / "docker-entrypoint.sh", os.X_OK)
    # The image installs the locked versions.
    assert any(op == "RUN" and "--constraint constraints.txt" in arg for op, arg in steps)


def test_every_dependency_has_an_upper_bound_and_a_pin():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    pinned = {
        line.split("==")[0].strip().lower().replace("_", "-")
        for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    for requirement in requirements:
        name = re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert "<" in requirement, f"{requirement}: no upper bound"
        assert name in pinned, f"{name} is not pinned in requirements/constraints.txt"
