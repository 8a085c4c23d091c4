"""Outgoing webhooks: ``video.completed`` / ``video.failed`` to per-key or per-request URLs.

Durable and replica-safe: a delivery row is written when the job is created (``waiting``); any gateway
process arms it once the job is final (builds the payload: ``pending``), leases it, POSTs it signed as a
Standard Webhook with the key's secret, and logs every attempt. Failures are retried with the configured
backoff until ``webhook_max_attempts``; a URL the SSRF guard refuses, or a 410 Gone, stops at once.
Redirects are never followed (a webhook endpoint must answer itself).

    {"object": "event", "id": "evt_...", "type": "video.completed", "created_at": 1764115200,
     "data": {"id": "job_...", "status": "completed"}}
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from vidgate.net.ssrf import FetchFailed, FetchPolicy, FetchRefused, resolve_hop
from vidgate.server.config import ServerSettings
from vidgate.server.metrics import Metrics
from vidgate.server.present import public_status
from vidgate.server.signing import Signer
from vidgate.store import JobNotFoundError, JobStore
from vidgate.store.gateway import Delivery, GatewayData
from vidgate.types import utcnow
from vidgate.webhooks.standard import sign_headers

log = logging.getLogger("vidgate.webhooks")
USER_AGENT = "vidgate-webhooks/1"


def new_delivery(job_id: str, owner: str | None, url: str, now: datetime) -> Delivery:
    return Delivery(
        id="msg_" + uuid.uuid4().hex,
        job_id=job_id,
        owner=owner,
        url=url,
        state="waiting",
        created_at=now,
        updated_at=now,
    )


def check_url(url: str, policy: FetchPolicy) -> None:
    """Raise ``FetchRefused`` for a URL the gateway must never call (scheme, loopback, private, metadata...)."""
    resolve_hop(url, policy)


class Dispatcher:
    def __init__(
        self,
        store: JobStore,
        data: GatewayData,
        signer: Signer,
        settings: ServerSettings,
        policy: FetchPolicy,
        metrics: Metrics | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.data = data
        self.signer = signer
        self.settings = settings
        self.policy = policy
        self.metrics = metrics
        self.clock = clock
        self.sender = f"hooks-{uuid.uuid4().hex[:8]}"
        self._http = httpx.Client(
            trust_env=False, follow_redirects=False, timeout=settings.webhook_timeout_s, transport=transport
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle

    def start(self, interval_s: float = 0.25) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="vidgate-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._http.close()

    def _loop(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # the loop must survive a database hiccup
                log.exception("webhook dispatcher round failed")
            self._stop.wait(interval_s)

    # -------------------------------------------------------------- work

    def run_once(self) -> int:
        """Settle the charges of jobs that ended, arm deliveries whose job is final, then send every due one;
        returns how many were sent."""
        self.data.settle_charges(self.clock())  # here: the gateway's one background round over final jobs
        self.arm_ready()
        due = self.data.claim_deliveries(self.sender, self.clock(), lease_s=self.settings.webhook_timeout_s * 3)
        for delivery in due:
            self.send(delivery)
        return len(due)

    def arm_ready(self) -> None:
        for d in self.data.waiting_for_final():
            try:
                job = self.store.get(d.job_id)
            except JobNotFoundError:
                continue
            if not job.done:
                continue  # a success is announced once its video is saved (the content can be fetched)
            status, _ = public_status(job)
            now = self.clock()
            event_type = f"video.{status}"
            event: dict[str, object] = {
                "object": "event",
                "id": "evt_" + d.id.removeprefix("msg_"),
                "type": event_type,
                "created_at": int(now.timestamp()),
                "data": {"id": job.id, "status": status},
            }
            self.data.arm(d.id, event_type, json.dumps(event, separators=(",", ":")), now)

    def _backoff(self, attempts_done: int) -> float:
        delays = self.settings.webhook_backoff_s or [60.0]
        return delays[min(attempts_done - 1, len(delays) - 1)]

    def send(self, d: Delivery) -> None:
        assert d.payload is not None
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        final = False
        try:
            hop = resolve_hop(d.url, self.policy)
            now = self.clock()
            headers = sign_headers(
                self.signer.webhook_secret(d.owner or "anonymous"),
                d.payload,
                webhook_id=d.id,
                timestamp=int(now.timestamp()),
            )
            url = hop.url
            host_header = url.netloc.decode("ascii")
            headers.update({"Host": host_header, "Content-Type": "application/json", "User-Agent": USER_AGENT})
            extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
            request = httpx.Request(
                "POST",
                url.copy_with(host=hop.address),
                headers=headers,
                content=d.payload.encode("utf-8"),
                extensions=extensions,
            )
            response = self._http.send(request)
            status = response.status_code
            if response.is_success:
                pass
            elif 300 <= status < 400:
                error = f"HTTP {status} redirect not followed: webhook URLs must answer themselves"
            else:
                error = f"HTTP {status}: {response.text[:200]}"
                final = status == 410
        except FetchRefused as exc:
            error, final = f"refused by the SSRF guard: {exc.reason}", True
        except FetchFailed as exc:
            error = exc.reason
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        attempts = d.attempts + 1
        if error is None:
            state, nxt = "delivered", None
        elif final or attempts >= self.settings.webhook_max_attempts:
            state, nxt = "failed", None
        else:
            state, nxt = "pending", self.clock() + timedelta(seconds=self._backoff(attempts))
        self.data.finish_attempt(
            d.id,
            self.sender,
            at=self.clock(),
            status=status,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
            state=state,
            next_attempt_at=nxt,
        )
        if self.metrics is not None:
            self.metrics.webhook_attempts.labels("delivered" if error is None else state).inc()
        log.info("webhook %s for job %s attempt %d: %s", d.id, d.job_id, attempts, error or f"HTTP {status}")
