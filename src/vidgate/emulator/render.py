"""Real H.264 MP4s for the emulator, shaped like the provider's output: frame size, frame rate, duration, an
AAC audio track where the model makes sound, and the prompt's first words with the elapsed second drawn on.

Fast by construction, so tests can render a file per job: the picture changes once a second (the elapsed
second), so each second is drawn once and repeated at the frame rate (x264 codes a repeat as skipped blocks);
the quality is low (crf 40, ultrafast); the audio (a short beep each second) is encoded once per duration and
copied into every file that needs it; and every render is cached per distinct shape. Measured on the shared
2-core build machine, 8 s with audio: 1280x720 24 fps 0.35–0.45 s, 1920x1080 0.8–0.95 s, 3840x2160 3.3 s, the
small 256x144 8 fps 14–18 ms. Real sizes are rendered while the job runs (``EmulatorState.add``).
"""

from __future__ import annotations

import io
import math
from contextlib import ExitStack
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

SHORT_SIDE = 144  # the small size (EmulatorConfig(real_sizes=False), `vidgate emulate --small`)
SMALL_FPS = 8  # and its frame rate: encoding cost is per frame, so small files are also sparse in time
FPS = 8  # render_mp4's frame rate when the caller names none (its first callers' choice; kept)
DEFAULT_FPS = 24  # what a job renders at when its dialect names no frame rate (the common film rate)
DEFAULT_SHORT_SIDE = 720  # a job's short side when its dialect names no size (720p, the usual default)
AUDIO_RATE = 48_000
TEXT_WORDS = 6  # how many of the prompt's words are drawn

# Short side in pixels of the resolution names providers use ("4k" is UHD 3840x2160, "2k" QHD 2560x1440).
RESOLUTION_SHORT_SIDE = {
    "360p": 360, "480p": 480, "540p": 540, "576p": 576, "720p": 720, "768p": 768, "1080p": 1080,
    "1440p": 1440, "2k": 1440, "2160p": 2160, "4k": 2160,
}  # fmt: skip


@dataclass(frozen=True)
class OutputVideo:
    """What a job's finished video looks like (a dialect sets it from the request and its own facts)."""

    width: int
    height: int
    fps: int = DEFAULT_FPS
    audio: bool = False


def parse_ratio(shape: str | None) -> tuple[float, float]:
    """``16:9`` or ``1280x720`` as two numbers; anything else is 16:9."""
    if shape:
        left, _, right = shape.replace("x", ":").partition(":")
        try:
            a, b = float(left), float(right)
        except ValueError:
            return 16.0, 9.0
        if a > 0 and b > 0:
            return a, b
    return 16.0, 9.0


def _even(n: float) -> int:
    v = max(2, round(n))
    return v + (v % 2)


def frame_size(aspect_ratio: str | None, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """Width and height (even numbers, as H.264 wants) for an aspect ratio like ``16:9``."""
    a, b = parse_ratio(aspect_ratio)
    if a >= b:
        return _even(short_side * a / b), _even(short_side)
    return _even(short_side), _even(short_side * b / a)


def output_size(shape: str | None, resolution: str | int | None = None) -> tuple[int, int]:
    """The frame size a provider returns: ``1280x720`` exactly, or an aspect ratio (``16:9``) at a resolution
    (``720p``, ``1080p``, ``4k``, or a short side in pixels; 720p when none)."""
    if shape and "x" in shape:
        left, _, right = shape.partition("x")
        if left.isdigit() and right.isdigit():
            return int(left), int(right)
    if isinstance(resolution, int):
        short = resolution
    else:
        short = RESOLUTION_SHORT_SIDE.get(str(resolution or "").lower(), DEFAULT_SHORT_SIDE)
    return frame_size(shape, short)


def small_size(width: int, height: int, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """``width`` x ``height`` scaled down so the short side is ``short_side`` (the same aspect ratio)."""
    scale = short_side / min(width, height)
    if scale >= 1:
        return width, height
    return _even(width * scale), _even(height * scale)


def first_words(prompt: str | None, words: int = TEXT_WORDS, chars: int = 48) -> str:
    """The prompt's first ``words`` words, at most ``chars`` characters (prompts without spaces, e.g. Chinese)."""
    parts = (prompt or "").split()
    text = " ".join(parts[:words])
    more = len(parts) > words or len(text) > chars
    return text[:chars] + (" …" if more else "")


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _picture(width: int, height: int, t: float, text: str, second: str) -> Image.Image:
    """One picture: a shifting colour, a bar that moves with ``t`` (0..1), the text and the elapsed second."""
    hue = int(255 * t)
    img = Image.new("RGB", (width, height), (hue, 90, 255 - hue))
    draw = ImageDraw.Draw(img)
    bar = max(2, width // 40)
    x = int((width - bar) * (0.5 + 0.5 * math.sin(2 * math.pi * t)))
    draw.rectangle([x, 0, x + bar, height], fill=(255, 255, 255))
    size = max(8, min(width, height) // 12)
    margin = max(2, size // 2)
    draw.text((margin, margin), text, fill=(0, 0, 0), font=_font(size))
    draw.text((margin, height - 2 * size - margin), second, fill=(0, 0, 0), font=_font(2 * size))
    return img


@lru_cache(maxsize=8)
def _audio_track(duration_s: float) -> bytes:
    """An MP4 holding only ``duration_s`` of mono AAC: a 0.1 s 880 Hz beep at the start of every second."""
    import av

    samples = max(1, round(duration_s * AUDIO_RATE))
    beep = round(0.1 * AUDIO_RATE)
    second = bytearray(2 * AUDIO_RATE)
    for k in range(beep):
        v = int(4000 * math.sin(2 * math.pi * 880 * k / AUDIO_RATE))
        second[2 * k : 2 * k + 2] = v.to_bytes(2, "little", signed=True)
    pcm = bytes(second) * (samples // AUDIO_RATE + 1)
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("aac", rate=AUDIO_RATE)
        stream.layout = "mono"  # type: ignore[attr-defined]
        stream.bit_rate = 32_000
        for off in range(0, samples, 1024):
            n = min(1024, samples - off)
            frame = av.AudioFrame(format="s16", layout="mono", samples=n)
            frame.planes[0].update(pcm[2 * off : 2 * (off + n)])
            frame.sample_rate = AUDIO_RATE
            frame.pts = off
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


@lru_cache(maxsize=256)  # small files (30 KB at 144p, ~200 KB at 1080p): a test run's distinct prompts fit
def render_mp4(
    duration_s: float,
    width: int,
    height: int,
    fps: int = FPS,
    label: str = "vidgate",
    *,
    audio: bool = False,
    text: str | None = None,
) -> bytes:
    """An MP4 of exactly ``round(duration_s * fps)`` frames at ``width`` x ``height``, ``text`` (else ``label``)
    and the elapsed second drawn on it, with a mono AAC track when ``audio``."""
    import av
    from av.video.reformatter import VideoReformatter

    frames = max(1, round(duration_s * fps))
    words = text if text is not None else label
    buf = io.BytesIO()
    with ExitStack() as stack:
        container = stack.enter_context(av.open(buf, mode="w", format="mp4"))
        stream = container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "40"}
        if width * height <= 640 * 360:  # one thread: at small sizes the threads' handover costs more than coding
            stream.options["threads"] = "1"
        # every stream is declared before the first packet is written (the muxer's header)
        source = stack.enter_context(av.open(io.BytesIO(_audio_track(duration_s)), mode="r")) if audio else None
        sound = container.add_stream_from_template(source.streams.audio[0]) if source else None
        to_yuv = VideoReformatter()  # one colour converter per file (making one per picture costs more)
        picture = None
        shown = -1
        for i in range(frames):
            second = int(i / fps)
            if second != shown:  # a new picture once a second; the frames between repeat it
                img = _picture(width, height, i / frames, words, f"{second} s")
                rgb = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
                picture = to_yuv.reformat(rgb, format="yuv420p")
                shown = second
            assert picture is not None
            picture.pts = i
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if source is not None and sound is not None:  # the cached AAC packets, copied as they are
            for packet in source.demux(source.streams.audio[0]):
                if packet.dts is not None:
                    packet.stream = sound
                    container.mux(packet)
    return buf.getvalue()


def _still(width: int, height: int, t: float, label: str) -> Image.Image:
    """One frame in the style of ``render_mp4`` at time fraction ``t``."""
    return _picture(width, height, t, label, "")


@lru_cache(maxsize=32)
def render_thumbnail(width: int, height: int, text: str = "thumbnail", fmt: str = "WEBP") -> bytes:
    """A still of the video's first frame at the video's size: OpenAI's ``variant=thumbnail`` (WebP), Zhipu's
    ``cover_image_url`` (``fmt="JPEG"``)."""
    buf = io.BytesIO()
    _picture(width, height, 0.0, text, "0 s").save(buf, format=fmt, quality=80)
    return buf.getvalue()


@lru_cache(maxsize=32)
def render_spritesheet(
    width: int, height: int, frames: int = 10, columns: int = 5, tile_short_side: int | None = None
) -> bytes:
    """A JPEG grid of ``frames`` evenly spaced stills (OpenAI's ``variant=spritesheet``); each tile is the
    video's frame, scaled down to ``tile_short_side`` when given."""
    if tile_short_side:
        width, height = small_size(width, height, tile_short_side)
    rows = -(-frames // columns)
    sheet = Image.new("RGB", (width * columns, height * rows), (0, 0, 0))
    for i in range(frames):
        sheet.paste(_still(width, height, i / frames, f"#{i}"), ((i % columns) * width, (i // columns) * height))
    buf = io.BytesIO()
    sheet.save(buf, format="JPEG", quality=80)
    return buf.getvalue()
