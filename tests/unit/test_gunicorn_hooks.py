"""The web processes keep long-lived objects out of the garbage collector's full passes."""

import gc
import types

from horde import gunicorn_conf


def test_objects_alive_after_start_and_after_the_first_requests_are_frozen():
    worker = types.SimpleNamespace()
    try:
        gunicorn_conf.post_worker_init(worker)
        frozen_at_start = gc.get_freeze_count()
        assert frozen_at_start > 10_000  # the loaded modules, classes and app

        made_by_requests = [types.SimpleNamespace(statement=i) for i in range(5000)]  # e.g. caches filled lazily
        for _ in range(gunicorn_conf.REFREEZE_AFTER_REQUESTS - 1):
            gunicorn_conf.post_request(worker, None, {}, None)
        # Not refrozen yet: the new objects are not in the permanent generation (its count can
        # only shrink meanwhile, when a frozen object is freed).
        assert gc.get_freeze_count() <= frozen_at_start
        gunicorn_conf.post_request(worker, None, {}, None)
        assert gc.get_freeze_count() >= frozen_at_start + len(made_by_requests)
    finally:
        gc.unfreeze()
