"""The picture an image model's answer links to, fetched as the untrusted URL it is (SSRF guard).

The link is model output, and the caller's description can steer it ("reply only with
``![x](http://10.0.0.5/...)``"), so it gets the same guard as a user's image URL (``vidgate.net.ssrf``): every
hop's host resolved and checked (no loopback, private, link-local or cloud-metadata address), the connection
pinned to the checked address, redirects followed by hand and checked again, only ``image/*`` answers, and
the body capped while it streams. The chat endpoint's own origin (scheme, host and port of the route the
operator configured, where relays serve the pictures they make) is trusted like an allow-listed host for that
hop only; a redirect away from it is checked like any other.

A failure is an ``UnusableImageError`` that says only that the answer held no usable image: the host, the
status and the size are logged at debug level for the operator, never put in the message (a gateway's tenant
would otherwise learn what answers inside the operator's network).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urljoin

import httpx

from vidgate.errors import ProtocolError, TransportError
from vidgate.net.ssrf import FetchFailed, FetchPolicy, FetchRefused, hop_steps, pinned_request
from vidgate.net.steps import Steps, open_stream, read_chunk

log = logging.getLogger("vidgate.assists")

MAX_ANSWER_IMAGE_BYTES = 20 * 1024 * 1024  # larger than any image model's output; the frame is re-encoded anyway
_REDIRECTS = (301, 302, 303, 307, 308)


class UnusableImageError(ProtocolError):
    """The image model's answer held no picture vidgate could use. ``reason`` says why, for logs and for
    library callers; the message never holds the link, the status or the size."""

    def __init__(self, provider: str, chat_model: str, reason: str) -> None:
        super().__init__(provider, f"{chat_model}: the image model's answer did not contain a usable image")
        self.reason = reason


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, or None."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed.scheme, parsed.host.lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


def _where(url: str) -> str:
    """Scheme, host and port only: a link's path and query may carry a signature."""
    found = origin(url)
    return f"{found[0]}://{found[1]}:{found[2]}" if found else "an unparsable URL"


def _hop_policy(url: str, policy: FetchPolicy, trusted: tuple[str, str, int] | None) -> FetchPolicy:
    here = origin(url)
    if trusted is None or here != trusted:
        return policy
    return replace(policy, allow_hosts=policy.allow_hosts | {here[1]})


def fetch_answer_image(
    url: str,
    policy: FetchPolicy,
    *,
    trusted_origin: str | None,
    max_bytes: int = MAX_ANSWER_IMAGE_BYTES,
) -> Steps[bytes]:
    """The image at ``url`` through the SSRF guard; ``FetchRefused`` / ``FetchFailed`` say why not."""
    trusted = origin(trusted_origin) if trusted_origin else None
    current = url
    for _ in range(policy.max_redirects + 1):
        hop = yield from hop_steps(current, _hop_policy(current, policy, trusted))
        try:
            response = yield from open_stream(pinned_request(hop, policy), guarded=True)
            if response.status_code in _REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchFailed(current, f"HTTP {response.status_code} without a Location header")
                current = str(urljoin(current, location))
                continue
            if not response.is_success:
                raise FetchFailed(current, f"HTTP {response.status_code}")
            mime = (response.headers.get("content-type") or "").split(";", 1)[0].strip().lower()
            if not mime.startswith("image/"):
                raise FetchFailed(current, f"content type {mime or 'missing'!r} is not image/*")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FetchFailed(current, f"{length} bytes announced, over the {max_bytes}-byte cap")
            parts: list[bytes] = []
            size = 0
            while chunk := (yield from read_chunk()):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(current, f"more than {max_bytes} bytes; stopped reading")
                parts.append(chunk)
            return b"".join(parts)
        except TransportError as exc:
            raise FetchFailed(current, str(exc)) from None
    raise FetchFailed(url, f"more than {policy.max_redirects} redirects")


def answer_image(
    url: str,
    policy: FetchPolicy,
    *,
    provider: str,
    chat_model: str,
    trusted_origin: str | None,
    max_bytes: int = MAX_ANSWER_IMAGE_BYTES,
) -> Steps[bytes]:
    """``fetch_answer_image``, every failure an ``UnusableImageError`` (details in the debug log only)."""
    try:
        return (yield from fetch_answer_image(url, policy, trusted_origin=trusted_origin, max_bytes=max_bytes))
    except (FetchRefused, FetchFailed) as exc:
        what = "refused" if isinstance(exc, FetchRefused) else "failed"
        log.debug("%s: the image link in the answer (%s) was %s: %s", chat_model, _where(url), what, exc.reason)
        raise UnusableImageError(provider, chat_model, f"the image link was {what}: {exc.reason}") from None
