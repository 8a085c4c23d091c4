"""Creating a job through the routes: check, charge, persist, send — and fall back only when that is safe.

A request is checked against the first candidate's model (a mistake there is the caller's: 400, nothing
sent). The job row is written before the provider call. When the provider *definitively refuses* the
create (a 4xx answer other than 408 / 429: nothing was rendered, nothing is owed), the next candidate is
tried — another route, or a fallback model, checked again against that model's capabilities. A timeout,
a 5xx, a dropped connection or any other unknown outcome never falls back (the first provider may be
rendering and billing): the job is returned as it is (``unknown`` / ``pending``) and the worker takes it
from there. Models whose create answer is the whole generation (a chat stream) are queued for a worker.
Spend is reserved before each send and given back when the provider refused; a job's charge is then held
until it ends (``GatewayData.settle_charges`` refunds it when the job fails or is cancelled).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

from vidgate.catalog import ModelSpec
from vidgate.catalog.validate import effective_duration
from vidgate.client import AsyncClient
from vidgate.engine.core import Submission
from vidgate.errors import MissingCredentialsError, ProviderHTTPError, TransportError, ValidationError
from vidgate.server.errors import APIError
from vidgate.server.routing import Candidate, Router
from vidgate.server.tenants import Principal
from vidgate.store.gateway import GatewayData
from vidgate.types import Character, Job, JobStatus, VideoRequest, utcnow

log = logging.getLogger("vidgate.server")
NOT_DEFINITIVE = (408, 429)


def refused_for_sure(exc: Exception) -> bool:
    """The provider said no to the create itself: a 4xx (not 408 / 429) and the job was recorded failed."""
    if not isinstance(exc, ProviderHTTPError) or not 400 <= exc.status_code < 500:
        return False
    if exc.status_code in NOT_DEFINITIVE:
        return False
    job = exc.job
    return job is not None and job.status is JobStatus.failed


def created_then_refused(job: Job) -> bool:
    """A stored attempt the provider refused at create (so an idempotent retry moves on to the next route)."""
    return job.status is JobStatus.failed and job.provider_task_id is None and job.submit_attempts > 0


class Pricing:
    def __init__(self, prices: dict[str, float]) -> None:
        self.prices = prices

    def per_second(self, spec: ModelSpec, resolution: str | None = None) -> float | None:
        """The operator's [prices] entry first, then the catalog's per-resolution SKU for ``resolution``, then
        its flat per-second price; with only per-resolution prices and no match, the dearest (a budget check
        must not under-estimate)."""
        for name in (spec.key, spec.model):
            if name in self.prices:
                return self.prices[name]
        by_resolution = spec.price_per_second_by_resolution_usd
        if resolution and resolution in by_resolution:
            return by_resolution[resolution]
        if spec.price_per_second_usd is not None:
            return spec.price_per_second_usd
        return max(by_resolution.values()) if by_resolution else None

    def estimate(self, request: VideoRequest, spec: ModelSpec) -> float | None:
        """What the request should cost, to reserve on a key's budget; the provider's own figure (``usage.cost``)
        replaces it when the job ends (``GatewayData.settle_charges``)."""
        if spec.price_per_video_usd is not None and not any(n in self.prices for n in (spec.key, spec.model)):
            return round(spec.price_per_video_usd, 6)
        price = self.per_second(spec, request.resolution)
        seconds = effective_duration(request, spec)
        if price is None or seconds is None:
            return None
        return round(price * seconds, 6)


IN_FLIGHT_S = 300.0  # a create this recent, not answered yet, is still being sent by some gateway process


def request_fingerprint(request: VideoRequest, callback_url: str | None) -> str:
    """A hash of a create as the caller sent it (image bytes by their own hash), to tell an idempotent retry
    from a different request under the same key."""

    def default(value: object) -> object:
        if isinstance(value, bytes | bytearray):
            return "sha256:" + hashlib.sha256(value).hexdigest()
        return str(value)

    doc = {"request": request.model_dump(mode="python", exclude_none=True), "callback_url": callback_url}
    text = json.dumps(doc, sort_keys=True, default=default, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def create_in_flight(job: Job, now: datetime) -> bool:
    """The job's create is being sent right now (by this or another replica): its row exists, no answer yet."""
    if job.provider_task_id is not None or job.error is not None:
        return False
    sending = job.status is JobStatus.unknown or (job.status is JobStatus.pending and job.next_poll_at is None)
    return sending and (now - job.updated_at).total_seconds() < IN_FLIGHT_S


def accepted(job: Job) -> bool:
    """The create made a job that counts (against the rate limit): anything but a refusal at create."""
    return not created_then_refused(job)


class Submitter:
    def __init__(
        self,
        client: AsyncClient,
        router: Router,
        data: GatewayData,
        pricing: Pricing,
        on_fallback: Callable[[str, str], None],
    ) -> None:
        self.client = client
        self.router = router
        self.data = data
        self.pricing = pricing
        self.on_fallback = on_fallback

    def charge(self, principal: Principal, request: VideoRequest, spec: ModelSpec) -> float:
        """Reserve the estimated cost on the key's budget (402 when it does not fit); returns what was charged."""
        record = principal.record
        if record is None or record.budget_usd is None:
            return 0.0
        cost = self.pricing.estimate(request, spec)
        if cost is None:
            raise APIError(
                402,
                f"This API key has a spend budget, and no price per second is known for {spec.key}, so the cost "
                f"cannot be checked. Use a model with a price, or ask the operator to add {spec.key} under "
                f"[prices] in the gateway config.",
                param="model",
                code="price_unknown",
                kind="insufficient_quota",
            )
        if not self.data.charge(record.id, cost):
            fresh = self.data.get_key(record.id) or record
            left = max(0.0, (fresh.budget_usd or 0.0) - fresh.spent_usd)
            raise APIError(
                402,
                f"This request would cost about ${cost:.2f} ({spec.key}) and the API key has ${left:.2f} of its "
                f"${fresh.budget_usd:.2f} budget left. Nothing was sent. Ask the operator to raise the budget.",
                code="budget_exceeded",
                kind="insufficient_quota",
            )
        return cost

    def hold(self, principal: Principal, job: Job, cost: float) -> None:
        """The job was charged ``cost``: held until it ends (refunded if it fails or is cancelled)."""
        if cost and principal.record is not None:
            self.data.hold_charge(job.id, principal.record.id, cost, utcnow())

    def refund(self, principal: Principal, cost: float) -> None:
        if cost and principal.record is not None:
            self.data.refund(principal.record.id, cost)

    @staticmethod
    def idempotency_keys(principal: Principal, idempotency_key: str, count: int) -> list[str]:
        """The stored keys of one request's attempts: the caller's key for the first route, ``#n`` for fallbacks."""
        base = f"{principal.key_id}:{idempotency_key}"
        return [base + (f"#{index}" if index else "") for index in range(count)]

    def replay(self, principal: Principal, request: VideoRequest, idempotency_key: str, fingerprint: str) -> Job | None:
        """The stored answer to a create sent before under ``idempotency_key`` (None: not sent yet, or every
        route so far refused it and the next one may be tried). A different request under the same key is
        422; a create still being sent is 409."""
        count = len(self.router.candidates(request.model))
        last: Job | None = None
        for index, key in enumerate(self.idempotency_keys(principal, idempotency_key, count)):
            job = self.client.store.get_by_idempotency_key(key)
            if job is None:
                return None
            if index == 0:
                self.same_request(job, fingerprint)
            if not created_then_refused(job):
                return job
            last = job
        return last

    def same_request(self, job: Job, fingerprint: str) -> None:
        """Refuse an Idempotency-Key reused for a different request (422) or for a create still in flight (409)."""
        if job.request_fingerprint is not None and job.request_fingerprint != fingerprint:
            raise APIError(
                422,
                "This Idempotency-Key was already used for a different request; a retry must send the same "
                f"request (video {job.id} was made with that key). Use a new key for a new request.",
                param="Idempotency-Key",
                code="idempotency_key_reused",
            )
        if create_in_flight(job, utcnow()):
            raise APIError(
                409,
                f"A request with this Idempotency-Key is still being sent (video {job.id}); retry in a few "
                "seconds to get its answer.",
                param="Idempotency-Key",
                code="idempotency_key_in_flight",
                headers={"retry-after": "2"},
            )

    async def check(self, principal: Principal, request: VideoRequest) -> Submission | None:
        """Check the request against the first route's model, nothing sent (a problem there is the caller's:
        400). None when that route cannot serve now (no credentials): the next one is tried at submit."""
        cand = self.router.candidates(request.model)[0]
        try:
            return await self.prepare(principal, request, cand)
        except MissingCredentialsError:
            return None

    async def prepare(self, principal: Principal, request: VideoRequest, cand: Candidate) -> Submission:
        characters = [c.username for c in self.characters_of(principal)]
        return await self.client.prepare(request=request.model_copy(update={"model": cand.spec.key}),
                                         route=cand.route.name, allowed_characters=characters)  # fmt: skip

    def characters_of(self, principal: Principal) -> list[Character]:
        """The characters this key made (the only ones its requests may use)."""
        return [Character.model_validate_json(c.data) for c in self.data.list_characters(principal.key_id, 1000)]

    async def submit(
        self,
        principal: Principal,
        request: VideoRequest,
        idempotency_key: str | None,
        fingerprint: str,
        checked: Submission | None = None,
    ) -> tuple[Job, bool]:
        """Create through the routes in order; the job and whether this call created it (False: a concurrent
        request with the same Idempotency-Key did)."""
        candidates = self.router.candidates(request.model)
        keys = (
            self.idempotency_keys(principal, idempotency_key, len(candidates))
            if idempotency_key
            else [None] * len(candidates)
        )
        first_error: Exception | None = None
        last_job: Job | None = None
        for index, (cand, key) in enumerate(zip(candidates, keys, strict=True)):
            if key is not None:
                existing = self.client.store.get_by_idempotency_key(key)
                if existing is not None:
                    if created_then_refused(existing):
                        last_job = existing
                        continue
                    return existing, False
            try:
                sub = checked if index == 0 and checked is not None else await self.prepare(principal, request, cand)
                job, created, refused = await self._attempt(principal, sub, cand, key, fingerprint, fallback=index > 0)
            except (ValidationError, MissingCredentialsError) as exc:
                if index == 0 and isinstance(exc, ValidationError):
                    raise  # the caller's own request does not fit the model they asked for
                first_error = first_error or exc
                log.info("route %s skipped for %s: %s", cand.route.name, cand.spec.key, str(exc).splitlines()[0])
                continue
            if not created:
                return job, False
            if refused and index + 1 < len(candidates):
                last_job = job
                nxt = candidates[index + 1]
                self.on_fallback(cand.route.name, nxt.route.name)
                log.info(
                    "job %s refused by route %s; falling back to %s (%s)",
                    job.id,
                    cand.route.name,
                    nxt.route.name,
                    nxt.spec.key,
                )
                continue
            return job, True
        if last_job is not None:
            return last_job, True
        assert first_error is not None
        raise first_error

    async def _attempt(
        self,
        principal: Principal,
        sub: Submission,
        cand: Candidate,
        key: str | None,
        fingerprint: str,
        *,
        fallback: bool,
    ) -> tuple[Job, bool, bool]:
        """The job after one create, whether this call created it, and whether the provider refused it for sure.
        The charge is held for a job that counts and given back otherwise."""
        if key is not None:
            sub.prepared = dataclasses.replace(sub.prepared, idempotency_key=key)
        sub.job_fields = {"owner": principal.key_id, "request_fingerprint": fingerprint}
        if fallback:
            sub.warnings = [*sub.warnings, f"served by route {cand.route.name} ({cand.spec.key}) after a refusal"]
        cost = self.charge(principal, sub.prepared.request, cand.spec)
        queue = "poll" not in cand.spec.results.delivery  # the create answer *is* the generation: a worker sends it
        try:
            job = await self.client.send(sub, queue=queue)
        except (TransportError, ProviderHTTPError) as exc:
            made = exc.job
            if made is None or not sub.created:
                self.refund(principal, cost)
                if made is None:
                    raise
                return made, bool(sub.created), False
            if refused_for_sure(exc):
                self.refund(principal, cost)
                return made, True, True
            self.hold(principal, made, cost)  # unknown or pending: the worker reconciles or retries; never a fallback
            return made, True, False
        except BaseException:  # e.g. the request was cancelled: the charge follows the job, if one was made
            stored = self.client.store.get_by_idempotency_key(sub.prepared.idempotency_key) if sub.created else None
            if stored is None:
                self.refund(principal, cost)
            else:
                self.hold(principal, stored, cost)
            raise
        if not sub.created:
            self.refund(principal, cost)  # a concurrent request with this key made the job
            return job, False, False
        self.hold(principal, job, cost)
        return job, True, False
