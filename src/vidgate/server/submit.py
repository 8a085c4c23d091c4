"""Creating a job through the routes: check, charge, persist, send — and fall back only when that is safe.

A request is checked against the first candidate's model (a mistake there is the caller's: 400, nothing
sent). The job row is written before the provider call. When the provider *definitively refuses* the
create (a 4xx answer other than 408 / 429: nothing was rendered, nothing is owed), the next candidate is
tried — another route, or a fallback model, checked again against that model's capabilities. A timeout,
a 5xx, a dropped connection or any other unknown outcome never falls back (the first provider may be
rendering and billing): the job is returned as it is (``unknown`` / ``pending``) and the worker takes it
from there. Models whose create answer is the whole generation (a chat stream) are queued for a worker.
Spend is reserved before each send and given back when the provider refused.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

from vidgate.catalog import ModelSpec
from vidgate.catalog.validate import effective_duration
from vidgate.client import AsyncClient
from vidgate.errors import MissingCredentialsError, ProviderHTTPError, TransportError, ValidationError
from vidgate.server.errors import APIError
from vidgate.server.routing import Candidate, Router
from vidgate.server.tenants import Principal
from vidgate.store.gateway import GatewayData
from vidgate.types import Job, JobStatus, VideoRequest

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

    def per_second(self, spec: ModelSpec) -> float | None:
        for name in (spec.key, spec.model):
            if name in self.prices:
                return self.prices[name]
        return spec.price_per_second_usd

    def estimate(self, request: VideoRequest, spec: ModelSpec) -> float | None:
        price = self.per_second(spec)
        seconds = effective_duration(request, spec)
        if price is None or seconds is None:
            return None
        return round(price * seconds, 6)


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

    async def submit(self, principal: Principal, request: VideoRequest, idempotency_key: str | None) -> Job:
        candidates = self.router.candidates(request.model)
        base_key = f"{principal.key_id}:{idempotency_key}" if idempotency_key else None
        first_error: Exception | None = None
        last_job: Job | None = None
        for index, cand in enumerate(candidates):
            key = None if base_key is None else base_key + (f"#{index}" if index else "")
            if key is not None:
                existing = self.client.store.get_by_idempotency_key(key)
                if existing is not None:
                    if created_then_refused(existing):
                        last_job = existing
                        continue
                    return existing
            try:
                job, refused = await self._attempt(principal, request, cand, key, fallback=index > 0)
            except (ValidationError, MissingCredentialsError) as exc:
                if index == 0 and isinstance(exc, ValidationError):
                    raise  # the caller's own request does not fit the model they asked for
                first_error = first_error or exc
                log.info("route %s skipped for %s: %s", cand.route.name, cand.spec.key, str(exc).splitlines()[0])
                continue
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
            return job
        if last_job is not None:
            return last_job
        assert first_error is not None
        raise first_error

    async def _attempt(
        self, principal: Principal, request: VideoRequest, cand: Candidate, key: str | None, *, fallback: bool
    ) -> tuple[Job, bool]:
        """The job after one create (and whether the provider refused it for sure)."""
        sub = await self.client.prepare(request=request.model_copy(update={"model": cand.spec.key}),
                                        route=cand.route.name)  # fmt: skip
        if key is not None:
            sub.prepared = dataclasses.replace(sub.prepared, idempotency_key=key)
        sub.job_fields = {"owner": principal.key_id}
        if fallback:
            sub.warnings = [*sub.warnings, f"served by route {cand.route.name} ({cand.spec.key}) after a refusal"]
        cost = self.charge(principal, sub.prepared.request, cand.spec)
        if "poll" not in cand.spec.results.delivery:
            # the create answer *is* the generation (a stream or a long call): a worker sends it, not the request
            return await self.client.send(sub, queue=True), False
        try:
            return await self.client.send(sub), False
        except (TransportError, ProviderHTTPError) as exc:
            job = exc.job
            if refused_for_sure(exc):
                if cost and principal.record is not None:
                    self.data.refund(principal.record.id, cost)
                assert job is not None
                return job, True
            if job is not None:
                return job, False  # unknown or pending: the worker reconciles or retries; never a fallback
            raise
