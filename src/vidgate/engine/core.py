"""What every job operation shares: configuration, checking and durable job bookkeeping.

No network I/O happens here. Every job change goes through the store (compare-and-set), so a job
submitted by one process can be polled, downloaded and watched by another, and exactly one writer
moves a job into a final state — which is when the ``completed`` / ``failed`` event fires.

A job is bound to the endpoint it was created for (``vidgate.engine.endpoints``).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog import Catalog, ModelSpec, load_catalog
from vidgate.catalog.validate import Change, assign_roles, check, effective_duration, exact, field_value, matches
from vidgate.catalog.validate import fit as fit_request
from vidgate.characters import apply_characters
from vidgate.engine.budget import Budgets
from vidgate.engine.endpoints import Endpoints, ProviderSettings, Route, key_fingerprint
from vidgate.engine.jobs import apply_update
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy, expected_latency, next_delay, policy_from_env
from vidgate.errors import (
    AuthenticationError,
    ProviderHTTPError,
    ProviderServerError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from vidgate.net.ssrf import FetchPolicy
from vidgate.problems import problems_of
from vidgate.providers import Connection, Dialect, JobUpdate, Prepared, get_dialect
from vidgate.providers._base import ChunkTransform
from vidgate.storage import LocalStorage, ResultStorage
from vidgate.store import JobStore, MemoryStore, StaleJobError
from vidgate.store.errors import JobNotFoundError
from vidgate.types import (
    Asset,
    ErrorCode,
    Job,
    JobError,
    JobEvent,
    JobStatus,
    VideoRequest,
    utcnow,
)

_REQUEST_FIELDS = set(VideoRequest.model_fields)
TRANSIENT_RETRY_S = 5.0
CREATE_RETRY_S = 10.0
MAX_CREATE_ATTEMPTS = 5
RECONCILE_AFTER_S = 120.0  # a crashed create is looked at again after this (dedup dialects / opted-in jobs)
QUEUE_ALLOWANCE = 3.0  # a job may wait in the provider's queue this many deadlines before it expires
EXTENSIONS = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "video/mp4": "mp4"}
EventListener = Callable[[JobEvent], None]
Operation = Literal["create", "status", "download", "cancel", "remix", "delete", "list", "character", "models"]


@dataclass(frozen=True)
class CallEvent:
    """One exchange with a provider, for metrics: what, with whom, how long, and how it ended."""

    operation: Operation
    provider: str
    seconds: float
    outcome: str  # the job's status after it (creates), "ok", or the error's class name


CallListener = Callable[[CallEvent], None]


@dataclass
class Submission:
    """A checked request, ready to send, with what vidgate noticed on the way."""

    prepared: Prepared
    dialect: Dialect
    connection: Connection
    warnings: list[str]
    changes: list[Change]
    job_fields: dict[str, Any] = field(default_factory=dict)  # extra Job fields set at creation (owner...)
    route: str | None = None
    created: bool | None = None  # after a send: False when its idempotency key had a job already


class Core:
    """Configuration, checking, and every job transition (persisted through the store)."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        providers: Mapping[str, ProviderSettings] | None = None,
        routes: Iterable[Route] = (),
        catalog: Catalog | None = None,
        env: Mapping[str, str] | None = None,
        allow_retired: bool = False,
        poll_policy: PollPolicy = DEFAULT_POLICY,
        clock: Callable[[], float],
        rand: Callable[[], float],
        store: JobStore | None = None,
        downloads_dir: str | os.PathLike[str] | None = None,
        budgets: Budgets | None = None,
        storage: ResultStorage | None = None,
        callback_urls: Mapping[str, Callable[[str], str]] | None = None,
        allow_image_hosts: Iterable[str] = (),
    ) -> None:
        self.catalog = catalog or load_catalog()
        self.env = os.environ if env is None else env
        self.endpoints = Endpoints(
            self.catalog, self.env, base_url=base_url, api_key=api_key, providers=providers, routes=routes
        )
        self.allow_retired = allow_retired
        self.poll_policy = policy_from_env(self.env, poll_policy)  # VIDGATE_POLL_TIME_SCALE (emulators)
        self.clock = clock
        self.rand = rand
        self.store: JobStore = store if store is not None else MemoryStore()
        self.downloads_dir = Path(downloads_dir).resolve() if downloads_dir is not None else None
        self.budgets = budgets or Budgets()
        # where results go when no file is asked for: None or a directory = files under downloads_dir (as
        # always); an object store = streamed straight into it (vidgate.storage)
        self.storage = storage
        # Image URLs for models that only take bytes are downloaded through the SSRF guard; these hosts skip
        # its address check (redirects from them are still checked).
        self.fetch_policy = FetchPolicy.allowing(allow_image_hosts)
        self.listeners: list[EventListener] = []
        self.call_listeners: list[CallListener] = []
        # provider name -> (job id -> the per-job callback URL sent with its create), see attach_callback
        self.callback_urls = dict(callback_urls or {})
        self._hints: dict[str, float | None] = {}  # the provider's last poll-after hint per job, seconds
        self._seen: dict[str, tuple[int, JobStatus, int]] = {}  # version, status, progress last read or written
        self._wall0, self._mono0 = utcnow(), clock()

    # -------------------------------------------------------------- time

    def now(self) -> datetime:
        """Wall time driven by the injected clock, so tests that fake the clock fake persisted times too."""
        return self._wall0 + timedelta(seconds=self.clock() - self._mono0)

    def seconds_until(self, when: datetime | None) -> float:
        return 0.0 if when is None else max(0.0, (when - self.now()).total_seconds())

    # -------------------------------------------------------------- endpoints

    def connection(self, spec: ModelSpec, route: str | None = None) -> Connection:
        """Where a new job of ``spec`` goes (its provider's endpoint, or ``route``'s)."""
        return self.endpoints.connection(self.catalog.provider_of(spec), route)

    def connection_for(self, job: Job) -> Connection:
        """The connection of the endpoint ``job`` was created for (``EndpointMismatchError`` otherwise)."""
        return self.endpoints.connection_for(job)

    # -------------------------------------------------------------- checking

    def build_request(self, prompt: str | None, request: VideoRequest | None, fields: dict[str, Any]) -> VideoRequest:
        """The request from the caller's arguments; a wrong type is a ``ValidationError`` naming each field."""
        unknown = set(fields) - _REQUEST_FIELDS
        if unknown:
            raise TypeError(f"unknown request field(s) {sorted(unknown)}; known: {sorted(_REQUEST_FIELDS)}")
        try:
            if request is not None:
                return VideoRequest.model_validate({**request.model_dump(), **fields}) if fields else request
            return VideoRequest(prompt=prompt if prompt is not None else "", **fields)
        except PydanticValidationError as exc:
            model = str(fields.get("model") or (request.model if request else "") or "")
            raise ValidationError(problems_of(exc), model) from None

    def prepare(
        self,
        request: VideoRequest,
        *,
        fit: bool = False,
        idempotency_key: str | None = None,
        route: str | None = None,
        characters: Iterable[str] | None = None,
    ) -> Submission:
        """Check the request (every problem at once) and resolve where it goes. No I/O. ``characters``: the
        usernames this caller may mention (default: the local registry's; the gateway passes the key's own)."""
        spec = self.catalog.resolve(request.model)
        request, character_problems = apply_characters(request, spec.characters.supported, self.env, characters)
        changes: list[Change] = []
        if fit:
            request, changes = fit_request(request, spec)
        request = exact(request, spec)
        dialect = get_dialect(spec.dialect)
        report = check(request, spec, options_model=dialect.Options, allow_retired=self.allow_retired)
        if not any(p.field == "options" or p.field.startswith("options.") for p in report.problems):
            # a dialect's own checks read its options: only once they are known to be valid
            report.problems.extend(dialect.preflight(request, spec, report.images))
        report.problems[:0] = character_problems
        if not report.ok:
            raise ValidationError(report.problems, spec.key)
        connection = self.connection(spec, route)
        prepared = Prepared(
            request=request,
            spec=spec,
            images=report.images,
            roles=assign_roles(report.images, spec),
            idempotency_key=idempotency_key or uuid.uuid4().hex,
        )
        warnings = report.warnings + [f"fit: {c.explain()}" for c in changes]
        return Submission(prepared, dialect, connection, warnings, changes, route=route)

    def resubmission(self, job: Job) -> Submission:
        """The stored job's request, checked again, for the endpoint it was created for (its own key)."""
        self.connection_for(job)  # refuse another endpoint before anything else
        request = job.request or VideoRequest(prompt="", model=job.model)
        sub = self.prepare(request, idempotency_key=job.idempotency_key, route=job.route)
        self.attach_callback(sub, job.id)  # a job queued elsewhere gets this process's callback URL
        return sub

    # -------------------------------------------------------------- the store

    def new_job(self, sub: Submission, *, resubmit_if_unknown: bool = False, due: bool = False) -> tuple[Job, bool]:
        """Persist the job row *before* the provider call. ``created=False``: the key had a job already."""
        spec = sub.prepared.spec
        now = self.now()
        job_id = "job_" + uuid.uuid4().hex[:24]
        self.attach_callback(sub, job_id)
        conn = sub.connection
        job = Job(
            id=job_id,
            provider=spec.provider,
            model=spec.key,
            request=sub.prepared.request,
            idempotency_key=sub.prepared.idempotency_key,
            warnings=sub.warnings,
            base_url=conn.base_url,
            credentials_ref=conn.credentials_ref,
            route=sub.route,
            resubmit_if_unknown=resubmit_if_unknown,
            next_poll_at=now if due else None,
            created_at=now,
            updated_at=now,
        )
        if sub.job_fields:
            job = job.model_copy(update=sub.job_fields)
        result = self.store.create(job)
        if result.created:
            self.emit("created", result.job)
        return self._remember(result.job), result.created

    def attach_callback(self, sub: Submission, job_id: str) -> None:
        """Put the job's own callback URL (``callback_urls[provider](job_id)``, e.g. a webhook receiver's relay
        notify URL) into the create, when the model takes a per-request callback and the caller set none."""
        prepared = sub.prepared
        make = self.callback_urls.get(prepared.spec.provider)
        if make is None or prepared.request.webhook_url or "webhook" not in prepared.spec.results.delivery:
            return
        request = prepared.request.model_copy(update={"webhook_url": make(job_id)})
        sub.prepared = replace(prepared, request=request)

    def create(self, job: Job) -> Job:
        return self._remember(self.store.create(job).job)

    def job(self, job: Job | str) -> Job:
        """The stored job (the store is the truth); a ``Job`` never stored is returned as given."""
        job_id = job.id if isinstance(job, Job) else job
        try:
            return self._remember(self.store.get(job_id))
        except JobNotFoundError:
            if isinstance(job, Job):
                return job
            raise

    def adopt(self, job: Job) -> Job:
        """Take ``job`` as the stored one without reading it (it was just read, e.g. claimed by a worker). A
        stale one cannot do harm: its save fails the store's version check and the stored job wins."""
        return self._remember(job)

    def _remember(self, job: Job) -> Job:
        self._seen[job.id] = (job.version, job.status, job.progress)
        return job

    def record(self, job: Job, *, quiet: bool = False) -> Job:
        """Save ``job``; when another process got there first, the stored job wins and is returned.

        Fires ``completed`` / ``failed`` when this save is the one that made the job final (the store's
        compare-and-set lets exactly one writer do that), and ``progress`` when status or progress moved.
        """
        seen = self._seen.get(job.id)
        if seen is None or seen[0] != job.version:
            try:
                stored = self.store.get(job.id)
                seen = (stored.version, stored.status, stored.progress)
            except JobNotFoundError:
                seen = None
        try:
            saved = self._remember(self.store.save(job))
        except StaleJobError:
            return self.job(job.id)
        if seen is not None and not quiet:
            _, status, progress = seen
            if not status.terminal and saved.status.terminal:
                self.emit("completed" if saved.status is JobStatus.succeeded else "failed", saved)
            elif (status, progress) != (saved.status, saved.progress):
                self.emit("progress", saved)
        return saved

    def emit(self, kind: str, job: Job) -> None:
        event = JobEvent(kind=kind, job=job, at=self.now())  # type: ignore[arg-type]
        for listener in list(self.listeners):
            listener(event)

    def observe(self, operation: Operation, provider: str, started: float, outcome: str) -> None:
        """Tell the call listeners (metrics) about one exchange with a provider that began at ``started``."""
        if self.call_listeners:
            event = CallEvent(operation, provider, max(0.0, self.clock() - started), outcome)
            for listener in list(self.call_listeners):
                listener(event)

    def spec_of(self, job: Job) -> ModelSpec:
        return self.catalog.resolve(job.model)

    # -------------------------------------------------------------- submit outcomes

    def sending(self, job: Job) -> Job:
        """Recorded just before a create leaves: the job is ``unknown`` until the answer is recorded, so a crash
        in between leaves it for reconciliation (or a person), never for a blind resubmit."""
        now = self.now()
        dialect, provider = get_dialect(self.spec_of(job).dialect), self.catalog.providers[job.provider]
        retry = dialect.dedups_creates or dialect.finds_by_key(provider) or job.resubmit_if_unknown
        return self.record(
            job.model_copy(
                update={
                    "status": JobStatus.unknown,
                    "submit_attempts": job.submit_attempts + 1,
                    "updated_at": now,
                    "next_poll_at": now + timedelta(seconds=RECONCILE_AFTER_S) if retry else None,
                }
            ),
            quiet=True,
        )

    def accepted(self, job: Job, update: JobUpdate) -> Job:
        job = apply_update(job.model_copy(update={"submitted_at": self.now(), "error": None}), update, self.now())
        self.note_hint(job, update)
        return self.record(self.scheduled(job, update.poll_after))

    def create_failed(self, job: Job, exc: Exception) -> Job:
        """After a create raised: refused for sure, not sent at all (retry later), or unknown (never resubmit)."""
        now = self.now()
        if isinstance(exc, ProviderHTTPError) and not isinstance(exc, RateLimitError | ProviderServerError):
            code = ErrorCode.auth if isinstance(exc, AuthenticationError) else ErrorCode.invalid_request
            error = JobError(code=code, message=str(exc), retryable=False, raw=exc.body)
            return self.record(apply_update(job, JobUpdate(status=JobStatus.failed, error=error), now))
        not_sent = isinstance(exc, RateLimitError) or (isinstance(exc, TransportError) and exc.not_sent)
        if not_sent:
            if job.submit_attempts >= MAX_CREATE_ATTEMPTS:
                error = JobError(code=ErrorCode.rate_limited, message=f"create refused: {exc}", retryable=True)
                return self.record(apply_update(job, JobUpdate(status=JobStatus.failed, error=error), now))
            wait = exc.retry_after if isinstance(exc, RateLimitError) and exc.retry_after else CREATE_RETRY_S
            error = JobError(
                code=ErrorCode.rate_limited, message=f"not accepted yet ({exc}); will retry", retryable=True
            )
            return self.record(job.model_copy(update={"status": JobStatus.pending, "error": error, "updated_at": now,
                                                      "next_poll_at": now + timedelta(seconds=wait)}))  # fmt: skip
        return self.unknown_outcome(job, exc)

    def duplicate_create(self, job: Job, exc: Exception) -> Job:
        """The provider says it already has our create (same idempotency key) but not under which task id."""
        return self.unknown_outcome(
            job, f"the provider already has this request ({exc}) but did not say its task id", retry=False
        )

    def unknown_outcome(self, job: Job, exc: Exception | str, *, retry: bool | None = None) -> Job:
        """A create that may or may not have reached the provider. Never resubmitted blindly: a dialect that
        deduplicates creates by our key is asked again; a job that opted in is resubmitted; others wait for a
        person (``vidgate jobs list --status unknown``)."""
        now = self.now()
        dialect = get_dialect(self.spec_of(job).dialect)
        finds = dialect.finds_by_key(self.catalog.providers[job.provider])
        if retry is None:
            retry = dialect.dedups_creates or finds or job.resubmit_if_unknown
        how = (
            "check the provider's console, then `vidgate jobs retry` or `vidgate jobs cancel`"
            if not retry
            else "vidgate will ask again with the same idempotency key (the provider deduplicates)"
            if dialect.dedups_creates
            else "vidgate will look it up by its idempotency key and send it again only if the provider has none"
            if finds
            else "it will be resubmitted (opted in; may be paid twice)"
        )
        error = JobError(code=ErrorCode.provider_error, message=f"submit outcome unknown ({exc}); {how}")
        job = job.model_copy(
            update={
                "status": JobStatus.unknown,
                "updated_at": now,
                "error": error,
                "next_poll_at": now + timedelta(seconds=CREATE_RETRY_S) if retry else None,
            }
        )
        saved = self.record(job)
        self.emit("unknown", saved)
        return saved

    # -------------------------------------------------------------- polling

    def note_hint(self, job: Job, update: JobUpdate) -> None:
        self._hints[job.id] = update.poll_after

    def server_hint(self, job: Job) -> float | None:
        """The provider's own poll-after hint from its last answer (e.g. ``openai-poll-after-ms``), once."""
        return self._hints.pop(job.id, None)

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

    def running_for(self, job: Job) -> float:
        """Seconds since the provider started rendering (or accepted the job): queued time does not count."""
        since = job.started_at or job.submitted_at or job.created_at
        return max(0.0, (self.now() - since).total_seconds())

    def _deadline(self, job: Job, timeout: float | None) -> tuple[float, float]:
        """(the limit in seconds, seconds used against it). Queued jobs get ``QUEUE_ALLOWANCE`` deadlines."""
        deadline = timeout if timeout is not None else self.spec_of(job).deadline_s
        if job.started_at is not None or job.status is JobStatus.running:
            return deadline, self.running_for(job)
        waited = (self.now() - (job.submitted_at or job.created_at)).total_seconds()
        return (deadline if timeout is not None else deadline * QUEUE_ALLOWANCE), waited

    def overdue(self, job: Job, timeout: float | None = None) -> float | None:
        """The deadline that passed, or None."""
        limit, used = self._deadline(job, timeout)
        return limit if used >= limit else None

    def time_left(self, job: Job, timeout: float | None = None) -> float:
        limit, used = self._deadline(job, timeout)
        return max(0.0, limit - used)

    def delay(self, job: Job, hint: float | None) -> float:
        """The policy sees time since submit (the provider renders from then on, as far as we can tell);
        only the deadline leaves queued time out."""
        since = job.submitted_at or job.created_at
        return next_delay(
            typical_latency_s=self.latency(job),
            elapsed_s=max(0.0, (self.now() - since).total_seconds()),
            attempt=job.polls,
            server_hint_s=hint,
            rand=self.rand(),
            policy=self.poll_policy,
            webhook=self.has_webhook(job),
        )

    def has_webhook(self, job: Job) -> bool:
        """The provider will call back for this job (a callback URL went with the create): poll only as a
        safety net (see engine.polling)."""
        return bool(job.request and job.request.webhook_url) and "webhook" in self.spec_of(job).results.delivery

    def scheduled(self, job: Job, hint: float | None = None) -> Job:
        """``job`` with ``next_poll_at`` set: the next status check, a download now, or nothing when done."""
        if job.done:
            when = None
        elif job.status.terminal:
            when = self.now()  # succeeded, video not saved yet: download
        else:
            when = self.now() + timedelta(seconds=self.delay(job, hint))
        return job.model_copy(update={"next_poll_at": when})

    def polled(self, job: Job, update: JobUpdate) -> Job:
        job = apply_update(job.model_copy(update={"polls": job.polls + 1}), update, self.now())
        return self.record(self.scheduled(job, update.poll_after))

    def poll_failed(self, job: Job, exc: Exception) -> Job:
        """A status check that failed for a passing reason (429, 5xx, network) is simply tried again later."""
        wait = transient_delay(exc)
        if wait is None:
            raise exc
        floor = self.delay(job, None)
        return self.record(job.model_copy(update={"next_poll_at": self.now() + timedelta(seconds=max(wait, floor))}))

    def expire(self, job: Job, deadline: float) -> Job:
        error = JobError(
            code=ErrorCode.timeout,
            message=f"no final state after {deadline:g} s (raw status {job.raw_status!r}); the provider task "
            f"{job.provider_task_id} may still finish there; `vidgate jobs retry {job.id}` submits a new job",
            retryable=True,
        )
        job = apply_update(job, JobUpdate(status=JobStatus.expired, error=error), self.now())
        return self.record(job.model_copy(update={"next_poll_at": None}))

    def cancelled(self, job: Job, update: JobUpdate) -> Job:
        """Apply a cancel's answer; a provider that only acknowledged leaves the job to the next status check."""
        return self.record(apply_update(job, update, self.now()))

    def cancel_locally(self, job: Job, reason: str, *, provider_may_bill: bool) -> Job:
        """Stop tracking a job the provider cannot cancel (or never accepted); it is ``cancelled`` here.
        ``provider_may_bill``: its create left (or may have), so the provider may still make the video."""
        error = JobError(code=ErrorCode.cancelled, message=reason)
        job = apply_update(job, JobUpdate(status=JobStatus.cancelled, error=error), self.now())
        return self.record(job.model_copy(update={"next_poll_at": None, "cancel_unconfirmed": provider_may_bill}))

    def abandon_emulator_jobs(self, emulator_url: str, emulator_key: str) -> list[Job]:
        """Cancel the unfinished jobs of a built-in emulator that is gone (an earlier ``vidgate serve --emulator``
        run: each run's emulator has its own loopback port and keeps its jobs in memory): no process can ever
        finish them, and nothing was billed. Recognised by the emulator key's fingerprint on a loopback URL
        other than ``emulator_url``."""
        ref, here = key_fingerprint(emulator_key), emulator_url.rstrip("/")
        open_statuses = [s for s in JobStatus if not s.terminal]
        abandoned: list[Job] = []
        cursor: str | None = None
        while True:
            page = self.store.list_jobs(status=open_statuses, limit=200, cursor=cursor)
            for job in page.jobs:
                url = (job.base_url or "").rstrip("/")
                if job.credentials_ref != ref or not url or url == here or not _loopback(url):
                    continue
                reason = "cancelled: the built-in emulator that had this job stopped with an earlier run"
                try:
                    abandoned.append(self.cancel_locally(job, reason, provider_may_bill=False))
                except StaleJobError:
                    continue  # changed meanwhile: left as it is
            if page.next_cursor is None:
                return abandoned
            cursor = page.next_cursor

    # -------------------------------------------------------------- downloads

    def out_path(self, job: Job, out: str | os.PathLike[str] | None, asset: Asset | None = None) -> Path:
        """``out`` when given; else where the job was asked to be saved (``Job.out``, when that directory exists
        here: a worker on another machine uses its own); else a sanitised name inside the downloads directory
        (never outside it). Always absolute: the stored path means the same file from any directory."""
        if out is not None:
            return Path(out).absolute()
        if job.out and (asset is None or asset.kind == "video") and Path(job.out).parent.is_dir():
            return Path(job.out)
        base = self.downloads_dir or Path.cwd()
        if asset is not None and asset.kind != "video":
            name = f"{job.id}.{asset.kind}.{EXTENSIONS.get(asset.mime_type or '', 'bin')}"
        else:
            name = f"{job.id}.mp4"
        return safe_join(base, name)

    def object_target(
        self, job: Job, out: str | os.PathLike[str] | None, asset: Asset
    ) -> tuple[ResultStorage, str] | None:
        """(object storage, key) when ``asset`` goes into an object store rather than a file: no ``out``, no
        file the job asked for, and an object store configured. The key is the job's own on every worker."""
        storage = self.storage
        if out is not None or storage is None or isinstance(storage, LocalStorage):
            return None
        asked = getattr(job, "out", None)  # a file the job was asked to be saved to, where it can be made here
        if asset.kind == "video" and asked and Path(asked).parent.is_dir():
            return None
        extension = "mp4" if asset.kind == "video" else EXTENSIONS.get(asset.mime_type or "", "bin")
        return storage, storage.key_for(job.id, asset.kind, extension)

    def stored_key(self, asset: Asset) -> tuple[ResultStorage, str] | None:
        """(object storage, key) of an asset saved in this process's object store and still there."""
        storage = self.storage
        if storage is None or isinstance(storage, LocalStorage) or asset.path is None or asset.removed_at:
            return None
        key = storage.key_of(asset.path)
        return None if key is None else (storage, key)

    def expected_duration(self, job: Job) -> float | None:
        """The length the video should have, to check it against (None: nothing to hold it to). A default the
        catalog marks unconfirmed is not held against the provider when the caller named no duration."""
        if job.request is None:
            return None
        spec = self.spec_of(job)
        if job.request.duration is None and {"duration", "duration.default"} & set(spec.unconfirmed):
            return None
        return effective_duration(job.request, spec)

    def refreshed(self, job: Job, update: JobUpdate) -> Job:
        """A finished job with the fresh result URLs a new status answer carries (the old ones expired)."""
        fresh = {a.kind: a for a in update.assets}
        assets = [
            a.model_copy(update={"url": fresh[a.kind].url, "expires_at": fresh[a.kind].expires_at})
            if a.kind in fresh and a.path is None
            else a
            for a in job.assets
        ]
        return self.record(job.model_copy(update={"assets": assets, "updated_at": self.now()}))

    def download_started(self, job: Job, asset: Asset) -> None:
        self.store.record_event(job.id, "download_started", at=self.now(), detail={"kind": asset.kind})

    def downloaded(self, job: Job, old: Asset, new: Asset) -> Job:
        self.store.record_event(
            job.id, "download_completed", at=self.now(), detail={"kind": new.kind, "bytes": new.size_bytes}
        )
        assets = [new if a is old else a for a in job.assets]
        job = job.model_copy(update={"assets": assets, "updated_at": self.now()})
        saved = self.record(job.model_copy(update={"next_poll_at": None} if job.done else {}))
        if new.kind == "video":
            self.emit("downloaded", saved)
        return saved


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_join(directory: Path, name: str) -> Path:
    """``directory/name`` with ``name`` reduced to safe characters; refuses anything resolving outside."""
    clean = _UNSAFE.sub("_", name).lstrip(".") or "video.mp4"
    path = (directory / clean).resolve()
    if directory.resolve() not in path.parents:
        raise ValueError(f"refusing to write {name!r} outside {directory}")
    return path


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


def transient_delay(exc: Exception) -> float | None:
    """How long to wait before retrying a status check that failed, or None when it must not be retried."""
    if isinstance(exc, RateLimitError):
        return exc.retry_after if exc.retry_after is not None else TRANSIENT_RETRY_S
    if isinstance(exc, ProviderServerError | TransportError):
        return TRANSIENT_RETRY_S
    return None


def _loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in ("127.0.0.1", "localhost", "::1")
