"""Registration and account pages: forms in, one domain call, a page out.

Keys are shown once, in the answer to the POST that made them (never stored, never behind a
GET that could be reloaded or cached). Every POST carries a CSRF token.
"""

from __future__ import annotations


from authlib.integrations.base_client.errors import MismatchingStateError, OAuthError
from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import generate_csrf, validate_csrf
from joserfc.errors import JoseError
from markupsafe import Markup
from requests import RequestException
from wtforms import ValidationError

from horde import documents, public_url
from horde.domain import errors
from horde.api.context import client_ip
from horde.db import utcnow
from horde.domain.accounts import apikeys, deletion, registration, transfers
from horde.domain.moderation import screening
from horde.models import User
from horde.web import providers as oauth_providers

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static")


class PageError(Exception):
    """A refused form or login: shown on the page, with its HTTP status."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


def services():
    return current_app.extensions["horde"]


def db():
    return services().db.session()


def _providers() -> dict[str, oauth_providers.Provider]:
    return current_app.extensions["horde_providers"]


def _logged_in_oauth_id() -> str | None:
    return session.get("oauth_id")


def _account() -> User | None:
    oauth_id = _logged_in_oauth_id()
    return registration.find_oauth_user(db(), oauth_id) if oauth_id else None


def page(template: str, status: int = 200, **context):
    return make_response(render_template(template, **context), status)


def _key_page(user: User, api_key: str, what: str):
    """The one time a key is visible: not cached anywhere on the way."""
    response = page("key.html", user=user, api_key=api_key, what=what)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.before_request
def check_csrf():
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError:
            raise PageError(
                "This form has expired or did not come from this site. Reload the page and try again.", 400
            ) from None


@bp.app_context_processor
def _template_globals():
    settings = services().settings
    return {"horde_name": settings.name, "csrf_token": generate_csrf, "logged_in": bool(_logged_in_oauth_id())}


@bp.errorhandler(PageError)
def page_error(error: PageError):
    return page("error.html", error.status, message=error.message)


@bp.errorhandler(errors.HordeError)
def domain_error(error: errors.HordeError):
    # The API's own message for the same rule; forms re-render with it where they can.
    return page("error.html", error.status, message=error.message)


@bp.get("/", endpoint="index")
def index():
    # Browsers get the home page; API clients (and curl's */*) the JSON they always had.
    settings = services().settings
    if request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html":
        return page("home.html", mode_description=settings.mode.description)
    return jsonify(
        {
            "message": f"{settings.name}: {settings.mode.description} through the AI Horde API v2.",
            "api": f"{public_url.current(settings)}/api/",
        }
    )


def _register_page(status: int = 200, **extra):
    account = _account()
    return page(
        "register.html",
        status,
        account=account,
        needs_username=_logged_in_oauth_id() is not None and account is None,
        providers=list(_providers().values()),
        pseudonymous_closed=not registration.pseudonymous_open(db()),
        **extra,
    )


def _register_refused(error: errors.HordeError, username: str):
    """The account page again, with the refusal next to the form and what the user typed."""
    return _register_page(error.status, error=error.message, form={"username": username})


@bp.get("/register")
def register_form():
    return _register_page()


@bp.post("/register")
def register():
    username = request.form.get("username", "")
    had_account = _account() is not None
    try:
        screening.ensure_ip_allowed(services(), client_ip(), utcnow())
        user, api_key = registration.register(db(), services().hasher, username, _logged_in_oauth_id())
    except errors.HordeError as error:
        db().rollback()
        return _register_refused(error, username)
    services().callers.forget(user.id)
    return _key_page(user, api_key, "reset" if had_account else "created")


def require_account() -> User:
    account = _account()
    if account is None:
        raise PageError("Log in first: this page is for accounts made with a login provider.", 401)
    return account


@bp.post("/account/username")
def change_username():
    account = require_account()
    username = request.form.get("username", "")
    try:
        registration.rename(db(), account, username)
    except errors.HordeError as error:
        db().rollback()
        return _register_refused(error, username)
    return redirect(url_for("web.register_form", renamed=1), 303)


@bp.post("/account/key")
def reset_key():
    account = require_account()
    api_key = registration.reset_key(db(), services().hasher, account)
    services().callers.forget(account.id)
    return _key_page(account, api_key, "reset")


@bp.get("/account/delete")
def delete_account_form():
    return page("delete_account.html", account=require_account())


@bp.post("/account/delete")
def delete_account():
    """The account page's deletion, confirmed by typing the username (the API's own rule)."""
    account = require_account()
    if request.form.get("confirm", "").strip() != account.username:
        return page("delete_account.html", 400, account=account, error="Type your username exactly to confirm.")
    try:
        outcome = deletion.delete_user(db(), account, account, utcnow())
    except errors.HordeError as error:
        db().rollback()
        return page("delete_account.html", error.status, account=account, error=error.message)
    db().commit()
    services().callers.forget(account.id)
    if outcome == deletion.WIPED_NOW:
        session.clear()
    return page("account_deleted.html", account=account, wiped=outcome == deletion.WIPED_NOW)


@bp.get("/login/<provider>")
def login(provider: str):
    client = _client(provider)
    redirect_uri = f"{public_url.current(services().settings)}{url_for('web.callback', provider=provider)}"
    try:
        return client.authorize_redirect(redirect_uri)
    except RequestException:
        raise _unreachable(provider) from None


@bp.get("/callback/<provider>")
def callback(provider: str):
    client = _client(provider)
    if "error" in request.args:
        raise PageError(f"{_providers()[provider].title} did not log you in: {request.args['error'][:100]}.", 400)
    try:
        token = client.authorize_access_token()
        subject = oauth_providers.subject(current_app.extensions["horde_oauth"], _providers()[provider], token)
    except MismatchingStateError:
        raise PageError("This login could not be verified (its state does not match). Please log in again.", 400) from None
    except OAuthError as error:
        raise PageError(f"The login failed: {error.description or error.error}.", 400) from None
    except JoseError as error:  # an ID token that is forged, expired or for someone else
        raise PageError(f"The login failed: the provider's ID token was refused ({error.error}).", 400) from None
    except RequestException:
        raise _unreachable(provider) from None
    session.clear()  # a fresh session for the logged-in user (no fixation)
    session["oauth_id"] = registration.oauth_id(provider, subject)
    return redirect(url_for("web.register_form"), 303)


def _unreachable(provider: str) -> PageError:
    return PageError(f"{_providers()[provider].title} cannot be reached right now. Try again later.", 502)


def _client(provider: str):
    if provider not in _providers():
        abort(404)
    return current_app.extensions["horde_oauth"].create_client(provider)


@bp.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("web.register_form"), 303)


@bp.get("/transfer")
def transfer_form():
    return page("transfer.html", account=_account(), form={})


@bp.post("/transfer")
def transfer():
    account = _account()
    form = {"username": request.form.get("username", ""), "amount": request.form.get("amount", "")}
    try:
        source = account or apikeys.find_by_api_key(db(), services().hasher, request.form.get("apikey", "").strip())
        amount = _whole_amount(form["amount"])
        moved = transfers.transfer(db(), services().cache, source, form["username"].strip(), amount, None)
    except errors.HordeError as error:
        db().rollback()
        return page("transfer.html", error.status, account=account, form=form, error=error.message)
    return page("transfer.html", account=account, form={}, done=f"Sent {moved} kudos to {form['username'].strip()}.")


def _whole_amount(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise errors.InvalidKudosAmount("The amount must be a whole number of kudos.") from None


@bp.get("/terms")
def terms():
    return _document("terms")


@bp.get("/privacy")
def privacy():
    return _document("privacy")


@bp.get("/sponsors")
def sponsors():
    return _document("sponsors")


def _document(name: str):
    document = documents.load(services().settings, name)
    # The operator's own file is trusted content, like the bundled one.
    return page("document.html", title=document.title, body=Markup(document.html))
