# gunicorn configuration for Horde.
#
#   gunicorn -c config/gunicorn.conf.py horde.wsgi:app      (or: horde serve)
#
# Everything is derived from HORDE_* environment variables (see README, "Configuration"):
# HORDE_HOST/HORDE_PORT give the bind address, HORDE_WEB_WORKERS the process count
# (default: 1 on SQLite, 2 x CPUs on PostgreSQL), HORDE_RUN_JOBS whether gunicorn also
# starts the scheduler process (`horde jobs`; one scheduler per horde works at a time).
# Override any gunicorn setting below this import.
from horde.gunicorn_conf import *  # noqa: F401,F403
from horde.gunicorn_conf import child_exit, on_exit, when_ready  # noqa: F401
