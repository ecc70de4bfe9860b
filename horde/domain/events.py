"""What happened, for whoever listens (the Prometheus metrics of horde/metrics.py).

The domain says "3 jobs were popped" once the transaction holding them committed, without
knowing who hears it; with no listener an event costs a loop over an empty list."""

from __future__ import annotations

from typing import Callable

Listener = Callable[[str, float, dict], None]
_listeners: list[Listener] = []

JOBS_POPPED = "jobs_popped"  # labels: kind
JOBS_DELIVERED = "jobs_delivered"  # kind
JOBS_FAULTED = "jobs_faulted"  # kind (a worker reported the fault)
JOBS_TIMED_OUT = "jobs_timed_out"  # a worker went silent past the job's TTL (upkeep)
REQUESTS_EXPIRED = "requests_expired"  # requests past their expiry, removed (upkeep)
KUDOS_REWARDED = "kudos_rewarded"  # kind: what delivered jobs earned
KUDOS_TRANSFERRED = "kudos_transferred"  # between users


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def emit(name: str, amount: float = 1, **labels: str) -> None:
    for listener in _listeners:
        listener(name, amount, labels)
