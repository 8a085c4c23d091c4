"""The web console's server side: form capabilities from the catalog, plain-words failures, pages and headers.

The browser half (the form's choices, SSE progress, the player) runs in a real Chromium:
tests/e2e/test_console_browser.py.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from vidgate.catalog import load_catalog
from vidgate.catalog.loader import is_retired
from vidgate.server.console import console_plugin, create_console, failure_sentence, mount_console
from vidgate.server.console.capabilities import form_capabilities, script_json, table_rows
from vidgate.server.console.messages import FAILURE_SENTENCES
from vidgate.types import ErrorCode

TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def caps() -> dict[str, dict]:
    return {m["id"]: m for m in form_capabilities(load_catalog(), today=TODAY)["models"]}


@pytest.fixture(scope="module")
def http() -> TestClient:
    app = Starlette()
    mount_console(app, today=TODAY)
    return TestClient(app)


def embedded(html: str, element_id: str) -> object:
    m = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', html, re.S)
    assert m, element_id
    return json.loads(m.group(1))


def test_form_offers_every_current_model_and_no_retired_one(caps: dict[str, dict]) -> None:
    catalog = load_catalog()
    current = [k for k, s in catalog.models.items() if not is_retired(s, TODAY)]
    assert list(caps) == current
    assert len(current) < len(catalog.models), "the catalog has retired models; the form must leave them out"


def test_choices_come_from_the_catalog(caps: dict[str, dict]) -> None:
    sora = caps["relay/sora-2"]
    # relay sora-2: 10 s only (seed-relay-api.md: sora-2-pro "supports hd, 15s")
    assert sora["duration"]["values"] == [10] and sora["duration"]["default"] == 10
    assert sora["aspect_ratio"]["values"] == ["16:9", "9:16"]
    assert sora["resolution"] is None and sora["size"] is None and sora["hd"] is None
    assert sora["images"]["max"] == 8 and sora["images"]["roles"] == ["first_frame", "reference"]
    assert sora["characters"] is True
    assert caps["relay/sora-2-pro"]["duration"]["values"] == [10, 15, 25]
    assert caps["relay/sora-2-pro"]["hd"] is not None
    veo = caps["relay/veo3"]
    assert veo["duration"]["fixed"] and veo["duration"]["values"] == [8] and veo["images"] is None
    assert veo["characters"] is False


def test_constraints_and_typed_options(caps: dict[str, dict]) -> None:
    vertex = caps["vertex/veo-3.1-generate-001"]
    assert {"when": {"resolution": ["1080p", "4k"]}, "require": {"duration": [8]},
            "message": "1080p and 4k videos must be 8 s long"} in vertex["constraints"]  # fmt: skip
    assert vertex["images"]["roles"] == ["first_frame", "last_frame", "reference"]
    opts = {o["name"]: o for o in caps["zhipu/cogvideox-3"]["options"]}
    assert opts["quality"]["type"] == "enum" and opts["quality"]["choices"] == ["speed", "quality"]
    assert opts["fps"]["choices"] == [30, 60]
    assert opts["with_audio"]["type"] == "bool"
    assert caps["zhipu/cogvideox-3"]["constraints"][0]["require"] == {"image_count": [0, 1]}
    for m in caps.values():  # lists and objects (input videos, webhook metadata) stay API-only
        assert all(o["type"] in ("bool", "enum", "integer", "number", "string") for o in m["options"])


def test_script_json_cannot_close_the_script_element() -> None:
    text = script_json({"x": "</script><script>alert(1)</script>&"})
    assert "</" not in text and "<script" not in text and "&" not in text
    assert json.loads(text) == {"x": "</script><script>alert(1)</script>&"}


def test_every_error_code_has_a_plain_sentence() -> None:
    assert set(FAILURE_SENTENCES) == set(ErrorCode)
    for code in ErrorCode:
        sentence = failure_sentence(code.value)
        assert sentence.endswith(".") and "_" not in sentence  # words, not codes
    assert "blocked" in failure_sentence("content_policy_output")
    assert "new_code" in failure_sentence("new_code")  # an unknown code is named, not hidden
    assert "deadline" in failure_sentence(None, "expired")


def test_index_page_embeds_the_capabilities_and_locks_itself_down(http: TestClient) -> None:
    r = http.get("/console/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-inline" not in csp
    assert r.headers["referrer-policy"] == "no-referrer" and r.headers["cache-control"] == "no-store"
    caps = embedded(r.text, "vidgate-capabilities")
    assert caps == json.loads(json.dumps(form_capabilities(load_catalog(), today=TODAY)))
    messages = embedded(r.text, "vidgate-messages")
    assert messages["codes"]["content_policy_output"] == FAILURE_SENTENCES[ErrorCode.content_policy_output]
    assert embedded(r.text, "vidgate-config") == {"api_base": "", "auth": True}
    assert '<option value="relay/sora-2">relay/sora-2</option>' in r.text
    for label in ("Model", "Prompt", "Duration", "Aspect ratio", "Resolution", "Size", "API key"):
        assert re.search(rf'<label for="[a-z_-]+">{label}</label>', r.text), label
    assert re.search(r'src="/console/static/console\.js\?v=[0-9a-f]{10}"', r.text)


def test_models_page_is_the_capability_table(http: TestClient) -> None:
    r = http.get("/console/models")
    assert r.status_code == 200
    for key in load_catalog().models:
        assert f'<span class="mono">{key}</span>' in r.text
    assert "1. Parameters: duration, aspect ratio, size, resolution" in r.text  # explain.py's answers
    assert "retired" in r.text
    rows = table_rows(load_catalog(), today=TODAY)
    assert len(rows) == len(load_catalog().models)


def test_static_files_redirect_and_narrowed_model_list(http: TestClient) -> None:
    for name in ("console.js", "api.js", "form.js", "jobs.js", "console.css"):
        assert http.get(f"/console/static/{name}").status_code == 200, name
    r = http.get("/console", follow_redirects=False)
    assert r.status_code == 308 and r.headers["location"] == "/console/"
    app = Starlette()
    app.mount("/ui", create_console(models=["relay/veo3", "zhipu/cogvideox-3"], api_base="https://gw.example"))
    page = TestClient(app).get("/ui/")
    offered = [m["id"] for m in embedded(page.text, "vidgate-capabilities")["models"]]
    assert offered == ["relay/veo3", "zhipu/cogvideox-3"]
    assert "connect-src 'self' https://gw.example" in page.headers["content-security-policy"]
    assert 'href="/ui/models"' in page.text


def test_the_gateway_plugin_offers_the_models_its_routes_serve(tmp_path: Path) -> None:
    from vidgate.server import Gateway, GatewayConfig, RouteConfig, ServerSettings, create_app

    config = GatewayConfig(
        server=ServerSettings(database_url=str(tmp_path / "gw.db"), downloads_dir=str(tmp_path / "files")),
        routes=[RouteConfig(name="z", provider="zhipu", base_url="http://127.0.0.1:9", models=["cogvideox-3"])],
    )
    gateway = Gateway(config, env={"VIDGATE_HOME": str(tmp_path), "VIDGATE_GATEWAY_SECRET": "s"})
    try:
        app = create_app(gateway=gateway, plugins=[console_plugin()], start=False)
        with TestClient(app) as http:
            page = http.get("/console/")
            assert [m["id"] for m in embedded(page.text, "vidgate-capabilities")["models"]] == ["zhipu/cogvideox-3"]
            assert "/console/" not in http.get("/openapi.json").text  # pages stay out of the API document
    finally:
        gateway.close()
