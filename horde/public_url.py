"""The URL clients reach this horde at, for the links we hand out (uploads, downloads, logins).

HORDE_PUBLIC_URL when it is set. Otherwise the address the client used: the request's scheme
and Host (X-Forwarded-Proto and -Host only through HORDE_TRUSTED_PROXIES, see create_app), so
a server listening on 0.0.0.0 behind Docker or on a LAN gives out links a worker can reach.
Outside a request (background jobs, the CLI) it is the listen address, a wildcard one
replaced by loopback (`Settings.effective_public_url`).
"""

from __future__ import annotations

from flask import has_request_context, request

from horde.settings import Settings


def current(settings: Settings) -> str:
    if settings.public_url:
        return settings.public_url
    if has_request_context() and request.host:
        return f"{request.scheme}://{request.host}"
    return settings.effective_public_url
