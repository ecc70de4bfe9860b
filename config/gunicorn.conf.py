# gunicorn configuration for Horde.
#
#   gunicorn -c config/gunicorn.conf.py horde.wsgi:app      (or: horde serve)
#
# Everything is derived from HORDE_* environment variables (see README, "Configuration"):
# HORDE_HOST/HORDE_PORT give the bind address, HORDE_WEB_WORKERS the process count
# (default: 1 on SQLite, 2 x CPUs on PostgreSQL), HORDE_RUN_JOBS whether web processes
# also run the scheduler (one of them does the periodic work at a time).
# Override any gunicorn setting below this import.
from horde.gunicorn_conf import *  # noqa: F401,F403
from horde.gunicorn_conf import post_worker_init  # noqa: F401
