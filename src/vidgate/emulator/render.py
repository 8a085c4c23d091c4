"""Real H.264 MP4s for the emulator: the duration and aspect ratio the request asked for, small frames."""

from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw

SHORT_SIDE = 144
FPS = 8


def frame_size(aspect_ratio: str | None, short_side: int = SHORT_SIDE) -> tuple[int, int]:
    """Width and height (even numbers, as H.264 wants) for an aspect ratio like ``16:9``."""
    a, b = 16.0, 9.0
    if aspect_ratio:
        left, _, right = aspect_ratio.replace("x", ":").partition(":")
        try:
            a, b = float(left), float(right)
        except ValueError:
            a, b = 16.0, 9.0
    if a >= b:
        h = short_side
        w = round(short_side * a / b)
    else:
        w = short_side
        h = round(short_side * b / a)
    return w + (w % 2), h + (h % 2)


@lru_cache(maxsize=64)
def render_mp4(duration_s: float, width: int, height: int, fps: int = FPS, label: str = "vidgate") -> bytes:
    """An MP4 of exactly ``round(duration_s * fps)`` frames: a moving bar over a shifting gradient."""
    import av

    frames = max(1, round(duration_s * fps))
    buf = io.BytesIO()
    with av.open(buf, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "35"}
        for i in range(frames):
            t = i / frames
            hue = int(255 * t)
            img = Image.new("RGB", (width, height), (hue, 90, 255 - hue))
            draw = ImageDraw.Draw(img)
            x = int((width - 12) * (0.5 + 0.5 * math.sin(2 * math.pi * t)))
            draw.rectangle([x, 0, x + 12, height], fill=(255, 255, 255))
            draw.text((4, 4), f"{label} {i / fps:5.2f}s", fill=(0, 0, 0))
            frame = av.VideoFrame.from_image(img)  # type: ignore[no-untyped-call]
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buf.getvalue()


def _still(width: int, height: int, t: float, label: str) -> Image.Image:
    """One frame in the style of ``render_mp4`` at time fraction ``t``."""
    hue = int(255 * t)
    img = Image.new("RGB", (width, height), (hue, 90, 255 - hue))
    draw = ImageDraw.Draw(img)
    x = int((width - 12) * (0.5 + 0.5 * math.sin(2 * math.pi * t)))
    draw.rectangle([x, 0, x + 12, height], fill=(255, 255, 255))
    draw.text((4, 4), label, fill=(0, 0, 0))
    return img


@lru_cache(maxsize=32)
def render_thumbnail(width: int, height: int) -> bytes:
    """A WebP still of the video's first frame (OpenAI's ``variant=thumbnail``)."""
    buf = io.BytesIO()
    _still(width, height, 0.0, "thumbnail").save(buf, format="WEBP", quality=80)
    return buf.getvalue()


@lru_cache(maxsize=32)
def render_spritesheet(width: int, height: int, frames: int = 10, columns: int = 5) -> bytes:
    """A JPEG grid of ``frames`` evenly spaced stills (OpenAI's ``variant=spritesheet``)."""
    rows = -(-frames // columns)
    sheet = Image.new("RGB", (width * columns, height * rows), (0, 0, 0))
    for i in range(frames):
        sheet.paste(_still(width, height, i / frames, f"#{i}"), ((i % columns) * width, (i // columns) * height))
    buf = io.BytesIO()
    sheet.save(buf, format="JPEG", quality=80)
    return buf.getvalue()
