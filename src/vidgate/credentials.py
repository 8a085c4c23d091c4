"""Ambient credentials: bearer tokens vidgate may fetch itself when no key is configured.

Only through the vendor's own library, never hand-rolled OAuth. ``google-adc`` asks Google Application
Default Credentials (``google-auth``; install ``vidgate[google]``) for a ``cloud-platform`` access token and
refreshes it when it expires. The catalog names the kind per provider (``ProviderSpec.ambient_credentials``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from vidgate.catalog.schema import ProviderSpec
from vidgate.errors import ConfigurationError

CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"

_lock = threading.Lock()
_cache: dict[str, tuple[Any, str | None]] = {}


class AmbientCredentialsError(ConfigurationError):
    """Ambient credentials were needed but could not be found or refreshed."""


def _google_default() -> tuple[Any, str | None]:
    with _lock:
        if "google-adc" not in _cache:
            try:
                import google.auth
                from google.auth.exceptions import DefaultCredentialsError
            except ImportError:  # pragma: no cover - depends on the installed extras
                raise AmbientCredentialsError(
                    "Application Default Credentials need the google-auth library: pip install 'vidgate[google]'"
                ) from None
            try:
                creds, project = google.auth.default(scopes=[CLOUD_PLATFORM_SCOPE])  # type: ignore[no-untyped-call]
            except DefaultCredentialsError as exc:
                raise AmbientCredentialsError(
                    f"no Application Default Credentials ({exc}); run `gcloud auth application-default login` "
                    "or set GOOGLE_APPLICATION_CREDENTIALS"
                ) from None
            _cache["google-adc"] = (creds, project)
        return _cache["google-adc"]


def ambient_token(kind: str) -> str:
    """A fresh bearer token from the ambient source ``kind`` (refreshed when expired)."""
    if kind != "google-adc":
        raise AmbientCredentialsError(f"unknown ambient credentials kind {kind!r}")
    creds, _ = _google_default()
    with _lock:
        if not creds.valid:
            try:
                from google.auth.transport.requests import Request
            except ImportError:  # pragma: no cover
                raise AmbientCredentialsError(
                    "refreshing Google credentials needs google-auth[requests]: pip install 'vidgate[google]'"
                ) from None
            try:
                creds.refresh(Request())
            except Exception as exc:
                raise AmbientCredentialsError(f"could not refresh Google credentials: {exc}") from None
        token = creds.token
    if not token:
        raise AmbientCredentialsError("Google credentials returned no access token")
    return str(token)


def ambient_setting(kind: str, name: str) -> str | None:
    """A setting the ambient source knows (``project`` for Google ADC), or None."""
    if kind == "google-adc" and name == "project":
        try:
            return _google_default()[1]
        except AmbientCredentialsError:
            return None
    return None


def reset() -> None:
    """Forget cached credentials (tests)."""
    with _lock:
        _cache.clear()


def resolve_settings(
    provider: ProviderSpec,
    given: Mapping[str, str],
    env: Mapping[str, str],
    ambient: str | None,
) -> dict[str, str]:
    """Every ``ProviderSpec.settings`` value: given > environment > ambient credentials > default.

    A required setting that stays unset raises ``ConfigurationError`` naming the variables to set.
    """
    unknown = sorted(set(given) - set(provider.settings))
    if unknown:
        raise ConfigurationError(
            f"provider {provider.name!r} has no setting(s) {unknown}; known: {sorted(provider.settings) or 'none'}"
        )
    out: dict[str, str] = {}
    for name, spec in provider.settings.items():
        value = given.get(name) or next((env[v] for v in spec.env if env.get(v)), None)
        if value is None and ambient:
            value = ambient_setting(ambient, name)
        if value is None:
            value = spec.default
        if value is None:
            if spec.required:
                raise ConfigurationError(
                    f"Provider {provider.name!r} needs the setting {name!r} ({spec.description or 'no default'}). "
                    f"Set the environment variable {spec.env[0]} (or pass providers={{{provider.name!r}: "
                    f"ProviderSettings(settings={{{name!r}: ...}})}}). Nothing was sent."
                )
            continue
        out[name] = value
    return out


def fill_base_url(base_url: str, settings: Mapping[str, str]) -> str:
    """``https://{location}-host`` with the settings filled in; URLs without placeholders are unchanged."""
    if "{" not in base_url:
        return base_url
    try:
        return base_url.format_map(dict(settings))
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"base URL {base_url!r} names a setting that is not set: {exc}") from None
