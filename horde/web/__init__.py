"""Registration and account pages (Jinja), and the OAuth login behind them."""

from __future__ import annotations

from flask import Flask

from horde.settings import Settings
from horde.web import live, moderation, providers
from horde.web.views import bp


def install(app: Flask, settings: Settings) -> None:
    app.extensions["horde_providers"] = providers.install(app, settings)
    app.register_blueprint(bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(live.bp)
