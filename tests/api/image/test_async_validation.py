"""Every way an image request can be refused, with its status and rc; nothing is queued."""

import pytest

from tests.api.unchanged import assert_unchanged, snapshot
from tests.imaging import png_b64


def refused(loop, status, rc=None, key="0000000000", field=None, **body):
    """The request is refused with this status and rc, and nothing was queued, charged or stored."""
    app = loop.client.application
    before = snapshot(app)
    response = loop.request(key, expect=None, **body)
    payload = response.get_json()
    assert response.status_code == status, payload
    if rc:
        assert payload["rc"] == rc, payload
    if field:
        assert field in payload["errors"], payload
    assert_unchanged(app, before)
    return payload


@pytest.mark.parametrize(
    "params,field",
    [
        ({"width": 65}, "params.width"),
        ({"height": 4096}, "params.height"),
        ({"steps": 0}, "params.steps"),
        ({"steps": 501}, "params.steps"),
        ({"n": 21}, "params.n"),
        ({"cfg_scale": 101}, "params.cfg_scale"),
        ({"sampler_name": "k_magic"}, "params.sampler_name"),
        ({"clip_skip": 13}, "params.clip_skip"),
        ({"seed": 12}, "params.seed"),
        ({"seed": None}, "params.seed"),
        ({"denoising_strength": 1.5}, "params.denoising_strength"),
        ({"post_processing": ["GFPGAN", "GFPGAN"]}, "params.post_processing"),
        ({"post_processing": ["MagicUpscaler"]}, "params.post_processing.0"),
        ({"control_type": "laser"}, "params.control_type"),
        ({"loras": [{"model": 1}]}, "params.loras.0.name"),
        ({"seed_variation": 1001}, "params.seed_variation"),
    ],
)
def test_schema_errors_name_the_field(loop, params, field):
    refused(loop, 400, "ValidationError", field=field, params=params)


@pytest.mark.parametrize(
    "body,field",
    [
        ({"prompt": ""}, "prompt"),
        ({"nsfw": "yes"}, "nsfw"),
        ({"models": "stable_diffusion"}, "models"),
        ({"source_processing": "dream"}, "source_processing"),
        ({"webhook": "https://x"}, "webhook"),
    ],
)
def test_top_level_schema_errors(loop, body, field):
    refused(loop, 400, "ValidationError", field=field, **body)


def test_prompt_is_required(loop):
    response = loop.client.post("/api/v2/generate/async", json={}, headers={"apikey": "0000000000"})
    assert response.status_code == 400 and "prompt" in response.get_json()["errors"]


def test_missing_and_unknown_key(loop):
    response = loop.client.post("/api/v2/generate/async", json={"prompt": "x"})
    assert response.status_code == 400 and "apikey" in response.get_json()["errors"]
    refused(loop, 401, "InvalidAPIKey", key="k" * 22)


@pytest.mark.parametrize(
    "status,rc,body",
    [
        (400, "MissingPrompt", {"prompt": "   "}),
        (400, "InvalidPromptSize", {"prompt": "word " * 7501}),
        (400, "BadCFGDecimals", {"params": {"cfg_scale": 7.555}}),
        (400, "TooManyLoras", {"params": {"loras": [{"name": str(i)} for i in range(6)]}}),
        (400, "BadLoraVersion", {"params": {"loras": [{"name": "pretty", "is_version": True}]}}),
        (400, "TooManyTIs", {"params": {"tis": [{"name": str(i)} for i in range(21)]}}),
        (400, "TooManyUpscalers", {"params": {"post_processing": ["RealESRGAN_x4plus", "NMKD_Siax"]}}),
        (400, "HiResMismatch", {"params": {"hires_fix": True}, "models": ["Flux.1-Schnell fp8 (Compact)"]}),
        (400, "UnexpectedModelName", {"models": ["GFPGAN"]}),
        (400, "SourceMaskUnnecessary", {"source_mask": png_b64()}),
        (400, "ControlNetSourceMissing", {"params": {"control_type": "canny"}}),
        (400, "ControlNetMismatch", {"params": {"control_type": "canny"}, "source_image": png_b64(), "models": ["SDXL 1.0"]}),
        (400, "ControlNetInpaintingMismatch", {"params": {"control_type": "canny"}, "source_image": png_b64(), "source_processing": "inpainting"}),
        (400, "ControlNetInvalidPayload", {"params": {"image_is_control": True, "return_control_map": True}}),
        (400, "InvalidRemix", {"source_image": png_b64(), "source_processing": "remix"}),
        (400, "InvalidExtraSourceImages.", {"extra_source_images": [{"image": png_b64()}]}),
        (400, "TooManyExtraSourceImages.", {"extra_source_images": [{"image": png_b64()}] * 6, "source_processing": "remix", "models": ["Stable Cascade 1.0"], "source_image": png_b64()}),
        (400, "MoreThanMinExtraSourceImage.", {"extra_source_images": [{"image": png_b64()}] * 2, "source_processing": "remix", "models": ["Stable Cascade 1.0"], "source_image": png_b64()}),
        (400, "InvalidExtraTexts.", {"params": {"extra_texts": [{"text": "hello", "reference": "qr_code"}]}}),
        (400, "MissingExtraTexts.", {"params": {"workflow": "qr_code"}}),
        (400, "InvalidTransparencyModel", {"params": {"transparent": True}, "models": ["Flux.1-Schnell fp8 (Compact)"]}),
        (400, "RequiresTrust", {"disable_batching": True, "params": {"n": 2}}),
        (400, "OnlyServiceAccountProxy", {"proxied_account": "someone"}),
        (400, "SourceImageUnreadable", {"source_image": "bm90IGFuIGltYWdl"}),
        (400, "SourceImageResolutionExceeded", {"source_image": png_b64(3100, 64)}),
        (400, "SourceImageRequiredForModel", {"models": ["pix2pix"]}),
        (400, "BadRequest", {"webhook": "http://example.org/hook"}),
        (400, "BadRequest", {"params": {"special": {"x": 1}}}),
        (404, "WorkerNotFound", {"workers": ["00000000-0000-0000-0000-000000000000"]}),
        (404, "StyleNotFound", {"style": "no-such-style"}),
    ],
)
def test_rule_errors(loop, status, rc, body):
    refused(loop, status, rc, **body)


def test_banned_client_agent(loop):
    response = loop.client.post(
        "/api/v2/generate/async", json={"prompt": "x"},
        headers={"apikey": "0000000000", "Client-Agent": "My-Project:v0.0.1:My-Contact"},
    )
    assert response.status_code == 403 and response.get_json()["rc"] == "BannedClientAgent"


def test_maintenance_refuses_new_requests(loop, users):
    _, admin = users.create("admin")
    loop.client.put("/api/v2/status/modes", json={"maintenance_mode": True}, headers={"apikey": admin})
    refused(loop, 400, "MaintenanceMode")


def test_concurrency_limit(loop, users):
    _, key = users.create("busy", concurrency=5)
    loop.request(key, params={"n": 4})
    payload = refused(loop, 429, "TooManyPrompts", key=key, params={"n": 2})
    assert "(6)" in payload["message"] and "(5)" in payload["message"]
    loop.request(key, params={"n": 1})


def test_deleted_user_cannot_request(loop, users, app):
    user_id, key = users.create("gone", deleted=True)
    refused(loop, 403, "DeletedUser", key=key)


def test_upfront_kudos_needed_for_big_requests(loop, users):
    _, poor = users.create("poor")
    payload = refused(loop, 403, "KudosUpfront", key=poor, params={"width": 1536, "height": 1536})
    assert "kudos" in payload["message"]
    refused(loop, 403, "KudosUpfront", key=poor, slow_workers=False)


def test_allow_downgrade_shrinks_instead(loop, users, worker_key):
    _, poor = users.create("poor")
    loop.request(poor, params={"width": 1536, "height": 1536, "steps": 80}, allow_downgrade=True)
    job = loop.pop(worker_key, max_pixels=4194304)
    assert job["payload"]["width"] * job["payload"]["height"] <= 1024 * 1024
    assert job["payload"]["ddim_steps"] <= 40


def test_rich_users_pay_upfront_requests(loop, users):
    _, rich = users.create("rich", kudos=1000)
    loop.request(rich, params={"width": 1536, "height": 1536})


def test_defaults_applied_by_the_server(loop, worker_key):
    loop.request()
    payload = loop.pop(worker_key)["payload"]
    assert payload["sampler_name"] == "k_euler_a" and payload["cfg_scale"] == 5.0 and payload["karras"] is True
    assert payload["width"] == 512 and payload["height"] == 512 and payload["ddim_steps"] == 30
    assert "use_nsfw_censor" not in payload  # nsfw defaults to true


def test_sfw_request_asks_for_censoring(loop, worker_key):
    loop.request(nsfw=False)
    assert loop.pop(worker_key)["payload"]["use_nsfw_censor"] is True


def test_fixed_seed_and_variation(loop, worker_key):
    loop.request(params={"seed": "abc", "n": 2, "seed_variation": 3})
    first = int(loop.pop(worker_key)["payload"]["seed"])
    second = int(loop.pop(worker_key, name="worker-two")["payload"]["seed"])
    assert first == int.from_bytes(b"abc", "little") and second == first + 3


def test_webhook_and_extras_are_accepted(loop, app):
    from horde.models import GenerationRequest

    request_id = loop.request(webhook="https://example.org/hook", shared=True, replacement_filter=False).get_json()["id"]
    with app.extensions["horde"].db.session_factory() as session:
        assert session.get(GenerationRequest, request_id).webhook == "https://example.org/hook"


def test_large_limits_use_a_recent_count(loop, users):
    """Above 1,000 the limit is checked against a count kept for two seconds."""
    _, key = users.create("service", concurrency=1001, kudos=100000)
    loop.request(key, params={"n": 20})
    for _ in range(49):
        loop.request(key, params={"n": 20})  # 1,000 jobs queued
    payload = refused(loop, 429, "TooManyPrompts", key=key, params={"n": 2})
    assert "(1002)" in payload["message"]


def test_a_model_named_twice_is_queued_once(loop, worker_key, app):
    from horde.models import GenerationRequest

    request_id = loop.request(models=["stable_diffusion", "", "stable_diffusion", ""]).get_json()["id"]
    with app.extensions["horde"].db.session_factory() as session:
        assert session.get(GenerationRequest, request_id).models == ["stable_diffusion", ""]
    assert loop.pop(worker_key)["id"] is not None
