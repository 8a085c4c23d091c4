"""Reading a chat-format video answer: SSE chat chunks, progress lines, and the video link in Markdown.

Pure functions and small incremental parsers; no I/O. Shapes seen in the wild (relay-platforms.md §2.4):

* non-stream: ``✅ 视频生成成功，[点击这里](https://…/sora/<uuid>.mp4) 查看视频~~~``;
* stream (``data: {chat.completion.chunk}`` lines, then ``data: [DONE]``), whose text grows into
  ``> ID: `task_…` `` / ``> [数据预览](…) | [原始数据](…)`` / ``> 排队中...`` / ``> 生成中.`` /
  ``> 🏃 进度 42..54..76..`` / ``> 生成完成 ✅`` / ``> sid: …`` / a cover ``![…](….webp)`` and
  ``[在线播放▶️](….mp4)`` (https://docs.22codex.xyz/427877355e0.html and public client code);
  other relays write ``⌛️ 任务正在队列中`` and ``🏃 进度:36.0%``.

The task-preview and raw-data links are *not* the video: a link counts only when its URL path ends in a
video extension or its text says play / view / download video. Images (``![…](…)``) never count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from vidgate.types import JobStatus

VIDEO_EXTENSIONS = (".mp4", ".mov", ".webm", ".m4v", ".mkv")
_PLAY_WORDS = ("点击这里", "在线播放", "播放", "查看视频", "下载视频", "视频链接", "video", "play", "watch", "download")
_NOT_VIDEO_WORDS = ("数据预览", "原始数据", "preview", "source", "raw")
_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*<?(https?://[^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_BARE_URL = re.compile(r"https?://[^\s)\]<>\"'`]+")
_TASK_ID = re.compile(r"\bID\s*[:：]\s*`?([A-Za-z0-9][A-Za-z0-9_:.\-]*)`?")
_PROGRESS_LINE = re.compile(r"进度\s*[:：]?([^\n]*)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

# Markers in the streamed text, in the order a generation passes them. The last one present wins.
QUEUED_MARKERS = ("排队中", "队列中", "queued", "queueing")
RUNNING_MARKERS = ("生成中", "进度", "in progress", "generating")
DONE_MARKERS = ("生成完成", "视频生成成功")


def is_video_url(url: str) -> bool:
    path = urlsplit(url).path.lower()
    return path.endswith(VIDEO_EXTENSIONS)


def video_links(text: str) -> list[str]:
    """The video URLs a Markdown answer links to, in order, without repeats."""
    found: list[str] = []
    for m in _LINK.finditer(text):
        image, label, url = m.group(1), m.group(2).strip().lower(), m.group(3)
        if image:
            continue
        labelled = any(w in label for w in _PLAY_WORDS) and not any(w in label for w in _NOT_VIDEO_WORDS)
        if (is_video_url(url) or labelled) and url not in found:
            found.append(url)
    if found:
        return found
    linked = {m.group(3) for m in _LINK.finditer(text)}
    for m in _BARE_URL.finditer(text):
        url = m.group(0).rstrip(".,;:!?。，")
        if url not in linked and is_video_url(url) and url not in found:
            found.append(url)
    return found


def task_id(text: str) -> str | None:
    m = _TASK_ID.search(text)
    return m.group(1) if m else None


def progress(text: str) -> int | None:
    """The last number on the last progress line (``🏃 进度 42..54..76..`` -> 76, ``进度:36.0%`` -> 36)."""
    lines = _PROGRESS_LINE.findall(text)
    for line in reversed(lines):
        numbers = _NUMBER.findall(line)
        if numbers:
            return max(0, min(100, int(float(numbers[-1]))))
    return None


def _last_index(text: str, markers: tuple[str, ...]) -> int:
    low = text.lower()
    return max((low.rfind(m.lower()) for m in markers), default=-1)


@dataclass(frozen=True)
class StreamState:
    """What the answer so far says. ``status`` is None until a marker appears."""

    status: JobStatus | None
    raw_status: str | None
    progress: int | None
    task_id: str | None


def read_state(text: str) -> StreamState:
    """Interpret the progress lines of the text received so far (never decides success: the link does)."""
    marks = {
        "queued": _last_index(text, QUEUED_MARKERS),
        "running": _last_index(text, RUNNING_MARKERS),
        "done": _last_index(text, DONE_MARKERS),
    }
    kind = max(marks, key=lambda k: marks[k])
    pct = progress(text)
    if marks[kind] < 0:
        return StreamState(None, None, pct, task_id(text))
    status = JobStatus.queued if kind == "queued" else JobStatus.running
    line_start = text.rfind("\n", 0, marks[kind]) + 1
    line_end = text.find("\n", marks[kind])
    line = text[line_start : line_end if line_end >= 0 else len(text)]
    if _PROGRESS_LINE.search(line):
        raw = f"进度 {pct}" if pct is not None else "进度"
    else:  # "> 排队中..." -> "排队中": the dots only show time passing
        raw = line.strip(" >\t").rstrip(".。…· ")
    return StreamState(status, raw[:80] or kind, pct, task_id(text))


# ---------------------------------------------------------------- wire shapes


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str | None = None
    content: str | list[Any] | None = None


class _Choice(BaseModel):
    model_config = ConfigDict(extra="allow")
    index: int = 0
    message: _Message | None = None
    delta: _Message | None = None
    finish_reason: str | None = None


class ChatCompletion(BaseModel):
    """``chat.completion`` (non-stream) and ``chat.completion.chunk`` (stream) share this shape."""

    model_config = ConfigDict(extra="allow")
    id: str | None = None
    object: str | None = None
    model: str | None = None
    created: int | float | None = None
    choices: list[_Choice] = []
    error: Any = None

    def text(self) -> str:
        parts: list[str] = []
        for choice in self.choices:
            msg = choice.message or choice.delta
            if msg is None or msg.content is None:
                continue
            if isinstance(msg.content, str):
                parts.append(msg.content)
            else:  # content parts
                parts += [p.get("text", "") for p in msg.content if isinstance(p, dict)]
        return "".join(parts)

    def finish_reason(self) -> str | None:
        return next((c.finish_reason for c in self.choices if c.finish_reason), None)


@dataclass
class SSEDecoder:
    """Incremental server-sent-events decoder: feed bytes, get each event's ``data`` (lines joined by \\n)."""

    _buffer: bytes = b""
    _data: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events: list[str] = []
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                return events
            line = self._buffer[:cut].rstrip(b"\r").decode("utf-8", errors="replace")
            self._buffer = self._buffer[cut + 1 :]
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
            elif line.startswith("data:"):
                self._data.append(line[5:].removeprefix(" "))
            # comments (":"), "event:", "id:" and "retry:" lines carry nothing this dialect needs

    def close(self) -> list[str]:
        """The last event when the body ended without a blank line."""
        events = self.feed(b"\n") if self._buffer else []
        if self._data:
            events.append("\n".join(self._data))
            self._data = []
        return events


def parse_event(data: str) -> ChatCompletion | None:
    """One SSE ``data`` payload as a chunk; None for ``[DONE]``. Unparseable payloads become error chunks."""
    if data.strip() == "[DONE]":
        return None
    try:
        body = json.loads(data)
    except json.JSONDecodeError:
        return ChatCompletion(error={"message": f"unparseable stream event: {data[:200]}"})
    if not isinstance(body, dict):
        return ChatCompletion(error={"message": f"unexpected stream event: {data[:200]}"})
    return ChatCompletion.model_validate(body)
