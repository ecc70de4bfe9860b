"""The pop's candidate query reads the queue through its index at any depth (PostgreSQL)."""

import random

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from horde.db import utcnow
from horde.domain.queue import engine, image_jobs, image_requests
from horde.domain.workers import checkin
from horde.models import User, Worker
from tests.conftest import Users
from tests.imaging import REGEN

MODELS = ["stable_diffusion", "Deliberate", "Dreamshaper", "Realistic Vision", "Anything Diffusion", "AbsoluteReality",
          "Epic Diffusion", "Counterfeit", "Lyriel", "SDXL 1.0"]


def fill(session, user, depth: int) -> None:
    rng = random.Random(7)
    for index in range(depth):
        new = image_requests.build({"prompt": f"p{index}", "models": [rng.choice(MODELS)]}, user_trusted=True, user_special=False, user_education=False)
        engine.enqueue(session, user, new, request_id=f"{index:08d}-0000-4000-8000-000000000000", worker_ids=[], worker_blacklist=False,
                      ipaddr="127.0.0.1", client_agent="test", webhook=None, proxied_account=None, downgraded=False, now=utcnow())


def explain(session, statement) -> str:
    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return "\n".join(session.execute(text("EXPLAIN " + sql)).scalars())


def vacuum_empty_queue(app) -> None:
    """What autovacuum does to a drained queue: its pages given back and its statistics
    those of an empty table (whatever earlier tests left in it, the same state each run)."""
    with app.extensions["horde"].db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE requests, request_models"))


def check_plans(session, profile) -> None:
    """With the statistics of the empty queue (`vacuum_empty_queue`: the queue then grew
    faster than the statistics, and looks a few pages long to the planner) and
    after an ANALYZE of the full queue: the heads by index, then those requests by primary
    key; never a whole queue walked. The statements are explained as the pop runs them."""
    with engine.planned_with_indexes(session):
        check_plans_as_planned(session, profile)


def check_plans_as_planned(session, profile) -> None:
    for analyzed in (False, True):
        if analyzed:
            session.execute(text("ANALYZE requests")), session.execute(text("ANALYZE request_models"))
        heads = explain(session, engine._candidate_statement(profile, engine.QUEUE_WINDOW))
        assert "ix_request_models_head" in heads and "Seq Scan" not in heads, heads
        ids = [row[0] for row in session.execute(engine._candidate_statement(profile, engine.QUEUE_WINDOW))]
        assert 0 < len(ids) <= 3 * engine.QUEUE_WINDOW  # a window per served model (+ the "any" queue)
        claim = explain(session, engine._claim_statement_for(profile).params(ids=ids, expiry=utcnow()))
        assert "pk_requests" in claim and "ix_requests_queue" not in claim and "Seq Scan" not in claim, claim


def test_candidate_queries_use_indexes(pg_app):
    owner_id, _ = Users(pg_app).create("owner", trusted=True)
    svc = pg_app.extensions["horde"]
    vacuum_empty_queue(pg_app)
    with svc.db.transaction() as session:
        fill(session, session.get(User, owner_id), 2000)
        worker = Worker(id="11111111-1111-4111-8111-111111111111", name="plan", name_lower="plan", worker_type="image",
                        owner_id=owner_id, bridge_agent=REGEN, models=["Deliberate", "Lyriel"])
        session.add(worker)
    with svc.db.session_factory() as session:
        worker = session.get(Worker, "11111111-1111-4111-8111-111111111111")
        profile = checkin.profile(worker, owner_id, True, ["Deliberate", "Lyriel"], {"bridge_agent": REGEN}, "image")
        check_plans(session, profile)
        jit = session.execute(text("SHOW jit")).scalar()
        popped = engine.pop(session, image_jobs, profile, 1, utcnow())
        assert popped is not None and popped.request.models[0] in ("Deliberate", "Lyriel")
        # The planner settings last for the pop's choosing statements only: what the same
        # transaction runs next (and a table without an index to use) is planned as usual.
        assert session.execute(text("SHOW enable_seqscan")).scalar() == "on"
        assert session.execute(text("SHOW jit")).scalar() == jit


def test_alchemy_candidate_queries_use_indexes(pg_app):
    """Alchemy forms are queued requests of kind interrogation: the same index walk, by form name."""
    from horde.domain.queue import alchemy, alchemy_jobs
    from horde.models import Interrogation

    owner_id, _ = Users(pg_app).create("owner")
    svc = pg_app.extensions["horde"]
    forms = ["caption", "nsfw", "interrogation", "GFPGAN", "RealESRGAN_x4plus", "describe"]
    rng = random.Random(9)
    vacuum_empty_queue(pg_app)
    with svc.db.transaction() as session:
        user = session.get(User, owner_id)
        for index in range(2000):
            interrogation = Interrogation(id=f"{index:08d}-1111-4000-8000-000000000000", user_id=owner_id,
                                          source_url="https://example.com/a.png", width=512, height=512,
                                          tiles=rng.choice([1, 4, 64]), created=utcnow())
            session.add(interrogation)
            session.flush()
            engine.enqueue(session, user, alchemy._form_request(rng.choice(forms), None, interrogation, None),
                           request_id=f"{index:08d}-2222-4000-8000-000000000000", worker_ids=[], worker_blacklist=False,
                           ipaddr="127.0.0.1", client_agent="test", webhook=None, proxied_account=None, downgraded=False,
                           now=utcnow(), charge=False)
        session.add(Worker(id="22222222-2222-4222-8222-222222222222", name="alchemist", name_lower="alchemist",
                           worker_type="interrogation", owner_id=owner_id, bridge_agent=REGEN, models=["caption", "GFPGAN"]))
    with svc.db.session_factory() as session:
        worker = session.get(Worker, "22222222-2222-4222-8222-222222222222")
        profile = checkin.profile(worker, owner_id, False, ["caption", "GFPGAN"], {"max_tiles": 4}, "interrogation")
        check_plans(session, profile)
        popped = engine.pop(session, alchemy_jobs, profile, 1, utcnow())
        assert popped is not None and popped.model in ("caption", "GFPGAN") and popped.request.tiles <= 4
