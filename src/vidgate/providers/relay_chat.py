"""Chat-compatible Sora on the relay: ``POST /v1/chat/completions`` with the ``sora_video2`` family.

The request is an ordinary chat completion: the prompt is the user message, reference images are
``image_url`` content parts (URL or data URI). Orientation, HD and 15 s are chosen through the *model
name*, which vidgate derives from the request (``wire_model``):

    sora_video2[-portrait|-landscape][-hd][-15s]

``aspect_ratio`` 9:16 -> ``-portrait``, 16:9 -> ``-landscape``; ``hd`` -> ``-hd``; ``duration`` 15 ->
``-15s``. With no aspect ratio the base ``sora_video2`` is sent, unless hd or 15 s is asked for: then
``-portrait`` is named explicitly (the base model's documented default orientation), because only
orientation-prefixed names are documented for those variants. Sources: the seed docs list
``sora_video2``, ``-portrait``, ``-landscape``, ``-portrait-hd``, ``-portrait-15s``, ``-portrait-hd-15s``;
the landscape variants ``-landscape-15s``, ``-landscape-hd`` and ``-landscape-hd-15s`` are documented on
sibling relays (apiyi, laozhang, t8star/Comfly; see ``catalog/data/25-relay-chat.toml``).

**Synchronous.** The HTTP call lasts the whole generation and its answer is the result, so ``submit``
returns a *final* ``JobUpdate`` (succeeded with the video asset, or failed) and there is nothing to poll:
``Client.wait`` returns at once. The answer is Markdown; the video is the link parsed out of it
(``_chat_answer.video_links``). An answer without a video link is a failed job whose error carries the
answer text (the relay's own words: a refusal, a policy message, a queue error).

**Streaming** (``stream: true``, the default here; option ``stream=false`` turns it off): the answer comes
as SSE ``chat.completion.chunk`` events whose text grows line by line (``> ID: task_…``, ``排队中``,
``生成中``, ``🏃 进度 76``, ``生成完成 ✅``). Each change of state becomes an intermediate ``JobUpdate``
reported through the flow (``_base.report``), which ``Client`` applies to the job and passes to
``on_progress`` while the call is still open.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from vidgate.catalog.schema import ModelSpec
from vidgate.errors import ProtocolError, ProviderHTTPError
from vidgate.media import encode_for_json
from vidgate.net.steps import open_stream, read_chunk, read_rest, send
from vidgate.providers._base import (
    Connection,
    Dialect,
    Flow,
    JobUpdate,
    Prepared,
    StepFlow,
    error_details,
    http_error,
    json_body,
    raise_for_status,
    report,
)
from vidgate.providers._chat_answer import (
    ChatCompletion,
    SSEDecoder,
    StreamState,
    parse_event,
    read_state,
    video_links,
)
from vidgate.providers._failure_text import classify_failure
from vidgate.types import Asset, ErrorCode, JobError, JobStatus

CHAT_PATH = "/v1/chat/completions"
ORIENTATION = {"9:16": "portrait", "16:9": "landscape"}
LONG_DURATION_S = 15.0
CONNECT_TIMEOUT_S = 30.0
MAX_ERROR_TEXT = 2000


class RelayChatOptions(BaseModel):
    """Options of the chat-compatible format."""

    model_config = ConfigDict(extra="forbid")

    stream: bool | None = Field(
        None,
        description="Stream the answer as SSE so progress is reported while the video renders (default true); "
        "false waits for one Markdown answer",
    )


def wire_model(base: str, aspect_ratio: str | None, hd: bool | None, duration: float | None) -> str:
    """The model name that carries orientation, HD and length (see the module docstring)."""
    long = duration is not None and abs(duration - LONG_DURATION_S) < 1e-6
    orientation = ORIENTATION.get(aspect_ratio or "")
    if orientation is None and (hd or long):
        orientation = ORIENTATION["9:16"]
    parts = [base]
    if orientation:
        parts.append(orientation)
    if hd:
        parts.append("hd")
    if long:
        parts.append("15s")
    return "-".join(parts)


def all_wire_models(base: str) -> list[str]:
    names = [base]
    for orientation in ORIENTATION.values():
        for hd in (False, True):
            for long in (False, True):
                names.append("-".join([base, orientation] + (["hd"] if hd else []) + (["15s"] if long else [])))
    return names


class RelayChat(Dialect):
    name = "relay-chat"
    Options = RelayChatOptions

    def wire_models(self, spec: ModelSpec) -> list[str]:
        return all_wire_models(spec.model)

    def streams(self, prepared: Prepared) -> bool:
        return RelayChatOptions.model_validate(prepared.request.options).stream is not False

    def request_body(self, prepared: Prepared) -> dict[str, Any]:
        req, spec = prepared.request, prepared.spec
        duration = req.duration if req.duration is not None else None
        content: str | list[dict[str, Any]] = req.prompt
        if prepared.images:
            content = [{"type": "text", "text": req.prompt}] + [
                {"type": "image_url", "image_url": {"url": encode_for_json(img, spec.images)}}
                for img in prepared.images
            ]
        return {
            "model": wire_model(spec.model, req.aspect_ratio, req.hd, duration),
            "stream": self.streams(prepared),
            "messages": [{"role": "user", "content": content}],
        }

    def chat_request(self, prepared: Prepared, conn: Connection) -> httpx.Request:
        body = self.request_body(prepared)
        # Accept: application/json on every call, streaming or not: the seed marks that header required on
        # /v1/chat/completions; whether the answer streams is decided by the body's "stream" field (the SSE
        # progress lines are documented for sibling relays, relay-platforms.md §2.4), and a relay that answers
        # one JSON completion instead is read as such (see submit).
        request = self.json_request("POST", conn, CHAT_PATH, body)
        # The call lasts the whole generation: wait up to the model's deadline for the next byte.
        timeout = httpx.Timeout(CONNECT_TIMEOUT_S, read=prepared.spec.deadline_s)
        request.extensions = {**request.extensions, "timeout": timeout.as_dict()}
        return request

    def submit(self, prepared: Prepared, conn: Connection) -> StepFlow[JobUpdate]:
        provider = conn.provider.name
        request = self.chat_request(prepared, conn)
        if not self.streams(prepared):
            response = yield from send(request)
            return parse_completion(provider, response)
        response = yield from open_stream(request)
        if not response.is_success or "text/event-stream" not in response.headers.get("content-type", ""):
            # An HTTP error, or a relay that ignored stream=true and answered with one JSON completion.
            body = yield from read_rest()
            whole = httpx.Response(response.status_code, headers=response.headers, content=body, request=request)
            if not response.is_success:
                raise http_error(provider, whole)
            return parse_completion(provider, whole)
        reader = StreamReader()
        while chunk := (yield from read_chunk()):
            for update in reader.feed(chunk):
                yield from report(update)
        return reader.finish()

    def status(self, task_id: str, spec: ModelSpec, conn: Connection) -> Flow[JobUpdate]:
        raise ProtocolError(
            conn.provider.name,
            f"{spec.key} answers on the submit call itself and has no status endpoint, so task {task_id} cannot be "
            "queried; if the call was interrupted, look the task up in the relay's console or submit again",
        )


def parse_completion(provider: str, response: httpx.Response) -> JobUpdate:
    """A non-stream ``chat.completion``: its Markdown text decides the job."""
    raise_for_status(provider, response)
    body = json_body(provider, response)
    if isinstance(body, dict) and body.get("error") and not body.get("choices"):
        message, code = error_details(body)
        raise ProviderHTTPError(provider, response.status_code, message, code=code, body=body)
    try:
        completion = ChatCompletion.model_validate(body)
    except PydanticValidationError as exc:
        raise ProtocolError(provider, f"unexpected chat completion: {exc.errors()[0]['msg']}", body) from None
    if not completion.choices:
        raise ProtocolError(provider, f"the chat completion has no choices: {str(body)[:200]}", body)
    text = completion.text()
    return answer_update(text, read_state(text), completion.id, raw=body)


def answer_update(text: str, state: StreamState, completion_id: str | None, raw: Any, error: Any = None) -> JobUpdate:
    """The final update: succeeded with the linked video, or failed carrying the answer (or error) text."""
    task = state.task_id or completion_id
    links = video_links(text)
    if links and error is None:
        return JobUpdate(
            status=JobStatus.succeeded,
            raw_status="answered with a video link",
            progress=100,
            provider_task_id=task,
            assets=[Asset(kind="video", url=u, mime_type="video/mp4") for u in links],
            raw=raw,
        )
    if error is not None:
        message, _ = error_details({"error": error})
        job_error = classify_failure(message, raw=raw)
    elif text.strip():
        job_error = classify_failure(text.strip()[-MAX_ERROR_TEXT:], raw=raw)
        job_error = job_error.model_copy(update={"message": "no video link in the answer: " + job_error.message})
    else:
        job_error = JobError(
            code=ErrorCode.provider_error, message="the relay answered with an empty message", retryable=True, raw=raw
        )
    return JobUpdate(
        status=JobStatus.failed,
        raw_status="answered without a video link",
        progress=state.progress,
        provider_task_id=task,
        error=job_error,
        raw=raw,
    )


class StreamReader:
    """Turns SSE chat chunks into intermediate updates (on each change) and one final update."""

    def __init__(self) -> None:
        self.decoder = SSEDecoder()
        self.text = ""
        self.completion_id: str | None = None
        self.finish_reason: str | None = None
        self.error: Any = None
        self.done = False
        self._last: tuple[Any, ...] | None = None

    def feed(self, chunk: bytes) -> list[JobUpdate]:
        """The updates this piece of the body brings: one per event that changed the state (however the
        body was cut into chunks)."""
        updates: list[JobUpdate] = []
        for data in self.decoder.feed(chunk):
            self._event(data)
            updates += self._changes()
        return updates

    def _event(self, data: str) -> None:
        event = parse_event(data)
        if event is None:
            self.done = True
            return
        if event.error is not None:
            self.error = event.error
        self.completion_id = self.completion_id or event.id
        self.text += event.text()
        self.finish_reason = event.finish_reason() or self.finish_reason

    def _changes(self) -> list[JobUpdate]:
        state = read_state(self.text)
        key = (state.status, state.progress, state.task_id, state.raw_status)
        if state.status is None or key == self._last:
            return []
        self._last = key
        return [
            JobUpdate(
                status=state.status,
                raw_status=state.raw_status,
                progress=state.progress,
                provider_task_id=state.task_id,
            )
        ]

    def finish(self) -> JobUpdate:
        for data in self.decoder.close():
            self._event(data)
        raw = {
            "id": self.completion_id,
            "content": self.text,
            "finish_reason": self.finish_reason,
            "done": self.done,
            "error": self.error,
        }
        return answer_update(self.text, read_state(self.text), self.completion_id, raw=raw, error=self.error)
