"""WSGI entry point for gunicorn: `gunicorn -c config/gunicorn.conf.py horde.wsgi:app`."""

from horde.app import create_app

app = create_app()
