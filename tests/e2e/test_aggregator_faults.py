"""Injected faults answer in each aggregator's own error envelope (OpenRouter ``{"error": {"code": <int>, ...}}``,
fal ``{"detail", "error_type"}``), and vidgate's dialects read them: a 429 is a rate limit carrying Retry-After,
after which the job is sent again and made once."""

from __future__ import annotations

import httpx
import pytest

from vidgate import Client, JobStatus
from vidgate.emulator import EmulatorServer
from vidgate.errors import RateLimitError

CASES = {  # provider: (model, create path at the emulator)
    "openrouter": ("openrouter/google/veo-3.1", "/api/v1/videos"),
    "fal": ("fal/fal-ai/kling-video/v2.6/pro/text-to-video", "/fal-ai/kling-video/v2.6/pro/text-to-video"),
}


def inject_429(emulator: EmulatorServer, path: str) -> None:
    rule = {"endpoint": f"POST {path}", "kind": "error", "status": 429, "retry_after": 0.05, "count": 1}
    emulator.set_faults({"rules": [rule]})


@pytest.mark.parametrize("provider", sorted(CASES))
def test_injected_error_speaks_the_aggregators_envelope(emulator: EmulatorServer, provider: str) -> None:
    _, path = CASES[provider]
    inject_429(emulator, path)
    auth = {"Authorization": f"Bearer {emulator.api_key}"}
    body = httpx.post(f"{emulator.url}{path}", json={"prompt": "x"}, headers=auth).json()
    if provider == "openrouter":
        assert body["error"]["code"] == 429 and body["error"]["message"] and "user_id" in body
    else:
        assert isinstance(body["detail"], str) and body["error_type"] == "rate_limited"


@pytest.mark.parametrize("provider", sorted(CASES))
def test_injected_429_is_a_rate_limit_then_the_job_is_made_once(
    client: Client, emulator: EmulatorServer, provider: str
) -> None:
    model, path = CASES[provider]
    inject_429(emulator, path)
    with pytest.raises(RateLimitError) as info:
        client.submit("a quiet lake", model=model)
    assert info.value.status_code == 429 and info.value.retry_after == pytest.approx(0.05)
    job = info.value.job
    assert job is not None and job.status is JobStatus.pending and job.next_poll_at is not None
    done = client.wait(job)
    assert done.status is JobStatus.succeeded and done.submit_attempts == 2
    assert len(emulator.state.jobs) == 1
