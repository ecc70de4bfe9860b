"""Settling a delivered job (spec/behaviour.md §2.6): the worker, its team and its owner earn,
the requester pays.

Balances move with single atomic UPDATEs (ledger.move_kudos); untrusted owners get half
in escrow. Prices and rewards themselves come from `pricing` (through the kind modules).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from types import ModuleType

from sqlalchemy import bindparam, case, func, update
from sqlalchemy.orm import Session

from horde.domain.accounts import ledger, sharedkeys
from horde.domain.queue import engine, stats, webhooks
from horde.models import GenerationRequest, Team, Worker
from horde.models import job as job_states

_T = GenerationRequest.__table__


def deliver(
    session: Session,
    kind_rules: ModuleType,
    submission: engine.Submission,
    *,
    state: str,
    censored: bool,
    seed: int,
    generation: str | None,
    gen_metadata: list,
    now: dt.datetime,
    reward: float | None = None,
) -> float:
    """Record a delivered job and settle it: the worker and its owner earn, the requester pays.
    Returns the reward before the bridge multiplier (what the submit answer reports).

    Everything it needs was read with the job (`load_submission`); then only writes: the
    job (compare-and-set), the worker and team, the owner's balance, the request, a
    statistics row, the shared key's budget (if the request came through one), the requester's balance last (a busy requester's row is locked only
    for the commit), and both kudos events in one insert.
    """
    job, request = submission.job, submission.request
    finished = {"state": state, "censored": censored, "seed": seed, "generation": generation,
                "gen_metadata": gen_metadata, "finished_at": now}
    if job.fake or request is None:
        engine.finish_job(session, job, finished)
        return 0.0
    if reward is None:
        reward = kind_rules.job_reward(request, job)
    earned = round(reward * kind_rules.reward_multiplier(submission.bridge_agent or ""), 2)
    paid = kind_rules.burn(request, 0.0 if censored else reward)
    engine.finish_job(session, job, {**finished, "reward": earned})
    contribution = request.things / kind_rules.THINGS_DIVISOR
    seconds = max((now - job.started).total_seconds(), 1.0)
    if submission.bridge_agent is not None:
        _credit_worker(session, kind_rules, job.worker_id, submission.team_id, earned, contribution, request.things / seconds)
    events: list[dict] = []
    if submission.owner is not None:
        _credit_owner(session, kind_rules, submission.owner, earned, contribution, request.id, job.id, now, events)
    session.connection().execute(
        _delivered_statement(session.get_bind().dialect.name == "postgresql"),
        {"request_id": request.id, "paid": paid, "expiry": now + engine.REQUEST_LIFETIME},
    )
    engine.changed(session, request.id, request.user_id)
    if request.webhook and state != job_states.CANCELLED:  # a form cancelled at its worker has no result to tell
        webhooks.queue(session, request, job.id, round(reward, 2), now)
    stats.record(session, kind_rules.KIND, job.model, kind_rules.stat_things(request), state, now)
    if request.shared_key_id:  # the key's budget pays along with its owner
        sharedkeys.charge(session, request.shared_key_id, paid)
    requester = submission.requester
    if requester is not None:
        usage = contribution * (requester.usage_multiplier or 1.0)
        also = {"last_active": ("set", now)}
        if kind_rules.USAGE_COLUMN:  # alchemy keeps no usage counter
            also[kind_rules.USAGE_COLUMN] = ("add", kind_rules.amount(usage))
        if job.reserved:  # the debit takes the place of the hold made on pop
            also["kudos_reserved"] = ("add", -job.reserved)
        ledger.move_kudos(
            session, requester, -paid, bucket="accumulated", reason="generation", request_id=request.id, job_id=job.id,
            also=also, events=events,
        )
    ledger.record_events(session, events)
    return reward


def _build_delivered_statement(postgres: bool):
    return update(_T).where(_T.c.id == bindparam("request_id")).values(
        finished=_T.c.finished + 1, processing=_T.c.processing - 1, consumed_kudos=_T.c.consumed_kudos + bindparam("paid"),
        expiry=(func.greatest if postgres else func.max)(_T.c.expiry, bindparam("expiry")),
    )


SPEED_SMOOTHING = 0.1  # weight of the newest sample in a worker's speed (about the last 20 jobs)
_W, _TEAM = Worker.__table__, Team.__table__


def _build_credit_statements():
    worker = update(_W).where(_W.c.id == bindparam("worker_id")).values(
        kudos_generated=_W.c.kudos_generated + bindparam("earned"),
        fulfilments=_W.c.fulfilments + 1,
        contributions=_W.c.contributions + bindparam("contribution"),
        speed=case(
            (_W.c.speed.is_(None), bindparam("speed")),
            else_=_W.c.speed * (1 - SPEED_SMOOTHING) + bindparam("speed") * SPEED_SMOOTHING,
        ),
    )
    team = update(_TEAM).where(_TEAM.c.id == bindparam("team_id")).values(
        kudos=_TEAM.c.kudos + bindparam("earned"), contributions=_TEAM.c.contributions + bindparam("contribution"),
        fulfilments=_TEAM.c.fulfilments + 1,
    )
    return worker, team


# Statements are built once (building SQL per call costs more than running it), cached by
# wrapping rather than decorating so that a mutation-testing run (make mutation) sees the builders.
_delivered_statement = lru_cache(maxsize=2)(_build_delivered_statement)
_credit_statements = lru_cache(maxsize=1)(_build_credit_statements)


def _credit_worker(session, kind_rules, worker_id: str, team_id: str | None, earned: float, contribution: float, speed: float) -> None:
    # Only the statements' own parameters: a key named like a column would be SET as well.
    gains = {"earned": earned, "contribution": round(contribution, 2)}
    credit_worker, credit_team = _credit_statements()
    session.connection().execute(credit_worker, {"worker_id": worker_id, "speed": speed, **gains})
    if team_id and kind_rules.KIND == "image":
        session.connection().execute(credit_team, {"team_id": team_id, **gains})


def _credit_owner(
    session, kind_rules, owner: ledger.Account, earned: float, contribution: float, request_id: str, job_id: str, now, events: list
) -> None:
    """Untrusted owners get half now and half in escrow until they are trusted."""
    also = {f"fulfilled_{kind_rules.KIND}": ("add", 1), "last_active": ("set", now)}
    if kind_rules.CONTRIBUTION_COLUMN:  # alchemy keeps no contribution counter
        also[kind_rules.CONTRIBUTION_COLUMN] = ("add", kind_rules.amount(contribution))
    to_balance = earned
    if not owner.trusted and not owner.is_anonymous:
        escrow = round(earned / 2, 2)
        to_balance = earned - escrow
        also["evaluating_kudos"] = ("add", escrow)
    ledger.move_kudos(
        session, owner, to_balance, bucket="accumulated", reason="reward", request_id=request_id, job_id=job_id, also=also,
        events=events,
    )
