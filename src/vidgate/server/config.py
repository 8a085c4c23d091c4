"""The gateway's configuration: one TOML file plus environment secrets (the file only names env vars).

    [server]
    database_url = "postgresql://vidgate@db/vidgate"   # default: $VIDGATE_DATABASE_URL, else SQLite
    downloads_dir = "/var/lib/vidgate/files"           # finished videos (one machine, or a shared volume)
    storage = "s3://videos/vidgate"                    # or an S3-compatible bucket shared by every replica
    retention_s = 604800                               # results deleted from storage a week after they finish
    rate_limits = { relay = 5 }                        # requests/s per provider, shared through the database
    cors_origins = ["https://app.example.com"]
    max_body_bytes = 26214400                          # uploads -> 413 above this
    max_prompt_chars = 32000                           # prompts -> 400 above this (models have their own limits)

    [[routes]]                                         # tried in file order for a model they serve
    name = "main"
    provider = "relay"                                 # a catalog provider: its dialect and model list
    base_url = "https://relay.example.com"             # or base_url_env = "MAIN_RELAY_URL"
    api_key_env = "MAIN_RELAY_KEY"                     # the *name* of the variable holding the key
    models = ["sora-2", "veo3"]                        # default: every model of the provider

    [[routes]]
    name = "backup"
    provider = "relay"
    base_url_env = "BACKUP_RELAY_URL"
    api_key_env = "BACKUP_RELAY_KEY"

    [fallbacks]                                        # after the routes serving the model itself
    "relay/sora-2" = ["backup:relay/sora-2-pro"]       # route:model (or a model, on any route serving it)

    [prices]                                           # USD per second, where the catalog publishes none
    "relay/sora-2" = 0.10

Without any ``[[routes]]`` every catalog provider is a route of its own, configured like the library
(``VIDGATE_<PROVIDER>_BASE_URL`` / ``_API_KEY``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vidgate.errors import ConfigurationError
from vidgate.store import HOME_ENV

_STRICT = ConfigDict(extra="forbid")


class ServerSettings(BaseModel):
    model_config = _STRICT

    database_url: str | None = Field(None, description="Job store URL (default $VIDGATE_DATABASE_URL, else SQLite)")
    allow_account_ids: bool = Field(
        False,
        description="Let tenants pass ids of files on the operator's provider accounts (mm_file://, asset://, "
        "runway://): they are shared by every key, so off by default",
    )
    downloads_dir: str | None = Field(None, description="Where finished videos are kept (default $VIDGATE_HOME/files)")
    storage: str | None = Field(
        None,
        description="Result storage: s3://BUCKET/PREFIX (any S3-compatible store; endpoint, region and credentials "
        "from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID...) shared by every gateway and worker, or a "
        "directory (default: downloads_dir)",
    )
    storage_serving: Literal["redirect", "proxy"] = Field(
        "redirect",
        description="How /content and signed links answer for results in an object store: a redirect to a "
        "short-lived presigned URL (no video bytes through the gateway), or streamed through the gateway",
    )
    presign_ttl_s: int = Field(300, ge=1, le=604800, description="How long a presigned result URL lives")
    retention_s: float | None = Field(
        None, gt=0, description="Delete saved results from storage this many seconds after their job finished"
    )
    rate_limits: dict[str, Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict,
        description="Requests per second per provider (e.g. relay = 5), kept in the database and shared by every "
        "gateway and worker on it",
    )
    auth: bool = Field(True, description="Require a gateway API key on every /v1 and /v2 call")
    worker: bool = Field(True, description="Run a worker inside the gateway process")
    worker_concurrency: int = Field(64, ge=1, le=4096, description="Jobs the embedded worker steps at once")
    worker_lease_s: float = Field(60.0, gt=0)
    time_scale: float = Field(1.0, gt=0, description="Poll faster against an emulator that runs jobs faster")
    cors_origins: list[str] = Field(default_factory=list)
    max_body_bytes: int = Field(25 * 1024 * 1024, ge=1024, description="Largest request body (uploads)")
    max_prompt_chars: int = Field(32000, ge=1, description="Longest prompt the gateway accepts")
    secret_env: str = Field(
        "VIDGATE_GATEWAY_SECRET",
        description="Env var with the gateway secret (signs file links and derives webhook signing secrets); "
        "without it one is generated in $VIDGATE_HOME/gateway-secret (set it for replicas)",
    )
    metrics_token_env: str | None = Field(
        None,
        description="Env var holding a token /metrics then requires as 'Authorization: Bearer <token>' "
        "(unset: /metrics is open, for a scraper on a private network)",
    )
    public_url: str | None = Field(
        None,
        description="The URL providers reach this gateway at: webhooks in are received under /hooks and new jobs "
        "carry their own callback URL where the provider takes one (polling stays the safety net)",
    )
    trusted_hosts: list[str] = Field(
        default_factory=list,
        description="Host header values links may be built from when public_url is not set (lower case, with "
        "the port if not the default); other Host headers are ignored and the server's own address is used",
    )
    allow_hosts: list[str] = Field(
        default_factory=list, description="Hosts that skip the SSRF address check (image URLs, callbacks)"
    )
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_backoff_s: list[float] = Field(
        default_factory=lambda: [5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0],
        description="Delay before each retry (the last one repeats)",
    )
    webhook_timeout_s: float = Field(10.0, gt=0)
    file_link_ttl_s: int = Field(3600, ge=60, description="How long signed download links (relay data.output) live")
    sse_interval_s: float = Field(0.25, gt=0, description="How often an event stream looks at its job")


class RouteConfig(BaseModel):
    model_config = _STRICT

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    provider: str
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = Field(None, description="Env var holding this route's key (default: the catalog's)")
    models: list[str] = Field(default_factory=lambda: ["*"])

    @model_validator(mode="after")
    def _one_base(self) -> RouteConfig:
        if self.base_url and self.base_url_env:
            raise ValueError(f"route {self.name}: give base_url or base_url_env, not both")
        return self


class GatewayConfig(BaseModel):
    model_config = _STRICT

    server: ServerSettings = Field(default_factory=ServerSettings)
    routes: list[RouteConfig] = Field(default_factory=list)
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    prices: dict[str, float] = Field(default_factory=dict)

    @field_validator("routes")
    @classmethod
    def _unique(cls, routes: list[RouteConfig]) -> list[RouteConfig]:
        names = [r.name for r in routes]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique; repeated: {', '.join(dupes)}")
        return routes

    def with_server(self, **changes: Any) -> GatewayConfig:
        """A copy with some server settings replaced (command-line flags win over the file)."""
        given = {k: v for k, v in changes.items() if v is not None}
        return self.model_copy(update={"server": self.server.model_copy(update=given)})


def default_downloads(env: Mapping[str, str]) -> Path:
    """Where a gateway keeps finished videos unless told: ``$VIDGATE_HOME/files``."""
    home = env.get(HOME_ENV)
    return (Path(home).expanduser() if home else Path.home() / ".vidgate") / "files"


def load_config(path: str | os.PathLike[str] | None) -> GatewayConfig:
    """The configuration in ``path`` (None: defaults). Errors name the file and the field."""
    if path is None:
        return GatewayConfig()
    file = Path(path)
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigurationError(f"Gateway config {file} does not exist; pass an existing TOML file.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"Gateway config {file} is not valid TOML: {exc}") from None
    try:
        return GatewayConfig.model_validate(doc)
    except ValueError as exc:
        raise ConfigurationError(f"Gateway config {file} is invalid:\n{exc}") from None
