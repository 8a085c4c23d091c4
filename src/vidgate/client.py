"""``Client`` and ``AsyncClient``: the one public entry point. Both drive the same sans-IO dialects.

    with Client() as client:                      # VIDGATE_RELAY_BASE_URL / VIDGATE_RELAY_API_KEY
        job = client.generate("a lighthouse at dawn", model="sora-2", duration=10,
                              aspect_ratio="16:9", out="lighthouse.mp4")

Jobs live in a store (``store=``: in memory by default, or a SQLite path / PostgreSQL URL shared with
``vidgate worker`` processes). The job row is written before the provider is called, so a crash never
leads to a paid job being submitted twice; ``advance(job)`` does one unit of work on a job and is what
workers call.

Webhooks: ``callback_urls={"relay": lambda job_id: receiver.notify_url(public_url, job_id)}`` sends each job
of that provider with its own callback URL (for models whose catalog entry lists ``webhook`` delivery);
polling then only backs the callback up, and ``engine.hints.wake_on_hint`` makes the job due when it comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from vidgate import _account
from vidgate.catalog import Catalog
from vidgate.engine.budget import Budgets
from vidgate.engine.core import Core, ProviderSettings, Submission, transform_for
from vidgate.engine.download import ByteProgress, DownloadExpired, Expect, describe_asset, download_async, download_sync
from vidgate.engine.image_fetch import fetch_images_async, fetch_images_sync
from vidgate.engine.operations import delete_plan, download_target, file_facts, list_plan, remix_job, remix_plan
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.errors import (
    DownloadError,
    JobFailedError,
    ProviderHTTPError,
    ProviderServerError,
    RateLimitError,
    TransportError,
)
from vidgate.net.ssrf import FetchPolicy
from vidgate.providers import get_dialect, run_async, run_sync
from vidgate.providers._base import VideoPage
from vidgate.providers.remote_models import Discovery, list_models
from vidgate.store import JobStore, open_store
from vidgate.types import Character, Job, JobEvent, JobStatus, VideoRequest

__all__ = ["AsyncClient", "Client", "ProviderSettings", "Submission"]

ProgressCallback = Callable[[Job], None]
_TRANSIENT = (RateLimitError, ProviderServerError, TransportError)
PREVIEW_KINDS = ("thumbnail", "cover")


def _store(store: JobStore | str | os.PathLike[str] | None) -> JobStore | None:
    return open_store(store) if isinstance(store, str | os.PathLike) else store


def _core(store: JobStore | str | os.PathLike[str] | None, rate_limits: Mapping[str, float] | None,
          clock: Callable[[], float], **kwargs: Any) -> Core:  # fmt: skip
    return Core(store=_store(store), budgets=Budgets(dict(rate_limits or {}), clock=clock), clock=clock, **kwargs)


def _duplicate(core: Core, job: Job, exc: Exception) -> Job:
    """The provider says it already has our create (same idempotency key) but not under which task id."""
    return core.unknown_outcome(
        job, f"the provider already has this request ({exc}) but did not say its task id", retry=False
    )


class Client:
    """Blocking client. Configuration from arguments, else ``VIDGATE_<PROVIDER>_BASE_URL`` / ``_API_KEY``."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        providers: Mapping[str, ProviderSettings] | None = None,
        catalog: Catalog | None = None,
        env: Mapping[str, str] | None = None,
        allow_retired: bool = False,
        poll_policy: PollPolicy = DEFAULT_POLICY,
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rand: Callable[[], float] = random.random,
        allow_image_hosts: Iterable[str] = (),
        store: JobStore | str | os.PathLike[str] | None = None,
        downloads_dir: str | os.PathLike[str] | None = None,
        rate_limits: Mapping[str, float] | None = None,
        callback_urls: Mapping[str, Callable[[str], str]] | None = None,
    ) -> None:
        # Image URLs for models that only take bytes are downloaded through the SSRF guard; these hosts
        # skip its address check (redirects from them are still checked).
        self._fetch_policy = FetchPolicy.allowing(allow_image_hosts)
        self._core = _core(
            store, rate_limits, clock, base_url=base_url, api_key=api_key, providers=providers, catalog=catalog,
            env=env, allow_retired=allow_retired, poll_policy=poll_policy, rand=rand, downloads_dir=downloads_dir,
            callback_urls=callback_urls,
        )  # fmt: skip
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def catalog(self) -> Catalog:
        return self._core.catalog

    @property
    def store(self) -> JobStore:
        return self._core.store

    def on_event(self, listener: Callable[[JobEvent], None]) -> None:
        """Call ``listener`` for every progress, completed, failed, downloaded and unknown event."""
        self._core.listeners.append(listener)

    def now(self) -> datetime:
        """The client's wall clock (driven by the injected ``clock``): what leases and schedules use."""
        return self._core.now()

    def job(self, job_id: str) -> Job:
        """The job as stored (``JobNotFoundError`` when there is none)."""
        return self._core.job(job_id)

    def prepare(self, prompt: str | None = None, *, request: VideoRequest | None = None, fit: bool = False,
                **fields: Any) -> Submission:  # fmt: skip
        """Check a request without sending it (raises ``ValidationError`` with every problem).

        Image URLs for models that only take bytes are downloaded here (SSRF-guarded) and checked as files.
        """
        sub = self._core.prepare(self._core.build_request(prompt, request, fields), fit=fit)
        sub.prepared = fetch_images_sync(sub.prepared, self._fetch_policy)
        return sub

    def submit(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> Job:
        """Check, persist, then send. The same ``idempotency_key`` twice returns the same job, one provider call."""
        core = self._core
        sub = core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key)
        return self.send(sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown)

    def enqueue(self, prompt: str | None = None, *, request: VideoRequest | None = None, fit: bool = False,
                idempotency_key: str | None = None, **fields: Any) -> Job:  # fmt: skip
        """Check and persist only: a ``vidgate worker`` sharing the store sends it."""
        core = self._core
        sub = core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key)
        sub.prepared = fetch_images_sync(sub.prepared, self._fetch_policy)
        return core.new_job(sub, due=True)[0]

    def send(self, sub: Submission, *, on_progress: ProgressCallback | None = None,
             resubmit_if_unknown: bool = False) -> Job:  # fmt: skip
        """Send a checked request (from ``prepare``) to its provider and return the accepted job."""
        core = self._core
        sub.prepared = fetch_images_sync(sub.prepared, self._fetch_policy)  # no-op when prepare() did it
        job, created = core.new_job(sub, resubmit_if_unknown=resubmit_if_unknown)
        return self._create(job, sub, on_progress) if created else job

    def _create(self, job: Job, sub: Submission, on_progress: ProgressCallback | None = None) -> Job:
        core = self._core
        job = core.sending(job)
        self._sleep(core.budgets.reserve(job.provider))
        try:
            flow = sub.dialect.submit(sub.prepared, sub.connection)
            update = run_sync(self._http, flow, _account.progress_hook(core, job, on_progress))
        except (TransportError, ProviderHTTPError) as exc:
            current = core.job(job.id)
            exc.job = (
                _duplicate(core, current, exc)
                if sub.dialect.is_duplicate_create(exc)
                else (core.create_failed(current, exc))
            )
            raise
        return core.accepted(core.job(job.id), update)

    def get(self, job: Job | str) -> Job:
        """One status check (rate-limited by the provider's budget)."""
        return self._status(self._core.job(job))

    def _status(self, job: Job) -> Job:
        """``get`` on a job just read from the store."""
        core = self._core
        if job.status.terminal or job.provider_task_id is None:
            return job
        spec = core.spec_of(job)
        self._sleep(core.budgets.reserve(job.provider))
        flow = get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        return core.polled(job, run_sync(self._http, flow))

    def advance(self, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Job:
        """One unit of work: (re)send a pending create, reconcile, poll, expire, or save the finished video."""
        core = self._core
        job = core.job(job)
        if job.status is JobStatus.pending or (job.status is JobStatus.unknown and job.next_poll_at is not None):
            sub = core.prepare(job.request or VideoRequest(prompt="", model=job.model),
                               idempotency_key=job.idempotency_key)  # fmt: skip
            sub.prepared = fetch_images_sync(sub.prepared, self._fetch_policy)
            try:
                return self._create(job, sub)
            except (TransportError, ProviderHTTPError) as exc:
                return getattr(exc, "job", core.job(job.id))
        if job.status is JobStatus.unknown:
            return job  # waits for a person: nothing automatic is safe
        if not job.status.terminal:
            limit = core.overdue(job)
            if limit is not None:
                return core.expire(job, limit)
            try:
                job = self._status(job)  # read from the store just above
            except _TRANSIENT as exc:
                return core.poll_failed(job, exc)
            if not job.status.terminal:
                return job
        if download and not job.done:  # finished just now or earlier: save the video in the same step
            return self._previews(self.download(job, on_bytes=on_bytes))
        return job

    def _previews(self, job: Job) -> Job:
        """Best effort, after the video: the thumbnail or cover image where the provider offers one."""
        for kind in PREVIEW_KINDS:
            if any(a.kind == kind and a.path is None for a in job.assets):
                with contextlib.suppress(DownloadError):  # a missing preview never fails the job
                    job = self.download(job, variant=kind)
        return job

    def wait(self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None) -> Job:
        """Poll until the job is final or its deadline (the model's, or ``timeout``) passes -> ``expired``."""
        core = self._core
        job = core.job(job)
        hint = core.server_hint(job)
        if hint is not None and job.next_poll_at is not None:
            job = core.record(core.scheduled(job, hint))
        while not job.status.terminal and job.status is not JobStatus.unknown:
            limit = core.overdue(job, timeout)
            if limit is not None:
                job = core.expire(job, limit)
                break
            self._sleep(min(core.seconds_until(job.next_poll_at), core.time_left(job, timeout)))
            before = (job.status, job.progress, job.raw_status)
            job = self.advance(job, download=False)
            if on_progress and (job.status, job.progress, job.raw_status) != before:
                on_progress(job)
        return job

    def download(self, job: Job | str, out: str | os.PathLike[str] | None = None, *,
                 on_bytes: ByteProgress | None = None, variant: str = "video") -> Job:  # fmt: skip
        """Stream the finished video to ``out``, verify it is a video, probe it, record any mismatch.

        ``variant="thumbnail"`` / ``"spritesheet"`` fetch those images instead where the provider has them.
        An expired result URL is refreshed once from the provider's status endpoint.
        """
        core = self._core
        job = core.job(job)
        try:
            return self._download(job, out, on_bytes, variant)
        except DownloadExpired:
            return self._download(self._refresh(job), out, on_bytes, variant)

    def _download(self, job: Job, out: str | os.PathLike[str] | None, on_bytes: ByteProgress | None,
                  variant: str) -> Job:  # fmt: skip
        core = self._core
        asset, request, spec = download_target(core, job, variant)
        expect: Expect = "video" if asset.kind == "video" else "image"
        path = core.out_path(job, out, asset)
        core.download_started(job, asset)
        got = download_sync(
            self._http, request, path, spec.provider, on_bytes, expect=expect, transform=transform_for(spec, asset)
        )
        if expect == "image":
            return core.downloaded(job, asset, file_facts(asset, got))
        return core.downloaded(job, asset, describe_asset(asset, got, job.request, core.expected_duration(job)))

    def _refresh(self, job: Job) -> Job:
        """Ask the provider again for a finished job's result URLs (they expire)."""
        core = self._core
        spec = core.spec_of(job)
        assert job.provider_task_id is not None
        update = run_sync(
            self._http, get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        )
        return core.refreshed(job, update)

    def generate(
        self,
        prompt: str | None = None,
        *,
        out: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Job:
        """Submit, wait, download. Raises ``JobFailedError`` when the job does not succeed."""
        job = self.submit(prompt, on_progress=on_progress, **kwargs)
        if on_progress:
            on_progress(job)
        job = self.wait(job, timeout=timeout, on_progress=on_progress)
        if job.status is not JobStatus.succeeded:
            raise JobFailedError(job)
        return self.download(job, out, on_bytes=on_bytes)

    # -------------------------------------------------------------- remix, list, delete, cancel

    def remix(self, job: Job | str, prompt: str) -> Job:
        """A new job: the finished ``job``'s video remixed with ``prompt``. Checked before any I/O."""
        core = self._core
        source, spec, dialect, conn = remix_plan(core, job, prompt)
        assert source.provider_task_id is not None
        new = core.sending(remix_job(core, source, prompt))
        try:
            update = run_sync(self._http, dialect.remix(source.provider_task_id, prompt, source.request, spec, conn))
        except (TransportError, ProviderHTTPError) as exc:
            exc.job = core.create_failed(core.job(new.id), exc)
            raise
        return core.accepted(core.job(new.id), update)

    def list_videos(self, where: str, *, after: str | None = None, limit: int | None = None,
                    order: str | None = None) -> VideoPage:  # fmt: skip
        """One page of the account's videos at a provider (``where``: provider name or model)."""
        spec, dialect, conn = list_plan(self._core, where)
        return run_sync(self._http, dialect.list_videos(spec, conn, after=after, limit=limit, order=order))

    def delete(self, job: Job | str) -> bool:
        """Delete the job's video and its assets at the provider (download them first)."""
        target, spec, dialect, conn = delete_plan(self._core, job)
        assert target.provider_task_id is not None
        return run_sync(self._http, dialect.delete(target.provider_task_id, spec, conn))

    def cancel(self, job: Job | str) -> Job:
        """Ask the provider to stop a running job (where its protocol has a cancel); returns the job after it."""
        plan = self._core.cancel_plan(job)
        if plan is None:
            return self._core.job(job)
        target, spec, dialect, conn = plan
        assert target.provider_task_id is not None
        update = run_sync(self._http, dialect.cancel(target.provider_task_id, spec, conn))
        return self._core.cancelled(target, update)

    # -------------------------------------------------------------- characters and model discovery

    def create_character(
        self,
        *,
        timestamps: str,
        url: str | None = None,
        from_task: str | Job | None = None,
        name: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        save: bool = True,
    ) -> Character:
        """Create a reusable character from a video URL *or* a finished task; checked before any I/O.

        ``timestamps`` is ``"start,end"`` in seconds (the relay allows a 1 to 3 s window); ``from_task`` is the
        provider's task id or a vidgate ``Job``. The character is saved in the local registry (``name`` is its
        local name for prompt templates such as ``"{cat} dances"``); mention it as ``@username``.
        """
        plan = _account.character_plan(
            self._core, url=url, from_task=from_task, timestamps=timestamps, name=name, model=model, provider=provider
        )
        character = run_sync(self._http, plan.dialect.create_character(plan.request, plan.connection))
        return _account.remember(self._core, character) if save else character

    def characters(self) -> list[Character]:
        """The characters created on this machine (``$VIDGATE_HOME/characters.json``; no network)."""
        return _account.characters(self._core)

    def remote_models(self, provider: str | None = None) -> Discovery:
        """Ask the provider which models the account may use (``GET /v1/models``) and compare with the catalog."""
        plan = _account.discovery_plan(self._core, provider)
        remote = run_sync(self._http, list_models(plan.dialect, plan.connection, plan.path))
        return _account.discovery(self._core, plan, remote)


class AsyncClient:
    """The same interface as ``Client`` for asyncio code (the store is called inline: it is local and fast)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        providers: Mapping[str, ProviderSettings] | None = None,
        catalog: Catalog | None = None,
        env: Mapping[str, str] | None = None,
        allow_retired: bool = False,
        poll_policy: PollPolicy = DEFAULT_POLICY,
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        allow_image_hosts: Iterable[str] = (),
        store: JobStore | str | os.PathLike[str] | None = None,
        downloads_dir: str | os.PathLike[str] | None = None,
        rate_limits: Mapping[str, float] | None = None,
        callback_urls: Mapping[str, Callable[[str], str]] | None = None,
    ) -> None:
        self._fetch_policy = FetchPolicy.allowing(allow_image_hosts)
        self._core = _core(
            store, rate_limits, clock, base_url=base_url, api_key=api_key, providers=providers, catalog=catalog,
            env=env, allow_retired=allow_retired, poll_policy=poll_policy, rand=rand, downloads_dir=downloads_dir,
            callback_urls=callback_urls,
        )  # fmt: skip
        self._sleep = sleep
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=True)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def catalog(self) -> Catalog:
        return self._core.catalog

    @property
    def store(self) -> JobStore:
        return self._core.store

    def on_event(self, listener: Callable[[JobEvent], None]) -> None:
        self._core.listeners.append(listener)

    def now(self) -> datetime:
        """The client's wall clock (driven by the injected ``clock``): what leases and schedules use."""
        return self._core.now()

    def job(self, job_id: str) -> Job:
        """The job as stored (``JobNotFoundError`` when there is none); a local read, not a coroutine."""
        return self._core.job(job_id)

    def prepare(self, prompt: str | None = None, *, request: VideoRequest | None = None, fit: bool = False,
                **fields: Any) -> Submission:  # fmt: skip
        return self._core.prepare(self._core.build_request(prompt, request, fields), fit=fit)

    async def submit(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> Job:
        core = self._core
        sub = core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key)
        return await self.send(sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown)

    async def send(self, sub: Submission, *, on_progress: ProgressCallback | None = None,
                   resubmit_if_unknown: bool = False) -> Job:  # fmt: skip
        """Send a checked request; image URLs for models that only take bytes are downloaded first."""
        sub.prepared = await fetch_images_async(sub.prepared, self._fetch_policy)
        job, created = self._core.new_job(sub, resubmit_if_unknown=resubmit_if_unknown)
        return await self._create(job, sub, on_progress) if created else job

    async def _create(self, job: Job, sub: Submission, on_progress: ProgressCallback | None = None) -> Job:
        core = self._core
        job = core.sending(job)
        await self._sleep(core.budgets.reserve(job.provider))
        try:
            flow = sub.dialect.submit(sub.prepared, sub.connection)
            update = await run_async(self._http, flow, _account.progress_hook(core, job, on_progress))
        except (TransportError, ProviderHTTPError) as exc:
            current = core.job(job.id)
            exc.job = (
                _duplicate(core, current, exc)
                if sub.dialect.is_duplicate_create(exc)
                else (core.create_failed(current, exc))
            )
            raise
        return core.accepted(core.job(job.id), update)

    async def get(self, job: Job | str) -> Job:
        return await self._status(self._core.job(job))

    async def _status(self, job: Job) -> Job:
        core = self._core
        if job.status.terminal or job.provider_task_id is None:
            return job
        spec = core.spec_of(job)
        await self._sleep(core.budgets.reserve(job.provider))
        flow = get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        return core.polled(job, await run_async(self._http, flow))

    async def advance(self, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None,
                      fresh: bool = False) -> Job:  # fmt: skip
        """See ``Client.advance``. ``fresh=True``: ``job`` was just read from the store (``AsyncWorker``'s claim),
        so it is not read again."""
        core = self._core
        job = core.adopt(job) if fresh and isinstance(job, Job) else core.job(job)
        if job.status is JobStatus.pending or (job.status is JobStatus.unknown and job.next_poll_at is not None):
            sub = core.prepare(job.request or VideoRequest(prompt="", model=job.model),
                               idempotency_key=job.idempotency_key)  # fmt: skip
            sub.prepared = await fetch_images_async(sub.prepared, self._fetch_policy)
            try:
                return await self._create(job, sub)
            except (TransportError, ProviderHTTPError) as exc:
                return getattr(exc, "job", core.job(job.id))
        if job.status is JobStatus.unknown:
            return job
        if not job.status.terminal:
            limit = core.overdue(job)
            if limit is not None:
                return core.expire(job, limit)
            try:
                job = await self._status(job)  # read from the store just above
            except _TRANSIENT as exc:
                return core.poll_failed(job, exc)
            if not job.status.terminal:
                return job
        if download and not job.done:
            job = await self.download(job, on_bytes=on_bytes)
            for kind in PREVIEW_KINDS:
                if any(a.kind == kind and a.path is None for a in job.assets):
                    with contextlib.suppress(DownloadError):  # a missing preview never fails the job
                        job = await self.download(job, variant=kind)
        return job

    async def wait(
        self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> Job:
        core = self._core
        job = core.job(job)
        hint = core.server_hint(job)
        if hint is not None and job.next_poll_at is not None:
            job = core.record(core.scheduled(job, hint))
        while not job.status.terminal and job.status is not JobStatus.unknown:
            limit = core.overdue(job, timeout)
            if limit is not None:
                job = core.expire(job, limit)
                break
            await self._sleep(min(core.seconds_until(job.next_poll_at), core.time_left(job, timeout)))
            before = (job.status, job.progress, job.raw_status)
            job = await self.advance(job, download=False)
            if on_progress and (job.status, job.progress, job.raw_status) != before:
                on_progress(job)
        return job

    async def download(self, job: Job | str, out: str | os.PathLike[str] | None = None, *,
                       on_bytes: ByteProgress | None = None, variant: str = "video") -> Job:  # fmt: skip
        job = self._core.job(job)
        try:
            return await self._download(job, out, on_bytes, variant)
        except DownloadExpired:
            return await self._download(await self._refresh(job), out, on_bytes, variant)

    async def _download(self, job: Job, out: str | os.PathLike[str] | None, on_bytes: ByteProgress | None,
                        variant: str) -> Job:  # fmt: skip
        core = self._core
        asset, request, spec = download_target(core, job, variant)
        expect: Expect = "video" if asset.kind == "video" else "image"
        path = core.out_path(job, out, asset)
        core.download_started(job, asset)
        got = await download_async(
            self._http, request, path, spec.provider, on_bytes, expect=expect, transform=transform_for(spec, asset)
        )
        if expect == "image":
            return core.downloaded(job, asset, file_facts(asset, got))
        described = await asyncio.to_thread(describe_asset, asset, got, job.request, core.expected_duration(job))
        return core.downloaded(job, asset, described)

    async def _refresh(self, job: Job) -> Job:
        core = self._core
        spec = core.spec_of(job)
        assert job.provider_task_id is not None
        flow = get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        return core.refreshed(job, await run_async(self._http, flow))

    async def generate(
        self,
        prompt: str | None = None,
        *,
        out: str | os.PathLike[str] | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Job:
        job = await self.submit(prompt, on_progress=on_progress, **kwargs)
        if on_progress:
            on_progress(job)
        job = await self.wait(job, timeout=timeout, on_progress=on_progress)
        if job.status is not JobStatus.succeeded:
            raise JobFailedError(job)
        return await self.download(job, out, on_bytes=on_bytes)

    # -------------------------------------------------------------- remix, list, delete, cancel

    async def remix(self, job: Job | str, prompt: str) -> Job:
        core = self._core
        source, spec, dialect, conn = remix_plan(core, job, prompt)
        assert source.provider_task_id is not None
        new = core.sending(remix_job(core, source, prompt))
        try:
            flow = dialect.remix(source.provider_task_id, prompt, source.request, spec, conn)
            update = await run_async(self._http, flow)
        except (TransportError, ProviderHTTPError) as exc:
            exc.job = core.create_failed(core.job(new.id), exc)
            raise
        return core.accepted(core.job(new.id), update)

    async def list_videos(self, where: str, *, after: str | None = None, limit: int | None = None,
                          order: str | None = None) -> VideoPage:  # fmt: skip
        spec, dialect, conn = list_plan(self._core, where)
        return await run_async(self._http, dialect.list_videos(spec, conn, after=after, limit=limit, order=order))

    async def delete(self, job: Job | str) -> bool:
        target, spec, dialect, conn = delete_plan(self._core, job)
        assert target.provider_task_id is not None
        return await run_async(self._http, dialect.delete(target.provider_task_id, spec, conn))

    async def cancel(self, job: Job | str) -> Job:
        """Ask the provider to stop a running job (where its protocol has a cancel); returns the job after it."""
        plan = self._core.cancel_plan(job)
        if plan is None:
            return self._core.job(job)
        target, spec, dialect, conn = plan
        assert target.provider_task_id is not None
        update = await run_async(self._http, dialect.cancel(target.provider_task_id, spec, conn))
        return self._core.cancelled(target, update)

    # -------------------------------------------------------------- characters and model discovery

    async def create_character(
        self,
        *,
        timestamps: str,
        url: str | None = None,
        from_task: str | Job | None = None,
        name: str | None = None,
        model: str | None = None,
        provider: str | None = None,
        save: bool = True,
    ) -> Character:
        """See ``Client.create_character``."""
        plan = _account.character_plan(
            self._core, url=url, from_task=from_task, timestamps=timestamps, name=name, model=model, provider=provider
        )
        character = await run_async(self._http, plan.dialect.create_character(plan.request, plan.connection))
        return _account.remember(self._core, character) if save else character

    def characters(self) -> list[Character]:
        """The characters created on this machine (a local file read, no network: not a coroutine)."""
        return _account.characters(self._core)

    async def remote_models(self, provider: str | None = None) -> Discovery:
        """See ``Client.remote_models``."""
        plan = _account.discovery_plan(self._core, provider)
        remote = await run_async(self._http, list_models(plan.dialect, plan.connection, plan.path))
        return _account.discovery(self._core, plan, remote)
