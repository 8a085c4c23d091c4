"""``image_roles`` (vidgate extension of the OpenAI create): one role per image, input_reference first.

The web console sends it when the person picks roles other than the model's defaults.
"""

from __future__ import annotations

import base64

import httpx

from tests.conftest import image_bytes
from tests.gateway.helpers import bearer
from vidgate.emulator import EmulatorServer
from vidgate.server.run import GatewayServer


def data_uri(raw: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def test_roles_reach_the_request_in_order(http: httpx.Client, key: str, gateway: GatewayServer) -> None:
    files = {"input_reference": ("first.png", image_bytes(), "image/png")}
    data = {"model": "relay/sora-2", "prompt": "two pictures", "seconds": "10",
            "images": [data_uri(image_bytes((40, 40)))], "image_roles": ["first_frame", "reference"]}  # fmt: skip
    r = http.post("/v1/videos", headers=bearer(key), data=data, files=files)
    assert r.status_code == 200, r.text
    job = gateway.gateway.store.get(r.json()["id"])
    assert job.request is not None
    assert [i.role.value if i.role else None for i in job.request.images] == ["first_frame", "reference"]


def test_one_role_per_image_or_none(http: httpx.Client, key: str, emulator: EmulatorServer) -> None:
    body = {"model": "relay/sora-2", "prompt": "p", "images": [data_uri(image_bytes())],
            "image_roles": ["first_frame", "reference"]}  # fmt: skip
    r = http.post("/v1/videos", headers=bearer(key), json=body)
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["param"] == "image_roles" and "2 entries for 1 images" in err["message"]
    r = http.post("/v1/videos", headers=bearer(key), json={**body, "image_roles": ["last_frame"]})
    assert r.status_code == 400 and "last_frame" in r.text  # not a role relay/sora-2 takes
    assert emulator.state.counts["POST /v2/videos/generations"] == 0
