"""The webhook sender: threads that send the outbox (horde/domain/queue/webhooks.py).

It runs next to the scheduler on every node that runs jobs (not only the leader: claims
keep each delivery to one sender). Each thread claims one due delivery, commits, builds
the body and its signature, POSTs it through the safe fetcher (public https addresses only,
`webhooks.TIMEOUT` for the whole attempt, no database connection held meanwhile), and
records the outcome. It wakes when a delivery is queued (the events hub) or every second.
"""

from __future__ import annotations

import json
import logging
import threading

from horde import __version__
from horde.db import is_disconnect, utcnow
from horde.domain.accounts import webhook_secrets
from horde.domain.queue import alchemy, generation, webhooks
from horde.fetch import FetchError, Fetcher
from horde.services import Services

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0


class WebhookSender:
    def __init__(self, services: Services, threads: int = 4):
        self.services = services
        settings = services.settings
        self.fetcher = Fetcher(
            allow_private=settings.fetch_allow_private, concurrency=threads, deadline=webhooks.TIMEOUT,
            user_agent=f"Horde/{__version__} (+{settings.effective_public_url})",
            ca_certs=settings.webhook_ca_file or None,
        )
        self.threads = threads
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def send_one(self) -> bool:
        """Claim and attempt one due delivery; False when none is due."""
        db = self.services.db
        with db.session_factory() as session:
            delivery = webhooks.claim(session, utcnow())
            if delivery is None:
                session.rollback()
                return False
            payload_of = alchemy.webhook_payload if delivery.kind == alchemy.KIND else generation.webhook_payload
            payload = payload_of(session, self.services, delivery)
            if payload is None:
                webhooks.give_up(session, delivery.id, "the request expired before its webhook was sent", utcnow())
                session.commit()
                return True
            secret = webhook_secrets.secret_of(session, delivery.user_id)
            delivery_id, url = delivery.id, delivery.url
            session.commit()  # the claim is held; no connection is held while sending
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", webhook_secrets.SIGNATURE_HEADER: webhook_secrets.signature(secret, body)}
        status, error = None, None
        if not url.startswith("https://"):
            error = "only https:// webhooks are sent"
        else:
            try:
                answer = self.fetcher.request("POST", url, body=body, headers=headers, max_bytes=webhooks.MAX_ANSWER_BYTES)
                status = answer.status
            except FetchError as exc:
                error = str(exc)
        ok = status is not None and 200 <= status < 300
        with db.session_factory() as session:
            state = webhooks.record(session, delivery_id, ok=ok, status=status, error=error, now=utcnow())
            session.commit()
        if not ok:
            log.info("webhook %s to %s: %s (%s)", delivery_id, url, error or status, state)
        return True

    def _run(self) -> None:
        listener = self.services.events.listen(webhooks.TOPIC)
        try:
            while not self._stop.is_set():
                try:
                    busy = self.send_one()
                except Exception as exc:
                    if is_disconnect(exc):  # an outage: one line, no traceback (the scheduler logs it too)
                        log.warning("webhook sender: database unavailable (%s)", type(exc).__name__)
                    else:
                        log.exception("webhook sender failed")
                    busy = False
                if not busy:
                    listener.wait(POLL_SECONDS)
        finally:
            listener.close()

    def start(self) -> "WebhookSender":
        for index in range(self.threads):
            thread = threading.Thread(target=self._run, name=f"horde-webhooks-{index}", daemon=True)
            thread.start()
            self._workers.append(thread)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._workers:
            thread.join(timeout)
