"""``vidgate generate``: one video from a prompt to a saved, probed MP4."""

from __future__ import annotations

import json
import re
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from vidgate.cli._common import (
    JsonOpt,
    OldStoreOpt,
    QuietOpt,
    StoreOpt,
    emulator_time_scale,
    err,
    info,
    out,
    reported,
    run_async,
    set_quiet,
    store_url,
)
from vidgate.cli.assist_common import print_verdict
from vidgate.cli.emulator_jobs import cancel_here, emulator_client_options
from vidgate.cli.plan import plan_fields
from vidgate.client import AsyncClient, Client
from vidgate.engine.ops.run import check_output, check_timeout
from vidgate.engine.polling import DEFAULT_POLICY, PollPolicy
from vidgate.errors import JobFailedError, RequestError, VidgateError
from vidgate.store import open_store
from vidgate.types import AssistRecord, ImageInput, ImageRole, Job, JobEvent, JobStatus, Shot

_ROLE_PREFIX = re.compile(r"^(first_frame|last_frame|reference)=(.+)$", re.S)


def parse_image(value: str) -> ImageInput:
    """``SOURCE`` or ``ROLE=SOURCE`` with ROLE one of first_frame, last_frame, reference."""
    m = _ROLE_PREFIX.match(value)
    if m:
        return ImageInput(source=m.group(2), role=ImageRole(m.group(1)))
    return ImageInput(source=value)


def parse_shot(value: str) -> Shot:
    """``SECONDS:SCENE``, e.g. ``7.5:the plane takes off``."""
    seconds, sep, scene = value.partition(":")
    try:
        return Shot(duration=float(seconds), scene=scene.strip()) if sep else _bad_shot(value)
    except ValueError:
        return _bad_shot(value)


def _bad_shot(value: str) -> Shot:
    raise RequestError(f'--shot {value!r}: expected "SECONDS:SCENE", e.g. --shot "7.5:the plane takes off"')


def parse_option(value: str) -> tuple[str, Any]:
    """``KEY=VALUE``; the value is read as JSON when it parses (true, 3, "x"), else as a string."""
    key, sep, raw = value.partition("=")
    if not sep or not key:
        raise RequestError(f"--option {value!r}: expected KEY=VALUE, e.g. --option watermark=true")
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw


class LiveProgress:
    """A status bar (status, percent, elapsed) and a byte bar for the download, on stderr."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=info,
            disable=not enabled,
        )
        self.bytes = Progress(
            TextColumn("[bold]download"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            console=info,
            disable=not enabled,
        )
        self._job: TaskID | None = None
        self._dl: TaskID | None = None

    def on_job(self, job: Job) -> None:
        if not self.enabled:
            return
        if self._job is None:
            self.progress.start()
            self._job = self.progress.add_task(job.status.value, total=100, detail="")
        detail = f"{job.raw_status or ''} {job.provider_task_id or ''}".strip()
        self.progress.update(self._job, completed=job.progress, description=job.status.value, detail=detail)
        if job.status.terminal:
            self.progress.stop()

    def on_bytes(self, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        if self._dl is None:
            self.progress.stop()
            self.bytes.start()
            self._dl = self.bytes.add_task("download", total=total)
        self.bytes.update(self._dl, completed=done, total=total)

    def stop(self) -> None:
        self.progress.stop()
        self.bytes.stop()


def report(job: Job, started: float, as_json: bool) -> None:
    video = job.video
    if as_json:
        payload = {"ok": True, "job": job.model_dump(mode="json", exclude={"request"})}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    assert video is not None and video.probe is not None
    p = video.probe
    out.print(f"[bold green]Saved[/] {escape(str(video.path))}")
    out.print(
        f"  probed: {p.duration:g} s, {p.width}x{p.height}, {p.codec}, {video.size_bytes} bytes, sha256 {video.sha256}"
    )
    out.print(f"  job {job.id} · {job.model} · task {job.provider_task_id} · {time.monotonic() - started:.1f} s",
              markup=False)  # fmt: skip
    for m in video.mismatch:
        out.print(f"  [yellow]mismatch[/] {escape(m)}")


def generate(
    prompt: Annotated[str, typer.Argument(help="What the video shows (may be empty with --shot)")] = "",
    model: Annotated[str, typer.Option("--model", "-m", help="Model name or provider/model")] = "sora-2",
    duration: Annotated[float | None, typer.Option("--duration", "-d", help="Seconds")] = None,
    aspect_ratio: Annotated[str | None, typer.Option("--aspect-ratio", "-a", help='e.g. "16:9"')] = None,
    resolution: Annotated[str | None, typer.Option(help='e.g. "720p"')] = None,
    size: Annotated[str | None, typer.Option(help='"WIDTHxHEIGHT" where the provider uses sizes')] = None,
    hd: Annotated[bool | None, typer.Option("--hd/--no-hd", help="HD where the model has it")] = None,
    image: Annotated[
        list[str] | None,
        typer.Option("--image", "-i", help="Path, URL, data URI or base64; ROLE=SOURCE sets the role (repeatable)"),
    ] = None,
    shot: Annotated[list[str] | None, typer.Option(help='Storyboard shot "SECONDS:SCENE" (repeatable)')] = None,
    character: Annotated[list[str] | None, typer.Option(help="Character username mentioned (repeatable)")] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Provider callback URL")] = None,
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Provider option KEY=VALUE")] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Where to save the MP4 (checked before sending)")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the --out file if it exists")] = False,
    fit: Annotated[bool, typer.Option(help="Snap duration/aspect/resolution to the nearest allowed value")] = False,
    base_url: Annotated[str | None, typer.Option(help="Provider base URL (default from env)")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (default from env)")] = None,
    emulator: Annotated[bool, typer.Option(help="Run against the built-in emulator (offline, no key)")] = False,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds (job -> expired)")] = None,
    allow_retired: Annotated[bool, typer.Option(help="Send to a model past its retirement date")] = False,
    allow_image_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-image-host",
            help="Trust this host when vidgate downloads an image URL for a model that takes only bytes "
            "(skips the private-address check; repeatable)",
        ),
    ] = None,
    store: StoreOpt = None,
    detach: Annotated[
        bool,
        typer.Option(
            help="Submit, print the job id and exit; `vidgate jobs watch` / a worker finishes it. Without "
            "it, a create that could not be sent is cancelled, never left for a worker to send later"
        ),
    ] = False,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Send a plan made by `vidgate plan --out PLAN.json` (its shots)")
    ] = None,
    review: Annotated[
        bool, typer.Option("--review", help="After saving, have a video-capable chat model check it (jobs show)")
    ] = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    database_url: OldStoreOpt = None,
) -> None:
    """Generate one video and save it. Exit codes: 0 ok, 2 invalid request, 3 generation failed, 4 provider.

    Everything that can be checked here is checked before anything is sent (the request against the catalog,
    --out, --timeout, the base URL). The job id is printed as soon as the job exists; on Ctrl-C vidgate says
    how to resume or cancel it.
    """
    started = time.monotonic()
    set_quiet(quiet, as_json)
    live = LiveProgress(enabled=not as_json and not info.quiet and err.is_terminal)
    with reported(as_json), ExitStack() as stack:
        if detach and emulator:
            raise RequestError(
                "--detach with --emulator cannot work: the built-in emulator stops when this command exits, so "
                "nothing could ever finish the job. Drop --detach, or run `vidgate emulate` in another terminal, "
                "set the variables it prints (VIDGATE_RELAY_BASE_URL, VIDGATE_RELAY_API_KEY) and detach against it."
            )
        check_timeout(timeout)
        check_output(out_file if out_file is not None else Path.cwd() / "video.mp4", overwrite=force or not out_file)
        fields: dict[str, Any] = {
            "model": model,
            "duration": duration,
            "aspect_ratio": aspect_ratio,
            "resolution": resolution,
            "size": size,
            "hd": hd,
            "images": [parse_image(i) for i in image or []],
            "shots": [parse_shot(s) for s in shot or []],
            "characters": list(character or []),
            "webhook_url": webhook_url,
            "options": dict(parse_option(o) for o in option or []),
        }
        assists: list[AssistRecord] = []
        review_prompt: str | None = None
        if plan_file is not None:  # the plan's shots and length; its cost goes on the job (issue 15)
            if prompt.strip():
                raise RequestError(f"--plan {plan_file} holds the shots: drop the PROMPT argument, or drop --plan")
            fields, assists, review_prompt = plan_fields(plan_file, fields)
            prompt = fields.pop("prompt", "")
        policy = DEFAULT_POLICY
        emulated: dict[str, Any] = {}
        if emulator:
            from vidgate.emulator import EmulatorConfig, EmulatorServer

            scale = emulator_time_scale()
            emu = stack.enter_context(EmulatorServer(EmulatorConfig(time_scale=scale, real_sizes=True)))
            emulated = emulator_client_options(emu.url, emu.api_key)
            base_url, api_key = emu.url, emu.api_key
            policy = PollPolicy(time_scale=scale)
            info.print(f"Using the built-in emulator at {emu.url} (offline, no key; jobs run {1 / scale:g}x faster)")
        stack.callback(live.stop)
        client = AsyncClient(
            base_url=base_url,
            api_key=api_key,
            providers=emulated.get("providers"),
            env=emulated.get("env"),
            poll_policy=policy,
            allow_retired=allow_retired,
            allow_image_hosts=allow_image_host or (),
            store=open_store(store_url(store, database_url)),
        )
        run = Run(client, live, as_json=as_json, plain=not err.is_terminal, emulator=emulator)
        run.assists, run.review = assists, (review_prompt or True) if review else False
        try:
            job = run_async(run.generate(prompt, fields, fit=fit, detach=detach, timeout=timeout, out_file=out_file))
        except KeyboardInterrupt:
            live.stop()
            run.interrupted()
            raise typer.Exit(130) from None
        except VidgateError:
            live.stop()
            if not detach:
                run.gave_up()
            raise
        if job is None:
            return
        live.stop()
        report(job, started, as_json)
        if job.review is not None and not as_json:
            print_verdict(job.review)


def detach_next_steps(job_id: str) -> str:
    """What to run after ``--detach``: the job is in the store; something has to do the work."""
    return (
        f"Next: `vidgate jobs watch {job_id} --drive` polls and downloads it from this terminal; or keep "
        f"`vidgate worker` running (any terminal, same store) and follow it with `vidgate jobs watch {job_id}`. "
        f"`vidgate jobs show {job_id}` shows where it stands."
    )


def _unknown_advice(job: Job) -> str:
    return (
        f"job {job.id}: the create may have reached the provider (its answer never came). Check the provider's "
        f"console, then `vidgate jobs retry {job.id} --yes` (may pay twice) or `vidgate jobs cancel {job.id}`."
    )


class Run:
    """One ``vidgate generate`` on the asyncio engine: check, send, follow, save."""

    def __init__(
        self, client: AsyncClient, live: LiveProgress, *, as_json: bool, plain: bool, emulator: bool = False
    ) -> None:
        self.client = client
        self.live = live
        self.as_json = as_json
        self.plain = plain
        self.emulator = emulator  # the built-in emulator: it stops with this command, and with it the job
        self._last = ""
        self.job_id: str | None = None
        self.assists: list[AssistRecord] = []  # plan records to put on the job (generate --plan)
        self.review: bool | str = False  # generate --review: True, or the plan's idea to check against
        client.on_event(self.on_event)

    def on_event(self, event: JobEvent) -> None:
        if event.kind == "created":
            self.job_id = event.job.id
            info.print(f"job {event.job.id} ({event.job.model})", markup=False)

    def gave_up(self) -> None:
        """A foreground run failed: a create that was never sent is cancelled (no worker sends it later), and
        so is any unfinished job of the built-in emulator (nothing could ever finish it)."""
        job = self._stored()
        if job is not None and job.status is JobStatus.pending:
            self.say(self._drop_unsent(job))
        elif job is not None and self.emulator and not job.status.terminal:
            self.say(self._drop_emulated(job))
        elif job is not None and job.status is JobStatus.unknown:
            self.say(_unknown_advice(job))

    def _drop_unsent(self, job: Job) -> str:
        with Client(store=self.client.store, env={}) as local:
            local.cancel(job.id)
        return (f"job {job.id}: nothing was sent to the provider, so it is cancelled (use --detach to leave a "
                "create for `vidgate worker` to send when the provider is reachable)")  # fmt: skip

    def _drop_emulated(self, job: Job) -> str:
        reason = "cancelled in vidgate: the built-in emulator (--emulator) stopped with its command"
        try:
            cancel_here(self.client.store, job, reason)
        except VidgateError as exc:  # (the store changed under us, or is gone): say so, keep the exit code
            return f"job {job.id} is {job.status.value}; it could not be marked cancelled ({exc})"
        return (f"job {job.id} is cancelled: the built-in emulator stops with this command, so nothing can "
                "finish it (and nothing is billed).")  # fmt: skip

    def say(self, text: str) -> None:
        if not self.as_json:  # (--json: the error object on stdout carries the job)
            err.print(text, markup=False)  # what became of the job: part of the error, so not silenced by -q

    def interrupted(self) -> None:
        """Ctrl-C: one line on where the job stands and how to resume or cancel it (``main`` adds nothing)."""
        err.print(f"Interrupted. {self._where_it_stands()}", markup=False)

    def _where_it_stands(self) -> str:
        job = self._stored()
        if job is None:
            return "No job was created: nothing was sent."
        if job.status.terminal:
            return self._finished(job)
        if job.status is JobStatus.pending:
            return self._drop_unsent(job)
        if self.emulator:  # its emulator dies with this command: resume advice would be false
            return self._drop_emulated(job)
        if job.status is JobStatus.unknown:
            return _unknown_advice(job)
        return (f"job {job.id} is {job.status.value} at the provider and may be billed: resume with "
                f"`vidgate jobs watch {job.id} --drive`, or stop it with `vidgate jobs cancel {job.id}`.")  # fmt: skip

    def _finished(self, job: Job) -> str:
        video = job.video
        if video is not None and video.path and Path(video.path).exists():
            return f"job {job.id} had finished ({job.status.value}); the video is at {video.path}."
        if job.status is not JobStatus.succeeded:
            return f"job {job.id} had already ended ({job.status.value}): `vidgate jobs show {job.id}` says why."
        if self.emulator:
            return (f"job {job.id} had succeeded but its video was not saved, and the built-in emulator stops with "
                    "this command: run the generate again.")  # fmt: skip
        return f"job {job.id} had succeeded but its video was not saved yet: `vidgate jobs download {job.id}`."

    def _stored(self) -> Job | None:
        if self.job_id is None:
            return None
        try:
            return self.client.store.get(self.job_id)
        except VidgateError:
            return None

    def on_progress(self, job: Job) -> None:
        self.live.on_job(job)
        line = f"{job.status.value} {job.progress}% {job.raw_status or ''}".strip()
        if self.plain and line != self._last:
            self._last = line
            info.print(line, markup=False)

    async def generate(
        self,
        prompt: str,
        fields: dict[str, Any],
        *,
        fit: bool,
        detach: bool,
        timeout: float | None,
        out_file: Path | None,
    ) -> Job | None:
        async with self.client as client:
            sub = await client.prepare(prompt, fit=fit, **fields)
            for change in sub.changes:
                info.print(f"[yellow]--fit changed[/] {escape(change.explain())}")
            for warning in sub.warnings:
                if not warning.startswith("fit: "):
                    info.print(f"[yellow]warning[/] {escape(warning)}")
            if out_file is not None:  # recorded: `jobs download`, `jobs watch --drive` save there too
                sub.job_fields["out"] = str(out_file.absolute())
            if self.assists:
                sub.job_fields["assists"] = self.assists
            job = await client.send(sub, on_progress=self.on_progress)  # synchronous dialects report while sending
            if detach:
                payload = {"ok": True, "job": {"id": job.id, "status": job.status.value, "model": job.model}}
                if self.as_json:
                    sys.stdout.write(json.dumps(payload) + "\n")
                else:
                    out.print(f"submitted {job.id} ({job.status.value})", markup=False)
                info.print(detach_next_steps(job.id), markup=False)
                return None
            self.on_progress(job)
            job = await client.wait(job, timeout=timeout, on_progress=self.on_progress)
            if job.status is not JobStatus.succeeded:
                raise JobFailedError(job)
            job = await client.download(job, out_file, on_bytes=self.live.on_bytes)  # --out, else ./<id>.mp4
            if self.review:
                await client.review(job, prompt=self.review if isinstance(self.review, str) else None)
                job = client.job(job.id)
            return job
