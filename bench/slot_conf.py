"""gunicorn configuration for an experiment: `horde serve`'s own (horde.gunicorn_conf) with
the core slot (horde/serving.py) swapped once the app is loaded, by HORDE_BENCH_SLOT:
"lock" (a threading.Lock instead of the BoundedSemaphore) or "none" (no slot: the threads
of a process share its GIL). Bench only; horde itself is unchanged. Use:

    HORDE_GUNICORN_CONFIG=bench/slot_conf.py HORDE_BENCH_SLOT=none python -m bench check
"""

import os
import threading

from horde import gunicorn_conf as _base
from horde.gunicorn_conf import *  # noqa: F401,F403


class _NoSlot:
    def acquire(self, *a, **k):
        return True

    def release(self):
        pass


def post_worker_init(worker):
    _base.post_worker_init(worker)
    from horde import serving

    variant = os.environ.get("HORDE_BENCH_SLOT", "semaphore")
    if variant == "lock":
        serving._slots = threading.Lock()
    elif variant == "none":
        serving._slots = _NoSlot()
