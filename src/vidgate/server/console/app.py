"""The web console: a small Starlette app the gateway mounts (``/console`` by default).

Pages are rendered on the server from the catalog; the browser then talks to the gateway's own JSON API
(``/v1/videos``, ``/v1/videos/{id}/events``, ``/v1/videos/{id}/content``) with the user's gateway API key,
which the page keeps in ``sessionStorage`` (this tab only) and sends as ``Authorization: Bearer``. The
console itself never sees the key, and no URL carries it, so it cannot land in an access log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vidgate.catalog import Catalog, load_catalog
from vidgate.server.console.capabilities import form_capabilities, script_json, table_rows
from vidgate.server.console.messages import FAILURE_SENTENCES, STATE_SENTENCES

STATIC_DIR = Path(__file__).parent / "static"


@dataclass(frozen=True)
class ConsoleConfig:
    """``api_base``: where the browser finds the gateway's JSON API ("" = the page's own origin, root path).
    ``models``: the catalog keys the form offers (None = every current model). ``today`` pins sunset checks."""

    api_base: str = ""
    auth: bool = True  # False: the gateway takes no API keys (``--no-auth``), so the page asks for none
    models: tuple[str, ...] | None = None
    title: str = "vidgate console"
    today: date | None = None


class Console:
    def __init__(self, catalog: Catalog | None = None, config: ConsoleConfig | None = None) -> None:
        self.catalog = catalog or load_catalog()
        self.config = config or ConsoleConfig()
        self.env = Environment(
            loader=PackageLoader("vidgate.server.console", "templates"),
            autoescape=select_autoescape(("html",)),
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @cached_property
    def _models(self) -> list[str] | None:
        return list(self.config.models) if self.config.models is not None else None

    @cached_property
    def capabilities(self) -> dict[str, Any]:
        return form_capabilities(self.catalog, self._models, self.config.today)

    @cached_property
    def static_versions(self) -> dict[str, str]:
        """A short content hash per static file, appended to its URL so browsers never run stale JS."""
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10] for p in STATIC_DIR.iterdir() if p.is_file()}

    def _render(self, request: Request, template: str, **context: Any) -> HTMLResponse:
        base = str(request.scope.get("root_path", "")).rstrip("/")  # where the console is mounted

        def static(name: str) -> str:
            return f"{base}/static/{name}?v={self.static_versions.get(name, '0')}"

        html = self.env.get_template(template).render(
            title=self.config.title,
            static=static,
            index_url=f"{base}/",
            models_url=f"{base}/models",
            page_config=script_json({"api_base": self.config.api_base.rstrip("/"), "auth": self.config.auth}),
            **context,
        )
        return HTMLResponse(html, headers=self._headers())

    def _headers(self) -> dict[str, str]:
        api = "'self'"  # the gateway's JSON API and its signed file links
        base = self.config.api_base
        if base.startswith(("http://", "https://")):
            parts = urlsplit(base)
            api += f" {parts.scheme}://{parts.netloc}"
        csp = (
            f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {api} blob: data:; "
            f"media-src {api} blob:; connect-src {api}; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors 'none'"
        )
        return {
            "Content-Security-Policy": csp,
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        }

    async def index(self, request: Request) -> Response:
        caps = self.capabilities
        groups: dict[str, list[dict[str, Any]]] = {}
        for m in caps["models"]:
            groups.setdefault(m["provider_title"], []).append(m)
        return self._render(
            request,
            "index.html",
            page="index",
            groups=groups,
            capabilities=script_json(caps),
            messages=script_json({"codes": FAILURE_SENTENCES, "states": STATE_SENTENCES}),
        )

    async def models(self, request: Request) -> Response:
        rows = table_rows(self.catalog, self._models, self.config.today)
        return self._render(request, "models.html", page="models", rows=rows)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.index, name="console_index"),
                Route("/models", self.models, name="console_models"),
                Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
            ]
        )


def create_console(
    catalog: Catalog | None = None,
    *,
    api_base: str = "",
    auth: bool = True,
    models: list[str] | tuple[str, ...] | None = None,
    title: str = "vidgate console",
    today: date | None = None,
) -> Starlette:
    """The console as an ASGI app: ``gateway.mount("/console", create_console(catalog))``."""
    config = ConsoleConfig(api_base=api_base, auth=auth, models=tuple(models) if models is not None else None,
                           title=title, today=today)  # fmt: skip
    return Console(catalog, config).app()


def console_plugin(path: str = "/console", **kwargs: Any) -> Callable[[Any, Any], None]:
    """A gateway plugin (``create_app(config, plugins=[console_plugin()])``): mounts the console at ``path``,
    offering the models the gateway's routes serve, with the gateway's catalog."""

    def install(app: Any, gateway: Any) -> None:
        models = [spec.key for spec in gateway.router.served_models()]
        auth = bool(getattr(gateway.config.server, "auth", True))
        mount_console(app, path, catalog=gateway.catalog, models=models, auth=auth, **kwargs)

    return install


def mount_console(app: Starlette, path: str = "/console", **kwargs: Any) -> None:
    """Mount the console on ``app`` (a FastAPI or Starlette gateway) at ``path``; ``/console`` redirects to it."""
    console = create_console(**kwargs)
    path = "/" + path.strip("/")

    async def redirect(request: Request) -> Response:
        return RedirectResponse(path + "/", status_code=308)

    app.add_route(path, redirect, include_in_schema=False)
    app.mount(path, console, name="console")
