"""Exact balances after every way an alchemy form can end (spec/behaviour.md §1.16, §2.4, §2.6).

A requester with 100 kudos asks for forms on a 1024x1000 image: 2 x 2 = 4 tiles. Prices
(what the worker earns) and burns (what the requester pays), from the spec:

  caption, nsfw, ...         1          burn 1 + 1 + 1 (slow workers, the default) = 3
  interrogation              3          burn 3 + 2 = 5
  post-processor             3 x 4 = 12 burn 12 + 2 = 14
  slow_workers: false        the burn's last +1 goes: caption 2, interrogation 4, GFPGAN 13

The worker's owner (100 kudos) gets the reward; an untrusted owner gets half of it in
escrow (§2.13). No bridge multiplier for alchemists. A faulted form costs nobody anything;
a form at a worker when its interrogation is cancelled is settled as if delivered.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from horde.models import KudosEvent, User, Worker
from tests.api.image.test_alchemy import Alchemy
from tests.imaging import png_b64

START = 100.0
SOURCE = png_b64(1024, 1000)  # 4 tiles
TABLE = [
    # form, slow_workers, reward, burn
    ("caption", True, 1.0, 3.0),
    ("nsfw", True, 1.0, 3.0),
    ("describe", True, 1.0, 3.0),
    ("interrogation", True, 3.0, 5.0),
    ("GFPGAN", True, 12.0, 14.0),
    ("RealESRGAN_x4plus", True, 12.0, 14.0),
    ("strip_background", True, 12.0, 14.0),
    ("caption", False, 1.0, 2.0),
    ("interrogation", False, 3.0, 4.0),
    ("GFPGAN", False, 12.0, 13.0),
]


@pytest.fixture
def al(app, client):
    return Alchemy(app, client)


def balances(al) -> dict[str, tuple[float, float]]:
    with al.db() as session:
        return {u.username: (u.kudos, u.evaluating_kudos) for u in session.scalars(select(User).where(User.id != 0))}


def worker_row(al) -> Worker:
    with al.db() as session:
        return session.scalar(select(Worker))


def deliver(al, owner: str, form: str, **body):
    al.request(al.requester, forms=[form], source_image=SOURCE, **body)
    popped = al.pop(owner, forms=[form], max_tiles=16)["forms"][0]
    return al.submit(owner, popped["id"], {form: "R2" if popped["r2_upload"] else "a result"})


@pytest.fixture
def parties(al, users):
    _, al.requester = users.create("requester", kudos=START)
    _, al.trusted_owner = users.create("owner", kudos=START, trusted=True)
    _, al.untrusted_owner = users.create("newcomer", kudos=START)
    return al


@pytest.mark.parametrize("form,slow,reward,burn", TABLE)
def test_a_delivered_form(parties, form, slow, reward, burn):
    al = parties
    assert deliver(al, al.trusted_owner, form, slow_workers=slow) == {"reward": reward}
    after = balances(al)
    assert after["requester"] == (START - burn, 0.0)
    assert after["owner"] == (START + reward, 0.0)
    worker = worker_row(al)
    assert worker.kudos_generated == reward and worker.fulfilments == 1
    with al.db() as session:
        owner = session.scalar(select(User).where(User.username == "owner"))
        requester = session.scalar(select(User).where(User.username == "requester"))
        assert owner.fulfilled_interrogation == 1 and requester.requested_interrogation == 1
        events = sorted((e.user_id, e.amount, e.reason) for e in session.scalars(select(KudosEvent).where(KudosEvent.reason != "admin")))
    assert events == sorted([(owner.id, reward, "reward"), (requester.id, -burn, "generation")])


@pytest.mark.parametrize("form,reward,burn", [("caption", 1.0, 3.0), ("RealESRGAN_x4plus", 12.0, 14.0)])
def test_an_untrusted_owner_gets_half_in_escrow(parties, form, reward, burn):
    al = parties
    assert deliver(al, al.untrusted_owner, form) == {"reward": reward}
    after = balances(al)
    assert after["requester"] == (START - burn, 0.0)
    assert after["newcomer"] == (START + reward / 2, reward / 2)


def test_a_faulted_form_costs_nothing(parties):
    al = parties
    al.request(al.requester, source_image=SOURCE)
    form = al.pop(al.trusted_owner)["forms"][0]
    assert al.submit(al.trusted_owner, form["id"], {}, state="faulted") == {"reward": 0.0}
    assert balances(al) == {"requester": (START, 0.0), "owner": (START, 0.0), "newcomer": (START, 0.0)}


def test_cancel_pays_for_the_form_at_the_worker_only(parties):
    al = parties
    queued = al.request(al.requester, forms=["interrogation", "GFPGAN", "caption"], source_image=SOURCE)
    al.pop(al.trusted_owner, forms=["interrogation"])
    al.cancel(queued["id"])
    after = balances(al)
    assert after["requester"] == (START - 5.0, 0.0) and after["owner"] == (START + 3.0, 0.0)


def test_several_forms_add_up(parties):
    al = parties
    al.request(al.requester, forms=["caption", "nsfw", "interrogation", "GFPGAN"], source_image=SOURCE)
    for form in al.pop(al.trusted_owner, forms=["caption", "nsfw", "interrogation", "GFPGAN"], amount=4, max_tiles=4)["forms"]:
        al.submit(al.trusted_owner, form["id"], {form["form"]: "x"})
    after = balances(al)
    assert after["requester"] == (START - (3 + 3 + 5 + 14), 0.0) and after["owner"] == (START + 1 + 1 + 3 + 12, 0.0)


def test_an_anonymous_request_is_paid_through_the_anonymous_account(al, users):
    from horde.domain.queue import maintenance

    _, owner = users.create("owner", kudos=START, trusted=True)
    al.request(forms=["interrogation"], source_image=SOURCE)
    form = al.pop(owner, forms=["interrogation"])["forms"][0]
    al.submit(owner, form["id"], {"interrogation": {"tags": []}})
    with al.db() as session:
        assert maintenance.fold_anonymous_kudos(session) == -5.0
        assert session.get(User, 0).kudos == -5.0


def test_upfront_kudos_alchemists_skip_untrusted_requesters_who_cannot_pay(al, users):
    """Available kudos (balance - floor 14 for these accounts) must cover price + 2."""
    _, owner = users.create("owner", trusted=True)
    _, poor = users.create("poor", kudos=14 + 2.5)  # 2.5 available: not enough for 1 + 2
    _, enough = users.create("enough", kudos=14 + 3)  # exactly 3
    al.request(poor, source_image=SOURCE)
    assert al.pop(owner, require_upfront_kudos=True)["forms"] is None
    al.request(enough, source_image=SOURCE)
    assert al.pop(owner, require_upfront_kudos=True)["forms"] is not None
    assert al.pop(owner)["forms"] is not None  # without the flag the poor requester's form goes too


class TestHolds:
    """A `require_upfront_kudos` alchemist's pop holds what the form will cost on an untrusted
    requester's balance (behaviour §2.8): held kudos are not available to the next pop, and
    every way the form ends gives the hold back (the debit takes its place on delivery)."""

    @pytest.fixture
    def held(self, al, users):
        _, al.owner = users.create("owner", trusted=True)
        al.requester_id, al.requester = users.create("requester", kudos=14 + 4)  # 4 available: one caption (3), not two
        al.queued = al.request(al.requester, forms=["caption", "nsfw"], source_image=SOURCE)
        al.form = al.pop(al.owner, forms=["caption", "nsfw"], amount=2, require_upfront_kudos=True)["forms"]
        return al

    def reserved(self, al) -> tuple[float, float]:
        with al.db() as session:
            user = session.get(User, al.requester_id)
            return user.kudos, user.kudos_reserved

    def test_the_hold_keeps_the_second_form_from_upfront_alchemists(self, held):
        assert [f["form"] for f in held.form] == ["caption"]
        assert self.reserved(held) == (18.0, 3.0)
        assert held.pop(held.owner, forms=["nsfw"], require_upfront_kudos=True)["forms"] is None
        assert held.pop(held.owner, forms=["nsfw"])["forms"][0]["form"] == "nsfw"  # others do not ask

    def test_delivery_debits_and_releases(self, held):
        held.submit(held.owner, held.form[0]["id"])
        assert self.reserved(held) == (15.0, 0.0)

    def test_a_fault_releases(self, held):
        held.submit(held.owner, held.form[0]["id"], {}, state="faulted")
        assert self.reserved(held) == (18.0, 0.0)

    def test_a_stale_form_releases(self, held):
        import datetime as dt

        from horde.db import utcnow
        from horde.domain.queue import maintenance

        with held.db() as session:
            assert maintenance.requeue_stale_jobs(session, utcnow() + dt.timedelta(seconds=181)) == 1
        assert self.reserved(held) == (18.0, 0.0)

    def test_cancel_settles_and_releases(self, held):
        held.cancel(held.queued["id"])
        assert self.reserved(held) == (15.0, 0.0)

    def test_expiry_releases(self, held):
        import datetime as dt

        from horde.db import utcnow
        from horde.domain.queue import alchemy

        with held.db() as session:
            assert alchemy.expire_interrogations(session, held.app.extensions["horde"], utcnow() + dt.timedelta(minutes=21)) == 1
        assert self.reserved(held) == (18.0, 0.0)

    def test_trusted_requesters_get_no_hold(self, al, users):
        _, owner = users.create("owner", trusted=True)
        user_id, rich = users.create("rich", kudos=100, trusted=True)
        al.request(rich, source_image=SOURCE)
        al.pop(owner, require_upfront_kudos=True)
        with al.db() as session:
            assert session.get(User, user_id).kudos_reserved == 0.0
