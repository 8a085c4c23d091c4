"""The web console end to end in a real headless Chromium: gateway (embedded worker, SQLite) + emulator.

A person opens the console, enters their gateway key, submits the form; the job list follows the job over
Server-Sent Events (progress seen moving in the DOM), then plays the finished video (``readyState >= 2``)
with its thumbnail and probed facts. A policy failure is shown in plain words. A screenshot of each page is
left in ``test-artifacts/`` for review.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_image
from tests.e2e.browser import ARTIFACTS
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.server import Gateway, GatewayConfig, RouteConfig, ServerSettings
from vidgate.server.console import console_plugin
from vidgate.server.console.messages import FAILURE_SENTENCES
from vidgate.server.run import GatewayServer

pytestmark = pytest.mark.slow

# Emulated jobs take the model's typical latency (120 s for Sora) times this: about 3 s, long enough for
# several progress events at the gateway's SSE interval, short enough for a fast suite.
SCALE = 0.025
# Every progress value a job card shows, recorded by the page itself as the DOM changes.
RECORD_PROGRESS = """
window.__progress = [];
new MutationObserver((records) => {
  for (const r of records) {
    const el = r.target;
    if (el.classList && el.classList.contains("job")) window.__progress.push(Number(el.dataset.progress));
  }
}).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-progress"] });
"""


@dataclass
class Stack:
    url: str
    key: str
    emulator: EmulatorServer
    gateway: Gateway


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("console-gateway")
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as emu:
        env = {"VIDGATE_HOME": str(home), "EMU_KEY": emu.api_key, "VIDGATE_GATEWAY_SECRET": "console-test-secret"}
        config = GatewayConfig(
            server=ServerSettings(
                database_url=str(home / "gateway.db"),
                downloads_dir=str(home / "files"),
                time_scale=SCALE,
                worker_concurrency=4,
                sse_interval_s=0.1,
            ),
            routes=[
                RouteConfig(name="emu-relay", provider="relay", base_url=emu.url, api_key_env="EMU_KEY"),
                RouteConfig(name="emu-openai", provider="relay-openai", base_url=emu.url, api_key_env="EMU_KEY"),
            ],
        )
        with GatewayServer(config, plugins=[console_plugin()], env=env) as server:
            yield Stack(server.url, server.create_key("console-test"), emu, server.gateway)


def open_console(page: Any, stack: Stack) -> list[tuple[str, str]]:
    """Open the console, enter the key; returns the (method, url) of every request the page makes."""
    requests: list[tuple[str, str]] = []
    page.on("request", lambda r: requests.append((r.method, r.url)))
    page.add_init_script(RECORD_PROGRESS)
    page.goto(stack.url + "/console/")
    page.fill("#api-key", stack.key)
    page.click("text=Use key")
    page.wait_for_selector("#key-state:has-text('Key in use')")
    return requests


def shoot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_submit_watch_progress_and_play(page: Any, stack: Stack) -> None:
    requests = open_console(page, stack)
    page.select_option("#model", "relay-openai/sora-2")
    page.fill("#prompt", "A lighthouse on a cliff at dawn, waves crashing below, slow aerial orbit")
    page.select_option("#duration", "10")
    page.select_option("#size", "1280x720")
    page.click("#submit")
    page.wait_for_selector("#form-status:has-text('accepted')")
    card = page.locator(".job").first
    job_id = card.get_attribute("data-job-id")
    assert job_id and job_id.startswith("job_")

    card.locator(".job-video").wait_for(state="visible", timeout=30_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('.job-video'); return v && v.readyState >= 2; }", timeout=15_000
    )
    seen = page.evaluate("window.__progress")
    moving = sorted({p for p in seen if 0 < p < 100})
    assert len(moving) >= 2, f"progress never moved in the page: {seen}"
    assert seen[-1] == 100
    assert card.get_attribute("data-status") == "succeeded"
    assert card.locator(".job-status").inner_text() == "finished"

    facts = dict(zip(card.locator(".facts dt").all_inner_texts(), card.locator(".facts dd").all_inner_texts(),
                     strict=True))  # fmt: skip
    assert facts["Duration"] == "10.00 s" and facts["Codec"] == "h264"
    width, height = (int(x) for x in facts["Size"].split("×"))
    assert width > height  # 16:9 as asked
    assert page.evaluate("document.querySelector('.job-video').videoWidth") == width
    page.wait_for_function("() => { const i = document.querySelector('.job-thumb'); return i && !i.hidden && "
                           "i.complete && i.naturalWidth > 0; }")  # fmt: skip

    # Progress came over the events stream, with the key only in a header.
    assert ("GET", f"{stack.url}/v1/videos/{job_id}/events") in requests
    assert not [u for _, u in requests if stack.key in u]
    job = stack.gateway.store.get(job_id)
    assert job.done and job.owner is not None and job.video is not None and job.video.probe is not None
    page.evaluate("document.querySelector('.job-video').pause()")
    shoot(page, "console-finished.png")


def test_failure_in_plain_words(page: Any, stack: Stack) -> None:
    open_console(page, stack)
    page.select_option("#model", "relay/sora-2")
    page.fill("#prompt", "A cat surfing FAIL_POLICY")
    page.click("#submit")
    page.wait_for_selector("#form-status:has-text('accepted')")
    card = page.locator(".job").first
    card.locator(".job-error").wait_for(state="visible", timeout=30_000)
    job = stack.gateway.store.get(card.get_attribute("data-job-id") or "")
    assert job.error is not None
    assert card.locator(".reason").inner_text() == FAILURE_SENTENCES[job.error.code]
    card.locator(".job-error summary").click()
    assert card.locator(".raw").inner_text() == job.error.message
    assert card.get_attribute("data-status") == "failed"
    shoot(page, "console-failed.png")


def test_images_uploaded_through_the_form(page: Any, stack: Stack, tmp_path: Path) -> None:
    open_console(page, stack)
    page.select_option("#model", "relay/sora-2")
    page.fill("#prompt", "The two pictures come alive")
    page.click("#add-image")
    page.click("#add-image")
    files = page.locator(".image-file")
    files.nth(0).set_input_files(str(make_image(tmp_path / "first.png", (64, 36))))
    files.nth(1).set_input_files(str(make_image(tmp_path / "second.jpg", (48, 48), fmt="JPEG")))
    page.locator(".image-role").nth(0).select_option("first_frame")
    page.click("#submit")
    page.wait_for_selector("#form-status:has-text('accepted')")
    card = page.locator(".job").first
    job = stack.gateway.store.get(card.get_attribute("data-job-id") or "")
    assert job.request is not None
    assert [i.role.value if i.role else None for i in job.request.images] == ["first_frame", "reference"]
    body = json.loads(json.dumps(stack.emulator.state.jobs[job.provider_task_id or ""].body))
    assert [i[:22] for i in body["images"]] == ["data:image/png;base64,", "data:image/jpeg;base64"]


def test_cancel_a_running_job(page: Any, stack: Stack) -> None:
    open_console(page, stack)
    page.select_option("#model", "relay/sora-2")
    page.fill("#prompt", "A slow sunrise that nobody waits for")
    page.click("#submit")
    page.wait_for_selector("#form-status:has-text('accepted')")
    card = page.locator(".job").first
    card.locator(".job-cancel").click()
    page.wait_for_function("() => document.querySelector('.job').dataset.status === 'cancelled'", timeout=5_000)
    assert card.locator(".job-status").inner_text() == "cancelled"
    assert card.locator(".reason").inner_text() == FAILURE_SENTENCES["cancelled"]
    assert stack.gateway.store.get(card.get_attribute("data-job-id") or "").status.value == "cancelled"
