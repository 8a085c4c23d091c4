"""The gateway's runtime: store, routes, tenants, webhooks, metrics and the embedded worker, in one object.

Every HTTP handler goes through a ``Gateway``; tests build one directly. The store is the truth: a job
created through one replica is read, streamed, downloaded or deleted through any other.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import math
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from vidgate.catalog import Catalog, ModelSpec, load_catalog
from vidgate.engine.callbacks import wire_callbacks
from vidgate.engine.core import CallEvent
from vidgate.engine.retention import remove_results, retention_loop
from vidgate.engine.worker import Worker
from vidgate.errors import ProviderHTTPError, TransportError, VidgateError
from vidgate.net.ssrf import FetchFailed, FetchPolicy, FetchRefused, hop_steps
from vidgate.providers import get_dialect
from vidgate.server.config import GatewayConfig, default_downloads
from vidgate.server.errors import APIError, not_found
from vidgate.server.metrics import Metrics
from vidgate.server.routing import Router, gateway_client
from vidgate.server.signing import Signer, load_gateway_secret
from vidgate.server.submit import Pricing, Submitter, accepted, refused_for_sure, request_fingerprint
from vidgate.server.tenants import ANONYMOUS, Principal, averify, averify_with_job
from vidgate.server.webhooks_out import Dispatcher, new_delivery
from vidgate.storage import LocalStorage, ResultStorage, open_storage
from vidgate.store import JobNotFoundError, JobStore, open_store
from vidgate.store.gateway import GatewayData, gateway_data
from vidgate.types import Job, VideoRequest, utcnow

log = logging.getLogger("vidgate.server")


class Gateway:
    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        store: JobStore | None = None,
        catalog: Catalog | None = None,
        env: Mapping[str, str] | None = None,
        client_options: dict[str, Any] | None = None,
    ) -> None:
        self.config = config or GatewayConfig()
        s = self.config.server
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.catalog = catalog or load_catalog()
        self.store = store if store is not None else open_store(s.database_url, env=self.env)
        self.data: GatewayData = gateway_data(self.store)
        self.metrics = Metrics()
        self.metrics.watch_states(self.data.jobs_by_status, self.data.deliveries_by_state)
        self.downloads_dir = Path(s.downloads_dir) if s.downloads_dir else default_downloads(self.env)
        self.downloads_dir.mkdir(parents=True, exist_ok=True)
        # where results are kept: the downloads directory, or an object store every replica shares
        self.storage: ResultStorage = (
            open_storage(s.storage, self.env) if s.storage else LocalStorage(self.downloads_dir)
        )
        self.policy = FetchPolicy.allowing(s.allow_hosts)
        self.router = Router(self.config, catalog=self.catalog, env=self.env)
        self.signer = Signer(load_gateway_secret(self.env, s.secret_env))
        self.callbacks = (
            wire_callbacks(
                self.store, self.catalog, public_url=s.public_url, notify_key=self.signer.notify_key(), env=self.env
            )
            if s.public_url
            else None
        )
        options = dict(client_options or {})
        options.setdefault("storage", self.storage)
        if self.callbacks is not None:
            options.setdefault("callback_urls", self.callbacks.callback_urls())
        self.client = gateway_client(self.config, self.store, self.catalog, self.env, self.downloads_dir, **options)
        self.client.on_call(self._observe)
        self.submitter = Submitter(
            self.client,
            self.router,
            self.data,
            Pricing(self.config.prices),
            on_fallback=lambda a, b: self.metrics.fallbacks.labels(a, b).inc(),
        )
        self.dispatcher = Dispatcher(self.store, self.data, self.signer, s, self.policy, self.metrics)
        self.worker: Worker | None = None
        self._worker_task: asyncio.Task[Any] | None = None
        self._retention_task: asyncio.Task[Any] | None = None
        self._stop = asyncio.Event()
        self.started = False

    def _observe(self, call: CallEvent) -> None:
        m = self.metrics
        m.provider_latency.labels(call.provider, call.operation).observe(call.seconds)
        if call.operation == "status":
            m.polls.labels(call.provider).inc()
        elif call.operation == "create":
            m.submits.labels(call.provider, call.outcome).inc()

    # -------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the webhook dispatcher and, unless ``worker = false``, an embedded worker on this event loop."""
        if self.started:
            return
        self.started = True
        self.dispatcher.start()
        s = self.config.server
        self._stop = asyncio.Event()
        if s.retention_s is not None:
            sweep = retention_loop(self.client.engine.core, self.storage, s.retention_s, self._stop)
            self._retention_task = asyncio.ensure_future(sweep)
        if s.worker:
            self.worker = Worker(
                self.client.engine,
                lease_s=s.worker_lease_s,
                concurrency=s.worker_concurrency,
                idle_s=min(1.0, max(0.02, 0.5 * s.time_scale)),
            )
            if self.callbacks is not None:
                self.callbacks.wakers.callbacks.append(self.worker.notify)
            self._worker_task = asyncio.ensure_future(self.worker.run(self._stop))

    async def stop(self) -> None:
        """Stop the embedded worker (its steps under way finish) and close the provider connections."""
        self._stop.set()
        if self._worker_task is not None:
            await self._worker_task
            self._worker_task = None
        if self._retention_task is not None:
            await self._retention_task
            self._retention_task = None
        await self.client.aclose()

    def close(self) -> None:
        self.dispatcher.stop()
        self.store.close()

    # -------------------------------------------------------------- tenants

    async def authenticate(self, token: str | None) -> Principal:
        """Who is calling; the key is read from the database on every request (``averify``)."""
        principal, _ = await self._caller(token, None)
        return principal

    async def caller_and_job(self, token: str | None, job_id: str) -> tuple[Principal, Job]:
        """``authenticate``, then the caller's job ``job_id`` as ``job`` gives it, both read in one database
        round trip (``GatewayData.aget_key_and_job``): the whole database work of a poll."""
        principal, job = await self._caller(token, job_id)
        return principal, _owned(principal, job, job_id)

    async def _caller(self, token: str | None, job_id: str | None) -> tuple[Principal, Job | None]:
        if not self.config.server.auth:
            return Principal(ANONYMOUS), None if job_id is None else await self._job_or_none(job_id)
        if not token:
            raise APIError(
                401,
                "You didn't provide an API key. Send it as 'Authorization: Bearer vg_...'; create one with "
                "`vidgate keys create --name NAME`.",
                code="missing_api_key",
            )
        if job_id is None:
            record, job = await averify(self.data, token), None
        else:
            record, job = await averify_with_job(self.data, token, job_id)
        if record is None:
            raise APIError(401, "Incorrect API key provided (unknown, revoked or mistyped).", code="invalid_api_key")
        return Principal(record.id, record), job

    async def _job_or_none(self, job_id: str) -> Job | None:
        try:
            return await self.store.aget(job_id)
        except JobNotFoundError:
            return None

    def check_metrics_token(self, authorization: str | None) -> None:
        """/metrics behind a token when ``metrics_token_env`` names one (compared in constant time)."""
        name = self.config.server.metrics_token_env
        if name is None:
            return
        token = self.env.get(name)
        if not token:
            raise APIError(503, f"/metrics is configured to need the token in ${name}, which is not set.",
                           code="metrics_token_unset")  # fmt: skip
        given = (authorization or "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise APIError(401, f"/metrics needs 'Authorization: Bearer <the token in ${name}>'.",
                           code="invalid_metrics_token")  # fmt: skip

    def take_create_slot(self, principal: Principal) -> str | None:
        """Count one create against the key's rate limit (a sliding minute), or refuse it with 429. Returns the
        slot to give back (``release_create_slot``) if the create is not accepted after all."""
        record = principal.record
        if record is None or record.rate_limit_per_min is None:
            return None
        taken = self.data.take_create_slot(record.id, record.rate_limit_per_min, utcnow())
        if isinstance(taken, str):
            return taken
        wait = max(1, math.ceil(taken))
        raise APIError(
            429,
            f"This API key may create {record.rate_limit_per_min} videos per minute (accepted creates in any "
            f"60 s; refused requests and replays do not count); try again in {wait} s.",
            code="rate_limit_exceeded",
            kind="rate_limit_error",
            headers={"retry-after": str(wait)},
        )

    def release_create_slot(self, slot: str | None) -> None:
        if slot is not None:
            self.data.release_create_slot(slot)

    # -------------------------------------------------------------- jobs

    async def check_url(self, url: str, param: str, what: str = "The callback URL") -> None:
        """Refuse a URL the gateway must never call (loopback, private, metadata...) with a 400 naming ``param``."""
        try:
            await self.client.engine.run(hop_steps(url, self.policy))
        except FetchRefused as exc:
            raise APIError(
                400, f"{what} is refused: {exc.reason}. Use a public http(s) URL.", param=param, code="invalid_url"
            ) from None
        except FetchFailed as exc:
            raise APIError(400, f"{what} cannot be used: {exc.reason}.", param=param, code="invalid_url") from None

    async def check_account_ids(self, principal: Principal, request: VideoRequest) -> None:
        """Ids of things on the operator's provider accounts are shared by every key: a tenant may name only
        its own videos (Luma's ``source``: a generation one of its jobs made), and file ids (``mm_file://``,
        ``asset://``, ``runway://``) only when the operator allows them (``allow_account_ids``)."""
        allowed = self.config.server.allow_account_ids
        for param, value in option_strings(request.options):
            if value.lower().startswith(ACCOUNT_ID_SCHEMES) and not allowed:
                raise APIError(
                    400,
                    f"{param} names a file on the gateway's provider account ({value[:60]}), which every key "
                    "shares: pass a public https URL instead (or ask the operator to set allow_account_ids).",
                    param=param,
                    code="account_id_refused",
                )
        source = request.options.get("source")
        if isinstance(source, str) and source and "://" not in source and not source.startswith("data:"):
            spec = self.router.resolve(request.model)
            owner = await asyncio.to_thread(self.store.find_by_provider_task_id, spec.provider, source)
            if owner is None or owner.owner != principal.key_id:
                raise APIError(
                    400,
                    f"options.source {source[:60]!r} is not a video this API key made: give the id of one of "
                    "your own finished videos' provider tasks, or an https URL of an MP4.",
                    param="options.source",
                    code="invalid_value",
                )

    async def check_request_urls(self, request: VideoRequest, image_param: str) -> None:
        """Refuse image, character and reference-media URLs (any http(s) URL among the options: Seedance's
        reference videos and audios, Luma's source, ...) that point at private networks, before anything is
        stored or sent (the lookups run off the event loop, after every count and size check)."""
        urls = [(image_param, i.source) for i in request.images if isinstance(i.source, str)]
        urls += [(p.replace("options.character_url", "character_url"), u) for p, u in option_urls(request.options)]
        for param, url in urls[:MAX_CHECKED_URLS]:
            if url.lower().startswith(("http://", "https://")):
                await self.check_url(url, param, what=f"The URL {url[:200]}")

    async def submit(
        self,
        principal: Principal,
        request: VideoRequest,
        *,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        callback_param: str = "callback_url",
        image_param: str = "images",
    ) -> Job:
        """Create a video for ``principal``, in an order that never counts or charges what is not made:

        1. a retry with a known ``Idempotency-Key`` gets the stored answer (not checked, counted or charged
           again; a different request under the key is 422, one still being sent 409);
        2. the request is checked against the model, then its URLs (SSRF) — 400, nothing counted;
        3. a create slot is taken from the key's rate limit (429) and the cost is charged (402);
        4. the create is sent; a refusal at create gives the slot and the charge back.
        """
        fingerprint = request_fingerprint(request, callback_url)
        if idempotency_key:
            stored = self.submitter.replay(principal, request, idempotency_key, fingerprint)
            if stored is not None:
                return stored
        checked = await self.submitter.check(principal, request)
        await self.check_request_urls(request, image_param)
        await self.check_account_ids(principal, request)
        if callback_url:
            await self.check_url(callback_url, callback_param)
        slot = self.take_create_slot(principal)
        try:
            job, created = await self.submitter.submit(principal, request, idempotency_key, fingerprint, checked)
        except BaseException:
            self.release_create_slot(slot)
            raise
        if not created or not accepted(job):
            self.release_create_slot(slot)
        if not created:  # a concurrent request with the same key made it: answered as a replay of that one
            self.submitter.same_request(job, fingerprint)
            return job
        urls = [u for u in (callback_url, principal.webhook_url) if u]
        now = utcnow()
        for url in dict.fromkeys(urls):
            self.data.add_delivery(new_delivery(job.id, principal.key_id, url, now))
        return job

    def spec_or_none(self, model: str) -> ModelSpec | None:
        """The catalog's entry for a stored job's model (None once the catalog no longer has it)."""
        try:
            return self.catalog.resolve(model)
        except VidgateError:
            return None

    def job(self, principal: Principal, job_id: str) -> Job:
        """The job if ``principal`` owns it; every other case is the same 404 (no hint that it exists)."""
        try:
            job: Job | None = self.store.get(job_id)
        except JobNotFoundError:
            job = None
        return _owned(principal, job, job_id)

    def job_or_none(self, owner: str, job_id: str) -> Job | None:
        try:
            job = self.store.get(job_id)
        except JobNotFoundError:
            return None
        return job if job.owner == owner else None

    async def remix(self, principal: Principal, job_id: str, prompt: str) -> Job:
        """A new video from a finished one; counted and charged like a create (the same length)."""
        source = self.job(principal, job_id)
        spec = self.catalog.resolve(source.model)
        request = (source.request or VideoRequest(prompt=prompt, model=spec.key)).model_copy(update={"prompt": prompt})
        slot = self.take_create_slot(principal)
        try:
            cost = self.submitter.charge(principal, request, spec)
        except BaseException:
            self.release_create_slot(slot)
            raise
        try:
            job = await self.client.remix(source, prompt)
        except VidgateError as exc:
            made = exc.job if isinstance(exc, TransportError | ProviderHTTPError) else None
            if made is None or refused_for_sure(exc):
                self.submitter.refund(principal, cost)  # nothing was made
                self.release_create_slot(slot)
            else:
                self.submitter.hold(principal, made, cost)
            if made is not None:
                return made  # recorded failed or unknown: the video object says which
            raise
        except BaseException:
            self.submitter.refund(principal, cost)
            self.release_create_slot(slot)
            raise
        self.submitter.hold(principal, job, cost)
        return job

    async def cancel(self, principal: Principal, job_id: str) -> Job:
        """At the provider where it can cancel, otherwise here (the provider may still finish it)."""
        return await self.client.cancel(self.job(principal, job_id))

    async def delete(self, principal: Principal, job_id: str) -> None:
        """Remove a final job: the provider's copy where its protocol allows, the files, the row."""
        job = self.job(principal, job_id)
        if not job.status.terminal:
            raise APIError(
                400,
                f"Video '{job_id}' is {job.status.value}: only finished videos can be deleted; "
                f"cancel it first (POST /v1/videos/{job_id}/cancel).",
                param="video_id",
                code="invalid_value",
            )
        spec = self.catalog.resolve(job.model)
        if job.provider_task_id is not None and "delete" in get_dialect(spec.dialect).operations:
            try:
                await self.client.delete(job)
            except VidgateError as exc:  # the gateway's copy goes anyway; the provider's expires on its own
                log.warning("provider delete of %s failed: %s", job.id, exc)
        self.data.settle_charges(utcnow())  # before the row goes: a failed job's charge is refunded
        try:
            await asyncio.to_thread(remove_results, self.storage, job)
        except VidgateError as exc:  # keep the row, so a retry of the DELETE finds the objects again
            raise APIError(503, f"The saved files of '{job_id}' could not be deleted ({exc}); try again.",
                           code="storage_unavailable") from None  # fmt: skip
        if not isinstance(self.storage, LocalStorage):  # results saved before the object store was configured
            await asyncio.to_thread(remove_results, LocalStorage(self.downloads_dir), job)
        self.store.delete(job.id)


def _owned(principal: Principal, job: Job | None, job_id: str) -> Job:
    if job is None or job.owner != principal.key_id:
        raise not_found("video", job_id)
    return job


MAX_CHECKED_URLS = 64  # more URLs than this in one request are refused by the request's own limits first


ACCOUNT_ID_SCHEMES = ("mm_file://", "asset://", "runway://")


def option_strings(value: object, path: str = "options", depth: int = 0) -> Iterator[tuple[str, str]]:
    """Every string among the options, with the path naming it; not walked past a few levels."""
    if isinstance(value, str):
        yield path, value
    elif depth < 6 and isinstance(value, dict):
        for key, item in value.items():
            yield from option_strings(item, f"{path}.{key}", depth + 1)
    elif depth < 6 and isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from option_strings(item, f"{path}[{index}]", depth + 1)


def option_urls(value: object, path: str = "options") -> Iterator[tuple[str, str]]:
    """Every http(s) URL in the options, with the path naming it (``options.reference_videos[0]``)."""
    return ((p, s) for p, s in option_strings(value, path) if s.lower().startswith(("http://", "https://")))
