"""``Client`` and ``AsyncClient``: the one public entry point, two thin faces of one engine.

    with Client() as client:                      # VIDGATE_RELAY_BASE_URL / VIDGATE_RELAY_API_KEY
        job = client.generate("a lighthouse at dawn", model="sora-2", duration=10,
                              aspect_ratio="16:9", out="lighthouse.mp4")

Every method runs one job operation of ``vidgate.engine.ops`` — written once, as a sans-IO step generator —
with the blocking driver (``Client``) or the asyncio one (``AsyncClient``), so the two cannot drift (a test
compares their signatures). ``AsyncClient`` is what ``vidgate worker`` and the gateway run on.

Jobs live in a store (``store=``: in memory by default, or a SQLite path / PostgreSQL URL shared with
``vidgate worker`` processes). The job row is written before the provider is called, so a crash never
leads to a paid job being submitted twice. Each job is bound to the endpoint it was created for (provider,
base URL, credential name) and is never sent anywhere else.

Webhooks: ``callback_urls={"relay": lambda job_id: receiver.notify_url(public_url, job_id)}`` sends each job
of that provider with its own callback URL (for models whose catalog entry lists ``webhook`` delivery);
polling then only backs the callback up (``vidgate serve --public-url`` wires this up for you).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx

from vidgate.assists import Frame, Plan
from vidgate.assists import run as assists
from vidgate.catalog import Catalog
from vidgate.characters import CharacterRegistry
from vidgate.engine import ops
from vidgate.engine.core import CallListener, Core, Submission
from vidgate.engine.download import ByteProgress
from vidgate.engine.endpoints import ProviderSettings, Route
from vidgate.engine.ops.submit import ProgressCallback
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.engine.runtime import AsyncEngine
from vidgate.engine.shared_budget import budgets_for
from vidgate.net.drive import AsyncDriver, BlockingDriver
from vidgate.net.steps import Steps
from vidgate.net.transport import AiohttpSender, AsyncSender, HttpxSender
from vidgate.providers._base import VideoPage
from vidgate.providers.remote_models import Discovery
from vidgate.storage import LocalStorage, ResultStorage, open_storage
from vidgate.store import JobStore, open_store
from vidgate.types import Character, ImageLike, Job, JobEvent, Verdict, VideoRequest

__all__ = ["AsyncClient", "Client", "ProviderSettings", "Route", "Submission"]

T = TypeVar("T")
PathLike = str | os.PathLike[str]


class _Shared:
    """Configuration and the local, synchronous reads both clients offer (no I/O to a provider here)."""

    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None,
        providers: Mapping[str, ProviderSettings] | None,
        routes: Iterable[Route],
        catalog: Catalog | None,
        env: Mapping[str, str] | None,
        allow_retired: bool,
        poll_policy: PollPolicy,
        clock: Callable[[], float],
        rand: Callable[[], float],
        allow_image_hosts: Iterable[str],
        store: JobStore | PathLike | None,
        downloads_dir: PathLike | None,
        rate_limits: Mapping[str, float] | None,
        callback_urls: Mapping[str, Callable[[str], str]] | None,
        storage: ResultStorage | PathLike | None = None,
        shared_rate_limits: bool | None = None,
    ) -> None:
        jobs = open_store(store) if isinstance(store, str | os.PathLike) else store
        results = open_storage(storage, env) if isinstance(storage, str | os.PathLike) else storage
        if isinstance(results, LocalStorage) and downloads_dir is None:
            downloads_dir = results.directory
        self._core = Core(
            base_url=base_url,
            api_key=api_key,
            providers=providers,
            routes=routes,
            catalog=catalog,
            env=env,
            allow_retired=allow_retired,
            poll_policy=poll_policy,
            clock=clock,
            rand=rand,
            store=jobs,
            downloads_dir=downloads_dir,
            budgets=budgets_for(jobs, rate_limits, shared=shared_rate_limits, clock=clock),
            storage=results,
            callback_urls=callback_urls,
            allow_image_hosts=allow_image_hosts,
        )

    @property
    def catalog(self) -> Catalog:
        return self._core.catalog

    @property
    def store(self) -> JobStore:
        return self._core.store

    def on_event(self, listener: Callable[[JobEvent], None]) -> None:
        """Call ``listener`` for every progress, completed, failed, downloaded and unknown event."""
        self._core.listeners.append(listener)

    def on_call(self, listener: CallListener) -> None:
        """Call ``listener`` after every exchange with a provider (create, status, download...): metrics."""
        self._core.call_listeners.append(listener)

    def now(self) -> datetime:
        """The client's wall clock (driven by the injected ``clock``): what leases and schedules use."""
        return self._core.now()

    def job(self, job_id: str) -> Job:
        """The job as stored (``JobNotFoundError`` when there is none); a local read."""
        return self._core.job(job_id)

    def abandon_emulator_jobs(self, emulator_url: str, emulator_key: str) -> list[Job]:
        """Cancel the unfinished jobs of a built-in emulator that is gone (see ``Core.abandon_emulator_jobs``)."""
        return self._core.abandon_emulator_jobs(emulator_url, emulator_key)

    def endpoints(self) -> dict[str, str]:
        """The endpoints this client can drive jobs of (``Job.endpoint`` -> description); a local answer."""
        return self._core.endpoints.keys()

    def characters(self) -> list[Character]:
        """The characters created on this machine (``$VIDGATE_HOME/characters.json``; no network)."""
        return CharacterRegistry.at_home(self._core.env).all()

    def _remember(self, character: Character, save: bool) -> Character:
        return CharacterRegistry.at_home(self._core.env).add(character) if save else character


class Client(_Shared):
    """Blocking client (scripts, notebooks). Configuration from arguments, else ``VIDGATE_<PROVIDER>_*``."""

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
        timeout: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = time.sleep,
        rand: Callable[[], float] = random.random,
        allow_image_hosts: Iterable[str] = (),
        store: JobStore | PathLike | None = None,
        downloads_dir: PathLike | None = None,
        rate_limits: Mapping[str, float] | None = None,
        callback_urls: Mapping[str, Callable[[str], str]] | None = None,
        storage: ResultStorage | PathLike | None = None,
        shared_rate_limits: bool | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            providers=providers,
            routes=routes,
            catalog=catalog,
            env=env,
            allow_retired=allow_retired,
            poll_policy=poll_policy,
            clock=clock,
            rand=rand,
            allow_image_hosts=allow_image_hosts,
            store=store,
            downloads_dir=downloads_dir,
            rate_limits=rate_limits,
            storage=storage,
            shared_rate_limits=shared_rate_limits,
            callback_urls=callback_urls,
        )
        http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=True)
        self._driver = BlockingDriver(http, sleep=sleep)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._driver.close()

    def _run(self, steps: Steps[T]) -> T:
        return self._driver.run(steps)

    # -------------------------------------------------------------- submitting

    def prepare(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        route: str | None = None,
        allowed_characters: Iterable[str] | None = None,
        **fields: Any,
    ) -> Submission:
        """Check a request completely without sending it (``ValidationError`` lists every problem). Image URLs
        for models that only take bytes are downloaded here (SSRF-guarded) and checked as files.
        ``allowed_characters``: the usernames this request may use (default: the local registry's characters)."""
        return self._run(
            ops.prepare(self._core, prompt, request, fields, fit=fit, route=route, characters=allowed_characters)
        )

    def submit(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        on_progress: ProgressCallback | None = None,
        route: str | None = None,
        **fields: Any,
    ) -> Job:
        """Check, persist, then send. The same ``idempotency_key`` twice returns the same job, one provider call."""
        return self._run(
            ops.submit(
                self._core,
                prompt,
                request,
                fields,
                fit=fit,
                idempotency_key=idempotency_key,
                route=route,
                resubmit_if_unknown=resubmit_if_unknown,
                on_progress=on_progress,
            )
        )

    def enqueue(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        route: str | None = None,
        **fields: Any,
    ) -> Job:
        """Check and persist only: a ``vidgate worker`` configured for the same endpoint sends it."""
        return self._run(
            ops.submit(
                self._core, prompt, request, fields, fit=fit, idempotency_key=idempotency_key, route=route, queue=True
            )
        )

    def send(
        self,
        sub: Submission,
        *,
        on_progress: ProgressCallback | None = None,
        resubmit_if_unknown: bool = False,
        queue: bool = False,
    ) -> Job:
        """Send a checked request (from ``prepare``); ``queue=True`` persists it for a worker to send."""
        return self._run(
            ops.send(self._core, sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown, queue=queue)
        )

    def retry(self, job: Job | str) -> Job:
        """Your decision on a job: an ``unknown`` one is sent again now (may be paid twice); a failed, expired or
        cancelled one becomes a new job with the same request on the same endpoint."""
        return self._run(ops.retry(self._core, job))

    # -------------------------------------------------------------- running

    def get(self, job: Job | str) -> Job:
        """One status check (rate-limited by the provider's budget)."""
        return self._run(ops.status(self._core, self._core.job(job)))

    def advance(self, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Job:
        """One unit of work: (re)send a pending create, reconcile, poll, expire, or save the finished video."""
        return self._run(ops.advance(self._core, job, download=download, on_bytes=on_bytes))

    def wait(self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None) -> Job:
        """Poll until the job is final or its deadline (the model's, or ``timeout``) passes -> ``expired``."""
        return self._run(ops.wait(self._core, job, timeout=timeout, on_progress=on_progress))

    def download(
        self,
        job: Job | str,
        out: PathLike | None = None,
        *,
        on_bytes: ByteProgress | None = None,
        variant: str = "video",
    ) -> Job:
        """Stream the finished video to ``out``, verify it is a video, probe it, record any mismatch.
        ``variant="thumbnail"`` / ``"spritesheet"`` fetch those images where the provider has them."""
        return self._run(ops.save(self._core, job, out, on_bytes=on_bytes, variant=variant))

    def generate(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        out: PathLike | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Job:
        """Submit, wait, download. Raises ``JobFailedError`` when the job does not succeed."""
        return self._run(
            ops.generate(
                self._core,
                prompt,
                request=request,
                fit=fit,
                idempotency_key=idempotency_key,
                resubmit_if_unknown=resubmit_if_unknown,
                out=out,
                on_progress=on_progress,
                on_bytes=on_bytes,
                timeout=timeout,
                fields=fields,
            )
        )

    # -------------------------------------------------------------- remix, list, delete, cancel

    def remix(self, job: Job | str, prompt: str) -> Job:
        """A new job: the finished ``job``'s video remixed with ``prompt``. Checked before any I/O."""
        return self._run(ops.remix(self._core, job, prompt))

    def list_videos(
        self, where: str, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoPage:
        """One page of the account's videos at a provider (``where``: provider name or model)."""
        return self._run(ops.list_videos(self._core, where, after=after, limit=limit, order=order))

    def delete(self, job: Job | str) -> bool:
        """Delete the job's video and its assets at the provider (download them first)."""
        return self._run(ops.delete(self._core, job))

    def cancel(self, job: Job | str) -> Job:
        """Stop a job: at the provider where its protocol can, otherwise here; a final job is returned as is."""
        return self._run(ops.cancel(self._core, job))

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
        route: str | None = None,
    ) -> Character:
        """Create a reusable character from a video URL *or* a finished task; checked before any I/O.

        ``timestamps`` is ``"start,end"`` in seconds (the relay allows a 1 to 3 s window); ``from_task`` is the
        provider's task id or a vidgate ``Job``. The character is saved in the local registry (``name`` is its
        local name for prompt templates such as ``"{cat} dances"``); mention it as ``@username``.
        """
        made = self._run(
            ops.create_character(
                self._core,
                timestamps=timestamps,
                url=url,
                from_task=from_task,
                name=name,
                model=model,
                provider=provider,
                route=route,
            )
        )
        return self._remember(made, save)

    def remote_models(self, provider: str | None = None) -> Discovery:
        """Ask the provider which models the account may use (``GET /v1/models``) and compare with the catalog."""
        return self._run(ops.remote_models(self._core, provider))

    # -------------------------------------------------------------- assists: plan, frame, review (chat models)

    def plan(
        self,
        idea: str,
        *,
        model: str,
        duration: float | None = None,
        aspect_ratio: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Plan:
        """Shots for ``idea`` that ``model`` can take, proposed by a chat model (JSON-schema answer) and checked by
        the catalog: repaired where it can be (each change in ``plan.repairs``), else ``PlanRefusedError``."""
        return self._run(
            assists.plan(
                self._core,
                idea,
                model=model,
                duration=duration,
                aspect_ratio=aspect_ratio,
                chat_model=chat_model,
                route=route,
            )
        )

    def frame(
        self,
        description: str,
        *,
        for_model: str,
        role: str = "first_frame",
        image: ImageLike | None = None,
        aspect_ratio: str | None = None,
        size: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Frame:
        """A reference image from the relay's image model (``image``: edit that one), fitted to ``for_model``'s
        aspect ratio, size and byte limits: pass ``frame.image()`` in ``images=``, or ``frame.save(path)``."""
        return self._run(
            assists.frame(
                self._core,
                description,
                for_model=for_model,
                role=role,
                image=image,
                aspect_ratio=aspect_ratio,
                size=size,
                chat_model=chat_model,
                route=route,
            )
        )

    def review(
        self,
        video: Job | PathLike,
        *,
        prompt: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Verdict:
        """A video-capable chat model's verdict on a video (a job, job id, URL or file) against ``prompt`` (a
        job's own by default); stored on the job, with its cost, when it is one."""
        return self._run(assists.review(self._core, video, prompt=prompt, chat_model=chat_model, route=route))

    def generate_assisted(
        self,
        prompt: str | None = None,
        *,
        plan: Plan | None = None,
        frames: Iterable[Frame] = (),
        review: bool | str = False,
        out: PathLike | None = None,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        **fields: Any,
    ) -> Job:
        """``generate`` with a plan's shots and frames as images (their costs recorded on the job), then, with
        ``review``, a verdict on the saved video (``job.review``)."""
        return self._run(
            assists.generate(
                self._core,
                prompt,
                plan=plan,
                frames=frames,
                review=review,
                out=out,
                timeout=timeout,
                on_progress=on_progress,
                on_bytes=on_bytes,
                fields=fields,
            )
        )


class AsyncClient(_Shared):
    """The same interface as ``Client`` for asyncio code; what the worker and the gateway run on. Store calls
    run inline (the store is local or a short query away)."""

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
        timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Any] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        allow_image_hosts: Iterable[str] = (),
        store: JobStore | PathLike | None = None,
        downloads_dir: PathLike | None = None,
        rate_limits: Mapping[str, float] | None = None,
        callback_urls: Mapping[str, Callable[[str], str]] | None = None,
        storage: ResultStorage | PathLike | None = None,
        shared_rate_limits: bool | None = None,
    ) -> None:
        super().__init__(
            base_url=base_url,
            api_key=api_key,
            providers=providers,
            routes=routes,
            catalog=catalog,
            env=env,
            allow_retired=allow_retired,
            poll_policy=poll_policy,
            clock=clock,
            rand=rand,
            allow_image_hosts=allow_image_hosts,
            store=store,
            downloads_dir=downloads_dir,
            rate_limits=rate_limits,
            storage=storage,
            shared_rate_limits=shared_rate_limits,
            callback_urls=callback_urls,
        )
        sender: AsyncSender = (
            AiohttpSender(timeout=timeout)
            if transport is None
            else HttpxSender(httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=True))
        )
        self._driver = AsyncDriver(sender, sleep=sleep)
        self.engine = AsyncEngine(self._core, self._driver)  # for vidgate.engine.worker.Worker

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._driver.aclose()

    async def _run(self, steps: Steps[T]) -> T:
        return await self._driver.run(steps)

    # -------------------------------------------------------------- submitting

    async def prepare(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        route: str | None = None,
        allowed_characters: Iterable[str] | None = None,
        **fields: Any,
    ) -> Submission:
        """See ``Client.prepare``."""
        return await self._run(
            ops.prepare(self._core, prompt, request, fields, fit=fit, route=route, characters=allowed_characters)
        )

    async def submit(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        on_progress: ProgressCallback | None = None,
        route: str | None = None,
        **fields: Any,
    ) -> Job:
        """See ``Client.submit``."""
        return await self._run(
            ops.submit(
                self._core,
                prompt,
                request,
                fields,
                fit=fit,
                idempotency_key=idempotency_key,
                route=route,
                resubmit_if_unknown=resubmit_if_unknown,
                on_progress=on_progress,
            )
        )

    async def enqueue(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        route: str | None = None,
        **fields: Any,
    ) -> Job:
        """See ``Client.enqueue``."""
        return await self._run(
            ops.submit(
                self._core, prompt, request, fields, fit=fit, idempotency_key=idempotency_key, route=route, queue=True
            )
        )

    async def send(
        self,
        sub: Submission,
        *,
        on_progress: ProgressCallback | None = None,
        resubmit_if_unknown: bool = False,
        queue: bool = False,
    ) -> Job:
        """See ``Client.send``."""
        return await self._run(
            ops.send(self._core, sub, on_progress=on_progress, resubmit_if_unknown=resubmit_if_unknown, queue=queue)
        )

    async def retry(self, job: Job | str) -> Job:
        """See ``Client.retry``."""
        return await self._run(ops.retry(self._core, job))

    # -------------------------------------------------------------- running

    async def get(self, job: Job | str) -> Job:
        """See ``Client.get``."""
        return await self._run(ops.status(self._core, self._core.job(job)))

    async def advance(self, job: Job | str, *, download: bool = True, on_bytes: ByteProgress | None = None) -> Job:
        """See ``Client.advance``."""
        return await self._run(ops.advance(self._core, job, download=download, on_bytes=on_bytes))

    async def wait(
        self, job: Job | str, *, timeout: float | None = None, on_progress: ProgressCallback | None = None
    ) -> Job:
        """See ``Client.wait``."""
        return await self._run(ops.wait(self._core, job, timeout=timeout, on_progress=on_progress))

    async def download(
        self,
        job: Job | str,
        out: PathLike | None = None,
        *,
        on_bytes: ByteProgress | None = None,
        variant: str = "video",
    ) -> Job:
        """See ``Client.download``."""
        return await self._run(ops.save(self._core, job, out, on_bytes=on_bytes, variant=variant))

    async def generate(
        self,
        prompt: str | None = None,
        *,
        request: VideoRequest | None = None,
        fit: bool = False,
        idempotency_key: str | None = None,
        resubmit_if_unknown: bool = False,
        out: PathLike | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        timeout: float | None = None,
        **fields: Any,
    ) -> Job:
        """See ``Client.generate``."""
        return await self._run(
            ops.generate(
                self._core,
                prompt,
                request=request,
                fit=fit,
                idempotency_key=idempotency_key,
                resubmit_if_unknown=resubmit_if_unknown,
                out=out,
                on_progress=on_progress,
                on_bytes=on_bytes,
                timeout=timeout,
                fields=fields,
            )
        )

    # -------------------------------------------------------------- remix, list, delete, cancel

    async def remix(self, job: Job | str, prompt: str) -> Job:
        """See ``Client.remix``."""
        return await self._run(ops.remix(self._core, job, prompt))

    async def list_videos(
        self, where: str, *, after: str | None = None, limit: int | None = None, order: str | None = None
    ) -> VideoPage:
        """See ``Client.list_videos``."""
        return await self._run(ops.list_videos(self._core, where, after=after, limit=limit, order=order))

    async def delete(self, job: Job | str) -> bool:
        """See ``Client.delete``."""
        return await self._run(ops.delete(self._core, job))

    async def cancel(self, job: Job | str) -> Job:
        """See ``Client.cancel``."""
        return await self._run(ops.cancel(self._core, job))

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
        route: str | None = None,
    ) -> Character:
        """See ``Client.create_character``."""
        made = await self._run(
            ops.create_character(
                self._core,
                timestamps=timestamps,
                url=url,
                from_task=from_task,
                name=name,
                model=model,
                provider=provider,
                route=route,
            )
        )
        return self._remember(made, save)

    async def remote_models(self, provider: str | None = None) -> Discovery:
        """See ``Client.remote_models``."""
        return await self._run(ops.remote_models(self._core, provider))

    # -------------------------------------------------------------- assists: plan, frame, review (chat models)

    async def plan(
        self,
        idea: str,
        *,
        model: str,
        duration: float | None = None,
        aspect_ratio: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Plan:
        """See ``Client.plan``."""
        return await self._run(
            assists.plan(
                self._core,
                idea,
                model=model,
                duration=duration,
                aspect_ratio=aspect_ratio,
                chat_model=chat_model,
                route=route,
            )
        )

    async def frame(
        self,
        description: str,
        *,
        for_model: str,
        role: str = "first_frame",
        image: ImageLike | None = None,
        aspect_ratio: str | None = None,
        size: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Frame:
        """See ``Client.frame``."""
        return await self._run(
            assists.frame(
                self._core,
                description,
                for_model=for_model,
                role=role,
                image=image,
                aspect_ratio=aspect_ratio,
                size=size,
                chat_model=chat_model,
                route=route,
            )
        )

    async def review(
        self,
        video: Job | PathLike,
        *,
        prompt: str | None = None,
        chat_model: str | None = None,
        route: str | None = None,
    ) -> Verdict:
        """See ``Client.review``."""
        return await self._run(assists.review(self._core, video, prompt=prompt, chat_model=chat_model, route=route))

    async def generate_assisted(
        self,
        prompt: str | None = None,
        *,
        plan: Plan | None = None,
        frames: Iterable[Frame] = (),
        review: bool | str = False,
        out: PathLike | None = None,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        on_bytes: ByteProgress | None = None,
        **fields: Any,
    ) -> Job:
        """See ``Client.generate_assisted``."""
        return await self._run(
            assists.generate(
                self._core,
                prompt,
                plan=plan,
                frames=frames,
                review=review,
                out=out,
                timeout=timeout,
                on_progress=on_progress,
                on_bytes=on_bytes,
                fields=fields,
            )
        )
