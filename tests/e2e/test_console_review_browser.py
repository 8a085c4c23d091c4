"""The console's job card reviews a finished video in a real headless Chromium: the "Review with AI" button
calls ``POST /v1/assists/review`` with the key, and the verdict (stored on the video) shows on the card."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import ARTIFACTS
from tests.e2e.test_console_browser import Stack, open_console
from vidgate.emulator import EmulatorConfig, EmulatorServer
from vidgate.server import GatewayConfig, RouteConfig, ServerSettings
from vidgate.server.console import console_plugin
from vidgate.server.run import GatewayServer

pytestmark = pytest.mark.slow
SCALE = 0.01


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("console-review")
    with EmulatorServer(EmulatorConfig(time_scale=SCALE)) as emu:
        env = {"VIDGATE_HOME": str(home), "EMU_KEY": emu.api_key, "VIDGATE_GATEWAY_SECRET": "console-test-secret"}
        settings = ServerSettings(
            database_url=str(home / "gateway.db"),
            downloads_dir=str(home / "files"),
            time_scale=SCALE,
            worker_concurrency=2,
            sse_interval_s=0.1,
        )
        routes = [RouteConfig(name="emu-relay", provider="relay", base_url=emu.url, api_key_env="EMU_KEY")]
        with GatewayServer(
            GatewayConfig(server=settings, routes=routes), plugins=[console_plugin()], env=env
        ) as server:
            yield Stack(server.url, server.create_key("console-review"), emu, server.gateway)


def test_review_button_shows_the_verdict_on_the_card(page: Any, stack: Stack) -> None:
    requests = open_console(page, stack)
    page.select_option("#model", "relay/sora-2")
    page.fill("#prompt", "A red kite over the dunes")
    page.click("#submit")
    page.wait_for_selector("#form-status:has-text('accepted')")
    card = page.locator(".job").first
    card.locator(".job-video").wait_for(state="visible", timeout=30_000)
    assert card.locator(".job-review").is_hidden()
    card.locator(".job-review-run").click()
    card.locator(".job-review .verdict").wait_for(state="visible", timeout=15_000)
    job = stack.gateway.store.get(card.get_attribute("data-job-id") or "")
    assert job.review is not None and job.review.matches and job.review.prompt == "A red kite over the dunes"
    assert card.locator(".verdict").inner_text().startswith("Matches the prompt")
    assert card.locator(".job-review .issues li").count() == len(job.review.issues)
    assert card.locator(".job-review").get_attribute("data-matches") == "true"
    assert ("POST", f"{stack.url}/v1/assists/review") in requests
    assert not [u for _, u in requests if stack.key in u]
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("document.querySelector('.job-video').pause()")
    page.screenshot(path=str(ARTIFACTS / "console-review.png"), full_page=True)
