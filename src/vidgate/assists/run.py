"""The assists as step generators over the engine's ``Core``: ``Client`` and ``AsyncClient`` run them.

Each checks everything it can before its one chat request (the video model, the duration, the role, the frame
size, the chat model's capabilities, how the video can travel), sends it through the provider's endpoint and
budget (sent again only when the last one surely did not run: never sent, or answered 429 / 503; see ``ask``),
reads the answer, and records what it cost: a review on the job it reviewed, a plan and frames on the job they
are generated with (``generate``). An image answer's link is fetched through the SSRF guard (``answer_image``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vidgate.assists.answer_image import MAX_ANSWER_IMAGE_BYTES, UnusableImageError, answer_image
from vidgate.assists.answers import AnswerError, find_image, json_object
from vidgate.assists.ask import ChatAsk, ChatCalls, ChatReply
from vidgate.assists.frame import Frame, check_role, check_shape, check_size, fit
from vidgate.assists.plan import Plan, PlanRefusedError, answer_schema, instructions, settle, target_duration
from vidgate.assists.review import VERDICT_SCHEMA, choose_reviewer, route_video, verdict_of
from vidgate.assists.review import instructions as review_instructions
from vidgate.assists.wire import build_request, parse_reply
from vidgate.catalog import ModelSpec
from vidgate.catalog.chat_models import ChatModelSpec, load_chat_catalog
from vidgate.engine import ops
from vidgate.engine.core import Core
from vidgate.engine.download import ByteProgress
from vidgate.engine.ops.run import check_output, check_timeout
from vidgate.engine.ops.submit import ProgressCallback
from vidgate.errors import (
    JobFailedError,
    ProtocolError,
    ProviderHTTPError,
    TransportError,
    ValidationError,
)
from vidgate.media import ImageProblem, load_image
from vidgate.net.steps import Steps, send, sleep
from vidgate.problems import Problem
from vidgate.store.errors import JobNotFoundError
from vidgate.types import AssistRecord, ImageInput, ImageRole, Job, JobStatus, Verdict

ATTEMPTS = 3  # one request, and two more when it surely was not run (never sent, or answered 429 / 503)
RETRIED_STATUSES = (429, 503)  # a rate limit and "unavailable": refused before any work, so not billed
RETRY_S = 1.0
MAX_RETRY_WAIT_S = 30.0  # a longer Retry-After is the caller's to wait for, not one assist call's
MAX_INLINE_READ = 64 * 1024 * 1024  # a local video larger than this is never read to be sent inline

log = logging.getLogger("vidgate.assists")


# ---------------------------------------------------------------- one chat exchange


def ask(
    core: Core, spec: ChatModelSpec, question: ChatAsk, route: str | None = None, calls: ChatCalls | None = None
) -> Steps[tuple[ChatReply, int]]:
    """Send ``question`` to ``spec`` on its provider's endpoint (or ``route``'s, a named endpoint of that
    provider); the reply and how many requests it took. Each attempt's fate goes in ``calls``.

    Every request that reaches the provider may be billed, so one is sent again only when the last surely was
    not run: it never left (no connection was made), or the provider answered 429 or 503 (a rate limit or
    "unavailable": refused, not run), honouring Retry-After up to MAX_RETRY_WAIT_S. A request whose answer was
    lost after sending (read timeout, reset connection) may have run: it is not sent again."""
    calls = calls if calls is not None else ChatCalls()
    conn = core.endpoints.connection(core.catalog.providers[spec.provider], route)
    for attempt in range(1, ATTEMPTS + 1):
        yield from sleep(core.budgets.reserve(spec.provider))
        calls.start()
        try:
            response = yield from send(build_request(question, spec, conn))
        except TransportError as exc:
            calls.end("not_sent" if exc.not_sent else "lost")
            log.debug("%s: attempt %d %s: %s", spec.key, attempt, calls.outcomes[-1], exc)
            if not exc.not_sent or attempt == ATTEMPTS:
                raise
            yield from sleep(RETRY_S * attempt)
            continue
        calls.end("answered" if response.is_success else "refused")
        log.debug("%s: attempt %d answered HTTP %d", spec.key, attempt, response.status_code)
        try:
            return parse_reply(spec, response), attempt
        except ProviderHTTPError as exc:
            wait = exc.retry_after if exc.retry_after is not None else RETRY_S * attempt
            if exc.status_code not in RETRIED_STATUSES or attempt == ATTEMPTS or wait > MAX_RETRY_WAIT_S:
                raise
            yield from sleep(wait)
    raise AssertionError("unreachable")


def record(kind: str, spec: ChatModelSpec, reply: ChatReply, requests: int, core: Core) -> AssistRecord:
    return AssistRecord(
        kind=kind,  # type: ignore[arg-type]
        chat_model=spec.key,
        provider=spec.provider,
        requests=requests,
        prompt_tokens=reply.prompt_tokens,
        completion_tokens=reply.completion_tokens,
        cost_usd=reply.cost_usd,
        at=core.now(),
    )


def _answer(spec: ChatModelSpec, reply: ChatReply) -> dict[str, Any]:
    try:
        return json_object(reply.text)
    except AnswerError as exc:
        raise ProtocolError(spec.provider, f"{spec.key}: {exc}", reply.raw) from None


def _check_types(spec: ModelSpec, **values: Any) -> None:
    """Wrong types from Python callers are a ValidationError naming the field, never a crash later."""
    kinds: dict[str, type | tuple[type, ...]] = {
        "duration": (int, float),
        "aspect_ratio": str,
        "size": str,
        "chat_model": str,
        "prompt": str,
    }
    problems = [
        Problem(name, value, f"should be {'a number' if name == 'duration' else 'a string'}")
        for name, value in values.items()
        if value is not None and (not isinstance(value, kinds[name]) or isinstance(value, bool))
    ]
    if problems:
        raise ValidationError(problems, spec.key)


def _check_aspect(spec: ModelSpec, aspect_ratio: str | None) -> None:
    if aspect_ratio is not None and spec.aspect_ratio.values and aspect_ratio not in spec.aspect_ratio.values:
        raise ValidationError(
            [
                Problem(
                    "aspect_ratio",
                    aspect_ratio,
                    f"{spec.key} does not make this aspect ratio",
                    allowed=", ".join(spec.aspect_ratio.values),
                )
            ],
            spec.key,
        )


# ---------------------------------------------------------------- plan


def plan(
    core: Core,
    idea: str,
    *,
    model: str,
    duration: float | None = None,
    aspect_ratio: str | None = None,
    chat_model: str | None = None,
    route: str | None = None,
    calls: ChatCalls | None = None,
) -> Steps[Plan]:
    """Shots for ``idea`` that ``model`` can take, proposed by a chat model and checked by the catalog."""
    spec = core.catalog.resolve(model)
    if not isinstance(idea, str) or not idea.strip():
        raise ValidationError([Problem("idea", idea, "the idea is empty", suggestion="describe the video")], spec.key)
    _check_types(spec, duration=duration, aspect_ratio=aspect_ratio, chat_model=chat_model)
    _check_aspect(spec, aspect_ratio)
    total = target_duration(spec, duration)  # a length the model cannot make is refused before any request
    chat = load_chat_catalog().require(chat_model, "structured_output")
    question = ChatAsk(
        text=idea.strip(),
        system=instructions(spec, total, _mentions(idea)),
        schema=answer_schema(spec, total),
        schema_name="storyboard",
    )
    reply, requests = yield from ask(core, chat, question, route, calls)
    try:
        answer: Any = json_object(reply.text)
    except AnswerError as exc:
        raise PlanRefusedError([Problem("shots", reply.text[:80], str(exc))], spec.key, reply.text) from None
    made = settle(answer, spec, idea=idea.strip(), duration=total, aspect_ratio=aspect_ratio, chat_model=chat.key)
    made.record = record("plan", chat, reply, requests, core)
    return made


def _mentions(idea: str) -> list[str]:
    from vidgate.mentions import mentioned_usernames

    return mentioned_usernames(idea)


# ---------------------------------------------------------------- frame


def frame(
    core: Core,
    description: str,
    *,
    for_model: str,
    role: str | ImageRole = ImageRole.first_frame,
    image: ImageInput | str | bytes | os.PathLike[str] | None = None,
    aspect_ratio: str | None = None,
    size: str | None = None,
    chat_model: str | None = None,
    route: str | None = None,
    calls: ChatCalls | None = None,
) -> Steps[Frame]:
    """An image for ``for_model`` in ``role``: generated from ``description``, or ``image`` edited by it."""
    spec = core.catalog.resolve(for_model)
    try:
        the_role = ImageRole(role)
    except ValueError:
        raise ValidationError(
            [Problem("role", role, "not an image role", allowed=", ".join(r.value for r in ImageRole))], spec.key
        ) from None
    if not isinstance(description, str) or not description.strip():
        raise ValidationError([Problem("description", description, "the description is empty")], spec.key)
    check_role(spec, the_role)
    _check_types(spec, aspect_ratio=aspect_ratio, size=size, chat_model=chat_model)
    _check_aspect(spec, aspect_ratio)
    check_size(spec, size)  # the frame is resized to it: an unbounded size is CPU and memory per request
    check_shape(spec, aspect_ratio)
    needs: tuple[Any, ...] = ("image_output", "vision") if image is not None else ("image_output",)
    chat = load_chat_catalog().require(chat_model, *needs)
    images: tuple[str, ...] = ()
    if image is not None:
        source = image if isinstance(image, ImageInput) else ImageInput(source=image)
        try:
            loaded = load_image(source, 0)
        except ImageProblem as p:
            raise ValidationError([Problem("image", p.value, p.message, p.allowed, p.suggestion)], spec.key) from None
        images = (loaded.url if loaded.url is not None else loaded.as_data_uri(),)
    shape = aspect_ratio or spec.aspect_ratio.default or size or "the video's"
    verb = "Edit the attached image" if images else "Generate an image"
    text = (
        f"{verb}: {description.strip()}\nIt is the {the_role.value.replace('_', ' ')} of a video in {shape} "
        "format: compose it for that frame, with no text or borders."
    )
    reply, requests = yield from ask(core, chat, ChatAsk(text=text, images=images), route, calls)
    try:
        found = find_image(reply.text)
    except AnswerError as exc:
        raise ProtocolError(chat.provider, f"{chat.key}: {exc}", reply.raw) from None
    data = found.data
    if data is None:
        assert found.url is not None
        chat_origin = core.endpoints.connection(core.catalog.providers[chat.provider], route).base_url
        data = yield from answer_image(
            found.url, core.fetch_policy, provider=chat.provider, chat_model=chat.key, trusted_origin=chat_origin
        )
        requests += 1
    elif len(data) > MAX_ANSWER_IMAGE_BYTES:
        raise UnusableImageError(chat.provider, chat.key, f"an inline image over {MAX_ANSWER_IMAGE_BYTES} bytes")
    fitted, fmt, w, h, changes = fit(data, spec, role=the_role, aspect_ratio=aspect_ratio, size=size)
    return Frame(
        data=fitted,
        format=fmt,
        width=w,
        height=h,
        role=the_role,
        for_model=spec.key,
        description=description.strip(),
        answered_as="url" if found.url else "base64",
        changes=changes,
        chat_model=chat.key,
        record=record("frame", chat, reply, requests, core),
    )


# ---------------------------------------------------------------- review


def review(
    core: Core,
    target: Job | str | os.PathLike[str],
    *,
    prompt: str | None = None,
    chat_model: str | None = None,
    route: str | None = None,
    calls: ChatCalls | None = None,
) -> Steps[Verdict]:
    """A verdict on a video (a job, its id, an http(s) URL or a local file): stored on the job when it is one."""
    if prompt is not None and not isinstance(prompt, str):
        raise ValidationError([Problem("prompt", prompt, "should be a string")])
    job, url, data, where, duration = _video_of(core, target)
    if prompt is None and job is not None and job.request is not None:
        prompt = job.request.prompt or " / ".join(s.scene for s in job.request.shots)
    if not prompt or not prompt.strip():
        raise ValidationError(
            [Problem("prompt", prompt, "nothing to check the video against", suggestion="pass the prompt (--prompt)")]
        )
    chat = choose_reviewer(load_chat_catalog(), chat_model, has_url=url is not None, has_bytes=data is not None)
    part = route_video(chat, url=url, data=data, where=where)
    question = ChatAsk(
        text=prompt.strip(),
        system=review_instructions(duration),
        video=part,
        schema=VERDICT_SCHEMA,
        schema_name="verdict",
    )
    reply, requests = yield from ask(core, chat, question, route, calls)
    try:
        verdict = verdict_of(_answer(chat, reply), prompt=prompt.strip(), chat_model=chat.key)
    except AnswerError as exc:
        raise ProtocolError(chat.provider, f"{chat.key}: {exc}", reply.raw) from None
    verdict.at = core.now()
    if job is not None:
        attach(core, job.id, [record("review", chat, reply, requests, core)], review=verdict)
    return verdict


def _video_of(
    core: Core, target: Job | str | os.PathLike[str]
) -> tuple[Job | None, str | None, bytes | None, str, float | None]:
    """The job (if any), the video's URL, its bytes, a description, and its length."""
    if not isinstance(target, Job | str | os.PathLike):
        raise ValidationError([Problem("video", repr(target)[:80], "should be a Job, a job id, a file path or a URL")])
    if isinstance(target, str) and target.startswith(("http://", "https://")):
        return None, target, None, target, None
    job: Job | None = None
    if isinstance(target, Job):
        job = core.job(target)
    elif isinstance(target, str) and not Path(target).exists():
        try:
            job = core.job(target)
        except JobNotFoundError:
            raise ValidationError(
                [
                    Problem(
                        "video",
                        target,
                        "neither a job id in the store, a file, nor an http(s) URL",
                        suggestion="pass a job id (`vidgate jobs list`), a video file or a URL",
                    )
                ]
            ) from None
    if job is None:
        path = Path(target.id if isinstance(target, Job) else target)
        if not path.is_file():
            raise ValidationError([Problem("video", str(path), "not a file")])
        size = path.stat().st_size
        if size > MAX_INLINE_READ:
            too_big = f"{size} bytes is more than any chat model takes inline ({MAX_INLINE_READ} bytes here)"
            raise ValidationError([Problem("video", str(path), too_big, suggestion="review it by its URL instead")])
        return None, None, path.read_bytes(), str(path), None
    video = job.video
    if job.status is not JobStatus.succeeded or video is None:
        raise ValidationError(
            [
                Problem(
                    "video",
                    job.id,
                    f"job {job.id} is {job.status.value}: it has no video to review",
                    suggestion=f"wait for it (`vidgate jobs watch {job.id}`)",
                )
            ]
        )
    url = video.url if video.url and (video.expires_at is None or video.expires_at > core.now()) else None
    saved = Path(video.path) if video.path else None
    small = saved is not None and saved.is_file() and saved.stat().st_size <= MAX_INLINE_READ
    data = saved.read_bytes() if saved is not None and small else None
    duration = video.probe.duration if video.probe else None
    return job, url, data, f"job {job.id}", duration


def attach(core: Core, job_id: str, records: Iterable[AssistRecord], *, review: Verdict | None = None) -> Job:
    """Add assist records (and a verdict) to a stored job, retrying when another writer saved in between."""
    new = list(records)
    for _ in range(5):
        current = core.job(job_id)
        update: dict[str, Any] = {"assists": [*current.assists, *new]}
        if review is not None:
            update["review"] = review
        saved = core.record(current.model_copy(update=update), quiet=True)
        if saved.version > current.version:
            return saved
    raise ProtocolError("store", f"job {job_id} kept changing; its review could not be saved")


# ---------------------------------------------------------------- generate with assists


def generate(
    core: Core,
    prompt: str | None = None,
    *,
    plan: Plan | None = None,
    frames: Iterable[Frame] = (),
    review: bool | str = False,
    out: str | os.PathLike[str] | None = None,
    timeout: float | None = None,
    on_progress: ProgressCallback | None = None,
    on_bytes: ByteProgress | None = None,
    fields: dict[str, Any],
) -> Steps[Job]:
    """Generate with a plan's shots and frames as images; their records go on the job. ``review``: True
    (check against the idea or prompt) or the text to check against, after the video is saved."""
    check_timeout(timeout)
    if out is not None:
        check_output(out)
    frames = list(frames)
    images = [f.image() for f in frames] + list(fields.pop("images", None) or [])
    if plan is not None:
        request = plan.request(**({"images": images} if images else {}), **fields)
        sub = yield from ops.prepare(core, None, request, {})
    else:
        sub = yield from ops.prepare(core, prompt, None, {**fields, **({"images": images} if images else {})})
    records = ([plan.record] if plan is not None and plan.record else []) + [f.record for f in frames if f.record]
    if records:
        sub.job_fields["assists"] = records
    job = yield from ops.send(core, sub, on_progress=on_progress)
    job = yield from ops.wait(core, job, timeout=timeout, on_progress=on_progress)
    if job.status is not JobStatus.succeeded:
        raise JobFailedError(job)
    job = yield from ops.save(core, job, out, on_bytes=on_bytes)
    if review:
        against = review if isinstance(review, str) else (plan.idea if plan is not None else None)
        yield from _review_steps(core, job, against)
        job = core.job(job.id)
    return job


def _review_steps(core: Core, job: Job, prompt: str | None) -> Steps[Verdict]:
    return (yield from review(core, job, prompt=prompt))
