"""flask-restx models of the text routes: validation schemas and Swagger documentation."""

from __future__ import annotations

from flask_restx import Model, Namespace, fields

from horde.api.shared_fields import check_fields, nullable, pop_input_fields, pop_message_fields, request_lists
from horde.domain.queue import text_requests
from horde.domain.workers import checkin


EXAMPLE_MODEL = "koboldcpp/LLaMA2-13B-Psyfighter2"


def build(ns: Namespace) -> dict:
    m: dict = {}
    m["params"] = ns.model("ModelGenerationInputKobold", {
        "n": fields.Integer(min=1, max=20, default=1),
        "max_context_length": fields.Integer(min=80, max=1048576, default=2048),
        "max_length": fields.Integer(min=16, max=4096, default=80),
        "rep_pen": fields.Float(min=1, max=3),
        "rep_pen_range": fields.Integer(min=0, max=4096),
        "rep_pen_slope": fields.Float(min=0, max=10),
        "singleline": fields.Boolean,
        "temperature": fields.Float(min=0, max=5),
        "tfs": fields.Float(min=0, max=1),
        "top_a": fields.Float(min=0, max=1),
        "top_k": fields.Integer(min=0, max=200),
        "top_p": fields.Float(min=0.001, max=1),
        "typical": fields.Float(min=0, max=1),
        "sampler_order": fields.List(fields.Integer(min=0, max=100), max_items=32),
        "use_default_badwordsids": fields.Boolean,
        "stop_sequence": fields.List(fields.String(max_length=2000), max_items=1000),
        "min_p": fields.Float(min=0, max=1, default=0.0),
        "smoothing_factor": fields.Float(min=0, max=10, default=0.0),
        "dynatemp_range": fields.Float(min=0, max=5, default=0.0),
        "dynatemp_exponent": fields.Float(min=0, max=5, default=1.0),
        "frmtadsnsp": fields.Boolean, "frmtrmblln": fields.Boolean, "frmtrmspch": fields.Boolean,
        "frmttriminc": fields.Boolean,
    })
    m["extra_source_image"] = ns.model("ExtraSourceImageKobold", {
        "image": fields.String(required=True, min_length=1), "strength": fields.Float(default=1.0),
    })
    m["input"] = ns.model("GenerationInputKobold", {
        "prompt": fields.String(
            required=True,  # longer ones get the rc InvalidPromptSize
            description=f"The prompt to continue; at most {text_requests.MAX_PROMPT_BYTES:,} bytes",
        ),
        "params": fields.Nested(m["params"]),
        "softprompt": fields.String(min_length=1, max_length=255),
        "trusted_workers": fields.Boolean(default=False),
        "validated_backends": fields.Boolean(default=False),
        "slow_workers": fields.Boolean(default=True),
        "extra_slow_workers": fields.Boolean(default=False),
        **request_lists(EXAMPLE_MODEL),
        "worker_blacklist": fields.Boolean(default=False),
        "dry_run": fields.Boolean(default=False),
        "extra_source_images": fields.List(fields.Nested(m["extra_source_image"])),
        "disable_batching": fields.Boolean(default=False),
        "allow_downgrade": fields.Boolean(default=False),
        "webhook": fields.String(min_length=10, max_length=1024),
        "style": fields.String(min_length=3, max_length=1024),
    })
    m["async"] = ns.model("RequestAsyncKobold", {"id": fields.String, "kudos": fields.Float, "message": fields.String})
    check = check_fields()
    m["metadata"] = ns.model("GenerationMetadataKobold", {
        "type": fields.String(required=True, enum=["censorship"]),
        "value": fields.String(required=True, enum=["csam"]),
        "ref": fields.String(max_length=255),
    })
    m["generation"] = ns.model("GenerationKobold", {
        "text": fields.String, "seed": fields.Integer, "gen_metadata": fields.List(fields.Nested(m["metadata"])),
        "worker_id": fields.String, "worker_name": fields.String, "model": fields.String, "state": fields.String,
    })
    m["status"] = ns.model("RequestStatusKobold", {**check, "generations": fields.List(fields.Nested(m["generation"]))})
    m["pop_input"] = ns.model("PopInputKobold", {
        **pop_input_fields(EXAMPLE_MODEL),
        "max_length": fields.Integer(default=512, min=1, max=checkin.MAX_LENGTH),
        "max_context_length": fields.Integer(default=2048, min=1, max=checkin.MAX_CONTEXT_LENGTH),
        "softprompts": fields.List(fields.String(max_length=255), max_items=checkin.MAX_SOFTPROMPTS),
    })
    m["message"] = ns.model("ResponseModelMessagePopKobold", pop_message_fields())
    m["pop"] = ns.model("GenerationPayloadKobold", {
        "payload": fields.Raw(description="ModelPayloadKobold: the job's parameters"),
        "id": nullable(fields.String(description="null: no job for this worker now")), "ids": fields.List(fields.String),
        "skipped": fields.Raw, "softprompt": nullable(fields.String()), "model": nullable(fields.String()),
        "ttl": nullable(fields.Integer()), "messages": fields.List(fields.Nested(m["message"])),
        "extra_source_images": nullable(fields.Raw()),
    })
    submit = {
        "id": fields.String(required=True),
        "generation": fields.String(required=True, description="The generated text"),
        "state": fields.String(enum=["ok", "censored", "faulted", "csam"], default="ok"),
        "gen_metadata": fields.List(fields.Nested(m["metadata"])),
    }
    m["submit"] = ns.model("SubmitInputKobold", submit)
    # Bridges may also report the seed they used. The document leaves it out, as horde-sdk's
    # SubmitInputKobold does (docs/compatibility.md); the body is still checked with it.
    m["submit_body"] = Model("SubmitInputKoboldBody", {**submit, "seed": fields.Integer(default=0)})
    m["submitted"] = ns.model("GenerationSubmitted", {"reward": fields.Float})
    return m
