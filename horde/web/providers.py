"""The login providers of the registration page, wired to authlib's Flask client.

A provider is offered only when its client id and secret are configured. Every login uses a
random `state` (checked on the callback by authlib) and PKCE (S256). Only the provider's
subject id is read: no e-mail address, no profile.
"""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.flask_client import OAuth

from horde.settings import Settings


@dataclass(frozen=True)
class Provider:
    name: str  # also the oauth_id prefix key (domain/registration.py)
    title: str  # what the button says
    client_id: str
    client_secret: str
    endpoints: dict  # authlib `register` keyword arguments: endpoints or OIDC discovery
    scope: str
    # Where the subject id comes from: the ID token ("sub") or a profile route ("id").
    profile_path: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.client_secret)


# The fixed endpoints of the named providers (their documented URLs: no discovery request
# on every start). Google is OpenID Connect; Discord and GitHub name the user on a profile route.
ENDPOINTS = {
    "discord": {
        "authorize_url": "https://discord.com/oauth2/authorize",
        "access_token_url": "https://discord.com/api/oauth2/token",
        "api_base_url": "https://discord.com/api/",
    },
    "google": {
        "authorize_url": "https://accounts.google.com/o/oauth2/v2/auth",
        "access_token_url": "https://oauth2.googleapis.com/token",
        "jwks_uri": "https://www.googleapis.com/oauth2/v3/certs",
        "issuer": "https://accounts.google.com",
    },
    "github": {
        "authorize_url": "https://github.com/login/oauth/authorize",
        "access_token_url": "https://github.com/login/oauth/access_token",
        "api_base_url": "https://api.github.com/",
    },
}


def providers(settings: Settings) -> list[Provider]:
    """Every provider the settings configure, in the order the page shows them."""
    candidates = [
        Provider("discord", "Discord", settings.discord_client_id, settings.discord_client_secret,
                 ENDPOINTS["discord"], scope="identify", profile_path="users/@me"),
        Provider("google", "Google", settings.google_client_id, settings.google_client_secret,
                 ENDPOINTS["google"], scope="openid"),
        Provider("github", "GitHub", settings.github_client_id, settings.github_client_secret,
                 ENDPOINTS["github"], scope="", profile_path="user"),
    ]
    if settings.oidc_issuer:
        candidates.append(
            Provider(
                "oidc", settings.oidc_name, settings.oidc_client_id, settings.oidc_client_secret,
                {"server_metadata_url": f"{settings.oidc_issuer}/.well-known/openid-configuration"},
                scope="openid",
            )
        )
    return [p for p in candidates if p.configured]


def install(app, settings: Settings) -> dict[str, Provider]:
    """Register the configured providers with authlib; returns them by name."""
    oauth = OAuth(app)
    configured = {}
    for provider in providers(settings):
        client_kwargs = {"code_challenge_method": "S256"}
        if provider.scope:
            client_kwargs["scope"] = provider.scope
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            client_kwargs=client_kwargs,
            **provider.endpoints,
        )
        configured[provider.name] = provider
    app.extensions["horde_oauth"] = oauth
    return configured


def subject(oauth: OAuth, provider: Provider, token: dict) -> str:
    """The provider's stable id for the person who just logged in."""
    client = oauth.create_client(provider.name)
    if provider.profile_path:
        response = client.get(provider.profile_path, token=token)
        response.raise_for_status()
        return str(response.json().get("id") or "")
    claims = token.get("userinfo") or {}
    return str(claims.get("sub") or "")
