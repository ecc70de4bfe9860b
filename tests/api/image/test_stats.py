"""Statistics windows after a known sequence of deliveries (and older history)."""

import datetime as dt

from sqlalchemy import insert

from horde.db import utcnow
from horde.domain.queue import stats
from horde.models import GenerationStat


def deliver(loop, key, model, steps, n=1):
    loop.request(models=[model], params={"steps": steps, "n": n})
    for _ in range(n):
        job = loop.pop(key, models=[model])
        loop.upload(job["r2_upload"])
        loop.submit(key, job["id"])


def test_windows(app, loop, users):
    _, key = users.create("owner", trusted=True)
    deliver(loop, key, "Deliberate", 20, n=2)
    deliver(loop, key, "stable_diffusion", 10)
    now = utcnow()
    svc = app.extensions["horde"]
    with svc.db.session_factory() as session:
        # older history: 2 hours, 3 days and 40 days ago
        for age, model in ((dt.timedelta(hours=2), "Deliberate"), (dt.timedelta(days=3), "Deliberate"),
                           (dt.timedelta(days=40), "Custom Model")):
            session.execute(insert(GenerationStat), {"kind": "image", "model": model, "finished": now - age,
                                                     "things": 1000.0, "state": "ok"})
        session.commit()
        stats.refresh(session, svc.cache, "image", now)
    totals = loop.client.get("/api/v2/stats/img/totals").get_json()
    recent_ps = 2 * 512 * 512 * 20 + 512 * 512 * 10
    assert totals["minute"] == {"images": 3, "ps": recent_ps}
    assert totals["hour"] == {"images": 3, "ps": recent_ps}
    assert totals["day"] == {"images": 4, "ps": recent_ps + 1000}
    assert totals["month"] == {"images": 5, "ps": recent_ps + 2000}
    assert totals["total"] == {"images": 6, "ps": recent_ps + 3000}
    known = loop.client.get("/api/v2/stats/img/models").get_json()
    assert known["day"] == {"Deliberate": 3, "stable_diffusion": 1}
    assert known["total"] == {"Deliberate": 4, "stable_diffusion": 1}
    custom = loop.client.get("/api/v2/stats/img/models?model_state=custom").get_json()
    assert custom["total"] == {"Custom Model": 1} and custom["day"] == {}
    assert len(loop.client.get("/api/v2/stats/img/models?model_state=all").get_json()["total"]) == 3
    assert loop.client.get("/api/v2/stats/img/models?model_state=weird").get_json()["rc"] == "BadRequest"


def test_roll_up_is_incremental(app, loop, users):
    _, key = users.create("owner", trusted=True)
    svc = app.extensions["horde"]
    deliver(loop, key, "Deliberate", 10)
    with svc.db.session_factory() as session:
        assert stats.roll_up(session, "image") == 1
        assert stats.roll_up(session, "image") == 0  # nothing new: nothing counted twice
    deliver(loop, key, "Deliberate", 10)
    with svc.db.session_factory() as session:
        assert stats.roll_up(session, "image") == 1
        assert stats.compile_windows(session, "image", utcnow())["total"]["Deliberate"][0] == 2


def test_empty_horde(loop):
    totals = loop.client.get("/api/v2/stats/img/totals").get_json()
    assert totals["total"] == {"images": 0, "ps": 0} and set(totals) == {"minute", "hour", "day", "month", "total"}



def test_text_statistics_are_served_empty_on_an_image_horde(loop, users):
    _, key = users.create("owner", trusted=True)
    deliver(loop, key, "Deliberate", 10)
    text_totals = loop.client.get("/api/v2/stats/text/totals")
    assert text_totals.status_code == 200
    assert text_totals.get_json() == {w: {"requests": 0, "tokens": 0} for w in ("minute", "hour", "day", "month", "total")}
    assert loop.client.get("/api/v2/stats/text/models").get_json() == {"day": {}, "month": {}, "total": {}}


def test_every_process_shows_the_latest_roll_up(app, loop, users):
    """Without Redis each process has a cache of its own and the scheduler rolls up in another
    process: a snapshot cached here must give way to a newer roll-up made there."""
    from horde.cache import MemoryCache

    _, key = users.create("owner", trusted=True)
    svc = app.extensions["horde"]
    scheduler_cache = MemoryCache()
    with svc.db.session_factory() as session:
        stats.refresh(session, scheduler_cache, "image", utcnow())
    assert loop.client.get("/api/v2/stats/img/totals").get_json()["month"] == {"images": 0, "ps": 0}  # cached here
    deliver(loop, key, "Deliberate", 10)
    with svc.db.session_factory() as session:
        stats.refresh(session, scheduler_cache, "image", utcnow())
    assert loop.client.get("/api/v2/stats/img/totals").get_json()["month"] == {"images": 1, "ps": 512 * 512 * 10}
    assert loop.client.get("/api/v2/stats/img/models").get_json()["month"] == {"Deliberate": 1}
