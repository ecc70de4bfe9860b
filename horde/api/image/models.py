"""flask-restx models of the image routes: validation schemas and Swagger documentation."""

from __future__ import annotations

from flask_restx import Namespace, fields

from horde.api.shared_fields import check_fields, nullable, pop_input_fields, pop_message_fields, request_lists
from horde.domain import model_reference as ref
from horde.domain.queue import image_requests
from horde.domain.workers import checkin

SAMPLERS = [
    "k_lms", "k_heun", "k_euler", "k_euler_a", "k_dpm_2", "k_dpm_2_a", "k_dpm_fast", "k_dpm_adaptive",
    "k_dpmpp_2s_a", "k_dpmpp_2m", "dpmsolver", "k_dpmpp_sde", "DDIM", "lcm",
]
CONTROL_TYPES = ["canny", "hed", "depth", "normal", "openpose", "seg", "scribble", "fakescribbles", "hough"]
SOURCE_PROCESSING = ["img2img", "inpainting", "outpainting", "remix", "txt2img"]
METADATA_TYPES = [
    "lora", "ti", "censorship", "source_image", "source_mask", "extra_source_images", "batch_index", "information",
    "aesthetic_score",
]
SAMPLER_SETTINGS = ("sampler_eta", "sampler_s_noise", "sampler_s_churn", "sampler_s_tmin", "sampler_s_tmax")
METADATA_VALUES = ["download_failed", "parse_failed", "baseline_mismatch", "csam", "nsfw", "see_ref"]


def build(ns: Namespace) -> dict:
    m: dict = {}
    m["lora"] = ns.model("ModelPayloadLorasStable", {
        "name": fields.String(required=True, min_length=1, max_length=255),
        "model": fields.Float(min=-5, max=5, default=1.0),
        "clip": fields.Float(min=-5, max=5, default=1.0),
        "inject_trigger": fields.String(min_length=1, max_length=30),
        "is_version": fields.Boolean(default=False),
    })
    m["ti"] = ns.model("ModelPayloadTextualInversionsStable", {
        "name": fields.String(required=True, min_length=1, max_length=255),
        "inject_ti": fields.String(enum=["prompt", "negprompt"]),
        "strength": fields.Float(min=-5, max=5, default=1.0),
    })
    m["extra_text"] = ns.model("ExtraText", {
        "text": fields.String(required=True, min_length=1, max_length=1000),
        "reference": fields.String(required=True, min_length=3, max_length=255),
    })
    m["extra_source_image"] = ns.model("ExtraSourceImage", {
        "image": fields.String(required=True, min_length=1),
        "strength": fields.Float(default=1.0, min=-5, max=5),
    })
    m["params"] = ns.model("ModelGenerationInputStable", {
        "sampler_name": fields.String(enum=SAMPLERS, default="k_euler_a"),
        "cfg_scale": fields.Float(min=0, max=100, default=5.0),
        "denoising_strength": fields.Float(min=0.01, max=1.0),
        "hires_fix_denoising_strength": fields.Float(min=0.01, max=1.0),
        "seed": fields.String(max_length=256, description="Digits are used as a number, other text is hashed."),
        "height": fields.Integer(min=64, max=3072, multiple=64, default=512),
        "width": fields.Integer(min=64, max=3072, multiple=64, default=512),
        "seed_variation": fields.Integer(min=1, max=1000),
        "post_processing": fields.List(fields.String(enum=list(ref.POST_PROCESSORS)), unique=True),
        "karras": fields.Boolean(default=True),
        "tiling": fields.Boolean(default=False),
        "hires_fix": fields.Boolean(default=False),
        "clip_skip": fields.Integer(min=1, max=12),
        "control_type": fields.String(enum=CONTROL_TYPES),
        "image_is_control": fields.Boolean(default=False),
        "return_control_map": fields.Boolean(default=False),
        "facefixer_strength": fields.Float(min=0, max=1),
        "loras": fields.List(fields.Nested(m["lora"])),
        "tis": fields.List(fields.Nested(m["ti"])),
        "special": fields.Raw,
        "extra_texts": fields.List(fields.Nested(m["extra_text"]), max_items=10),
        "workflow": fields.String(enum=["qr_code"]),
        "transparent": fields.Boolean(default=False),
        "steps": fields.Integer(min=1, max=500, default=30),
        "n": fields.Integer(min=1, max=20, default=1),
        # Passed to the worker as sent (newer samplers and schedulers).
        "scheduler": fields.String(max_length=40),
        "control_strength": fields.Float(min=0.01, max=3.0),
        "post_processing_order": fields.String(max_length=40),
        "flow_shift": fields.Float(min=0, max=100),
        **{name: fields.Float(min=0, max=1000) for name in SAMPLER_SETTINGS},
        "sampler_solver_type": fields.String(max_length=40),
    })
    m["input"] = ns.model("GenerationInputStable", {
        "prompt": fields.String(
            required=True, min_length=1,  # longer ones get the rc InvalidPromptSize
            description=f"positive###negative; at most {image_requests.MAX_PROMPT_WORDS} words "
            f"and {image_requests.MAX_PROMPT_BYTES:,} bytes",
        ),
        "params": fields.Nested(m["params"]),
        "nsfw": fields.Boolean(default=True),
        "trusted_workers": fields.Boolean(default=False),
        "validated_backends": fields.Boolean(default=False),
        "slow_workers": fields.Boolean(default=True),
        "extra_slow_workers": fields.Boolean(default=False),
        "censor_nsfw": fields.Boolean(default=True),
        **request_lists("stable_diffusion"),
        "worker_blacklist": fields.Boolean(default=False),
        "source_image": fields.String(description="Base64 image or an http(s) URL."),
        "source_processing": fields.String(enum=SOURCE_PROCESSING, default="img2img"),
        "source_mask": fields.String,
        "extra_source_images": fields.List(fields.Nested(m["extra_source_image"])),
        "r2": fields.Boolean(default=True),
        "shared": fields.Boolean(default=False),
        "replacement_filter": fields.Boolean(default=True),
        "dry_run": fields.Boolean(default=False),
        "disable_batching": fields.Boolean(default=False),
        "allow_downgrade": fields.Boolean(default=False),
        "webhook": fields.String(min_length=10, max_length=1024),
        "style": fields.String(min_length=3, max_length=1024),
    })
    m["warning"] = ns.model("RequestSingleWarning", {"code": fields.String, "message": fields.String})
    m["async"] = ns.model("RequestAsync", {
        "id": fields.String, "kudos": fields.Float, "message": fields.String,
        "warnings": fields.List(fields.Nested(m["warning"])),
    })
    check = check_fields()
    m["check"] = ns.model("RequestStatusCheck", check)
    m["metadata"] = ns.model("GenerationMetadataStable", {
        "type": fields.String(required=True, enum=METADATA_TYPES),
        "value": fields.String(required=True, enum=METADATA_VALUES),
        "ref": fields.String(max_length=255),
    })
    m["generation"] = ns.model("GenerationStable", {
        "img": fields.String, "seed": fields.String, "id": fields.String, "censored": fields.Boolean,
        "gen_metadata": fields.List(fields.Nested(m["metadata"])), "worker_id": fields.String,
        "worker_name": fields.String, "model": fields.String, "state": fields.String,
    })
    m["status"] = ns.model("RequestStatusStable", {
        **check, "generations": fields.List(fields.Nested(m["generation"])), "shared": fields.Boolean,
    })
    m["pop_input"] = ns.model("PopInputStable", {
        **pop_input_fields("stable_diffusion"),
        "max_pixels": fields.Integer(default=262144, min=1, max=checkin.MAX_PIXELS),
        "blacklist": fields.List(fields.String(max_length=255), max_items=checkin.MAX_BLACKLIST),
        "allow_img2img": fields.Boolean(default=True),
        "allow_painting": fields.Boolean(default=True),
        "allow_unsafe_ipaddr": fields.Boolean(default=True),
        "allow_post_processing": fields.Boolean(default=True),
        "allow_controlnet": fields.Boolean(default=False),
        "allow_sdxl_controlnet": fields.Boolean(default=False),
        "allow_lora": fields.Boolean(default=False),
        "limit_max_steps": fields.Boolean(default=False),
    })
    m["message"] = ns.model("ResponseModelMessagePop", pop_message_fields())
    # Without a job (id null) the job's fields are null too.
    m["pop"] = ns.model("GenerationPayloadStable", {
        "payload": fields.Raw(description="ModelPayloadStable: the job's parameters"),
        "id": nullable(fields.String(description="null: no job for this worker now")), "ids": fields.List(fields.String),
        "skipped": fields.Raw, "model": nullable(fields.String()), "source_image": nullable(fields.String()),
        "source_processing": fields.String, "source_mask": nullable(fields.String()),
        "extra_source_images": nullable(fields.List(fields.Nested(m["extra_source_image"]))),
        "r2_upload": nullable(fields.String()), "r2_uploads": nullable(fields.List(fields.String)),
        "ttl": nullable(fields.Integer()), "messages": fields.List(fields.Nested(m["message"])),
    })
    m["submit"] = ns.model("SubmitInputStable", {
        "id": fields.String(required=True),
        "generation": fields.String(required=True, description='"R2" after uploading, or a base64 WebP'),
        "state": fields.String(enum=["ok", "censored", "faulted", "csam"], default="ok"),
        "seed": fields.Integer(required=True),
        "censored": fields.Boolean(default=False),
        "gen_metadata": fields.List(fields.Nested(m["metadata"])),
    })
    m["submitted"] = ns.model("GenerationSubmitted", {"reward": fields.Float})
    m["rating"] = ns.model("AestheticRating", {
        "id": fields.String(required=True, min_length=36, max_length=36),
        "rating": fields.Integer(required=True, min=1, max=10),
        "artifacts": fields.Integer(min=0, max=5),
    })
    m["aesthetics"] = ns.model("AestheticsPayload", {
        "best": fields.String(min_length=36, max_length=36),
        "ratings": fields.List(fields.Nested(m["rating"]), max_items=100),
    })
    return m
