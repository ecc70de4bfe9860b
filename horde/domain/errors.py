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


class UserNotDeleted(BadRequest):
    rc, message = "UserNotDeleted", "This user is not deleted."


class KudosValidationError(BadRequest):
    rc, message = "KudosValidationError", "Kudos transfer refused."


class InvalidKudosAmount(KudosValidationError):
    rc, message = "InvalidKudosTransferAmount", "Kudos amount must be a non-zero number."


# --- 401 ---------------------------------------------------------------------------
class InvalidAPIKey(HordeError):
    status, rc, message = 401, "InvalidAPIKey", "No user matching sent API Key. Have you remembered to register at /register ?"


# --- 403 ---------------------------------------------------------------------------
class Forbidden(HordeError):
    status, rc, message = 403, "Forbidden", "Access denied."


class NotAdmin(Forbidden):
    rc, message = "NotAdmin", "Only admins can perform this action."


class NotModerator(Forbidden):
    rc, message = "NotModerator", "Only moderators can perform this action."


class NotOwner(Forbidden):
    rc, message = "NotOwner", "Only the owner can perform this action."


class AnonForbiddenUserMod(Forbidden):
    rc, message = "AnonForbiddenUserMod", "Anonymous users cannot modify users."


class NonServiceForbidden(Forbidden):
    rc, message = "NonServiceForbidden", "Only service accounts can perform this action."


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


class InvalidJobID(NotFound):
    rc, message = "InvalidJobID", "Processing Job with ID does not exist."


# --- other HTTP-level failures -------------------------------------------------------
class MethodNotAllowed(HordeError):
    status, rc, message = 405, "MethodNotAllowed", "The method is not allowed for the requested URL."


class PayloadTooLarge(HordeError):
    status, rc, message = 413, "PayloadTooLarge", "The request body is too large."


class Locked(HordeError):
    status, rc, message = 423, "Locked", "This resource is in use."


class RateLimited(HordeError):
    status, rc = 429, "RateLimited"


class TooManyPrompts(HordeError):
    status, rc = 429, "TooManyPrompts"
    message = "You have too many requests queued. Please wait for some to finish."
