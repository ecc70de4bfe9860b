"""The server's secret: HORDE_SECRET_KEY, or one generated for a development server.

It keys the API-key hashes, the signed upload and download URLs and the session cookies, so
anybody who knows it can forge all three. No value is built in: a development server (loopback
address, HORDE_ENV not `production`) generates a random one on first start and keeps it in its
data folder, readable by its owner only, so API keys stay valid across restarts; any other
server refuses to start until HORDE_SECRET_KEY is set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from horde.settings import Settings, SettingsError

SECRET_FILE = "secret_key"
MISSING = (
    "HORDE_SECRET_KEY is not set: set it to a long random value "
    "(python -c 'import secrets; print(secrets.token_urlsafe(32))') "
    "to serve with HORDE_ENV=production or on a non-loopback HORDE_HOST"
)


def resolve(settings: Settings) -> Settings:
    """`settings` with a secret: the configured one, the development one, or SettingsError."""
    if settings.secret_key:
        return settings
    if not settings.development:
        raise SettingsError(MISSING)
    return settings.with_(secret_key=development_secret(Path(settings.data_dir)))


def development_secret(data_dir: Path) -> str:
    """The secret kept in `data_dir`, created (owner-only) on first use.

    Several processes may start at once (gunicorn workers): the file is written whole under
    a temporary name and linked into place, so a reader never sees half of it and the first
    writer wins."""
    path = data_dir / SECRET_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    temporary = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process was first: use its secret
    finally:
        temporary.unlink()
    return _read(path)


def _read(path: Path) -> str:
    value = path.read_text().strip()
    if not value:
        raise SettingsError(f"{path} is empty: delete it to generate a new development secret")
    return value
