"""The console's generate form in a real Chromium: it offers only what the chosen model takes.

The console is served alone here (no gateway): these tests never submit, except to show that a request the
form knows to be wrong is stopped in the page, before any request leaves it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from tests.conftest import make_image
from tests.e2e.browser import serve
from vidgate.server.console import mount_console
from vidgate.server.console.messages import FAILURE_SENTENCES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def console_url() -> Iterator[str]:
    app = Starlette()
    mount_console(app, today=date(2026, 11, 26))
    mount_console(app, "/open", auth=False, today=date(2026, 11, 26))  # a gateway run with --no-auth
    with serve(app) as url:
        yield url + "/console/"


def options(page: Any, select: str) -> list[tuple[str, bool]]:
    """(value, enabled) for every option of a select."""
    found = page.eval_on_selector_all(f"{select} option", "os => os.map(o => [o.value, !o.disabled])")
    return [tuple(x) for x in found]


def visible(page: Any, field: str) -> bool:
    return page.is_visible(f'[data-field="{field}"]')


def test_choices_follow_the_model(page: Any, console_url: str) -> None:
    page.goto(console_url)
    page.select_option("#model", "relay/sora-2")
    assert options(page, "#duration") == [("10", True)]  # 15 s is sora-2-pro's (seed: "sora-2-pro supports hd, 15s")
    assert options(page, "#aspect_ratio") == [("", True), ("16:9", True), ("9:16", True)]
    assert not visible(page, "hd") and not visible(page, "resolution") and not visible(page, "size")
    assert visible(page, "characters") and visible(page, "images")

    page.select_option("#model", "relay/sora-2-pro")
    assert [v for v, _ in options(page, "#duration")] == ["10", "15", "25"]
    assert visible(page, "hd")

    page.select_option("#model", "relay/veo3")  # fixed 8 s, no images, no characters
    assert options(page, "#duration") == [("8", True)]
    assert page.is_disabled("#duration")
    assert "Fixed length" in page.inner_text("#duration-hint")
    assert not visible(page, "images") and not visible(page, "characters")

    page.select_option("#model", "relay-openai/sora-2-pro")  # sizes and resolutions of the OpenAI format
    sizes = ("", "1280x720", "720x1280", "1792x1024", "1024x1792")
    assert options(page, "#size") == [(v, True) for v in sizes]
    assert page.input_value("#size") == "" and page.inner_text("#size option >> nth=0") == "default (720x1280)"
    page.select_option("#aspect_ratio", "16:9")  # aspect ratio and resolution are written into the size...
    page.select_option("#resolution", "1080p")
    page.select_option("#size", "1024x1792")  # ...so an explicit size replaces them
    assert page.is_disabled("#aspect_ratio") and page.is_disabled("#resolution")
    assert page.input_value("#aspect_ratio") == "" and page.input_value("#resolution") == ""
    assert "Given by the size." in page.inner_text("#aspect_ratio-hint")
    page.select_option("#size", "")
    assert page.is_enabled("#aspect_ratio") and page.is_enabled("#resolution")
    assert visible(page, "resolution")


def test_constraints_move_the_other_fields(page: Any, console_url: str, tmp_path: Path) -> None:
    page.goto(console_url)
    page.select_option("#model", "vertex/veo-3.1-generate-001")
    page.select_option("#resolution", "720p")
    page.select_option("#duration", "4")
    page.select_option("#resolution", "1080p")  # "1080p and 4k videos must be 8 s long"
    assert page.input_value("#duration") == "8"
    assert options(page, "#duration") == [("4", False), ("6", False), ("8", True)]
    assert "1080p and 4k videos must be 8 s long" in page.inner_text("#duration-hint")
    page.select_option("#resolution", "720p")
    assert all(enabled for _, enabled in options(page, "#duration"))
    page.select_option("#duration", "6")

    # A reference image also needs 8 s; the roles offered are the model's.
    page.click("#add-image")
    assert page.eval_on_selector_all(".image-role option", "os => os.map(o => o.value)") == [
        "first_frame", "last_frame", "reference",
    ]  # fmt: skip
    page.set_input_files(".image-file", str(make_image(tmp_path / "ref.png")))
    page.select_option(".image-role", "reference")
    assert page.input_value("#duration") == "8"
    assert "Reference-image videos must be 8 s long." in page.inner_text("#duration-hint")


def test_image_counts_and_roles(page: Any, console_url: str) -> None:
    page.goto(console_url)
    page.select_option("#model", "relay/veo3-fast-frames")  # first + last frame: 1 or 2 images
    assert page.locator(".image-row").count() == 1  # the model needs at least one: a row is there already
    page.click("#add-image")
    roles = page.eval_on_selector_all(".image-role", "ss => ss.map(s => s.value)")
    assert roles == ["first_frame", "last_frame"]
    assert page.is_disabled("#add-image")
    assert "1 to 2 images (first frame, last frame)" in page.inner_text("#images-hint")

    page.select_option("#model", "zhipu/cogvideox-3")  # quality mode takes at most one image
    page.click("summary:has-text('Options for this model')")
    page.select_option("#opt-quality", "quality")
    page.click("#add-image")
    assert page.locator(".image-row").count() == 1 and page.is_disabled("#add-image")
    page.select_option("#opt-quality", "speed")
    assert page.is_enabled("#add-image")
    assert page.eval_on_selector_all("#opt-fps option", "os => os.map(o => o.value)") == ["", "30", "60"]


def test_bad_input_stops_in_the_page(page: Any, console_url: str, tmp_path: Path) -> None:
    sent: list[tuple[str, str]] = []
    page.on("request", lambda r: sent.append((r.method, r.url)))
    page.goto(console_url)
    page.fill("#api-key", "vg_test_key")
    page.click("text=Use key")
    page.select_option("#model", "relay/veo3-pro-frames")  # exactly one first-frame image, jpeg/png/webp
    gif = tmp_path / "anim.gif"
    make_image(gif, fmt="GIF")
    page.set_input_files(".image-file", str(gif))
    page.click("#submit")
    status = page.inner_text("#form-status")
    assert "The prompt is empty" in status
    assert "Image 1 (anim.gif) is image/gif; relay/veo3-pro-frames takes jpeg, png, webp." in status
    assert page.locator('[data-field="images"].invalid').count() == 1
    assert page.locator('[data-field="prompt"].invalid').count() == 1
    assert [m for m, _ in sent if m != "GET"] == []  # nothing was sent


def test_the_key_lives_in_session_storage_only(page: Any, console_url: str) -> None:
    page.goto(console_url)
    page.fill("#api-key", "vg_secret_123")
    page.click("text=Use key")
    assert page.evaluate("sessionStorage.getItem('vidgate.apiKey')") == "vg_secret_123"
    assert page.evaluate("localStorage.length") == 0
    assert page.input_value("#api-key") == ""  # not left in the field
    assert "vg_secret_123" not in page.url
    page.click("#forget-key")
    assert page.evaluate("sessionStorage.getItem('vidgate.apiKey')") is None


def test_what_the_form_sends_and_a_refusal_shown_at_its_field(page: Any, console_url: str, tmp_path: Path) -> None:
    bodies: list[bytes] = []

    def create(route: Any) -> None:
        bodies.append(route.request.post_data_buffer)
        error = {"message": "image_roles: 'reference' cannot be mixed with frames", "type": "invalid_request_error",
                 "param": "image_roles", "code": "invalid_value"}  # fmt: skip
        route.fulfill(status=400, json={"error": error})

    page.route("**/v1/videos", create)
    page.goto(console_url)
    page.fill("#api-key", "vg_test_key")
    page.click("text=Use key")
    page.select_option("#model", "vertex/veo-3.1-generate-001")
    page.fill("#prompt", "A red kite over the dunes")
    page.select_option("#aspect_ratio", "9:16")
    page.click("#add-image")
    page.click("#add-image")
    files = page.locator(".image-file")
    files.nth(0).set_input_files(str(make_image(tmp_path / "a.png")))
    files.nth(1).set_input_files(str(make_image(tmp_path / "b.png", (40, 40))))
    page.locator(".image-role").nth(1).select_option("reference")
    page.click("summary:has-text('Options for this model')")
    page.select_option("#opt-generate_audio", "true")
    page.fill("#opt-seed", "42")
    page.click("#submit")
    page.wait_for_selector('[data-field="images"].invalid')

    body = bodies[0].decode("latin-1")
    part = 'Content-Disposition: form-data; name="{}"\r\n\r\n{}\r\n'.format
    assert part("model", "vertex/veo-3.1-generate-001") in body
    assert part("prompt", "A red kite over the dunes") in body
    assert part("seconds", "8") in body  # the reference image forced 8 s
    assert part("aspect_ratio", "9:16") in body
    assert 'name="input_reference"; filename="a.png"\r\nContent-Type: image/png' in body
    assert 'name="images"\r\n\r\ndata:image/png;base64,iVBOR' in body
    assert body.count('name="image_roles"') == 2 and part("image_roles", "reference") in body
    assert part("options", '{"generate_audio":true,"seed":42}') in body
    assert 'name="resolution"' in body and 'name="hd"' not in body and 'name="characters"' not in body
    assert "cannot be mixed with frames" in page.inner_text('[data-field="images"] .error')

    # Default roles are not sent; characters go one per field.
    bodies.clear()
    page.select_option("#model", "relay/sora-2")
    page.fill("#characters", "@cat, dog")
    page.click("#submit")
    page.wait_for_function("() => document.querySelector('#form-status').classList.contains('error')")
    body = bodies[0].decode("latin-1")
    assert part("characters", "cat") in body and part("characters", "dog") in body
    assert 'name="image_roles"' not in body and 'name="input_reference"' not in body


def test_job_list_pages_and_plain_words_for_every_final_state(page: Any, console_url: str) -> None:
    def video(n: int, status: str, mine: str, code: str | None) -> dict[str, Any]:
        error = {"code": code, "message": f"provider words {n}"} if code else None
        return {"id": f"job_{n:02d}", "object": "video", "model": "relay/sora-2", "status": status, "progress": 40,
                "created_at": 1764115200 - n, "prompt": f"prompt {n}", "error": error,
                "vidgate": {"status": mine, "error": error}}  # fmt: skip

    first = [video(1, "failed", "failed", "content_policy_input"), video(2, "failed", "expired", "expired")]
    second = [video(3, "failed", "cancelled", "cancelled"), video(4, "failed", "failed", "brand_new_code")]
    asked: list[str] = []

    def listing(route: Any) -> None:
        asked.append(route.request.url)
        after = "after=job_02" in route.request.url
        data = second if after else first
        route.fulfill(json={"object": "list", "data": data, "first_id": data[0]["id"], "last_id": data[-1]["id"],
                            "has_more": not after})  # fmt: skip

    page.route("**/v1/videos?*", listing)
    page.goto(console_url)
    page.fill("#api-key", "vg_test_key")
    page.click("text=Use key")
    page.click("#more-jobs")
    page.wait_for_selector('.job[data-job-id="job_04"]')
    assert page.is_hidden("#more-jobs")
    assert asked[-1].endswith("/v1/videos?limit=20&order=desc&after=job_02")
    reasons = dict(zip(page.eval_on_selector_all(".job", "js => js.map(j => j.dataset.jobId)"),
                       page.locator(".job .reason").all_inner_texts(), strict=True))  # fmt: skip
    assert reasons["job_01"] == FAILURE_SENTENCES["content_policy_input"]
    assert "deadline" in reasons["job_02"]
    assert reasons["job_03"] == FAILURE_SENTENCES["cancelled"]
    assert "reason code brand_new_code" in reasons["job_04"]
    assert [t.strip() for t in page.locator(".job .job-status").all_inner_texts()] == [
        "failed", "timed out", "cancelled", "failed",
    ]  # fmt: skip


def test_a_gateway_without_keys_needs_none(page: Any, console_url: str) -> None:
    empty = {"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}
    page.route("**/v1/videos?*", lambda route: route.fulfill(json=empty))
    with page.expect_request("**/v1/videos?*") as listing:
        page.goto(console_url.replace("/console/", "/open/"))
    assert "authorization" not in listing.value.headers
    assert page.is_hidden(".key-panel")
