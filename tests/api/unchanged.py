"""What a refused request must leave as it was: queue, jobs, kudos, stored images."""

from __future__ import annotations

from sqlalchemy import func, select

from horde.models import GenerationRequest, Job, KudosEvent, QueuedModel, User


def snapshot(app) -> dict:
    services = app.extensions["horde"]
    with services.db.session_factory() as session:

        def count(model) -> int:
            return int(session.scalar(select(func.count()).select_from(model)))

        state = {
            "requests": count(GenerationRequest),
            "queue entries": count(QueuedModel),
            "jobs": count(Job),
            "kudos events": count(KudosEvent),
            "balances": sorted(session.execute(select(User.id, User.kudos, User.evaluating_kudos, User.requested_image, User.requested_text)).all()),
        }
    root = getattr(services.store, "root", None)
    state["stored images"] = sorted(p.name for p in root.iterdir()) if root is not None else []
    return state


def assert_unchanged(app, before: dict) -> None:
    after = snapshot(app)
    changed = {key: (before[key], after[key]) for key in before if before[key] != after[key]}
    assert not changed, f"a refused request changed {changed}"
