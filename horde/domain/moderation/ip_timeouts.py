"""IP timeouts and IP suspicion (spec/behaviour.md §7.1).

Rows of `ip_timeouts` are the durable copy (a Redis restart loses none); every node keeps
the live ones in memory (`TimeoutSet`, reloaded by `live_rules` when their version moves),
so the check on generate, pop and check costs a dictionary lookup, not a round trip.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from horde.domain import errors
from horde.models import HORDE_STATE_ID, HordeState, IPTimeout

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
CORRUPT_PROMPT_STEP = dt.timedelta(minutes=3)  # (2s + 1) x 3 minutes, s = earlier corrupt prompts
SUSPICION_WINDOW = dt.timedelta(hours=24)
SHOW_SECONDS_UP_TO = dt.timedelta(days=4)
WORKER_IPV6_PREFIX = 64


def network(text: str) -> Network:
    """An address (as its /32 or /128) or a CIDR block; 400 for anything else."""
    try:
        return ipaddress.ip_network((text or "").strip(), strict=False)
    except ValueError:
        raise errors.BadRequest(f"'{text}' is not an IP address or a CIDR block.") from None


def worker_network(ipaddr: str) -> Network:
    """What blocking a worker's IP times out: the address, or its /64 for IPv6."""
    address = ipaddress.ip_address(ipaddr)
    if address.version == 6:
        return ipaddress.ip_network(f"{address}/{WORKER_IPV6_PREFIX}", strict=False)
    return ipaddress.ip_network(address)


@dataclass
class TimeoutSet:
    """The timeouts of one version: single addresses in a dict, blocks in a list."""

    version: int
    single: dict[str, dt.datetime] = field(default_factory=dict)
    blocks: list[tuple[Network, dt.datetime]] = field(default_factory=list)

    @classmethod
    def build(cls, version: int, rows: list[tuple[str, dt.datetime]]) -> "TimeoutSet":
        found = cls(version=version)
        for block, expires in rows:
            net = ipaddress.ip_network(block, strict=False)
            if net.num_addresses == 1:
                found.single[str(net.network_address)] = expires
            else:
                found.blocks.append((net, expires))
        return found

    def until(self, ipaddr: str, now: dt.datetime) -> dt.datetime | None:
        """When the latest timeout covering `ipaddr` ends (None: not timed out)."""
        latest = self.single.get(ipaddr)
        if self.blocks:
            try:
                address = ipaddress.ip_address(ipaddr)
            except ValueError:
                address = None
            for net, expires in self.blocks:
                if address is not None and address in net and (latest is None or expires > latest):
                    latest = expires
        return latest if latest is not None and latest > now else None


def ensure_not_timed_out(timeouts: TimeoutSet, ipaddr: str, now: dt.datetime) -> None:
    until = timeouts.until(ipaddr, now)
    if until is None:
        return
    left = until - now
    if left > SHOW_SECONDS_UP_TO:
        raise errors.TimeoutIP("Your IP address has been put in timeout. Please contact the moderators.")
    raise errors.TimeoutIP(f"Your IP address has been put in timeout for {int(left.total_seconds()) + 1} more seconds.")


def bump_version(session: Session) -> None:
    session.execute(
        update(HordeState).where(HordeState.id == HORDE_STATE_ID)
        .values(ip_timeouts_version=HordeState.ip_timeouts_version + 1)
        .execution_options(synchronize_session=False)
    )


def _row(session: Session, block: str, now: dt.datetime) -> IPTimeout:
    """The row of `block`, locked; created (expired, no suspicion) when missing."""
    row = session.get(IPTimeout, block, with_for_update=True, populate_existing=True)
    if row is not None:
        return row
    try:
        with session.begin_nested():
            row = IPTimeout(block=block, expires=now, suspicion=0, reason="moderator", created=now)
            session.add(row)
    except IntegrityError:  # another request created it meanwhile
        row = session.get(IPTimeout, block, with_for_update=True, populate_existing=True)
    return row


def time_out(session: Session, net: Network, duration: dt.timedelta, reason: str, now: dt.datetime) -> IPTimeout:
    """Put an address or block in timeout until now + duration (a moderator's word replaces
    an earlier timeout, longer or shorter)."""
    row = _row(session, str(net), now)
    row.expires, row.reason = now + duration, reason
    bump_version(session)
    session.flush()
    return row


def lift(session: Session, net: Network) -> bool:
    """End a timeout and forget the address's suspicion."""
    row = session.get(IPTimeout, str(net))
    if row is None:
        return False
    session.delete(row)
    bump_version(session)
    session.flush()
    return True


def punish_corrupt_prompt(session: Session, ipaddr: str, now: dt.datetime) -> dt.timedelta:
    """One more corrupt prompt from this address: (2s + 1) x 3 minutes of timeout, where s
    counts its corrupt prompts of the last 24 hours."""
    row = _row(session, str(network(ipaddr)), now)
    earlier = row.suspicion if row.suspicion_expires is not None and row.suspicion_expires > now else 0
    duration = CORRUPT_PROMPT_STEP * (2 * earlier + 1)
    row.suspicion, row.suspicion_expires = earlier + 1, now + SUSPICION_WINDOW
    if row.expires < now + duration:
        row.expires, row.reason = now + duration, "corrupt_prompt"
    bump_version(session)
    session.flush()
    return duration


def live_rows(session: Session, now: dt.datetime) -> list[tuple[str, dt.datetime]]:
    return [(r.block, r.expires) for r in session.execute(select(IPTimeout.block, IPTimeout.expires).where(IPTimeout.expires > now))]


def _view(row: IPTimeout, now: dt.datetime) -> dict:
    return {"ipaddr": row.block, "seconds": max(int((row.expires - now).total_seconds()), 0)}


def listing(session: Session, now: dt.datetime) -> list[dict]:
    rows = session.scalars(select(IPTimeout).where(IPTimeout.expires > now).order_by(IPTimeout.expires.desc()))
    return [_view(row, now) for row in rows]


def matching(session: Session, ipaddr: str, now: dt.datetime) -> list[dict]:
    """GET /operations/ipaddr/{ip}: the timeouts that cover an address (or a whole block)."""
    wanted = network(ipaddr)
    rows = session.scalars(select(IPTimeout).where(IPTimeout.expires > now).order_by(IPTimeout.expires.desc()))
    found = []
    for row in rows:
        net = ipaddress.ip_network(row.block, strict=False)
        if net.version == wanted.version and (wanted.subnet_of(net) or net == wanted):
            found.append(_view(row, now))
    return found
