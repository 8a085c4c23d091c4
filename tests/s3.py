"""A real S3-compatible server for tests: moto's standalone server on 127.0.0.1, started once per session.

``s3_server`` yields the server; ``s3_env(server)`` the AWS_* variables a process needs to reach it (dummy
credentials: moto accepts any); ``new_bucket(server)`` an empty bucket of its own for one test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass
class S3Server:
    endpoint: str

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "vidgate-test",
            "AWS_SECRET_ACCESS_KEY": "vidgate-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client(self) -> Any:
        from vidgate.storage.s3 import make_client

        return make_client(self.env())

    def new_bucket(self) -> str:
        name = f"vg-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer  # moto[server] is a dev dependency: `make install` brings it

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()
