"""Images in an S3-compatible bucket (a local moto server): presigned upload and download."""

import datetime as dt

import boto3
import pytest
import requests

from horde.domain.queue import maintenance
from tests import support
from tests.conftest import build_app, make_settings, reset_database
from tests.imaging import REGEN, webp_bytes


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = support.free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s").create_bucket(
        Bucket="horde-results"
    )
    yield endpoint
    server.stop()


@pytest.fixture(scope="module")
def s3_app(s3_endpoint, tmp_path_factory):
    settings = make_settings(
        tmp_path_factory.mktemp("s3"), s3_bucket="horde-results", s3_endpoint_url=s3_endpoint,
        s3_region="us-east-1", s3_access_key="k", s3_secret_key="s",
    )
    app = build_app(settings)
    reset_database(app)
    yield app
    app.extensions["horde"].db.dispose()


def test_loop_through_presigned_urls(s3_app, s3_endpoint):
    from horde.domain.accounts import users

    client = s3_app.test_client()
    svc = s3_app.extensions["horde"]
    with svc.db.transaction() as session:
        owner, key = users.create_user(session, svc.hasher, "owner")
        owner.trusted = True
    request_id = client.post("/api/v2/generate/async", json={"prompt": "x"}, headers={"apikey": "0000000000"}).get_json()["id"]
    job = client.post(
        "/api/v2/generate/pop", json={"name": "s3-worker", "models": ["stable_diffusion"], "bridge_agent": REGEN},
        headers={"apikey": key},
    ).get_json()
    assert job["r2_upload"].startswith(s3_endpoint)
    image = webp_bytes(color=(5, 6, 7))
    assert requests.put(job["r2_upload"], data=image, timeout=10).status_code == 200
    submitted = client.post(
        "/api/v2/generate/submit", json={"id": job["id"], "generation": "R2", "seed": 3}, headers={"apikey": key}
    )
    assert submitted.status_code == 200
    img = client.get(f"/api/v2/generate/status/{request_id}").get_json()["generations"][0]["img"]
    assert img.startswith(s3_endpoint) and requests.get(img, timeout=10).content == image

    with svc.db.session_factory() as session:
        from horde.models import GenerationRequest

        expiry = session.get(GenerationRequest, request_id).expiry
        maintenance.expire_requests(session, svc, expiry + dt.timedelta(seconds=1))
    assert not svc.store.exists(f"{job['id']}.webp")


def test_presigned_urls_name_the_public_endpoint(s3_endpoint, tmp_path):
    """Inside a private network the server reaches the store at one address and workers at
    another (docker-compose.yml): links carry the public one, and they work there."""
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    settings = make_settings(
        tmp_path, s3_bucket="horde-results", s3_endpoint_url=s3_endpoint, s3_region="us-east-1",
        s3_access_key="k", s3_secret_key="s", s3_public_endpoint_url=public,
    )
    from horde.services import make_store

    store = make_store(settings)
    upload = store.upload_url("public-endpoint.webp")
    assert upload.startswith(f"{public}/horde-results/public-endpoint.webp?")
    assert requests.put(upload, data=b"webp", timeout=10).status_code == 200
    assert store.get("public-endpoint.webp") == b"webp"  # through the server's own endpoint
    assert requests.get(store.download_url("public-endpoint.webp"), timeout=10).content == b"webp"
