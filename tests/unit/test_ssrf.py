"""The SSRF guard: address classes, DNS answers, pinned connections, redirects, size and type limits.

Everything stays on loopback: the image server is a real HTTP server on 127.0.0.1, trusted through an explicit
allow-list; forbidden targets are refused before any connection is opened.
"""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import image_bytes
from tests.steps import run_async, run_blocking
from vidgate.net.ssrf import (
    FetchFailed,
    FetchPolicy,
    FetchRefused,
    Hop,
    fetch,
    forbidden_reason,
    pinned_request,
    resolve_hop,
)

PNG = image_bytes((32, 32))
BIG = PNG + b"\0" * (6 * 1024 * 1024)  # 6 MiB: over cogvideox-3's 5 MiB limit


@pytest.mark.parametrize(
    ("address", "words"),
    [
        ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("10.0.0.1", "private"), ("172.16.5.4", "private"),
        ("192.168.1.1", "private"), ("169.254.169.254", "metadata"), ("169.254.1.1", "link-local"),
        ("100.64.0.1", "not a public"), ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"),
        ("240.0.0.1", "address"), ("168.63.129.16", "metadata"), ("100.100.100.200", "metadata"),
        ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"), ("fc00::1", "private"),
        ("fd00:ec2::254", "metadata"), ("::ffff:127.0.0.1", "127.0.0.1"), ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.1.1.1", "private"), ("::127.0.0.1", "loopback"), ("2002:7f00:1::", "127.0.0.1"),
        ("64:ff9b::a00:1", "10.0.0.1"), ("64:ff9b:1::1", "NAT64"), ("ff02::1", "multicast"),
    ],
)  # fmt: skip
def test_forbidden_addresses(address: str, words: str) -> None:
    reason = forbidden_reason(ipaddress.ip_address(address))
    assert reason is not None and words.lower() in reason.lower()


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:2800:220:1:248:1893:25c8:1946",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])  # fmt: skip
def test_public_addresses_pass(address: str) -> None:
    assert forbidden_reason(ipaddress.ip_address(address)) is None


def test_every_resolved_address_is_checked() -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.0.0.5"]

    with pytest.raises(FetchRefused) as info:
        resolve_hop("https://img.example/cat.png", FetchPolicy(), resolver)
    assert "resolves to 10.0.0.5" in info.value.reason and "private" in info.value.reason


def test_public_host_is_pinned_to_the_checked_address() -> None:
    hop = resolve_hop("https://img.example:8443/a.png?x=1", FetchPolicy(), lambda h, p: ["93.184.216.34"])
    request = pinned_request(hop, FetchPolicy())
    assert str(request.url) == "https://93.184.216.34:8443/a.png?x=1"
    assert request.headers["host"] == "img.example:8443"
    assert request.extensions["sni_hostname"] == "img.example"


def test_pinned_ipv6() -> None:
    hop = resolve_hop("http://img6.example/a.png", FetchPolicy(), lambda h, p: ["2606:2800:220:1:248:1893:25c8:1946"])
    assert str(pinned_request(hop, FetchPolicy()).url) == "http://[2606:2800:220:1:248:1893:25c8:1946]/a.png"


def never(host: str, port: int) -> list[str]:
    raise AssertionError("must not resolve")


@pytest.mark.parametrize(
    ("url", "words"),
    [("http://localhost/a.png", "loopback name"), ("http://api.localhost/a.png", "loopback name"),
     ("http://127.0.0.1/a.png", "loopback"), ("http://[::1]/a.png", "loopback"),
     ("http://169.254.169.254/latest/meta-data/", "metadata"), ("http://10.2.3.4/a.png", "private"),
     ("http://[::ffff:127.0.0.1]/a.png", "127.0.0.1"), ("ftp://example.com/a.png", "scheme"),
     ("file:///etc/passwd", "scheme"), ("http://user:pw@example.com/a.png", "user name"),
     ("http:///nohost", "host")],
)  # fmt: skip
def test_refused_before_any_lookup(url: str, words: str) -> None:
    with pytest.raises(FetchRefused) as info:
        resolve_hop(url, FetchPolicy(), never)
    assert words in info.value.reason


def test_decimal_ip_is_refused_after_resolution() -> None:
    with pytest.raises(FetchRefused) as info:
        resolve_hop("http://2130706433/a.png", FetchPolicy(), lambda h, p: ["127.0.0.1"])
    assert "resolves to 127.0.0.1" in info.value.reason


def test_allow_list_is_exact_and_case_insensitive() -> None:
    policy = FetchPolicy.allowing(["Images.Internal", "127.0.0.1"])
    assert resolve_hop("http://images.internal/a.png", policy, lambda h, p: ["10.0.0.7"]) == Hop(
        resolve_hop("http://images.internal/a.png", policy, lambda h, p: ["10.0.0.7"]).url, "10.0.0.7"
    )
    with pytest.raises(FetchRefused):
        resolve_hop("http://other.internal/a.png", policy, lambda h, p: ["10.0.0.7"])
    with pytest.raises(FetchRefused):
        resolve_hop("http://127.0.0.2/a.png", policy, never)


# ---------------------------------------------------------------- a real loopback image server


class _Handler(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/img.png":
            self._send(200, PNG, "image/png")
        elif parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", query["to"][0])
            self.end_headers()
        elif parts.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        elif parts.path == "/big.png":
            self._send(200, BIG, "image/png")
        elif parts.path == "/page.html":
            self._send(200, b"<html></html>", "text/html")
        elif parts.path == "/chunked.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no Content-Length: the body runs until the connection closes
            self.wfile.write(b"x" * 5000)
            self.close_connection = True
        else:
            self._send(404, b"nope", "text/plain")

    def _send(self, status: int, data: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class ImageServer:
    def __init__(self) -> None:
        handler = type("H", (_Handler,), {"hits": []})
        self.hits: list[str] = handler.hits  # type: ignore[attr-defined]
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def _image_server() -> Iterator[ImageServer]:
    server = ImageServer()
    yield server
    server.close()


@pytest.fixture
def image_server(_image_server: ImageServer) -> ImageServer:
    _image_server.hits.clear()
    return _image_server


TRUST_LOOPBACK = FetchPolicy.allowing(["127.0.0.1"])


def test_allowed_loopback_server_is_fetched(image_server: ImageServer) -> None:
    got = run_blocking(fetch(f"{image_server.url}/img.png", TRUST_LOOPBACK, max_bytes=10_000))
    assert got.data == PNG and got.content_type == "image/png"


def test_the_same_server_is_refused_without_the_allow_list(image_server: ImageServer) -> None:
    with pytest.raises(FetchRefused):
        run_blocking(fetch(f"{image_server.url}/img.png", FetchPolicy(), max_bytes=10_000))
    assert image_server.hits == []


def test_relative_redirect_on_the_allowed_host(image_server: ImageServer) -> None:
    got = run_blocking(fetch(f"{image_server.url}/redirect?to=/img.png", TRUST_LOOPBACK, max_bytes=10_000))
    assert got.data == PNG and got.url.endswith("/img.png")


@pytest.mark.parametrize(
    "target",
    ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x.png", "http://[::1]:9/x.png",
     "http://localhost:9/x.png", "http://0.0.0.0:9/x.png", "http://[::ffff:192.168.0.1]/x.png",
     "gopher://127.0.0.1/x"],
)  # fmt: skip
def test_redirect_from_allowed_host_to_forbidden_address_is_refused(image_server: ImageServer, target: str) -> None:
    with pytest.raises(FetchRefused) as info:
        run_blocking(fetch(f"{image_server.url}/redirect?to={target}", TRUST_LOOPBACK, max_bytes=10_000))
    assert info.value.reason.startswith("redirected to")
    assert image_server.hits == [f"/redirect?to={target}"]  # one hop, then nothing


def test_too_many_redirects(image_server: ImageServer) -> None:
    with pytest.raises(FetchFailed) as info:
        run_blocking(fetch(f"{image_server.url}/loop", TRUST_LOOPBACK, max_bytes=10_000))
    assert "redirects" in info.value.reason


def test_size_limit_from_content_length_and_while_streaming(image_server: ImageServer) -> None:
    with pytest.raises(FetchFailed) as info:
        run_blocking(fetch(f"{image_server.url}/img.png", TRUST_LOOPBACK, max_bytes=10))
    assert "limit" in info.value.reason
    with pytest.raises(FetchFailed) as info:
        run_blocking(fetch(f"{image_server.url}/chunked.png", TRUST_LOOPBACK, max_bytes=1000))
    assert "stopped reading" in info.value.reason


def test_content_type_and_http_errors(image_server: ImageServer) -> None:
    with pytest.raises(FetchFailed, match="not an image"):
        run_blocking(fetch(f"{image_server.url}/page.html", TRUST_LOOPBACK, max_bytes=1000))
    with pytest.raises(FetchFailed, match="HTTP 404"):
        run_blocking(fetch(f"{image_server.url}/missing.png", TRUST_LOOPBACK, max_bytes=1000))


def test_async_fetch_and_redirect_refusal(image_server: ImageServer) -> None:
    async def main() -> None:
        got = await run_async(fetch(f"{image_server.url}/img.png", TRUST_LOOPBACK, max_bytes=10_000))
        assert got.data == PNG
        with pytest.raises(FetchRefused, match="redirected to"):
            await run_async(fetch(f"{image_server.url}/redirect?to=http://169.254.169.254/", TRUST_LOOPBACK,
                                  max_bytes=10_000))  # fmt: skip
        with pytest.raises(FetchRefused):
            await run_async(fetch("http://[::1]:9/x.png", FetchPolicy(), max_bytes=10))

    asyncio.run(main())
