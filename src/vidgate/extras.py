"""Optional parts install as extras (``pip install 'vidgate[server]'``); a missing one is named, not a traceback."""

from __future__ import annotations

import importlib

from vidgate.errors import ConfigurationError

EXTRAS = {
    "server": ("fastapi", "jinja2", "prometheus_client"),
    "postgres": ("psycopg", "psycopg_pool"),
    "google": ("google.auth",),
    "s3": ("boto3",),
}


def require(extra: str, what: str) -> None:
    """Raise ``ConfigurationError`` naming the extra to install when one of its packages is missing."""
    for module in EXTRAS[extra]:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ConfigurationError(
                f"{what} needs the '{extra}' extra, which is not installed (no module {module!r}). "
                f"Install it with: pip install 'vidgate[{extra}]'"
            ) from None
