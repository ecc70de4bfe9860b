"""Text requests: checks (spec/behaviour.md §1.3), normalisation (§1.4), price (§2.3)."""

from __future__ import annotations

from horde.domain import errors
from horde.domain import model_reference as ref
from horde.domain.queue import pricing
from horde.domain.queue.image_requests import NewRequest, prompt_size

# Sampler settings passed through to the worker as sent.
PAYLOAD_PARAMS = (
    "max_context_length", "max_length", "rep_pen", "rep_pen_range", "rep_pen_slope", "temperature", "tfs", "top_a",
    "top_k", "top_p", "typical", "min_p", "smoothing_factor", "dynatemp_range", "dynatemp_exponent", "sampler_order",
    "use_default_badwordsids", "stop_sequence", "frmtadsnsp", "frmtrmblln", "frmtrmspch", "frmttriminc", "singleline",
)
DEFAULTS = {"max_context_length": 2048, "max_length": 80}
MAX_PROMPT_BYTES = 4 * 1024 * 1024  # the largest context (1,048,576 tokens) at about 4 bytes a token


def first_model_parameters(models: list[str]) -> float | None:
    return ref.text_model_parameters(models[0]) if models else None


def build(body: dict, *, user_trusted: bool) -> NewRequest:
    """Validate a text request body and normalise it (no database access)."""
    prompt = body.get("prompt", "")
    if not prompt:
        raise errors.MissingPrompt()
    prompt_size(prompt, MAX_PROMPT_BYTES)
    if body.get("extra_source_images"):
        raise errors.InvalidExtraSourceImages("Extra source images are not used by text generation.")
    params = dict(body.get("params") or {})
    n = int(params.pop("n", 1))
    for key, value in DEFAULTS.items():
        params.setdefault(key, value)
    max_length, max_context = int(params["max_length"]), int(params["max_context_length"])
    if max_context < max_length:
        raise errors.TokenOverflow(f"max_context_length ({max_context}) must be at least max_length ({max_length}).")
    order = params.get("sampler_order")
    if order is not None and len(set(order)) < 7:
        raise errors.MissingFullSamplerOrder()
    stops = params.get("stop_sequence")
    if stops is not None:
        if len(set(stops)) > 128:
            raise errors.TooManyStopSequences()
        if sum(len(s) for s in stops) > 2000:
            raise errors.ExcessiveStopSequence()
    if body.get("disable_batching") and n > 1 and not user_trusted:
        raise errors.RequiresTrust("Only trusted users can disable batching.")
    models = list(body.get("models") or [])
    payload = {k: params[k] for k in PAYLOAD_PARAMS if params.get(k) is not None}
    payload.update(prompt=prompt, n=1)
    parameters = first_model_parameters(models)
    dry_run = pricing.text_dry_run(max_length, max_context, n, parameters)
    columns = dict(
        max_length=max_length, max_context_length=max_context, things=float(max_length), nsfw=False,
        censor_nsfw=False, trusted_workers=bool(body.get("trusted_workers", False)),
        validated_backends=bool(body.get("validated_backends", False)), slow_workers=bool(body.get("slow_workers", True)),
        extra_slow_workers=bool(body.get("extra_slow_workers", False)), r2=False, shared=False,
        disable_batching=bool(body.get("disable_batching", False)), needs_mask=0,
        softprompt=body.get("softprompt"), extra={"allow_downgrade": bool(body.get("allow_downgrade", False))},
    )
    return NewRequest(
        kind="text", prompt=prompt, n=n, models=models, params=payload, columns=columns,
        price=round(dry_run / max(n, 1), 2), dry_run_cost=dry_run, tax=pricing.TEXT_REQUEST_TAX,
    )


def upfront_cost(new: NewRequest) -> float:
    return pricing.text_upfront(new.columns["max_length"], [ref.text_model_parameters(m) for m in new.models], new.n)


def upfront_threshold(models: list[str], active_threads: int, queued_jobs: int) -> int:
    """The longest generation (tokens) free of upfront kudos, by how busy the horde is."""
    return max(256, min(512 + 5 * active_threads - round(0.9 * queued_jobs), 512))


def needs_upfront(new: NewRequest, max_tokens: int) -> bool:
    return not new.columns["slow_workers"] or new.columns["max_length"] > max_tokens


def downgrade(new: NewRequest, max_tokens: int) -> None:
    new.columns.update(slow_workers=True, max_length=max_tokens, things=float(max_tokens))
    new.params["max_length"] = max_tokens
    new.dry_run_cost = pricing.text_dry_run(max_tokens, new.columns["max_context_length"], new.n, first_model_parameters(new.models))
    new.price = round(new.dry_run_cost / max(new.n, 1), 2)
