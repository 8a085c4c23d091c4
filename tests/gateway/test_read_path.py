"""The read path (``GET /v1/videos/{id}`` and friends) without the server: signed links, async reads."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request
from starlette.testclient import TestClient

from vidgate.server import Gateway, create_app
from vidgate.server.config import GatewayConfig
from vidgate.server.files import FILE_PATH, link
from vidgate.server.tenants import ANONYMOUS, create_key
from vidgate.store import MemoryStore
from vidgate.types import Job, utcnow


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    env = {"VIDGATE_HOME": str(tmp_path), "VIDGATE_GATEWAY_SECRET": "s"}
    gateway = Gateway(GatewayConfig(), store=MemoryStore(), env=env)
    yield gateway
    gateway.close()


def _request(gw: Gateway, scheme: str, host: bytes | None, root_path: str) -> Request:
    app = create_app(gateway=gw, start=False)
    headers = [(b"host", host)] if host else []
    return Request({"type": "http", "method": "GET", "scheme": scheme, "path": "/v1/videos/x",
                    "root_path": root_path, "query_string": b"", "headers": headers,
                    "server": ("10.0.0.1", 80), "app": app, "router": app.router})  # fmt: skip


@pytest.mark.parametrize(
    ("scheme", "host", "root_path", "trusted", "public_url", "base"),
    [
        ("http", b"127.0.0.1:8080", "", ["127.0.0.1:8080"], None, "http://127.0.0.1:8080"),
        ("https", b"videos.example.com", "/gw", ["videos.example.com"], None, "https://videos.example.com/gw"),
        ("http", None, "/gw/", [], None, "http://10.0.0.1/gw"),
        # anyone can send a Host header: an unlisted one is ignored, the socket's own address is used
        ("http", b"evil.example.com", "", [], None, "http://10.0.0.1"),
        ("http", b"evil.example.com", "", ["videos.example.com"], None, "http://10.0.0.1"),
        # a configured public URL wins over everything the request says
        ("http", b"evil.example.com", "", [], "https://gw.example.com/base/", "https://gw.example.com/base"),
    ],
)
def test_signed_links_are_built_from_the_public_url_a_trusted_host_or_the_servers_address(
    gw: Gateway,
    scheme: str,
    host: bytes | None,
    root_path: str,
    trusted: list[str],
    public_url: str | None,
    base: str,
) -> None:
    gw.config.server.trusted_hosts = trusted
    gw.config.server.public_url = public_url
    request = _request(gw, scheme, host, root_path)
    made = link(gw, request, Job(id="job_abc", provider="relay", model="relay/sora-2"), "thumbnail")
    url, _, query = made.partition("?")
    assert url == base + FILE_PATH.format(job_id="job_abc", variant="thumbnail")
    assert "evil" not in made
    expires, signature = (part.split("=", 1)[1] for part in query.split("&"))
    assert gw.signer.file_ok("job_abc", "thumbnail", int(expires), signature)


READS = ["/v1/videos/{id}", "/v1/videos/{id}/content", "/v1/videos/{id}/events", "/v2/videos/generations/{id}"]


@pytest.mark.parametrize("path", READS)
def test_reads_of_one_video_check_the_key_first_then_the_owner(gw: Gateway, path: str) -> None:
    alice, bob = create_key(gw.data, "alice"), create_key(gw.data, "bob")
    gw.store.create(Job(id="job_a", provider="relay", model="relay/sora-2", owner=alice.record.id))
    with TestClient(create_app(gateway=gw, start=False)) as http:

        def get(job_id: str, token: str | None) -> tuple[int, str]:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            with http.stream("GET", path.format(id=job_id), headers=headers) as r:  # events: a stream
                return r.status_code, "" if r.status_code == 200 else json.loads(r.read())["error"]["code"]

        assert get("job_a", None) == (401, "missing_api_key")
        assert get("job_a", alice.token[:-2] + "zz") == (401, "invalid_api_key")  # the video exists: still 401
        assert get("job_a", bob.token) == (404, "not_found")  # another key's video
        assert get("job_nope", alice.token) == (404, "not_found")
        assert get("job_a", alice.token)[0] in (200, 404)  # 404 for the content of a video not made yet
        gw.data.revoke_key(alice.record.id, utcnow())
        assert get("job_a", alice.token) == (401, "invalid_api_key")  # at once


def test_without_auth_the_videos_made_without_auth_are_readable(gw: Gateway) -> None:
    gw.config.server.auth = False
    gw.store.create(Job(id="job_a", provider="relay", model="relay/sora-2", owner=ANONYMOUS))
    with TestClient(create_app(gateway=gw, start=False)) as http:
        assert http.get("/v1/videos/job_a").json()["id"] == "job_a"
        assert http.get("/v1/videos/job_nope").status_code == 404


def test_the_access_log_has_each_request_with_its_key_id_never_the_key(
    gw: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    key = create_key(gw.data, "alice")
    gw.store.create(Job(id="job_a", provider="relay", model="relay/sora-2", owner=key.record.id))
    with caplog.at_level(logging.INFO, "vidgate.access"), TestClient(create_app(gateway=gw, start=False)) as http:
        ok = http.get("/v1/videos/job_a", headers={"Authorization": f"Bearer {key.token}"})
        refused = http.get("/v1/videos/job_a?signature=s3cret")
    first, second = (r for r in caplog.records if r.name == "vidgate.access")
    assert first.getMessage() == "GET /v1/videos/job_a 200"
    assert (first.status, first.key_id, first.request_id) == (200, key.record.id, ok.headers["x-request-id"])
    assert first.duration_ms >= 0 and second.status == 401 and second.key_id is None
    assert second.request_id == refused.headers["x-request-id"] != first.request_id
    assert key.token not in caplog.text and "s3cret" not in caplog.text
