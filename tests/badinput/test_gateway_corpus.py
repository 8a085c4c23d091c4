"""The gateway's bad-input corpus: hostile or mistaken requests get a 4xx in the API's error shape that names
the field and what to do (never a 500, never a dropped connection), and not one request reaches a provider."""

from __future__ import annotations

import io
import json
import socket
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest
from PIL import Image

from tests.badinput.helpers import NO_TRACEBACK, provider_requests
from tests.gateway.helpers import env_for, gateway_config
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer
from vidgate.server.tenants import create_key
from vidgate.store.gateway import StoredCharacter
from vidgate.types import Asset, Character, Job, JobStatus, VideoRequest, utcnow

# the token placeholders a case's headers may use (filled in by the fixture)
KEY, OTHER, REVOKED = "<key>", "<other>", "<revoked>"


def png(width: int = 64, height: int = 36) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 240)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    if (width, height) != (4, 4):  # a header claiming a huge frame: what a decompression bomb looks like
        ihdr = bytes(data[12:16]) + struct.pack(">II", width, height) + bytes(data[24:29])
        data[16:24] = struct.pack(">II", width, height)
        data[29:33] = struct.pack(">I", zlib.crc32(ihdr) & 0xFFFFFFFF)
    return bytes(data)


def data_uri(raw: bytes) -> str:
    import base64

    return "data:image/png;base64," + base64.b64encode(raw).decode()


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    status: int
    says: tuple[str, ...] = ()
    param: str | None = None
    json: Any = None
    content: bytes | str | None = None
    data: dict[str, Any] | None = None
    files: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=lambda: {"Authorization": f"Bearer {KEY}"})
    raw: str | None = None  # the request's head, sent as it is on a socket (then ``{}`` as its body)


def create(status: int, body: Any, *says: str, param: str | None = None, **kw: Any) -> Case:
    return Case("POST", "/v1/videos", status, says, param, json=body, **kw)


def raw(status: int, header: str, *says: str) -> Case:
    head = f"POST /v1/videos HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n{header}\r\n"
    return Case("POST", "/v1/videos", status, says, raw=head + "Content-Type: application/json\r\n\r\n{}")


def send_raw(port: int, request: bytes) -> httpx.Response:
    """Send bytes as they are; the answer is read with h11 (a real HTTP parser) into an httpx.Response."""
    conn = h11.Connection(h11.CLIENT)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        status, headers, body = 0, [], b""
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status, headers = event.status_code, [(k.decode(), v.decode()) for k, v in event.headers]
            elif isinstance(event, h11.Data):
                body += bytes(event.data)
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return httpx.Response(status, headers=headers, content=body)


def relay(status: int, body: Any, *says: str, param: str | None = None, **kw: Any) -> Case:
    return Case("POST", "/v2/videos/generations", status, says, param, json=body, **kw)


OK = {"prompt": "a fox in the snow", "model": "sora-2", "seconds": "10"}
V2 = {"prompt": "a fox in the snow", "model": "sora-2", "duration": "10"}
RAW_JSON = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

CASES: dict[str, Case] = {
    # --- who is calling
    "no key": create(401, OK, "API key", headers={}),
    "wrong key": create(401, OK, "Incorrect API key", headers={"Authorization": "Bearer vg_0123456789ab_" + "x" * 43}),
    "key not the key shape": create(401, OK, "Incorrect API key", headers={"Authorization": "Bearer sk-123"}),
    "revoked key": create(401, OK, "revoked", headers={"Authorization": f"Bearer {REVOKED}"}),
    "basic auth": create(401, OK, "API key", headers={"Authorization": "Basic dXNlcjpwYXNz"}),
    "no key on /v2": relay(401, V2, "API key", headers={}),
    "no key reading": Case("GET", "/v1/videos/job_x", 401, ("API key",), headers={}),
    # --- the body itself
    "not json": create(400, None, "not valid JSON", content=b"{", headers=RAW_JSON),
    "json array": create(400, None, "JSON object", content=b"[1, 2]", headers=RAW_JSON),
    "json string": create(400, None, "JSON object", content=b'"prompt"', headers=RAW_JSON),
    "empty body": create(400, None, "empty", content=b"", headers=RAW_JSON),
    "blank body": create(400, None, "empty", content=b"  \n ", headers=RAW_JSON),
    "invalid utf-8": create(400, None, "not valid JSON", content=b'{"prompt": "\xff\xfe"}', headers=RAW_JSON),
    "nested 1000 deep": create(400, None, "nested more than 32", content=f'{{"prompt": "x", "options": '
                               f'{nested(1000)}}}'.encode(), headers=RAW_JSON),
    "nested 40 deep": create(400, None, "nested more than 32", content=f'{{"a": {nested(40)}}}'.encode(),
                             headers=RAW_JSON),
    "nested 100k deep": create(400, None, "nested", content=("[" * 100_000).encode(), headers=RAW_JSON),
    "content type jsonx": create(415, None, "application/jsonx", content=json.dumps(OK),
                                 headers={**RAW_JSON, "Content-Type": "application/jsonx"}),
    "content type text": create(415, None, "text/plain", content=json.dumps(OK),
                                headers={**RAW_JSON, "Content-Type": "text/plain"}),
    "content type xml": create(415, None, "Unsupported content type", content=b"<video/>",
                               headers={**RAW_JSON, "Content-Type": "application/xml"}),
    "v2 multipart": relay(415, None, "Unsupported content type", data={"prompt": "x"}, files={"f": ("a", b"1")}),
    # (raw bytes on a socket: no HTTP client sends these)
    "declared too large": raw(413, "Content-Length: 999999999", "bytes"),
    "content-length not a number": raw(400, "Content-Length: ten", "Content-Length"),
    "content-length negative": raw(400, "Content-Length: -1", "Content-Length"),
    "two content-lengths": raw(400, "Content-Length: 2\r\nContent-Length: 5"),
    # --- fields
    "prompt missing": create(400, {"model": "sora-2", "seconds": "10"}, "prompt", param="prompt"),
    "prompt a number": create(400, {**OK, "prompt": 123}, "prompt", param="prompt"),
    "prompt empty": create(400, {**OK, "prompt": ""}, "prompt", param="prompt"),
    "prompt NUL": create(400, {**OK, "prompt": "a fox\x00 in the snow"}, "control character", param="prompt"),
    "prompt escape char": create(400, {**OK, "prompt": "a fox \x1b[31m red"}, "control character", param="prompt"),
    "prompt too long": create(400, {**OK, "prompt": "x" * 40_000}, "32000", param="prompt"),
    "unknown mention": create(400, {**OK, "prompt": "@ghost_77 waves"}, "ghost_77", param="prompt"),
    "another key's character": create(400, {**OK, "prompt": "@alices_cat dances"}, "alices_cat", param="prompt"),
    "seconds not listed": create(400, {**OK, "seconds": "7"}, "10", param="seconds"),
    "seconds nan": create(400, {**OK, "seconds": "nan"}, "seconds", param="seconds"),
    "seconds negative": create(400, {**OK, "seconds": "-5"}, "seconds", param="seconds"),
    "seconds a list": create(400, {**OK, "seconds": [10]}, "seconds", param="seconds"),
    "seconds huge": create(400, {**OK, "seconds": "1e308"}, "seconds", param="seconds"),
    "size unknown": create(400, {**OK, "size": "99999x99999"}, "size", param="size"),
    "size garbage": create(400, {**OK, "size": "big"}, "size", param="size"),
    "model unknown": create(400, {**OK, "model": "sora-9"}, "sora-9", param="model"),
    "model empty": create(400, {**OK, "model": ""}, "model", param="model"),
    "unknown field": create(400, {**OK, "colour": "red"}, "colour"),
    "hd not a bool": create(400, {**OK, "hd": "maybe"}, "hd", param="hd"),
    "role unknown": create(400, {**OK, "images": ["https://example.com/a.png"], "image_roles": ["boss"]},
                           "image_roles"),
    "too many images": create(400, {**OK, "images": [f"https://img{i}.example.com/a.png" for i in range(17)]},
                              "16", param="images"),
    "20000 images": create(400, {**OK, "images": [f"https://img{i}.example.invalid/a.png" for i in range(20_000)]},
                           "16", param="images"),
    # the model's own limit (8) is checked before any of these host names is looked up
    "more images than the model takes": create(400, {**OK, "images": [f"https://img{i}.example.invalid/a.png"
                                                                      for i in range(9)]}, "at most 8"),
    "image url loopback": create(400, {**OK, "images": ["http://127.0.0.1:1/a.png"]}, "refused",
                                 param="input_reference"),
    "image url metadata": create(400, {**OK, "images": ["http://169.254.169.254/latest/meta-data"]}, "refused",
                                 param="input_reference"),
    "image url private": create(400, {**OK, "images": ["http://10.0.0.7/a.png"]}, "refused",
                                param="input_reference"),
    "image url ipv6 loopback": create(400, {**OK, "images": ["http://[::1]/a.png"]}, "refused",
                                      param="input_reference"),
    "image url file scheme": create(400, {**OK, "images": ["file:///etc/passwd"]}, "images"),
    "image data uri broken": create(400, {**OK, "images": ["data:image/png;base64,!!!not base64!!!"]}, "base64"),
    "image data uri bomb": create(400, {**OK, "images": [data_uri(png(14000, 14000))]}, "196,000,000 pixels",
                                  "50,000,000"),
    "upload bomb": Case("POST", "/v1/videos", 400, ("196,000,000 pixels", "scale the image down"),
                        data={"prompt": "a fox", "model": "sora-2", "seconds": "10"},
                        files={"input_reference": ("big.png", png(14000, 14000), "image/png")}),
    "upload not an image": Case("POST", "/v1/videos", 400, ("image",),
                                data={"prompt": "a fox", "model": "sora-2", "seconds": "10"},
                                files={"input_reference": ("x.png", b"MZ\x90\x00 not an image", "image/png")}),
    "upload empty": Case("POST", "/v1/videos", 400, ("empty",), data={"prompt": "a fox", "model": "sora-2",
                                                                      "seconds": "10"},
                         files={"input_reference": ("x.png", b"", "image/png")}),
    "multipart options not json": Case("POST", "/v1/videos", 400, ("options",), param="options",
                                       data={"prompt": "a fox", "model": "sora-2", "seconds": "10"},
                                       files={"options": (None, "{nope")}),
    "multipart options too deep": Case("POST", "/v1/videos", 400, ("nested",), param="options",
                                       data={"prompt": "a fox", "model": "sora-2", "seconds": "10"},
                                       files={"options": (None, nested(500))}),
    "callback url private": create(400, {**OK, "callback_url": "http://192.168.1.1/hook"}, "refused",
                                   param="callback_url"),
    "idempotency key too long": create(400, OK, "idempotency", headers={"Authorization": f"Bearer {KEY}",
                                                                        "Idempotency-Key": "k" * 201}),
    # --- the relay's /v2 shape
    "v2 idempotency key 10000 chars": relay(400, V2, "idempotency", headers={"Authorization": f"Bearer {KEY}",
                                                                             "Idempotency-Key": "k" * 10_000}),
    "v2 duration a word": relay(400, {**V2, "duration": "ten"}, "duration", param="duration"),
    "v2 duration not listed": relay(400, {**V2, "duration": "7"}, "duration", param="duration"),
    "v2 model missing": relay(400, {"prompt": "x", "duration": "10"}, "model", param="model"),
    "v2 aspect ratio": relay(400, {**V2, "aspect_ratio": "4:3"}, "16:9", param="aspect_ratio"),
    "v2 hd a word": relay(400, {**V2, "hd": "maybe"}, "hd", param="hd"),
    "v2 image bomb": relay(400, {**V2, "images": [data_uri(png(14000, 14000))]}, "196,000,000 pixels"),
    "v2 image too many pixels": relay(400, {**V2, "images": [data_uri(png(9000, 9000))]}, "9000x9000"),
    "v2 image private url": relay(400, {**V2, "images": ["http://127.0.0.1/a.png"]}, "refused", param="images"),
    "v2 notify hook private": relay(400, {**V2, "notify_hook": "http://10.1.1.1/h"}, "refused",
                                    param="notify_hook"),
    "v2 nested": relay(400, None, "nested", content=f'{{"prompt": {nested(2000)}}}'.encode(), headers=RAW_JSON),
    "v2 prompt NUL": relay(400, {**V2, "prompt": "x\x00y"}, "control character", param="prompt"),
    "v2 unknown task": Case("GET", "/v2/videos/generations/task_nope", 404, ("task_nope",)),
    # --- reading, listing, managing
    "video unknown": Case("GET", "/v1/videos/job_nope", 404, ("job_nope",)),
    "video id traversal": Case("GET", "/v1/videos/..%2F..%2Fetc%2Fpasswd", 404, ()),
    "video id 10k chars": Case("GET", "/v1/videos/" + "j" * 10_000, 404, ()),
    "content of unknown": Case("GET", "/v1/videos/job_nope/content", 404, ("job_nope",)),
    "content HEAD of unknown": Case("HEAD", "/v1/videos/job_nope/content", 404, ()),
    "content variant bogus": Case("GET", "/v1/videos/job_done/content", 400, ("variant",),
                                  params={"variant": "bogus"}),
    "list limit zero": Case("GET", "/v1/videos", 400, ("limit",), params={"limit": 0}),
    "list limit a word": Case("GET", "/v1/videos", 400, ("limit",), params={"limit": "many"}),
    "list order sideways": Case("GET", "/v1/videos", 400, ("order",), params={"order": "sideways"}),
    "list after unknown": Case("GET", "/v1/videos", 400, ("job_nope",), params={"after": "job_nope"}),
    "delete unknown": Case("DELETE", "/v1/videos/job_nope", 404, ("job_nope",)),
    "cancel unknown": Case("POST", "/v1/videos/job_nope/cancel", 404, ("job_nope",)),
    "remix unknown": Case("POST", "/v1/videos/job_nope/remix", 404, ("job_nope",), json={"prompt": "again"}),
    "remix empty prompt": Case("POST", "/v1/videos/job_done/remix", 400, ("prompt",), json={"prompt": ""}),
    "remix extra field": Case("POST", "/v1/videos/job_done/remix", 400, ("model",),
                              json={"prompt": "again", "model": "x"}),
    "delete unfinished": Case("DELETE", "/v1/videos/job_queued", 400, ("cancel it first",)),
    "events of unknown": Case("GET", "/v1/videos/job_nope/events", 404, ()),
    # --- characters
    "character without source": Case("POST", "/v1/videos/characters", 400, ("url",), json={"timestamps": "1,2"}),
    "character both sources": Case("POST", "/v1/videos/characters", 400, ("exactly one",),
                                   json={"timestamps": "1,2", "url": "https://e.example.com/v.mp4",
                                         "from_task": "job_done"}),
    "character private url": Case("POST", "/v1/videos/characters", 400, ("refused",),
                                  json={"timestamps": "1,2", "url": "http://127.0.0.1/v.mp4"}),
    "character window too long": Case("POST", "/v1/videos/characters", 400, ("timestamps",),
                                      json={"timestamps": "1,9", "from_task": "job_done"}),
    "character window backwards": Case("POST", "/v1/videos/characters", 400, ("timestamps",),
                                       json={"timestamps": "5,1", "from_task": "job_done"}),
    "character from another key's video": Case("POST", "/v1/videos/characters", 404, ("job_others",),
                                               json={"timestamps": "1,2", "from_task": "job_others"}),
    "character from a video of a model without characters": Case("POST", "/v1/videos/characters", 400,
                                                  ("no character feature", "relay/sora-2"),
                                                  json={"timestamps": "1,2", "from_task": "job_veo_done"}),
    "character of unknown id": Case("GET", "/v1/videos/characters/char_nope", 404, ()),
    "character upload": Case("POST", "/v1/videos/characters", 400, ("url",), data={"name": "x"},
                             files={"video": ("v.mp4", b"\0\0\0\x18ftypmp42", "video/mp4")}),
    # --- signed links
    "signed link bad signature": Case("GET", "/v1/files/job_done/video", 403, ("invalid",),
                                      params={"expires": 2**40, "signature": "nope"}, headers={}),
    "signed link expiry huge": Case("GET", "/v1/files/job_done/video", 400, ("expires",),
                                    params={"expires": 2**64, "signature": "x"}, headers={}),
    "signed link no signature": Case("GET", "/v1/files/job_done/video", 400, ("signature",),
                                     params={"expires": 1}, headers={}),
    "signed link variant bogus": Case("GET", "/v1/files/job_done/bogus", 400, ("variant",),
                                      params={"expires": 1, "signature": "x"}, headers={}),
    "method not allowed": Case("PUT", "/v1/videos", 405, ()),
}  # fmt: skip


@dataclass
class Setup:
    server: GatewayServer
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def setup(emulator_server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    tmp = tmp_path_factory.mktemp("gateway-corpus")
    config = gateway_config(emulator_server, tmp, max_body_bytes=64 * 1024 * 1024, worker=False)
    with GatewayServer(config, env=env_for(emulator_server, tmp)) as server:
        gw = server.gateway
        key, other = create_key(gw.data, "corpus"), create_key(gw.data, "alice")
        revoked = create_key(gw.data, "gone")
        gw.data.revoke_key(revoked.record.id, utcnow())
        video = Path(tmp) / "v.mp4"
        video.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 64)
        done = {"status": JobStatus.succeeded, "provider_task_id": "task_1", "done": True,
                "assets": [Asset(kind="video", path=str(video), url="https://cdn.example.com/v.mp4")]}  # fmt: skip
        request = VideoRequest(prompt="a cat", model="relay/sora-2", duration=10)
        for job_id, owner, model, fields in [
            ("job_done", key.record.id, "relay/sora-2", done),
            ("job_veo_done", key.record.id, "relay/veo3-fast", done),  # a model without characters
            ("job_others", other.record.id, "relay/sora-2", done),
            ("job_queued", key.record.id, "relay/sora-2", {"status": JobStatus.queued, "provider_task_id": "t2"}),
        ]:
            gw.store.create(Job(id=job_id, provider=model.split("/")[0], model=model, owner=owner,
                                request=request.model_copy(update={"model": model}), **fields))  # fmt: skip
        cat = Character(id="char_1", username="alices_cat", provider="relay")
        gw.data.save_character(StoredCharacter(cat.id, other.record.id, utcnow(), cat.model_dump_json()))
        yield Setup(server, {KEY: key.token, OTHER: other.token, REVOKED: revoked.token})


def _headers(case: Case, tokens: dict[str, str]) -> dict[str, str]:
    out = {}
    for name, value in case.headers.items():
        for placeholder, token in tokens.items():
            value = value.replace(placeholder, token)
        out[name] = value
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_refused_with_a_clear_4xx_and_nothing_sent(name: str, setup: Setup, emulator_server: EmulatorServer) -> None:
    c = CASES[name]
    before = provider_requests(emulator_server)
    with httpx.Client(base_url=setup.server.url, timeout=60) as http:
        if c.raw is not None:
            r = send_raw(setup.server.port, c.raw.replace(KEY, setup.tokens[KEY]).encode())
        else:
            r = http.request(c.method, c.path, json=c.json, content=c.content, data=c.data, files=c.files,
                             params=c.params, headers=_headers(c, setup.tokens))  # fmt: skip
        assert r.status_code == c.status, f"{name}: {r.status_code} {r.text[:500]}"
        assert http.get("/healthz").status_code == 200  # the server (and, where kept, the connection) is fine
    assert provider_requests(emulator_server) == before, f"{name}: a request reached the provider"
    assert NO_TRACEBACK not in r.text
    if c.method == "HEAD" or not r.headers.get("content-type", "").startswith("application/json"):
        assert c.raw is not None or c.method == "HEAD", f"{name}: not a JSON answer: {r.text[:300]}"
        return
    error = r.json()["error"]
    assert error["message"] and error["code"], f"{name}: {error}"
    if c.param is not None:
        assert (error["param"] or "").lower() == c.param.lower(), f"{name}: param {error['param']!r} ({error})"
    text = json.dumps(error).lower()
    for words in c.says:
        assert words.lower() in text, f"{name}: {words!r} not in {error}"
