"""A local OpenID Connect provider for the tests, built on authlib's authorization server.

It stands in for Discord/Google/GitHub, which cannot be reached from here: authorization
code flow with PKCE and nonce, RS256 ID tokens, discovery and JWKS. Its login page asks only
for a login name; the subject id it reports is derived from that name, so the same name logs
in as the same person every time.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import AuthorizationCodeMixin, ClientMixin
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, render_template_string, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

LOGIN_PAGE = """<!doctype html><title>Test identity provider</title>
<h1>Test identity provider</h1>
<form method="post" action="/authorize">
  {% for name, value in params.items() %}<input type="hidden" name="{{ name }}" value="{{ value }}">{% endfor %}
  <label>Login <input name="login" id="login"></label>
  <button type="submit" id="allow">Allow</button>
</form>"""


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: list[str] = field(default_factory=list)

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile", "identify"))

    def check_redirect_uri(self, redirect_uri):
        # Any redirect back to the horde under test (its port is chosen at run time).
        return redirect_uri.startswith("http://127.0.0.1:")

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Person:
    sub: str

    def get_user_id(self):
        return self.sub


@dataclass
class Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class LocalProvider:
    def __init__(self, client_id: str = "horde-test", client_secret: str = "horde-test-secret"):
        self.client = Client(client_id, client_secret)
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, str] = {}  # access token -> subject
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig", "alg": "RS256"})
        self.app = self._build_app()
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.issuer = f"http://127.0.0.1:{self._server.server_port}"
        self.logins: list[str] = []  # subjects that logged in, for the tests to check
        self.forged_issuer: str | None = None  # sign ID tokens claiming another issuer (a forgery)

    @staticmethod
    def subject_for(login: str) -> str:
        return f"sub-{login}"

    @staticmethod
    def numeric_id(subject: str) -> int:
        return int.from_bytes(subject.encode()[:6], "big")

    def _build_app(self) -> Flask:
        app = Flask("oidc-test-provider")
        provider = self

        class CodeGrant(AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code, req):
                data = req.payload.data
                provider.codes[code] = Code(
                    code=code, client_id=req.client.client_id, redirect_uri=req.payload.redirect_uri,
                    scope=req.scope, sub=req.user.sub, nonce=data.get("nonce"),
                    code_challenge=data.get("code_challenge"), code_challenge_method=data.get("code_challenge_method"),
                )

            def query_authorization_code(self, code, client):
                item = provider.codes.get(code)
                return item if item and item.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return Person(authorization_code.sub)

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_algorithm(self, client):
                return "RS256"

            def get_client_claims(self, client):
                return {"iss": provider.forged_issuer or provider.issuer, "aud": [client.client_id]}

            def get_encode_header(self, client):
                return {"alg": "RS256", "kid": "test-key"}

            def generate_user_info(self, user, scope):
                return UserInfo(sub=user.sub)

        def save_token(token, req):
            self.tokens[token["access_token"]] = req.user.sub

        server = AuthorizationServer(app, query_client=self._query_client, save_token=save_token)
        server.register_grant(CodeGrant, [OpenID(require_nonce=True), CodeChallenge(required=True)])

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return jsonify(
                issuer=self.issuer,
                authorization_endpoint=f"{self.issuer}/authorize",
                token_endpoint=f"{self.issuer}/token",
                jwks_uri=f"{self.issuer}/jwks",
                response_types_supported=["code"],
                subject_types_supported=["public"],
                id_token_signing_alg_values_supported=["RS256"],
                code_challenge_methods_supported=["S256"],
                token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post"],
                scopes_supported=["openid"],
            )

        @app.get("/jwks")
        def jwks():
            return jsonify(keys=[self.key.as_dict(private=False)])

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            if request.method == "GET":
                server.get_consent_grant(end_user=None)  # refuses a bad client or redirect at once
                return render_template_string(LOGIN_PAGE, params=request.args)
            login = request.form["login"].strip()
            self.logins.append(self.subject_for(login))
            return server.create_authorization_response(grant_user=Person(self.subject_for(login)))

        @app.post("/token")
        def token():
            return server.create_token_response()

        # Plain OAuth 2 providers name the user on a profile route instead of an ID token:
        # Discord's shape and GitHub's (whose ids are numbers).
        def bearer_subject() -> str | None:
            header = request.headers.get("Authorization", "")
            return self.tokens.get(header.removeprefix("Bearer ").strip()) if header.startswith("Bearer ") else None

        @app.get("/api/users/@me")
        def discord_profile():
            sub = bearer_subject()
            return (jsonify(id=sub, username="someone"), 200) if sub else (jsonify(message="401: Unauthorized"), 401)

        @app.get("/user")
        def github_profile():
            sub = bearer_subject()
            return (jsonify(id=self.numeric_id(sub), login="someone"), 200) if sub else (jsonify(message="Bad credentials"), 401)

        return app

    def _query_client(self, client_id):
        return self.client if client_id == self.client.client_id else None

    def start(self) -> "LocalProvider":
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
