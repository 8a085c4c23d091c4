"""A video unlike the request (the emulator's ``wrong_video`` fault) is recorded in the gateway's ``vidgate``
fields: the probe and the mismatch list, which the console's job card shows as its "Differs" row
(console/static/jobs.js reads ``vidgate.video``)."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.helpers import bearer, wait_done
from vidgate.emulator import EmulatorServer
from vidgate.emulator.fault_plan import FaultPlan, WrongVideo


def test_a_wrong_video_shows_its_mismatches_in_the_vidgate_fields(
    http: httpx.Client, key: str, emulator: EmulatorServer
) -> None:
    emulator.set_faults(FaultPlan(wrong_video=WrongVideo(duration_s=5)))
    payload = {"prompt": "a WRONG_VIDEO harbour", "model": "sora-2", "seconds": "10", "size": "1280x720"}
    created = http.post("/v1/videos", json=payload, headers=bearer(key))
    assert created.status_code == 200, created.text
    done = wait_done(http, created.json()["id"], key)
    assert done["status"] == "completed", done
    video = done["vidgate"]["video"]
    assert video["probe"]["duration"] == pytest.approx(5, abs=0.1)
    assert (video["probe"]["width"], video["probe"]["height"]) == (144, 256)
    assert video["mismatch"] == ["duration: asked 10 s, got 5 s", "aspect ratio: asked 16:9, got 144x256 (0.562)"]
    fine = http.post("/v1/videos", json={**payload, "prompt": "a calm harbour"}, headers=bearer(key))
    assert wait_done(http, fine.json()["id"], key)["vidgate"]["video"]["mismatch"] == []
