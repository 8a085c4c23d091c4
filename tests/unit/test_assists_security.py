"""Assists against a hostile or unlucky answer: the image link is fetched through the SSRF guard, a frame size
is bounded before any request, an image bomb is refused before it is decoded, and a chat request is sent
again only when it surely did not run."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from vidgate.assists import run
from vidgate.assists.answer_image import UnusableImageError, answer_image, fetch_answer_image
from vidgate.assists.ask import ChatCalls
from vidgate.assists.frame import MAX_ANSWER_PIXELS, check_shape, check_size, fit
from vidgate.catalog import load_catalog
from vidgate.client import Client
from vidgate.errors import ProviderServerError, TransportError, ValidationError
from vidgate.net.ssrf import FetchFailed, FetchPolicy, FetchRefused
from vidgate.net.steps import ReadChunk, Resolve, Steps, Stream
from vidgate.types import ImageRole

CATALOG = load_catalog()
SORA = CATALOG.resolve("relay/sora-2")  # no size list: bounded by the frame limits
OPENAI_SORA = CATALOG.resolve("openai/sora-2")  # a size list
KLING = CATALOG.resolve("kling/kling-v3")  # min side 300, aspect 0.4 to 2.5
POLICY = FetchPolicy()
CHAT_PATH = "/v1/chat/completions"


def _png(w: int = 1280, h: int = 720) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), "red").save(buf, format="PNG")
    return buf.getvalue()


def _bomb(w: int, h: int) -> bytes:
    """A PNG whose header says w x h, with a tiny body: the whole image only exists once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    idat = zlib.compress(b"\x00" * ((w + 7) // 8 + 1) * 10)
    header = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _chat(content: str) -> httpx.Response:
    message = {"role": "assistant", "content": content}
    return httpx.Response(
        200,
        json={
            "id": "c",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1},
        },
    )


# ---------------------------------------------------------------- a sans-IO run of the guarded fetch

Host = Callable[[httpx.Request], httpx.Response]


class Net:
    """Answers the fetch's effects: DNS from a table, each pinned request from ``host``; records what was asked."""

    def __init__(self, dns: dict[str, list[str]], host: Host) -> None:
        self.dns = dns
        self.host = host
        self.connected: list[str] = []  # "address:port Host-header path" of every request opened
        self.reads = 0

    def run(self, steps: Steps[bytes]) -> bytes:
        chunks: Iterator[bytes] = iter(())
        try:
            effect = next(steps)
            while True:
                if isinstance(effect, Resolve):
                    effect = steps.send(self.dns[effect.host])
                elif isinstance(effect, Stream):
                    req = effect.request
                    assert effect.guarded  # no environment proxies, no redirects followed by the client
                    port = req.url.port or (443 if req.url.scheme == "https" else 80)
                    self.connected.append(f"{req.url.host}:{port} {req.headers['host']} {req.url.path}")
                    response = self.host(req)
                    body = response.content
                    chunks = iter([body[i : i + 1000] for i in range(0, len(body), 1000)])
                    effect = steps.send(response)
                elif isinstance(effect, ReadChunk):
                    self.reads += 1
                    effect = steps.send(next(chunks, b""))
                else:
                    raise AssertionError(f"unexpected effect {effect!r}")
        except StopIteration as stop:
            result: bytes = stop.value
            return result


def _image_host(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, headers={"content-type": "image/png"}, content=_png(64, 36))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/secret.png",
        "http://10.0.0.5/a.png",
        "http://localhost:8080/a.png",
        "http://[::ffff:127.0.0.1]/a.png",
        "http://intranet.example/a.png",  # a name that resolves to a private address
        "file:///etc/passwd",
    ],
)
def test_an_answer_link_into_private_networks_is_refused_before_any_connection(url: str) -> None:
    net = Net({"intranet.example": ["192.168.1.20"]}, _image_host)
    with pytest.raises(FetchRefused):
        net.run(fetch_answer_image(url, POLICY, trusted_origin="https://relay.example"))
    assert net.connected == []


def test_only_the_chat_endpoints_exact_origin_is_trusted() -> None:
    net = Net({}, _image_host)
    trusted = "http://127.0.0.1:8000/v1"
    data = net.run(fetch_answer_image("http://127.0.0.1:8000/img/a.png", POLICY, trusted_origin=trusted))
    assert data.startswith(b"\x89PNG") and net.connected == ["127.0.0.1:8000 127.0.0.1:8000 /img/a.png"]
    for other in ("http://127.0.0.1:6379/a.png", "https://127.0.0.1:8000/a.png"):  # another port, another scheme
        with pytest.raises(FetchRefused, match="loopback"):
            net.run(fetch_answer_image(other, POLICY, trusted_origin=trusted))
    assert len(net.connected) == 1


def test_every_redirect_is_checked_again_and_the_connection_is_pinned() -> None:
    def host(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/to-metadata":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})
        if request.url.path == "/to-trusted-port":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:6379/"})
        if request.url.path == "/to-cdn":
            return httpx.Response(302, headers={"location": "https://cdn.example/b.png"})
        return _image_host(request)

    net = Net({"cdn.example": ["93.184.216.34"]}, host)
    with pytest.raises(FetchRefused, match="metadata"):
        net.run(fetch_answer_image("http://93.184.216.34/to-metadata", POLICY, trusted_origin=None))
    with pytest.raises(FetchRefused, match="loopback"):  # trusted origin redirecting to another port on that host
        net.run(
            fetch_answer_image("http://127.0.0.1:8000/to-trusted-port", POLICY, trusted_origin="http://127.0.0.1:8000")
        )
    assert net.run(fetch_answer_image("http://93.184.216.34/to-cdn", POLICY, trusted_origin=None)).startswith(
        b"\x89PNG"
    )
    assert net.connected[-1] == "93.184.216.34:443 cdn.example /b.png"  # pinned to the checked address
    assert not any("169.254" in c or ":6379" in c for c in net.connected)


def test_only_images_are_taken_and_the_body_is_capped_while_it_streams() -> None:
    answers = {
        "/html": httpx.Response(200, headers={"content-type": "text/html"}, content=b"<html>admin</html>"),
        "/none": httpx.Response(200, content=_png(8, 8)),
        "/announced": httpx.Response(200, headers={"content-type": "image/png", "content-length": "999999"}),
        "/endless": httpx.Response(200, headers={"content-type": "image/png"}, content=b"x" * 50_000),
        "/gone": httpx.Response(404, headers={"content-type": "image/png"}),
    }
    net = Net({}, lambda r: answers[r.url.path])
    for path in answers:
        with pytest.raises(FetchFailed):
            net.run(fetch_answer_image(f"http://93.184.216.34{path}", POLICY, trusted_origin=None, max_bytes=10_000))
    assert net.reads <= 12  # stopped past the cap: 11 chunks of 1000 bytes, not 50


def test_the_error_names_no_link_status_or_size() -> None:
    net = Net({}, lambda r: httpx.Response(404, text="not here"))
    url = "http://93.184.216.34:8443/private/secret.png?sig=abc"
    with pytest.raises(UnusableImageError) as refused:
        net.run(answer_image(url, POLICY, provider="relay", chat_model="relay/gpt-4o-image", trusted_origin=None))
    text = str(refused.value)
    assert "did not contain a usable image" in text
    assert not any(leak in text for leak in ("93.184", "8443", "secret", "sig=", "404"))
    assert "404" in refused.value.reason  # for the operator's logs and library callers


def test_client_frame_does_not_fetch_a_metadata_link_named_by_the_answer() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path.endswith(CHAT_PATH):
            return _chat("![x](http://169.254.169.254/latest/meta-data/secret.png)")
        return httpx.Response(200, headers={"content-type": "image/png"}, content=_png())

    with (
        Client(base_url="https://relay.example", api_key="sk", env={}, transport=httpx.MockTransport(handler)) as c,
        pytest.raises(UnusableImageError, match="did not contain a usable image"),
    ):
        c.frame("a kite", for_model="sora-2", aspect_ratio="16:9")
    assert seen == [f"https://relay.example{CHAT_PATH}"]


# ---------------------------------------------------------------- frame sizes and image bombs


@pytest.mark.parametrize(
    ("spec", "size", "said"),
    [
        (SORA, "8000x8000", "larger than a frame"),
        (SORA, "40000x1", "larger than a frame"),
        (SORA, "0x720", "not a size"),
        (SORA, "big", "not a size"),
        (OPENAI_SORA, "1024x1024", "does not make this size"),
        (KLING, "200x200", "at least 300"),
        (KLING, "3000x300", "shape"),
    ],
)
def test_a_frame_size_outside_the_models_limits_is_refused_naming_the_field(spec: Any, size: str, said: str) -> None:
    with pytest.raises(ValidationError, match=said) as refused:
        check_size(spec, size)
    problem = refused.value.problems[0]
    assert problem.field == "size" and problem.value == size and problem.allowed
    if spec is OPENAI_SORA:
        assert problem.allowed == "1280x720, 720x1280"
    check_size(spec, "1280x720")  # within every limit above


def test_a_sliver_of_an_aspect_ratio_is_refused_where_the_model_lists_none() -> None:
    cog = CATALOG.resolve("zhipu/cogvideox-3")  # no aspect ratio list: a shape bound applies
    assert not cog.aspect_ratio.values
    for shape in ("1:100000", "100000:1", "0:1", "nan:1", "1e308:1e-308"):
        with pytest.raises(ValidationError) as refused:
            check_shape(cog, shape)
        assert refused.value.problems[0].field == "aspect_ratio", shape
    check_shape(cog, "21:9")
    check_shape(cog, None)


def test_client_frame_refuses_a_huge_size_before_any_request() -> None:
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return _chat("nothing")

    with _client(handler, []) as c, pytest.raises(ValidationError, match="size"):
        c.frame("a kite", for_model="sora-2", size="8000x8000")
    assert sent == []


@pytest.mark.parametrize("side", [20_000, 5_000])  # past Pillow's own bomb limit, and under it but past ours
def test_an_image_bomb_is_refused_from_its_header_without_decoding(side: int) -> None:
    assert side * side > MAX_ANSWER_PIXELS
    with pytest.raises(ValidationError, match="more than"):
        fit(_bomb(side, side), SORA, role=ImageRole.first_frame)


def test_an_image_that_fails_to_decode_is_a_validation_error() -> None:
    truncated = _png(640, 360)[:200]
    with pytest.raises(ValidationError, match="not a usable image"):
        fit(truncated, SORA, role=ImageRole.first_frame, aspect_ratio="9:16")


# ---------------------------------------------------------------- resending chat requests


def _plan_answer() -> httpx.Response:
    return _chat(json.dumps({"shots": [{"seconds": 10, "scene": "a fox runs"}]}))


def _client(handler: Host, slept: list[float]) -> Client:
    return Client(
        base_url="https://relay.example",
        api_key="sk",
        env={},
        transport=httpx.MockTransport(handler),
        sleep=slept.append,
    )


def _plan(c: Client, calls: ChatCalls) -> Any:
    return c._run(run.plan(c._core, "a fox", model="sora-2", calls=calls))


@pytest.mark.parametrize("lost", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.WriteTimeout])
def test_a_request_whose_answer_was_lost_is_not_sent_again(lost: type[httpx.TransportError]) -> None:
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        if len(sent) < 3:
            raise lost("the provider is generating; the answer never came back", request=request)
        return httpx.Response(503, json={"error": {"message": "busy"}})

    calls = ChatCalls()
    with _client(handler, []) as c, pytest.raises(TransportError):
        _plan(c, calls)
    assert len(sent) == 1 and calls.outcomes == ["lost"] and calls.may_be_billed


def test_requests_that_surely_did_not_run_are_sent_again_honouring_retry_after() -> None:
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if len(sent) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        if len(sent) == 2:
            return httpx.Response(429, headers={"retry-after": "7"}, json={"error": {"message": "slow down"}})
        return _plan_answer()

    slept: list[float] = []
    calls = ChatCalls()
    with _client(handler, slept) as c:
        plan = _plan(c, calls)
    assert len(sent) == 3 and slept == [1.0, 7.0]
    assert calls.outcomes == ["not_sent", "refused", "answered"] and plan.record is not None
    assert plan.record.requests == 3  # every attempt recorded on the plan


def test_503_is_sent_again_but_other_server_errors_are_not() -> None:
    for status, expected in ((503, 3), (500, 1), (502, 1), (504, 1)):
        sent: list[int] = []

        def handler(request: httpx.Request, status: int = status, sent: list[int] = sent) -> httpx.Response:
            sent.append(1)
            return httpx.Response(status, json={"error": {"message": "upstream"}})

        calls = ChatCalls()
        with _client(handler, []) as c, pytest.raises(ProviderServerError):
            _plan(c, calls)
        assert len(sent) == expected, status
        assert not calls.may_be_billed  # an error answer is not billed: the gateway refunds


def test_a_long_retry_after_is_not_waited_for() -> None:
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        return httpx.Response(429, headers={"retry-after": "3600"}, json={"error": {"message": "tomorrow"}})

    slept: list[float] = []
    with _client(handler, slept) as c, pytest.raises(Exception, match="tomorrow"):
        _plan(c, ChatCalls())
    assert sent == [1] and slept == []


def test_calls_say_when_a_charge_stands() -> None:
    calls = ChatCalls()
    assert not calls.may_be_billed
    for outcome in ("not_sent", "refused"):
        calls.start()
        calls.end(outcome)  # type: ignore[arg-type]
    assert not calls.may_be_billed and not calls.answered
    calls.start()  # still in flight when the assist stopped (cancelled)
    assert calls.may_be_billed and not calls.answered
    calls.end("answered")
    assert calls.answered
