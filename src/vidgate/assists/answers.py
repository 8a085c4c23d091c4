"""Reading what a chat model wrote: a JSON object (bare or in a ```json fence), and an image.

An image answer (``gpt-4o-image``: "the image comes back in the message content") is, depending on the relay,
a Markdown image ``![…](https://…png)``, a plain link, or the picture itself as a data URI or bare base64.
These functions only find it; fetching a link is the caller's step.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

_FENCE = re.compile(r"```(?:json)?\s*\n(.*?)\n\s*```", re.S | re.I)
_MD_IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?((?:https?://|data:image/)[^\s)>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_MD_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?(https?://[^\s)>]+)>?\s*\)")
_DATA_URI = re.compile(r"data:image/[a-z0-9.+-]+;base64,[A-Za-z0-9+/=\s]+", re.I)
_BARE_URL = re.compile(r"https?://[^\s)\]<>\"'`]+")
_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".webp", ".gif")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{200,}={0,2}")


class AnswerError(ValueError):
    """The answer does not hold what was asked for; the message says what it holds instead."""


def json_object(text: str) -> dict[str, Any]:
    """The JSON object in ``text``: the whole text, a fenced block, or the outermost ``{...}``."""
    candidates = [text.strip()]
    candidates += [m.group(1) for m in _FENCE.finditer(text)]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise AnswerError(f"no JSON object in the answer: {_excerpt(text)}")


@dataclass(frozen=True)
class FoundImage:
    """Where the answer's image is: a URL to fetch, or its bytes."""

    url: str | None = None
    data: bytes | None = None


def find_image(text: str) -> FoundImage:
    """The first image in an answer: Markdown image, data URI, image link, or a long bare base64 run."""
    for m in _MD_IMAGE.finditer(text):
        target = m.group(1)
        return _data(target) if target.startswith("data:") else FoundImage(url=target)
    uri = _DATA_URI.search(text)
    if uri:
        return _data(uri.group(0))
    links = [m.group(1) for m in _MD_LINK.finditer(text)] + [m.group(0) for m in _BARE_URL.finditer(text)]
    for url in links:
        if url.lower().split("?", 1)[0].endswith(_IMAGE_EXT):
            return FoundImage(url=url)
    run = _BASE64_RUN.search(text)
    if run:
        try:
            return FoundImage(data=base64.b64decode(run.group(0), validate=True))
        except (binascii.Error, ValueError):
            pass
    if links:
        return FoundImage(url=links[0])
    raise AnswerError(f"no image in the answer: {_excerpt(text)}")


def _data(uri: str) -> FoundImage:
    payload = uri.partition(",")[2]
    try:
        return FoundImage(data=base64.b64decode(re.sub(r"\s+", "", payload), validate=True))
    except (binascii.Error, ValueError):
        raise AnswerError("the answer's data URI is not valid base64") from None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return repr(flat if len(flat) <= 200 else flat[:197] + "...")
