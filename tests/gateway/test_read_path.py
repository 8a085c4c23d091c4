"""The read path (``GET /v1/videos/{id}`` and friends) without the server: signed links, async reads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.requests import Request

from vidgate.server import Gateway, create_app
from vidgate.server.config import GatewayConfig
from vidgate.server.files import FILE_PATH, link
from vidgate.store import MemoryStore
from vidgate.types import Job


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    env = {"VIDGATE_HOME": str(tmp_path), "VIDGATE_GATEWAY_SECRET": "s"}
    gateway = Gateway(GatewayConfig(), store=MemoryStore(), env=env)
    yield gateway
    gateway.close()


@pytest.mark.parametrize(
    ("scheme", "host", "root_path"),
    [("http", b"127.0.0.1:8080", ""), ("https", b"videos.example.com", "/gw"), ("http", None, "/gw/")],
)
def test_signed_links_are_the_signed_file_route_as_the_caller_reached_it(
    gw: Gateway, scheme: str, host: bytes | None, root_path: str
) -> None:
    app = create_app(gateway=gw, start=False)
    headers = [(b"host", host)] if host else []
    request = Request({"type": "http", "method": "GET", "scheme": scheme, "path": "/v1/videos/x",
                       "root_path": root_path, "query_string": b"", "headers": headers,
                       "server": ("10.0.0.1", 80), "app": app, "router": app.router})  # fmt: skip
    made = link(gw, request, Job(id="job_abc", provider="relay", model="relay/sora-2"), "thumbnail")
    url, _, query = made.partition("?")
    assert url == str(request.url_for("signed_file", job_id="job_abc", variant="thumbnail"))
    assert url.endswith(FILE_PATH.format(job_id="job_abc", variant="thumbnail"))
    expires, signature = (part.split("=", 1)[1] for part in query.split("&"))
    assert gw.signer.file_ok("job_abc", "thumbnail", int(expires), signature)
