"""One exception class per return code (`rc`), with its HTTP status.

Raised from `domain/` (and from `api/` for HTTP-level failures); rendered in one place,
`horde.api.errors`, as `{"message": ..., "rc": ...}`. The rc strings are the public
AI Horde's (spec/api.md §7), including their odd spellings.
"""

from __future__ import annotations


class HordeError(Exception):
    status = 500
    rc = "InternalServerError"
    message = "Internal Server Error"

    def __init__(self, message: str | None = None, *, errors: dict | None = None):
        self.message = message or type(self).message
        self.errors = errors
        super().__init__(self.message)

    def body(self) -> dict:
        body = {"message": self.message, "rc": self.rc}
        if self.errors is not None:
            body["errors"] = self.errors
        return body


# --- 400 ---------------------------------------------------------------------------
class BadRequest(HordeError):
    status, rc, message = 400, "BadRequest", "Bad request."


class ValidationFailed(BadRequest):
    rc, message = "ValidationError", "Input payload validation failed"


class MalformedJSON(BadRequest):
    message = "The browser (or proxy) sent a request that this server could not understand."


class NulByteInPayload(BadRequest):
    rc, message = "NulByteInPayload", "Request payload may not contain NUL (0x00) bytes."


class MissingPrompt(BadRequest):
    rc, message = "MissingPrompt", "You cannot specify an empty prompt."


class InvalidPromptSize(BadRequest):
    rc, message = "InvalidPromptSize", "Prompt is too long."


class MaintenanceMode(BadRequest):
    rc, message = "MaintenanceMode", "Horde is in maintenance mode. Please try again later."


class NoUserModSelected(BadRequest):
    rc, message = "NoUserModSelected", "No valid user modification selected!"


class NoHordeModSelected(BadRequest):
    rc, message = "NoHordeModSelected", "No valid horde mode selected!"


class ProfaneUserName(BadRequest):
    rc, message = "ProfaneUserName", "This username contains words that are not allowed."


class ProfaneUserContact(BadRequest):
    rc, message = "ProfaneUserContact", "This contact contains words that are not allowed."


class ProfaneAdminComment(BadRequest):
    rc, message = "ProfaneAdminComment", "This admin comment contains words that are not allowed."


class TooLongUserName(BadRequest):
    rc, message = "TooLongUserName", "Username is too long (maximum 30 characters)."


class UsernameTaken(BadRequest):
    rc, message = "UsernameTaken", "This username is already taken: please choose another one."


class InvalidUserName(BadRequest):
    rc, message = "InvalidUserName", "Usernames may not contain '<', '>', '#' or control characters."


class MissingUserName(BadRequest):
    rc, message = "MissingUserName", "Please choose a username."


class NoFilterModSelected(BadRequest):
    rc, message = "NoFilterModSelected", "No valid filter modification selected!"


class InvalidFilterRegex(BadRequest):
    message = "This regex is not valid RE2 syntax (look-arounds and back-references are not supported)."


class NoValidActions(BadRequest):
    rc, message = "NoValidActions", "No valid modification selected!"


class NoSharedKeyModSelected(BadRequest):
    rc, message = "NoSharedKeyModSelected", "No shared key modification selected!"


class SharedKeyExpiredTransfer(BadRequest):
    """SharedKeyExpired inside a kudos transfer is a 400, as the public horde answers it."""

    rc, message = "SharedKeyExpired", "This shared key has expired."


class UserNotDeleted(BadRequest):
    rc, message = "UserNotDeleted", "This user is not deleted."


class UnexpectedModelName(BadRequest):
    rc, message = "UnexpectedModelName", "This model name is not allowed here."

class SourceImageRequiredForModel(BadRequest):
    rc, message = "SourceImageRequiredForModel", "This model needs a source image."

class SourceMaskUnnecessary(BadRequest):
    rc, message = "SourceMaskUnnecessary", "A source mask needs a source image."

class InvalidRemix(BadRequest):
    rc, message = "InvalidRemix", "Remix is only available for Stable Cascade models."

class TooManyExtraSourceImages(BadRequest):
    rc, message = "TooManyExtraSourceImages.", "At most 5 extra source images are allowed."

class MoreThanMinExtraSourceImage(BadRequest):
    rc, message = "MoreThanMinExtraSourceImage.", "Only trusted users can send more than one extra source image."

class InvalidExtraSourceImages(BadRequest):
    rc, message = "InvalidExtraSourceImages.", "Extra source images are only allowed with source_processing 'remix'."

class TooManyLoras(BadRequest):
    rc, message = "TooManyLoras", "At most 5 LoRas are allowed."

class BadLoraVersion(BadRequest):
    rc, message = "BadLoraVersion", "A LoRa requested by version must be named by its numeric version id."

class TooManyTIs(BadRequest):
    rc, message = "TooManyTIs", "At most 20 textual inversions are allowed."

class BadCFGDecimals(BadRequest):
    rc, message = "BadCFGDecimals", "cfg_scale may have at most 2 decimals."

class TooManyUpscalers(BadRequest):
    rc, message = "TooManyUpscalers", "At most one upscaler may be requested."

class HiResMismatch(BadRequest):
    rc, message = "HiResMismatch", "hires_fix is not available for this model."

class InvalidExtraTexts(BadRequest):
    rc, message = "InvalidExtraTexts.", "extra_texts are only allowed with a workflow."

class MissingExtraTexts(BadRequest):
    rc, message = "MissingExtraTexts.", "The qr_code workflow needs an extra_text with reference 'qr_code'."

class ControlNetMismatchDotted(BadRequest):
    rc, message = "ControlNetMismatch.", "This workflow is only available for SD 1.5 and SDXL models."

class ControlNetSourceMissing(BadRequest):
    rc, message = "ControlNetSourceMissing", "ControlNet needs a source image."

class ControlNetInpaintingMismatch(BadRequest):
    rc, message = "ControlNetInpaintingMismatch", "ControlNet cannot be used with inpainting."

class ControlNetMismatch(BadRequest):
    rc, message = "ControlNetMismatch", "ControlNet is not available for this model."

class ControlNetUnsupported(BadRequest):
    rc, message = "ControlNetUnsupported", "This ControlNet type is not available for this model."

class ControlNetInvalidPayload(BadRequest):
    rc, message = "ControlNetInvalidPayload", "image_is_control and return_control_map cannot be combined."

class InvalidTransparencyModel(BadRequest):
    rc, message = "InvalidTransparencyModel", "Transparency is only available for SD 1.5 and SDXL models."

class InvalidTransparencyImg2Img(BadRequest):
    rc, message = "InvalidTransparencyImg2Img", "Transparency cannot be used with extra source images."

class InvalidTransparencyCN(BadRequest):
    rc, message = "InvalidTransparencyCN", "Transparency cannot be used with ControlNet."

class RequiresTrust(BadRequest):
    rc, message = "RequiresTrust", "This option needs a trusted account."

class OnlyServiceAccountProxy(BadRequest):
    rc, message = "OnlyServiceAccountProxy", "Only service accounts can proxy requests for other accounts."

class CorruptPrompt(BadRequest):
    rc, message = "CorruptPrompt", "This prompt was refused."

class DuplicateGen(BadRequest):
    rc, message = "DuplicateGen", "Processing Job with ID already submitted."

class AbortedGen(BadRequest):
    rc, message = "AbortedGen", "Processing Job with ID took too long and was aborted. Please check your worker speed."

class InvalidPriorityUsername(BadRequest):
    rc, message = "InvalidPriorityUsername", "Priority usernames must be aliases such as name#1."

class PolymorphicNameConflict(BadRequest):
    rc, message = "PolymorphicNameConflict", "This worker name is already used by a worker of another type."

class ProfaneWorkerName(BadRequest):
    rc, message = "ProfaneWorkerName", "This worker name contains words that are not allowed."

class ProfaneBridgeAgent(BadRequest):
    rc, message = "ProfaneBridgeAgent", "This bridge agent contains words that are not allowed."

class ImageValidationFailed(BadRequest):
    rc, message = "ImageValidationFailed", "The image could not be validated."

class SourceImageResolutionExceeded(BadRequest):
    rc, message = "SourceImageResolutionExceeded", "The source image is too large."

class SourceImageSizeExceeded(BadRequest):
    rc, message = "SourceImageSizeExceeded", "The source image file is too large."

class SourceImageUrlInvalid(BadRequest):
    rc, message = "SourceImageUrlInvalid", "The source image URL could not be fetched."

class SourceImageUnreadable(BadRequest):
    rc, message = "SourceImageUnreadable", "The source image could not be read as an image."

class InpaintingMissingMask(BadRequest):
    rc, message = "InpaintingMissingMask", "Inpainting without a mask needs a source image with an alpha channel."

class TokenOverflow(BadRequest):
    rc, message = "TokenOverflow", "max_context_length must be at least max_length."

class MissingFullSamplerOrder(BadRequest):
    rc, message = "MissingFullSamplerOrder", "sampler_order must list at least 7 distinct samplers."

class TooManyStopSequences(BadRequest):
    rc, message = "TooManyStopSequences", "At most 128 stop sequences are allowed."

class ExcessiveStopSequence(BadRequest):
    rc, message = "ExcessiveStopSequence", "Stop sequences may total at most 2000 characters."


class NoTeamModSelected(BadRequest):
    rc, message = "NoTeamModSelected", "No valid team modification selected!"


class TeamNameAlreadyExists(BadRequest):
    rc, message = "TeamNameAlreadyExists", "A team with this name already exists."


class ProfaneTeamName(BadRequest):
    rc, message = "ProfaneTeamName", "This team name contains words that are not allowed."


class ProfaneTeamInfo(BadRequest):
    rc, message = "ProfaneTeamInfo", "This team info contains words that are not allowed."


class NoWorkerModSelected(BadRequest):
    rc, message = "NoWorkerModSelected", "No valid worker modification selected!"


class ProfaneWorkerInfo(BadRequest):
    rc, message = "ProfaneWorkerInfo", "This worker info contains words that are not allowed."


class TooLongWorkerName(BadRequest):
    rc, message = "TooLongWorkerName", "Worker names may be at most 100 characters."


class WorkerNameAlreadyExists(BadRequest):
    rc, message = "WorkerNameAlreadyExists", "A worker with this name already exists."


class ProcGenNotFound(BadRequest):
    rc, message = "ProcGenNotFound", "A rated generation does not belong to this request."

class AestheticsNotCompleted(BadRequest):
    rc, message = "AestheticsNotCompleted", "Only finished requests can be rated."

class AestheticsNotPublic(BadRequest):
    rc, message = "AestheticsNotPublic", "Only requests sent with shared: true can be rated."

class AestheticsDuplicate(BadRequest):
    rc, message = "AestheticsDuplicate", "Each generation can be rated once."

class AestheticsMissing(BadRequest):
    rc, message = "AestheticsMissing", "Send ratings, a best image, or both."

class AestheticsSolo(BadRequest):
    rc, message = "AestheticsSolo", "A request with a single image has no best image to choose."

class AestheticsConfused(BadRequest):
    rc, message = "AestheticsConfused", "The best image must be among those you rated highest."

class AestheticsAlreadyExist(BadRequest):
    rc, message = "AestheticsAlreadyExist", "This request has already been rated."


class KudosValidationError(BadRequest):
    rc, message = "KudosValidationError", "Kudos transfer refused."


class InvalidKudosAmount(KudosValidationError):
    rc, message = "InvalidKudosTransferAmount", "Kudos amount must be a non-zero number."


class NegativeKudosTransfer(KudosValidationError):
    rc, message = "NegativeKudosTransfer", "You cannot transfer negative kudos."


class KudosTransferFromAnon(KudosValidationError):
    rc, message = "KudosTransferFromAnon", "You cannot transfer kudos from the anonymous account."


class KudosTransferToAnon(KudosValidationError):
    rc, message = "KudosTransferToAnon", "You cannot transfer kudos to the anonymous account."


class KudosTransferToSelf(KudosValidationError):
    rc, message = "KudosTransferToSelf", "You cannot transfer kudos to yourself."


class InvalidTargetUsername(KudosValidationError):
    rc, message = "InvalidTargetUsername", "No user matches this username (use the alias name#id)."


class TooFastKudosTransfers(KudosValidationError):
    rc, message = "TooFastKudosTransfers", "This user sent you kudos within the last minute; wait before sending them kudos."


class FaultWhenKudosSending(KudosValidationError):
    rc, message = "FaultWhenKudosSending", "Your account cannot send kudos at the moment."


class FaultWhenKudosReceiving(KudosValidationError):
    rc, message = "FaultWhenKudosReceiving", "This account cannot receive kudos at the moment."


class SourceAccountFlagged(KudosValidationError):
    rc, message = "SourceAccountFlagged", "Flagged accounts cannot send kudos."


class TargetAccountFlagged(KudosValidationError):
    rc, message = "TargetAccountFlagged", "Flagged accounts cannot receive kudos."


class EducationCannotSendKudos(KudosValidationError):
    rc, message = "EducationCannotSendKudos", "Education accounts cannot send kudos."


class DeletedUserTransfer(KudosValidationError):
    rc, message = "DeletedUser", "Deleted accounts cannot send or receive kudos."


class KudosTransferNotEnough(KudosValidationError):
    rc, message = "KudosTransferNotEnough", "You do not have enough kudos for this transfer."


class InvalidAwardUsername(KudosValidationError):
    rc, message = "InvalidAwardUsername", "No user matches this username (use the alias name#id)."


class KudosAwardToAnon(KudosValidationError):
    rc, message = "KudosAwardToAnon", "Kudos cannot be awarded to the anonymous account."


class KudosAboveMaximum(KudosValidationError):
    rc, message = "KudosAboveMaximum", "This would take the balance above the maximum of 1,000,000,000,000 kudos."


class IdempotencyKeyConflict(KudosValidationError):
    rc, message = "IdempotencyKeyConflict", "This Idempotency-Key was used for a different transfer."


# --- 401 ---------------------------------------------------------------------------
class InvalidAPIKey(HordeError):
    status, rc, message = 401, "InvalidAPIKey", "No user matching sent API Key. Have you remembered to register at /register ?"


# --- 403 ---------------------------------------------------------------------------
class Forbidden(HordeError):
    status, rc, message = 403, "Forbidden", "Access denied."


class RegistrationRaidMode(Forbidden):
    rc, message = "RegistrationRaidMode", (
        "The horde is defending itself against a raid: new accounts without a login provider are "
        "closed for now. Log in with one of the providers, or use the anonymous key."
    )


class RegistrationInviteOnly(Forbidden):
    rc, message = "RegistrationInviteOnly", (
        "The horde is invite-only right now: new accounts need a login provider a moderator can vouch for."
    )


class NotAdmin(Forbidden):
    rc, message = "NotAdmin", "Only admins can perform this action."


class NotModerator(Forbidden):
    rc, message = "NotModerator", "Only moderators can perform this action."


class NotUserOrMod(Forbidden):
    rc, message = "NotUserOrMod", "Only the user themselves or a moderator can do this."


class AnonForbiddenUser(Forbidden):
    rc, message = "AnonForbiddenUser", "The anonymous user cannot be deleted."


class CannotDeleteMod(Forbidden):
    rc, message = "CannotDeleteMod", "Moderators cannot be deleted. Remove the moderator role first."


class CannotWipeActiveUser(Forbidden):
    rc, message = "CannotWipeActiveUser", (
        "This account is deleted; it can be wiped for good once it has been inactive for 30 days."
    )


class TimeoutIP(Forbidden):
    rc, message = "TimeoutIP", "Your IP address has been put in timeout. Please try again later."


class UnsafeIP(Forbidden):
    rc, message = "UnsafeIP", "Workers cannot run from this IP address (it looks like a VPN or a cloud host)."


class TooManyNewIPs(Forbidden):
    rc, message = "TooManyNewIPs", "This IP address cannot be checked right now. Please try again in a few minutes."


class UntrustedUnsafeIP(Forbidden):
    rc, message = "UntrustedUnsafeIP", (
        "The horde is defending itself against a raid: untrusted accounts cannot send requests from this IP address."
    )


class NotOwner(Forbidden):
    rc, message = "NotOwner", "Only the owner can perform this action."


class AnonForbiddenUserMod(Forbidden):
    rc, message = "AnonForbiddenUserMod", "Anonymous users cannot modify users."


class NonServiceForbidden(Forbidden):
    rc, message = "NonServiceForbidden", "Only service accounts can perform this action."


class KudosUpfront(Forbidden):
    rc, message = "KudosUpfront", "This request needs kudos up front that you do not have."

class BannedClientAgent(Forbidden):
    rc, message = "BannedClientAgent", "This client agent is banned. Please set your own Client-Agent header."

class WrongCredentials(Forbidden):
    rc, message = "WrongCredentials", "Wrong credentials to submit as this worker."

class AnonForbiddenWorker(Forbidden):
    rc, message = "AnonForbiddenWorker", "Anonymous users cannot run workers. Please register at /register."

class WorkerMaintenance(Forbidden):
    rc, message = "WorkerMaintenance", "This worker is in maintenance mode."

class WorkerFlaggedMaintenance(Forbidden):
    rc, message = "WorkerFlaggedMaintenance", "The owner of this worker is flagged; the worker is in maintenance mode."

class WorkerInviteOnly(Forbidden):
    rc, message = "WorkerInviteOnly", "This horde is invite-only for new workers."

class TooManyWorkers(Forbidden):
    rc, message = "TooManyWorkers", "Untrusted users can run at most 4 workers."

class TooManyWorkersTrusted(Forbidden):
    rc, message = "TooManyWorkersTrusted", "You have reached the maximum number of workers."

class TooManySameIPs(Forbidden):
    rc, message = "TooManySameIPs", "Too many of your workers run from this IP address."

class AnonForbidden(Forbidden):
    rc, message = "AnonForbidden", "Anonymous users cannot do this."


class NotAllowedAwards(Forbidden):
    rc, message = "NotAllowedAwards", "Only moderators and service accounts can award kudos."


class MessagesOnlyOwnWorkers(Forbidden):
    rc, message = "MessagesOnlyOwnWorkers", "You can only send messages to your own workers."


class UntrustedTeamCreation(Forbidden):
    rc, message = "UntrustedTeamCreation", "Only trusted users can create teams."


class SharedKeyEmpty(Forbidden):
    rc, message = "SharedKeyEmpty", "This shared key has no kudos left."


class SharedKeyExpired(Forbidden):
    rc, message = "SharedKeyExpired", "This shared key has expired."


class SharedKeyAssignedStyles(Forbidden):
    rc, message = "SharedKeyAssignedStyles", "This shared key is assigned to styles and can only be used through them."


class SharedKeyInsufficientKudos(Forbidden):
    rc, message = "SharedKeyInsufficientKudos", "This shared key does not have enough kudos left for this request."


class StylesAnonForbidden(Forbidden):
    rc, message = "StylesAnonForbidden", "Anonymous users cannot create styles or collections."


class StylesRequiresCustomizer(Forbidden):
    rc, message = "StylesRequiresCustomizer", "Only customizers and trusted users can create styles."


class DeletedUser(Forbidden):
    rc, message = "DeletedUser", "This user has been deleted."


# --- 404 ---------------------------------------------------------------------------
class NotFound(HordeError):
    status, rc, message = 404, "NotFound", "The requested URL was not found on the server."


class ModeNotServed(NotFound):
    rc = "ModeNotServed"


class UserNotFound(NotFound):
    rc, message = "UserNotFound", "User not found."


class RequestNotFound(NotFound):
    rc, message = "RequestNotFound", "Request not found. It may have expired."


class WorkerNotFound(NotFound):
    rc, message = "WorkerNotFound", "Worker not found."


class TeamNotFound(NotFound):
    rc, message = "TeamNotFound", "Team not found."


class StyleNotFound(NotFound):
    rc, message = "StyleNotFound", "Style not found."


class CollectionNotFound(NotFound):
    rc, message = "CollectionNotFound", "Collection not found."


class StyleExampleNotFound(NotFound):
    rc, message = "Style exampleNotFound", "Style example not found."  # sic: the public horde's rc


class WorkermessageNotFound(NotFound):
    rc, message = "WorkermessageNotFound", "Worker message not found."


class FilterNotFound(NotFound):
    rc, message = "FilterNotFound", "Filter not found."


class InvalidJobID(NotFound):
    rc, message = "InvalidJobID", "Processing Job with ID does not exist."


# --- other HTTP-level failures -------------------------------------------------------
class MethodNotAllowed(HordeError):
    status, rc, message = 405, "MethodNotAllowed", "The method is not allowed for the requested URL."


class PayloadTooLarge(HordeError):
    status, rc, message = 413, "PayloadTooLarge", "The request body is too large."


class URITooLong(HordeError):
    status, rc, message = 414, "URITooLong", "The URL is too long."


class RequestHeaderFieldsTooLarge(HordeError):
    status, rc, message = 431, "RequestHeaderFieldsTooLarge", "A request header is too large."


class Locked(HordeError):
    status, rc, message = 423, "Locked", "This resource is in use."


class RateLimited(HordeError):
    status, rc = 429, "RateLimited"


class SourceImageFetchBusy(HordeError):
    """Every source-image fetch slot of this process is taken (horde/fetch.py)."""

    status, rc = 503, "SourceImageFetchBusy"
    message = "The server is fetching too many source image URLs at once. Try again shortly, or send the image as base64."


class DatabaseUnavailable(HordeError):
    """The database cannot be reached (restarting, down, connection cut): try again shortly."""

    status, rc = 503, "DatabaseUnavailable"
    message = "The database is unavailable for a moment. Please try again in a few seconds."
    retry_after = 5


class TooManyPrompts(HordeError):
    status, rc = 429, "TooManyPrompts"
    message = "You have too many requests queued. Please wait for some to finish."


# --- the OpenAI-compatible routes (horde/api/openai.py renders these in OpenAI's shape) ---
class UnknownModel(NotFound):
    rc, message = "UnknownModel", "The model does not exist on this horde."


class NoWorkerForModel(HordeError):
    """The model is known, or the request valid, but no online worker can serve it now."""

    status, rc = 503, "NoAvailableWorker"
    message = "No online worker can serve this request now. Try again later or choose another model."


class GenerationTimedOut(HordeError):
    """The request did not finish within the OpenAI routes' wait; it was cancelled."""

    status, rc = 408, "GenerationTimedOut"
    message = "The request did not finish in time and was cancelled."


class GenerationFailed(HordeError):
    """The workers failed the request (faulted), or it was cancelled from elsewhere."""

    status, rc = 502, "GenerationFailed"
    message = "The request failed before it finished."
