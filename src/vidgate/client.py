"""``Client`` and ``AsyncClient``: the one public entry point. Both drive the same sans-IO dialects.

with Client() as client:                      # VIDGATE_RELAY_BASE_URL / VIDGATE_RELAY_API_KEY
    job = client.generate("a lighthouse at dawn", model="sora-2", duration=10,
                          aspect_ratio="16:9", out="lighthouse.mp4")
"""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from vidgate import _account
from vidgate.catalog import Catalog, ModelSpec, load_catalog
from vidgate.catalog.validate import Change, assign_roles, check, effective_duration, field_value, matches
from vidgate.catalog.validate import fit as fit_request
from vidgate.credentials import ambient_token, fill_base_url, resolve_settings
from vidgate.engine.download import (
    ByteProgress,
    Expect,
    describe_asset,
    download_async,
    download_sync,
)
from vidgate.engine.image_fetch import fetch_images_async, fetch_images_sync
from vidgate.engine.jobs import apply_update
from vidgate.engine.operations import (
    EXTENSIONS,
    delete_plan,
    download_target,
    file_facts,
    list_plan,
    remix_job,
    remix_plan,
)
from vidgate.engine.operations import (
    operation as dialect_for,
)
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy, expected_latency, next_delay
from vidgate.errors import (
    JobFailedError,
    MissingCredentialsError,
    ProviderServerError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from vidgate.net.ssrf import FetchPolicy
from vidgate.providers import Connection, Dialect, JobUpdate, Prepared, get_dialect, run_async, run_sync
from vidgate.providers._base import ChunkTransform, VideoPage
from vidgate.providers.remote_models import Discovery, list_models
from vidgate.types import Asset, Character, ErrorCode, Job, JobError, JobStatus, VideoRequest, utcnow

ProgressCallback = Callable[[Job], None]
_REQUEST_FIELDS = set(VideoRequest.model_fields)
TRANSIENT_RETRY_S = 5.0


@dataclass(frozen=True)
class ProviderSettings:
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    settings: Mapping[str, str] = field(default_factory=dict)  # the provider's extra settings (project, region)


@dataclass
class Submission:
    """A checked request, ready to send, with what vidgate noticed on the way."""

    prepared: Prepared
    dialect: Dialect
    connection: Connection
    warnings: list[str]
    changes: list[Change]


class _Core:
    """Everything both clients share: configuration, checking, and pure job bookkeeping."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        providers: Mapping[str, ProviderSettings] | None,
        catalog: Catalog | None,
        env: Mapping[str, str] | None,
        allow_retired: bool,
        poll_policy: PollPolicy,
        clock: Callable[[], float],
        rand: Callable[[], float],
    ) -> None:
        self.catalog = catalog or load_catalog()
        self.base_url = base_url
        self.api_key = api_key
        self.providers = dict(providers or {})
        self.env = os.environ if env is None else env
        self.allow_retired = allow_retired
        self.poll_policy = poll_policy
        self.clock = clock
        self.rand = rand
        self.jobs: dict[str, Job] = {}
        self._started: dict[str, float] = {}
        self._hints: dict[str, float | None] = {}  # the provider's last poll-after hint per job, seconds

    # -------------------------------------------------------------- configuration

    def connection(self, spec: ModelSpec) -> Connection:
        provider = self.catalog.provider_of(spec)
        settings = self.providers.get(provider.name, ProviderSettings())
        base_url = settings.base_url or self.base_url or self.env.get(provider.base_url_env) or provider.base_url
        api_key = settings.api_key or self.api_key or self.env.get(provider.api_key_env)
        ambient = provider.ambient_credentials if not api_key else None
        if ambient:
            api_key = ambient_token(ambient)  # e.g. Google Application Default Credentials, refreshed as needed
        if not api_key:
            raise MissingCredentialsError(provider.name, provider.api_key_env)
        values = resolve_settings(provider, settings.settings, self.env, ambient)
        base_url = fill_base_url(base_url, values)
        return Connection(provider=provider, base_url=base_url, api_key=api_key, settings=values)

    # -------------------------------------------------------------- checking

    def build_request(self, prompt: str | None, request: VideoRequest | None, fields: dict[str, Any]) -> VideoRequest:
        unknown = set(fields) - _REQUEST_FIELDS
        if unknown:
            raise TypeError(f"unknown request field(s) {sorted(unknown)}; known: {sorted(_REQUEST_FIELDS)}")
        if request is not None:
            return request.model_copy(update=fields) if fields else request
        return VideoRequest(prompt=prompt or "", **fields)

    def prepare(self, request: VideoRequest, *, fit: bool = False, idempotency_key: str | None = None) -> Submission:
        """Check the request (every problem at once) and resolve where it goes. No I/O."""
        spec = self.catalog.resolve(request.model)
        request, character_problems = _account.apply_characters(request, spec, self.env)
        changes: list[Change] = []
        if fit:
            request, changes = fit_request(request, spec)
        dialect = get_dialect(spec.dialect)
        report = check(request, spec, options_model=dialect.Options, allow_retired=self.allow_retired)
        report.problems.extend(dialect.preflight(request, spec, report.images))
        report.problems[:0] = character_problems
        if not report.ok:
            raise ValidationError(report.problems, spec.key)
        connection = self.connection(spec)
        prepared = Prepared(
            request=request,
            spec=spec,
            images=report.images,
            roles=assign_roles(report.images, spec),
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        warnings = report.warnings + [f"fit: {c.explain()}" for c in changes]
        return Submission(prepared, dialect, connection, warnings, changes)

    def new_job(self, sub: Submission) -> Job:
        spec = sub.prepared.spec
        job = Job(
            id="job_" + uuid.uuid4().hex[:24],
            provider=spec.provider,
            model=spec.key,
            request=sub.prepared.request,
            idempotency_key=sub.prepared.idempotency_key,
            warnings=sub.warnings,
        )
        self.jobs[job.id] = job
        return job

    def record(self, job: Job) -> Job:
        self.jobs[job.id] = job
        return job

    def accepted(self, job: Job, update: JobUpdate) -> Job:
        job = apply_update(job.model_copy(update={"submitted_at": utcnow()}), update)
        self._started[job.id] = self.clock()
        self.note_hint(job, update)
        return self.record(job)

    def note_hint(self, job: Job, update: JobUpdate) -> None:
        self._hints[job.id] = update.poll_after

    def server_hint(self, job: Job) -> float | None:
        """The provider's own poll-after hint from its last answer (e.g. ``openai-poll-after-ms``), once."""
        return self._hints.pop(job.id, None)

    def unknown_outcome(self, job: Job, exc: Exception) -> Job:
        """A create that may or may not have reached the provider: never resubmit blindly."""
        return self.record(
            job.model_copy(
                update={
                    "status": JobStatus.unknown,
                    "updated_at": utcnow(),
                    "error": JobError(
                        code=ErrorCode.provider_error,
                        message=f"submit outcome unknown ({exc}); check the provider before resubmitting",
                        retryable=False,
                    ),
                }
            )
        )

    def job(self, job: Job | str) -> Job:
        if isinstance(job, Job):
            return self.jobs.setdefault(job.id, job)
        return self.jobs[job]

    def spec_of(self, job: Job) -> ModelSpec:
        return self.catalog.resolve(job.model)

    def latency(self, job: Job) -> float:
        spec = self.spec_of(job)
        req = job.request
        if req is None:
            return spec.typical_latency_s
        duration = effective_duration(req, spec)
        adjustments = [
            (all(matches(field_value(req, k, duration), v) for k, v in a.when.items()), a.add_s)
            for a in spec.latency_adjust
        ]
        return expected_latency(spec.typical_latency_s, adjustments)

    def elapsed(self, job: Job) -> float:
        return self.clock() - self._started.setdefault(job.id, self.clock())

    def expire(self, job: Job, deadline: float) -> Job:
        return self.record(
            apply_update(
                job,
                JobUpdate(
                    status=JobStatus.expired,
                    error=JobError(
                        code=ErrorCode.timeout,
                        message=f"no final state after {deadline:g} s (raw status {job.raw_status!r}); "
                        f"the provider task {job.provider_task_id} may still finish: `vidgate jobs` can resume it",
                        retryable=True,
                    ),
                ),
            )
        )

    def delay(self, job: Job, attempt: int, hint: float | None) -> float:
        return next_delay(
            typical_latency_s=self.latency(job),
            elapsed_s=self.elapsed(job),
            attempt=attempt,
            server_hint_s=hint,
            rand=self.rand(),
            policy=self.poll_policy,
        )

    def out_path(self, job: Job, out: str | os.PathLike[str] | None, asset: Asset | None = None) -> Path:
        if out is not None:
            return Path(out)
        if asset is not None and asset.kind != "video":
            return Path.cwd() / f"{job.id}.{asset.kind}.{EXTENSIONS.get(asset.mime_type or '', 'bin')}"
        return Path.cwd() / f"{job.id}.mp4"

    def expected_duration(self, job: Job) -> float | None:
        return effective_duration(job.request, self.spec_of(job)) if job.request else None

    def operation(self, spec: ModelSpec, op: str) -> Dialect:
        """The dialect of ``spec`` when it speaks ``op``, else a ``ValidationError`` (see engine.operations)."""
        return dialect_for(self, spec, op)

    def cancel_plan(self, job: Job | str) -> tuple[Job, ModelSpec, Dialect, Connection] | None:
        """What a cancel needs, or None when there is nothing to cancel (final, or never accepted)."""
        target = self.job(job)
        if target.status.terminal or target.provider_task_id is None:
            return None
        spec = self.spec_of(target)
        return target, spec, self.operation(spec, "cancel"), self.connection(spec)

    def cancelled(self, job: Job, update: JobUpdate) -> Job:
        """Apply a cancel's answer; a provider that only acknowledged leaves the job to the next status check."""
        return self.record(apply_update(job, update))


def transform_for(spec: ModelSpec, asset: Asset) -> Callable[[], ChunkTransform] | None:
    """A fresh decoder per download attempt when the dialect's result is not the body itself (inline base64)."""
    dialect = get_dialect(spec.dialect)
    if dialect.download_transform(asset) is None:
        return None

    def make() -> ChunkTransform:
        decoder = dialect.download_transform(asset)
        assert decoder is not None
        return decoder

    return make


def _transient(exc: Exception) -> float | None:
    """How long to wait before retrying a status check that failed, or None when it must not be retried."""
    if isinstance(exc, RateLimitError):
        return exc.retry_after if exc.retry_after is not None else TRANSIENT_RETRY_S
    if isinstance(exc, ProviderServerError | TransportError):
        return TRANSIENT_RETRY_S
    return None


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
    ) -> None:
        # Image URLs for models that only take bytes are downloaded through the SSRF guard; these hosts
        # skip its address check (redirects from them are still checked).
        self._fetch_policy = FetchPolicy.allowing(allow_image_hosts)
        self._core = _Core(
            base_url=base_url,
            api_key=api_key,
            providers=providers,
            catalog=catalog,
            env=env,
            allow_retired=allow_retired,
            poll_policy=poll_policy,
            clock=clock,
            rand=rand,
        )
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

    def prepare(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        **fields: Any,
    ) -> Submission:
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
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> Job:
        core = self._core
        return self.send(
            core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key),
            on_progress=on_progress,
        )

    def send(self, sub: Submission, *, on_progress: ProgressCallback | None = None) -> Job:
        """Send a checked request (from ``prepare``) to its provider and return the accepted job."""
        core = self._core
        sub.prepared = fetch_images_sync(sub.prepared, self._fetch_policy)  # no-op when prepare() did it
        job = core.new_job(sub)
        try:
            flow = sub.dialect.submit(sub.prepared, sub.connection)
            update = run_sync(self._http, flow, _account.progress_hook(core, job, on_progress))
        except TransportError as exc:
            if isinstance(exc.__cause__, httpx.ConnectError):
                raise  # nothing was sent
            core.unknown_outcome(core.jobs.get(job.id, job), exc)  # keeps what a stream already told
            raise
        return core.accepted(core.jobs.get(job.id, job), update)

    def get(self, job: Job | str) -> Job:
        """One status check."""
        core = self._core
        job = core.job(job)
        if job.status.terminal or job.provider_task_id is None:
            return job
        spec = core.spec_of(job)
        update = run_sync(
            self._http, get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        )
        core.note_hint(job, update)
        return core.record(apply_update(job, update))

    def wait(self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None) -> Job:
        """Poll until the job is final or its deadline (the model's, or ``timeout``) passes -> ``expired``."""
        core = self._core
        job = core.job(job)
        deadline = timeout if timeout is not None else core.spec_of(job).deadline_s
        attempt, hint = 0, core.server_hint(job)
        while not job.status.terminal:
            if core.elapsed(job) >= deadline:
                job = core.expire(job, deadline)
                break
            self._sleep(min(core.delay(job, attempt, hint), max(0.0, deadline - core.elapsed(job))))
            attempt += 1
            before = (job.status, job.progress, job.raw_status)
            try:
                job = self.get(job)
                hint = core.server_hint(job)
            except (RateLimitError, ProviderServerError, TransportError) as exc:
                hint = _transient(exc)
                continue
            if on_progress and (job.status, job.progress, job.raw_status) != before:
                on_progress(job)
        return job

    def download(
        self,
        job: Job | str,
        out: str | os.PathLike[str] | None = None,
        *,
        on_bytes: ByteProgress | None = None,
        variant: str = "video",
    ) -> Job:
        """Stream the finished video to ``out``, verify it is a video, probe it, record any mismatch.

        ``variant="thumbnail"`` / ``"spritesheet"`` fetch those images instead where the provider has them.
        """
        core = self._core
        job = core.job(job)
        asset, request, spec = download_target(core, job, variant)
        expect: Expect = "video" if asset.kind == "video" else "image"
        path = core.out_path(job, out, asset)
        got = download_sync(
            self._http, request, path, spec.provider, on_bytes, expect=expect, transform=transform_for(spec, asset)
        )
        if expect == "video":
            described = describe_asset(asset, got, job.request, core.expected_duration(job))
        else:
            described = file_facts(asset, got)
        assets = [described if a is asset else a for a in job.assets]
        return core.record(job.model_copy(update={"assets": assets, "updated_at": utcnow()}))

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

    # -------------------------------------------------------------- remix, list, delete (OpenAI-format videos)

    def remix(self, job: Job | str, prompt: str) -> Job:
        """A new job: the finished ``job``'s video remixed with ``prompt``. Checked before any I/O."""
        core = self._core
        source, spec, dialect, conn = remix_plan(core, job, prompt)
        assert source.provider_task_id is not None
        flow = dialect.remix(source.provider_task_id, prompt, source.request, spec, conn)
        new = remix_job(core, source, prompt)
        try:
            update = run_sync(self._http, flow)
        except TransportError as exc:
            if not isinstance(exc.__cause__, httpx.ConnectError):
                core.unknown_outcome(new, exc)
            raise
        return core.accepted(new, update)

    def list_videos(
        self, where: str, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoPage:
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
    """The same interface as ``Client`` for asyncio code."""

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
    ) -> None:
        self._fetch_policy = FetchPolicy.allowing(allow_image_hosts)
        self._core = _Core(
            base_url=base_url,
            api_key=api_key,
            providers=providers,
            catalog=catalog,
            env=env,
            allow_retired=allow_retired,
            poll_policy=poll_policy,
            clock=clock,
            rand=rand,
        )
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

    def prepare(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        **fields: Any,
    ) -> Submission:
        return self._core.prepare(self._core.build_request(prompt, request, fields), fit=fit)

    async def submit(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        on_progress: ProgressCallback | None = None,
        **fields: Any,
    ) -> Job:
        core = self._core
        return await self.send(
            core.prepare(core.build_request(prompt, request, fields), fit=fit, idempotency_key=idempotency_key),
            on_progress=on_progress,
        )

    async def send(self, sub: Submission, *, on_progress: ProgressCallback | None = None) -> Job:
        """Send a checked request; image URLs for models that only take bytes are downloaded first."""
        core = self._core
        sub.prepared = await fetch_images_async(sub.prepared, self._fetch_policy)
        job = core.new_job(sub)
        try:
            flow = sub.dialect.submit(sub.prepared, sub.connection)
            update = await run_async(self._http, flow, _account.progress_hook(core, job, on_progress))
        except TransportError as exc:
            if isinstance(exc.__cause__, httpx.ConnectError):
                raise
            core.unknown_outcome(core.jobs.get(job.id, job), exc)  # keeps what a stream already told
            raise
        return core.accepted(core.jobs.get(job.id, job), update)

    async def get(self, job: Job | str) -> Job:
        core = self._core
        job = core.job(job)
        if job.status.terminal or job.provider_task_id is None:
            return job
        spec = core.spec_of(job)
        flow = get_dialect(spec.dialect).status(job.provider_task_id, spec, core.connection(spec))
        update = await run_async(self._http, flow)
        core.note_hint(job, update)
        return core.record(apply_update(job, update))

    async def wait(
        self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> Job:
        core = self._core
        job = core.job(job)
        deadline = timeout if timeout is not None else core.spec_of(job).deadline_s
        attempt, hint = 0, core.server_hint(job)
        while not job.status.terminal:
            if core.elapsed(job) >= deadline:
                job = core.expire(job, deadline)
                break
            await self._sleep(min(core.delay(job, attempt, hint), max(0.0, deadline - core.elapsed(job))))
            attempt += 1
            before = (job.status, job.progress, job.raw_status)
            try:
                job = await self.get(job)
                hint = core.server_hint(job)
            except (RateLimitError, ProviderServerError, TransportError) as exc:
                hint = _transient(exc)
                continue
            if on_progress and (job.status, job.progress, job.raw_status) != before:
                on_progress(job)
        return job

    async def download(
        self,
        job: Job | str,
        out: str | os.PathLike[str] | None = None,
        *,
        on_bytes: ByteProgress | None = None,
        variant: str = "video",
    ) -> Job:
        core = self._core
        job = core.job(job)
        asset, request, spec = download_target(core, job, variant)
        expect: Expect = "video" if asset.kind == "video" else "image"
        path = core.out_path(job, out, asset)
        got = await download_async(
            self._http, request, path, spec.provider, on_bytes, expect=expect, transform=transform_for(spec, asset)
        )
        if expect == "video":
            described = await asyncio.to_thread(describe_asset, asset, got, job.request, core.expected_duration(job))
        else:
            described = file_facts(asset, got)
        assets = [described if a is asset else a for a in job.assets]
        return core.record(job.model_copy(update={"assets": assets, "updated_at": utcnow()}))

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

    # -------------------------------------------------------------- remix, list, delete (OpenAI-format videos)

    async def remix(self, job: Job | str, prompt: str) -> Job:
        core = self._core
        source, spec, dialect, conn = remix_plan(core, job, prompt)
        assert source.provider_task_id is not None
        flow = dialect.remix(source.provider_task_id, prompt, source.request, spec, conn)
        new = remix_job(core, source, prompt)
        try:
            update = await run_async(self._http, flow)
        except TransportError as exc:
            if not isinstance(exc.__cause__, httpx.ConnectError):
                core.unknown_outcome(new, exc)
            raise
        return core.accepted(new, update)

    async def list_videos(
        self, where: str, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoPage:
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
