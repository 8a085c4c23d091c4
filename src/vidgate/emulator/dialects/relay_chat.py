"""The relay's chat-compatible Sora, emulated: ``POST /v1/chat/completions`` with the ``sora_video2`` family.

Like the real relay the call lasts the whole generation. ``stream: false`` answers one ``chat.completion``
whose Markdown links the video (``✅ 视频生成成功，[点击这里](…mp4) 查看视频~~~``); ``stream: true`` sends SSE
``chat.completion.chunk`` events carrying the progress lines (``> ID: task_…``, task-preview links,
``> 排队中...``, ``> 生成中``, ``> 🏃 进度 17..41..``, ``> 生成完成 ✅``) and then the cover image and the
``[在线播放▶️](…mp4)`` link. A prompt containing the fail trigger gets an answer *without* a link.

The accepted model names are the seed relay's (``emulator/facts.py``: no landscape hd / 15 s names) and the
request fields are written here, independently of the client's dialect and vidgate's catalog.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from vidgate.emulator.dialects import chat_assist
from vidgate.emulator.dialects._common import EmuHTTPError, json_object, message_parts, require_bearer
from vidgate.emulator.facts import RELAY_CHAT_MODELS, SORA_AUDIO, SORA_FPS, sora_size
from vidgate.emulator.render import OutputVideo, output_size
from vidgate.emulator.state import POLICY_FAIL_REASON, EmuJob, EmulatorState

DIALECT = "relay-chat"
PATH = "/v1/chat/completions"
MODELS = RELAY_CHAT_MODELS  # the seed relay's names only (facts.RELAY_CHAT_SRC)
FIELDS = {
    "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
    "presence_penalty", "frequency_penalty", "logit_bias", "user",
}  # fmt: skip
ROLES = {"system", "user", "assistant"}
BASE_LATENCY_S = 120.0  # 10 s video: 1-3 min; 15 s adds about 2 min; hd about 8 min (seed docs)
NO_LINK_TEXT = "❌ 视频生成失败：{reason}"
PROGRESS_STEPS = 5


def check_chat(body: dict[str, Any]) -> tuple[str, str, list[str]]:
    """The model, the prompt (text of the last user message) and its image URLs, or a 400."""
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise EmuHTTPError(400, f"unknown field(s) {unknown}", "invalid_param", unknown[0])
    model = body.get("model")
    if not isinstance(model, str) or model not in MODELS:
        raise EmuHTTPError(400, f"model {model!r} not found (无可用渠道)", "model_not_found", "model")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise EmuHTTPError(400, "stream must be a boolean", "invalid_param", "stream")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise EmuHTTPError(400, "messages must be a non-empty array", "invalid_param", "messages")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ROLES or "content" not in msg:
            raise EmuHTTPError(400, f"messages[{i}] needs a role and content", "invalid_param", "messages")
    last = messages[-1]
    if last["role"] != "user":
        raise EmuHTTPError(400, "the last message must be the user's", "invalid_param", "messages")
    texts, images = message_parts(last["content"], f"messages[{len(messages) - 1}].content")
    prompt = "\n".join(t for t in texts if t.strip())
    if not prompt.strip():
        raise EmuHTTPError(400, "the user message has no text (the prompt)", "invalid_param", "messages")
    return model, prompt, images


def latency(model: str) -> float:
    extra = (120.0 if model.endswith("15s") else 0.0) + (480.0 if "-hd" in model else 0.0)
    return BASE_LATENCY_S + extra


def routes(state: EmulatorState) -> list[Route]:
    async def chat(request: Request) -> Response:
        state.count(f"POST {PATH}")
        require_bearer(request, state)
        body = await json_object(request)
        if body.get("model") in chat_assist.MODELS:  # the relay's other chat models (plan, frame, review)
            return await chat_assist.completion(request, body, state)
        model, prompt, images = check_chat(body)
        trigger = state.config.fail_trigger.lower()
        queue_s, render_s = state.timing(latency(model))
        job = state.add(
            EmuJob(
                task_id="task_" + secrets.token_hex(13),
                dialect=DIALECT,
                model=model,
                body=body,
                created=state.config.clock(),
                duration=15.0 if model.endswith("15s") else 10.0,
                aspect_ratio="16:9" if "landscape" in model else "9:16",
                # hd names render sora-2-pro's hd size (facts.sora_size); the base name is portrait like -portrait
                output=OutputVideo(
                    *output_size(sora_size("16:9" if "landscape" in model else "9:16", "-hd" in model, 10.0)),
                    fps=SORA_FPS,
                    audio=SORA_AUDIO,
                ),
                fail_reason=POLICY_FAIL_REASON if trigger and trigger in prompt.lower() else None,
                queue_s=queue_s,
                render_s=render_s,
                meta={"prompt": prompt, "images": len(images)},
            )
        )
        base = str(request.base_url).rstrip("/")
        if body.get("stream"):
            return StreamingResponse(
                _events(job, base), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
            )
        await asyncio.sleep(job.queue_s + job.render_s)
        return JSONResponse(_completion(job, _final_text(job, base)))

    return [Route(PATH, chat, methods=["POST"])]


def _final_text(job: EmuJob, base: str) -> str:
    if job.fail_reason:
        return NO_LINK_TEXT.format(reason=job.fail_reason)
    return f"✅ 视频生成成功，[点击这里]({base}/cdn/{job.file_token}.mp4) 查看视频~~~\n\n"


def _completion(job: EmuJob, text: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-" + job.task_id.removeprefix("task_"),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": job.model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


def _chunk(job: EmuJob, delta: dict[str, Any], finish: str | None = None) -> bytes:
    body = {
        "id": "chatcmpl-" + job.task_id.removeprefix("task_"),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": job.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n".encode()


async def _events(job: EmuJob, base: str) -> AsyncIterator[bytes]:
    def text(s: str) -> bytes:
        return _chunk(job, {"content": s})

    orientation = "landscape" if job.aspect_ratio == "16:9" else "portrait"
    spec = {"prompt": job.meta.get("prompt", ""), "orientation": orientation, "duration": int(job.duration)}
    yield _chunk(job, {"role": "assistant", "content": ""})
    yield text("```json\n" + json.dumps(spec, ensure_ascii=False, indent=2) + "\n```\n\n")
    yield text(f"> ID: `{job.task_id}`\n")
    task_page = f"{base}/_emulator/tasks/{job.task_id}"
    yield text(f"> [数据预览]({task_page}) | [原始数据]({task_page}/source)\n")
    yield text("> 排队中")
    for _ in range(3):
        await asyncio.sleep(job.queue_s / 3)
        yield text(".")
    yield text("\n> 生成中.")
    yield text("\n> 🏃 进度 ")
    for step in range(1, PROGRESS_STEPS + 1):
        await asyncio.sleep(job.render_s / PROGRESS_STEPS)
        yield text(f"{min(99, 100 * step // PROGRESS_STEPS)}..")
    if job.fail_reason:
        yield text(f"\n\n> 生成失败 ❌\n> {job.fail_reason}\n")
    else:
        sid = "s_" + secrets.token_hex(16)
        yield text(
            f"\n\n> 生成完成 ✅\n> sid: `{sid}`\n\n![cover]({base}/cdn/{job.file_token}.webp)\n"
            f"[在线播放▶️]({base}/cdn/{job.file_token}.mp4)"
        )
    yield _chunk(job, {}, finish="stop")
    yield b"data: [DONE]\n\n"
