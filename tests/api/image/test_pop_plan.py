"""The pop's candidate query reads the queue through its index at any depth (PostgreSQL)."""

import random

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql

from horde.db import utcnow
from horde.domain import image_jobs, image_requests, matching, queue, workers
from horde.models import User, Worker
from tests.conftest import Users
from tests.imaging import REGEN

MODELS = ["stable_diffusion", "Deliberate", "Dreamshaper", "Realistic Vision", "Anything Diffusion", "AbsoluteReality",
          "Epic Diffusion", "Counterfeit", "Lyriel", "SDXL 1.0"]


def fill(session, user, depth: int) -> None:
    rng = random.Random(7)
    for index in range(depth):
        new = image_requests.build({"prompt": f"p{index}", "models": [rng.choice(MODELS)]}, user_trusted=True, user_special=False, user_education=False)
        queue.enqueue(session, user, new, request_id=f"{index:08d}-0000-4000-8000-000000000000", worker_ids=[], worker_blacklist=False,
                      ipaddr="127.0.0.1", client_agent="test", webhook=None, proxied_account=None, downgraded=False, now=utcnow())


def explain(session, statement) -> str:
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return "\n".join(session.execute(text("EXPLAIN " + sql)).scalars())


def test_candidate_queries_use_indexes(pg_app):
    owner_id, _ = Users(pg_app).create("owner", trusted=True)
    svc = pg_app.extensions["horde"]
    with svc.db.transaction() as session:
        fill(session, session.get(User, owner_id), 2000)
        worker = Worker(id="11111111-1111-4111-8111-111111111111", name="plan", name_lower="plan", worker_type="image",
                        owner_id=owner_id, bridge_agent=REGEN, models=["Deliberate", "Lyriel"])
        session.add(worker)
    with svc.db.session_factory() as session:
        worker = session.get(Worker, "11111111-1111-4111-8111-111111111111")
        profile = workers.profile(worker, owner_id, True, ["Deliberate", "Lyriel"], {"bridge_agent": REGEN}, "image")
        # Step 1, before any ANALYZE: only index scans whatever the statistics say.
        heads = explain(session, queue._candidate_ids(profile, queue.QUEUE_WINDOW))
        assert "ix_request_models_head" in heads and "Seq Scan on request_models" not in heads
        assert "Seq Scan on requests" not in heads
        session.execute(text("ANALYZE requests")), session.execute(text("ANALYZE request_models"))
        ids = [row[0] for row in session.execute(queue._candidate_ids(profile, queue.QUEUE_WINDOW))]
        assert 0 < len(ids) <= 3 * queue.QUEUE_WINDOW  # a window per served model (+ the "any" queue)
        step2 = select(queue.R).where(queue.R.id.in_(ids), matching.queued("image"), matching.eligible(profile))
        plan = explain(session, step2)
        assert "Seq Scan" not in plan, plan
        popped = queue.pop(session, image_jobs, profile, 1, utcnow())
        assert popped is not None and popped.request.models[0] in ("Deliberate", "Lyriel")
